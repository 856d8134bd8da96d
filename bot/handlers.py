"""Handlers: each translates one kind of update between Telegram and ``core``, nothing more."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, ContextTypes

from core.errors import DigitImageError, NoDigitFoundError
from core.results import PhotoReading

from bot import addressing, callbacks, i18n, messages
from bot.context import (
    BotServices,
    PhotoClassifier,
    RememberedPhoto,
    chosen_language,
    forget_language,
    forget_photos,
    get_language,
    get_rate_bucket,
    get_services,
    is_admin,
    recall_photo,
    remember_language,
    remember_photo,
)
from bot.i18n import Language
from bot.pictures import render_no_digit_png, render_steps_png
from bot.ratelimit import Allowance
from bot.stats import confusion_matrix_png, load_model_report
from bot.store import FeedbackStatus, StoreError, StoredReading

logger = logging.getLogger(__name__)

T = TypeVar("T")


async def limit_rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop updates from a user who exceeds their allowance, warning them once per flood.

    Runs before every other handler (group -1); raising ``ApplicationHandlerStop`` ends
    the update's processing. Feedback taps spend from an allowance of their own, so a
    correction (one tap per digit) is not cut short by the photos just sent, nor uses them up.
    Group messages the bot ignores (not addressed to it) spend nothing.
    """
    if update.effective_user is None:
        return
    if update.message is not None and not addressing.COUNTED_MESSAGES.check_update(update):
        return
    bucket = get_rate_bucket(context, allowance_of(update))
    if bucket.try_take():
        return
    if not bucket.warned:
        bucket.warned = True
        lang = await get_language(update, context)
        if update.callback_query:
            await update.callback_query.answer(messages.slow_down_taps(lang))
        elif update.effective_message:
            await update.effective_message.reply_text(messages.slow_down(lang))
    raise ApplicationHandlerStop


def allowance_of(update: Update) -> Allowance:
    """Which of the sender's allowances ``update`` spends: feedback taps their own, the rest the other."""
    query = update.callback_query
    return Allowance.TAPS if query is not None and callbacks.is_feedback(query.data) else Allowance.UPDATES


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: greet and explain."""
    await update.effective_message.reply_text(messages.start_text(await get_language(update, context)))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help, and any command the bot does not know: tips and the command list (admins: theirs too)."""
    admin = is_admin(get_services(context).settings, update.effective_user)
    await update.effective_message.reply_text(messages.help_text(await get_language(update, context), admin=admin))


async def on_other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text, stickers, voice...: point the user at sending a photo."""
    await update.effective_message.reply_text(messages.send_a_photo(await get_language(update, context)))


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo (its largest size), or an image sent as a file (uncompressed): read it."""
    await read_and_reply(update, context, picture_of(update.effective_message))


#: An image sent as a file is read like a photo (:func:`picture_of` takes either).
on_image_document = on_photo


async def on_read(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/read (or a mention of the bot in a group) in reply to a photo: read that photo.

    The answer replies to the photo, and its sender owns the reading (only they may correct
    it, and /forgetme deletes it for them). Without a photo to read, explain how to ask.
    """
    source = addressing.image_of(update.effective_message.reply_to_message)
    if source is None:
        await update.effective_message.reply_text(messages.read_what(await get_language(update, context)))
        return
    await read_and_reply(update, context, picture_of(source), source=source)


def picture_of(message: Message) -> RememberedPhoto:
    """The picture a message holds: the largest size of its photo, else its (image) document."""
    if message.photo:
        picture = message.photo[-1]
    else:
        picture = message.document
    return RememberedPhoto(picture.file_id, picture.file_size)


async def on_other_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A PDF, ZIP or other non-image file: ask for a photo instead."""
    await update.effective_message.reply_text(messages.not_an_image_document(await get_language(update, context)))


async def read_and_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, photo: RememberedPhoto,
                         source: Message | None = None) -> None:
    """Download ``photo``, read it off the event loop, and answer with the reading and a button.

    A photo read as no digit is answered why, with a "What I saw" button too; other bad input
    (corrupt, too large, too small) gets its explanation alone.

    Args:
        source: the message holding the photo, when it is not the update's own (/read in reply to
            a photo); the answer replies to it and its sender owns the reading.
    """
    services = get_services(context)
    lang = await get_language(update, context)  # the asker's: in a group, who sent /read
    message = source or update.effective_message
    owner = (source.from_user if source is not None else None) or update.effective_user
    classifier = services.classifier  # a /retrain or /rollback may swap it meanwhile: store who read it
    try:
        data = await download(context, photo)
        reading = await services.run_blocking(classifier.read_photo, data)
    except DigitImageError as error:
        logger.debug("Unreadable picture in update %s: %s", update.update_id, error.detail or error)
        # Nothing read: "What I saw" shows the photo, its ink and why (a blank page, a tiny digit).
        markup = (callbacks.feedback_keyboard(lang, None, callbacks.saw_button(lang, remember_photo(context, photo)))
                  if isinstance(error, NoDigitFoundError) else None)
        await message.reply_text(messages.format_image_error(lang, error), reply_markup=markup)
        return
    services.photos_read += 1
    photo_id = remember_photo(context, photo)
    stored = await record_reading(update, services, reading, classifier.version, owner)
    await message.reply_text(
        messages.format_reading(lang, reading),
        reply_markup=callbacks.reading_keyboard(lang, photo_id, stored.reading_id if stored else None,
                                                other_lines=reading.other_lines),
    )


async def on_line(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "Read the other line" button: read another line of writing of that photo and answer
    with its reading, as a new message under which the button reads the next line.

    The reading is stored as that of whoever tapped (they may correct it), as /read stores a
    reading as the photo's sender's. A photo gone from the chat's cache gets the same alert
    as "What I saw" on it.
    """
    lang = await get_language(update, context)
    done = await _work_on_tapped_photo(update, context, lang, lambda classifier, data, line: (
        classifier, classifier.read_photo(data, line)))
    if done is None:
        return
    photo_id, line, (classifier, reading) = done
    # Not counted in services.photos_read: the photo was counted when it was first read.
    services = get_services(context)
    stored = await record_reading(update, services, reading, classifier.version, update.effective_user)
    await update.effective_chat.send_message(
        messages.format_reading(lang, reading),
        reply_markup=callbacks.reading_keyboard(lang, photo_id, stored.reading_id if stored else None,
                                                line=line, other_lines=reading.other_lines),
    )


async def _work_on_tapped_photo(
    update: Update, context: ContextTypes.DEFAULT_TYPE, lang: Language,
    work: Callable[[PhotoClassifier, bytes, int], T],
) -> tuple[str, int, T] | None:
    """Answer a "What I saw" or "Read the other line" tap and run ``work(classifier, photo
    bytes, line)`` on its photo in a worker thread, with the classifier serving now.

    Returns:
        ``(photo id, line, work's result)``; None when the photo has left the chat's cache (the
        tap answered with an alert) or could not be read (``DigitImageError``: the chat is told why).
    """
    query = update.callback_query
    photo_id, line = callbacks.parse_photo_line(context.match.group(1))
    photo = recall_photo(context, photo_id)
    if photo is None:
        await query.answer(messages.saw_expired(lang), show_alert=True)
        return None
    await query.answer()
    services = get_services(context)
    classifier = services.classifier  # a /retrain or /rollback may swap it meanwhile
    try:
        data = await download(context, photo)
        return photo_id, line, await services.run_blocking(work, classifier, data, line)
    except DigitImageError as error:
        await update.effective_chat.send_message(messages.format_image_error(lang, error))
        return None


async def record_reading(
    update: Update, services: BotServices, reading: PhotoReading, model_version: str, owner: User | None
) -> StoredReading | None:
    """Store the reading (by the model ``model_version``) of a photo ``owner`` sent, for feedback.

    Returns None without a store or an owner, or if the write fails (logged).
    """
    if services.store is None or owner is None or not reading.digits:
        return None
    try:
        return await services.run_db(
            services.store.record_reading,
            user_id=owner.id,
            chat_id=update.effective_chat.id,
            model_version=model_version,
            predictions=[(digit.digit, digit.confidence, digit.image) for digit in reading.digits],
        )
    except StoreError:
        logger.exception("Could not store the reading of update %s; answering without feedback buttons",
                         update.update_id)
        return None


async def on_saw(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "What I saw" button: send the picture of the preprocessing steps for that reading."""
    lang = await get_language(update, context)
    done = await _work_on_tapped_photo(update, context, lang,
                                       lambda classifier, data, line: steps_png(classifier, data, lang, line))
    if done is None:
        return
    _, _, (png, caption) = done
    await update.effective_chat.send_photo(png, caption=caption)


async def on_right(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Right": store every digit of the reading as confirmed, and say thanks under it."""
    await save_feedback(update, context, int(context.match.group(1)), labels=None)


async def on_wrong(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Wrong": ask for the first digit with a keypad (nothing is stored until the last digit)."""
    reading = await feedback_reading(update, context, int(context.match.group(1)))
    if reading is not None:
        await show_keypad(update, await get_language(update, context), reading, "")


async def on_fix(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A keypad digit: ask for the next digit, or store the answer once every digit is given."""
    query = update.callback_query
    lang = await get_language(update, context)
    parsed = callbacks.parse_fix(context.match.group(1))
    if parsed is None:
        await query.answer(messages.feedback_outdated(lang))
        return
    reading_id, labels = parsed
    reading = await feedback_reading(update, context, reading_id)
    if reading is None:
        return
    if len(labels) > len(reading.digits):
        await query.answer(messages.feedback_outdated(lang))
    elif len(labels) < len(reading.digits):
        await show_keypad(update, lang, reading, labels)
    else:
        await save_feedback(update, context, reading_id, labels=[int(label) for label in labels])


async def on_back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Back from the keypad: the reading's text and its Right/Wrong buttons again."""
    query = update.callback_query
    reading = await feedback_reading(update, context, int(context.match.group(1)))
    if reading is None:
        return
    await query.answer()
    text, markup = _shown(query)
    lang = await get_language(update, context)
    await edit_reply(query, messages.strip_prompt(text),
                     callbacks.feedback_keyboard(lang, reading.reading_id, callbacks.kept_buttons_of(markup)))


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button whose data no handler knows (an older bot's, or a forged one): say so, change nothing."""
    await update.callback_query.answer(messages.feedback_outdated(await get_language(update, context)))


async def show_keypad(update: Update, lang: Language, reading: StoredReading, labels: str) -> None:
    """Ask for digit ``len(labels)`` of ``reading`` with the 0-9 keypad, in ``lang``."""
    query = update.callback_query
    await query.answer()
    text, markup = _shown(query)
    prompt = messages.keypad_prompt(lang, len(labels), reading.number)
    await edit_reply(query, messages.with_prompt(text, prompt),
                     callbacks.keypad(lang, reading.reading_id, labels, callbacks.kept_buttons_of(markup)))


async def feedback_reading(
    update: Update, context: ContextTypes.DEFAULT_TYPE, reading_id: int
) -> StoredReading | None:
    """The stored reading if the presser may still answer it; otherwise answer the query why not, and None."""
    services = get_services(context)
    query = update.callback_query
    store = services.store
    try:
        reading = None if store is None else await services.run_db(store.reading, reading_id)
    except StoreError:
        logger.exception("Could not read reading %s", reading_id)
        await query.answer(messages.feedback_unavailable(await get_language(update, context)))
        return None
    if reading is None:
        status = FeedbackStatus.MISSING
    elif reading.user_id != update.effective_user.id:
        status = FeedbackStatus.NOT_OWNER
    elif reading.labels is not None:
        status = FeedbackStatus.DUPLICATE
    else:
        return reading
    await query.answer(messages.feedback_refusal(await get_language(update, context), status))
    return None


async def save_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE, reading_id: int,
                        labels: list[int] | None) -> None:
    """Store the answer (None: as read) once, then show it under the reading; refusals only get a toast."""
    services = get_services(context)
    query = update.callback_query
    lang = await get_language(update, context)
    if services.store is None:
        await query.answer(messages.feedback_missing(lang))
        return
    try:
        status, reading = await services.run_db(services.store.record_feedback, reading_id,
                                                update.effective_user.id, labels)
    except StoreError:
        logger.exception("Could not store feedback on reading %s", reading_id)
        await query.answer(messages.feedback_unavailable(lang))
        return
    if status is not FeedbackStatus.STORED:
        await query.answer(messages.feedback_refusal(lang, status))
        return
    await query.answer(messages.feedback_thanks(lang))
    text, markup = _shown(query)
    done = messages.format_feedback_done(lang, reading.number, "".join(map(str, reading.labels)))
    await edit_reply(query, f"{messages.strip_prompt(text)}\n\n{done}".lstrip(),
                     callbacks.feedback_keyboard(lang, None, callbacks.kept_buttons_of(markup)))


def _shown(query) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and keyboard of the message a button belongs to ("" and None if Telegram withheld it)."""
    return getattr(query.message, "text", None) or "", getattr(query.message, "reply_markup", None)


async def edit_reply(query, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit the message under the button; a double tap that changes nothing is not an error."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


async def on_forget_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forgetme: delete every reading, digit image and answer stored about the sender, and their language.

    The answer is in the language the user had when they asked; from then on the bot follows
    their Telegram settings.
    """
    services = get_services(context)
    message = update.effective_message
    lang = await get_language(update, context)
    if services.store is None or update.effective_user is None:
        await message.reply_text(messages.forget_unavailable(lang))
        return
    user_id = update.effective_user.id
    try:
        forgotten = await services.run_db(services.store.forget_user, user_id)
    except StoreError:
        logger.exception("/forgetme failed")
        await message.reply_text(messages.forget_unavailable(lang))
        return
    forget_language(context)
    if update.effective_chat.id == user_id:  # a private chat: its photo cache is the user's alone
        forget_photos(context)
    await message.reply_text(messages.format_forgotten(lang, forgotten.readings, forgotten.language))


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: the serving model's quality and confusion matrix, photos read since start, feedback on it."""
    services = get_services(context)
    lang = await get_language(update, context)
    classifier = services.classifier  # one model's report and feedback, even if a rollback swaps it meanwhile
    model_path = Path(classifier.path or services.settings.model_path)
    report = await services.run_blocking(load_model_report, model_path, classifier.card)
    live = None
    if services.store is not None:
        try:
            live = await services.run_db(services.store.live_stats, classifier.version)
        except StoreError:
            logger.exception("Could not read the live figures for /stats")
    message = update.effective_message
    await message.reply_text(messages.format_stats(lang, report, services.photos_read, services.started_at, live))
    png = await services.run_blocking(confusion_matrix_png, model_path, report, lang)
    if png is not None:
        await message.reply_photo(png, caption=messages.confusion_matrix_caption(lang))


async def download(context: ContextTypes.DEFAULT_TYPE, photo: RememberedPhoto) -> bytes:
    """Fetch a file's bytes from Telegram, refusing files above the 20 MB bot limit first.

    Raises:
        bot.messages.FileTooBigError: the file is larger than Telegram lets bots download.
    """
    if photo.file_size and photo.file_size > messages.MAX_DOWNLOAD_BYTES:
        raise messages.FileTooBigError(photo.file_size)
    telegram_file = await context.bot.get_file(photo.file_id)
    return bytes(await telegram_file.download_as_bytearray())


def steps_png(classifier: PhotoClassifier, data: bytes, lang: Language, line: int = 0) -> tuple[bytes, str]:
    """Read the photo again (its ``line``-th line of writing, see ``Classifier.read_photo``) and
    draw its preprocessing steps as a PNG, labelled in ``lang`` (blocking; for a worker thread);
    for a photo with no digit, the photo, its ink and why.

    Returns:
        ``(PNG bytes, caption)``.

    Raises:
        DigitImageError: as ``Classifier.read_photo``, except ``NoDigitFoundError``.
    """
    try:
        reading, segmentation = classifier.read_photo_with_steps(data, line)
    except NoDigitFoundError as error:
        return render_no_digit_png(data, error, lang), messages.saw_no_digit_caption(lang)
    return render_steps_png(reading, segmentation, lang), messages.saw_caption(lang)


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language: which language the bot speaks with the sender and why, with a button per language."""
    lang = await get_language(update, context)
    chosen = await _has_chosen(update, context)
    await update.effective_message.reply_text(messages.language_menu(lang, chosen),
                                              reply_markup=callbacks.language_keyboard(lang, chosen))


async def on_language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /language button: store the tapper's choice (or drop it for "as in Telegram") and confirm in the
    language now in use; in a private chat the menu is redrawn in it too."""
    query = update.callback_query
    argument = context.match.group(1)
    choice = i18n.find(argument)
    if choice is None and argument != callbacks.FOLLOW_TELEGRAM:  # a language this bot no longer speaks
        await query.answer(messages.feedback_outdated(await get_language(update, context)))
        return
    services = get_services(context)
    code = choice.code if choice is not None else None
    try:
        if services.store is None:
            raise StoreError("the feedback store is not open")
        await services.run_db(services.store.set_language, update.effective_user.id, code)
    except StoreError:
        logger.exception("Could not store the language of user %s", update.effective_user.id)
        await query.answer(messages.feedback_unavailable(await get_language(update, context)))
        return
    remember_language(context, code)
    lang = await get_language(update, context)
    await query.answer(messages.language_chosen(lang, chosen=choice is not None))
    if update.effective_chat is not None and update.effective_chat.type == "private":
        await edit_reply(query, messages.language_menu(lang, choice is not None),
                         callbacks.language_keyboard(lang, choice is not None))


async def _has_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True when the sender chose a (still supported) language with /language."""
    user = update.effective_user
    return user is not None and i18n.find(await chosen_language(context, user.id)) is not None
