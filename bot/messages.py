"""Every text the bot sends, as pure functions of a :class:`bot.i18n.Language` and the data shown.

Each text is an English msgid passed to ``lang.gettext`` or ``lang.ngettext`` with named
``{placeholders}``, which ``make messages`` extracts into ``bot/locales/digitbot.pot``; numbers
and percentages go through ``lang.number`` and ``lang.percent`` (``98.7 %``, ``98,7 %``). A
comment starting ``Translators:`` just above a call reaches the translators with the text.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from core.errors import (
    DigitImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    NoDigitFoundError,
    UnreadableImageError,
)
from core.registry import INITIAL, PROMOTED, REJECTED, ModelVersion
from core.results import DigitPrediction, PhotoReading

from bot.i18n import Language
from bot.stats import ModelReport
from bot.store import FeedbackStatus, LiveStats

#: The commands of the menu in private chats (``set_my_commands``), in order; see :func:`commands`.
COMMAND_NAMES = ("start", "help", "stats", "model", "language", "forgetme")

#: Starts the keypad's question appended to a reading's text; :func:`strip_prompt` removes it.
PROMPT_MARK = "\n\n👉 "

#: Telegram bots may download files of at most this many bytes.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


class FileTooBigError(ImageTooLargeError):
    """A file above Telegram's 20 MB bot download limit, refused before downloading.

    Attributes:
        num_bytes: the file's size as Telegram reported it.
    """

    def __init__(self, num_bytes: int) -> None:
        super().__init__(detail=f"file_size={num_bytes}")
        self.num_bytes = num_bytes


# ----------------------------------------------------------------- commands and help


def commands(lang: Language) -> tuple[tuple[str, str], ...]:
    """The command menu registered with ``set_my_commands``: ``(command, description)``, in
    :data:`COMMAND_NAMES` order."""
    descriptions = {
        "start": lang.gettext("What this bot does"),
        "help": lang.gettext("How to take a good photo, and the commands"),
        "stats": lang.gettext("How accurate the model is, and its confusion matrix"),
        "model": lang.gettext("The model versions, and which one is active"),
        "language": lang.gettext("Choose the language I speak with you"),
        "forgetme": lang.gettext("Delete everything I stored about you"),
    }
    return tuple((command, descriptions[command]) for command in COMMAND_NAMES)


def group_commands(lang: Language) -> tuple[tuple[str, str], ...]:
    """The command menu in group chats (``BotCommandScopeAllGroupChats``): /read first, no /start."""
    return (
        ("read", lang.gettext("Reply to a photo with /read and I'll read it")),
        *(command for command in commands(lang) if command[0] != "start"),
    )


def admin_commands(lang: Language) -> tuple[tuple[str, str], ...]:
    """Commands only admins (``DIGITBOT_ADMIN_IDS``) may use; listed in /help for them only."""
    return (
        ("retrain", lang.gettext("Retrain on MNIST and users' corrections; promoted only if it is no worse")),
        # Translators: VERSION stands for a version name such as v2; translate the word.
        ("rollback", lang.gettext("Switch back to the previous model version, or to /rollback VERSION")),
    )


def _command_lines(command_list: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"/{command} — {description}" for command, description in command_list)


def help_text(lang: Language, *, admin: bool = False) -> str:
    """/help: what the bot does, photo tips, what it keeps, groups, the commands (admins: theirs too)."""
    paragraphs = [
        lang.gettext("I read handwritten digits from photos. ✍️📷"),
        lang.gettext("Write a digit, or a number of a few digits, on paper and send me a photo of it. "
                     "I'll tell you what I read and how sure I am."),
        lang.gettext("For a good photo:\n"
                     "• dark pen or marker on plain white paper;\n"
                     "• fill a good part of the picture with the writing;\n"
                     "• even light, no strong shadows;\n"
                     "• leave a little space between digits."),
        lang.gettext("You can send it as a photo or as an image file. Tap “{saw}” under my answer "
                     "to see how I cut the picture up, and “{right}” or “{wrong}” to tell me how I did.",
                     saw=saw_button(lang), right=_bare(right_button(lang)), wrong=_bare(wrong_button(lang))),
        lang.gettext("I keep the small 28×28 digit images I read (never your photo) and your answers, "
                     "to learn from them. /forgetme deletes them."),
        lang.gettext("In a group I only speak when asked: mention me in a photo's caption, reply to one of my "
                     "messages with a photo, or reply to someone's photo with /read."),
        lang.gettext("Commands:") + "\n" + _command_lines(commands(lang)),
    ]
    if admin:
        paragraphs.append(lang.gettext("Admin commands:") + "\n" + _command_lines(admin_commands(lang)))
    return "\n\n".join(paragraphs)


def start_text(lang: Language) -> str:
    """/start: a greeting, then the help."""
    return lang.gettext("Hi!") + " " + help_text(lang)


def _bare(label: str) -> str:
    """A button's label without its leading emoji: ``"✅ Right"`` -> ``"Right"``."""
    return re.sub(r"^\W+\s", "", label)


# ----------------------------------------------------------------- short replies


def send_a_photo(lang: Language) -> str:
    """The answer to text, stickers and the like: send a photo."""
    return lang.gettext("Send me a photo of a handwritten digit or number and I'll read it. (/help for tips)")


def read_what(lang: Language) -> str:
    """/read without a photo to read: how to ask."""
    return lang.gettext("Reply to a photo of handwritten digits with /read and I'll read it. "
                        "In a group you can also mention me in the photo's caption.")


def not_an_image_document(lang: Language) -> str:
    """A PDF, ZIP or other file that is no image."""
    return lang.gettext("That file isn't a picture I can read. Please send a photo (or a JPEG, PNG, HEIC, "
                        "WebP or GIF image) of digits written on paper.")


def something_went_wrong(lang: Language) -> str:
    """The apology after an unexpected error."""
    return lang.gettext("Sorry, something went wrong on my side. Please try again in a moment.")


def slow_down(lang: Language) -> str:
    """The one warning to a user who sends too much at once."""
    return lang.gettext("You're sending a lot at once! Please wait a few seconds before the next photo. ⏳")


def slow_down_taps(lang: Language) -> str:
    """:func:`slow_down`, as the toast for a button tap."""
    return lang.gettext("Lots of taps at once! Please wait a few seconds, then tap again. ⏳")


def format_admin_error_alert(lang: Language, update_id: int | None, error_type: str, where: str | None,
                             suppressed: int) -> str:
    """The admins' alert about an unexpected error: ids and places only, no user data, no token.

    Args:
        update_id: the update being handled, None for an error outside an update.
        error_type: the exception's class name.
        where: ``path:line in function`` in the bot's code, if known.
        suppressed: earlier errors not alerted because an alert had just gone out.
    """
    if update_id is not None:
        lines = [lang.gettext("⚠️ Unexpected error ({error}) in update {update}", error=error_type, update=update_id)]
    else:
        lines = [lang.gettext("⚠️ Unexpected error ({error}) outside an update", error=error_type)]
    if where:
        # Translators: {place} is a place in the code, like "bot/handlers.py:12 in on_photo".
        lines.append(lang.gettext("at {place}", place=where))
    if suppressed:
        lines.append(lang.ngettext("{count} more error since the last alert.",
                                   "{count} more errors since the last alert.", suppressed))
    lines.append(lang.gettext("Details are in the bot's log."))
    return "\n".join(lines)


# ----------------------------------------------------------------- buttons and toasts


def saw_button(lang: Language) -> str:
    """The label of the button that shows the preprocessing steps."""
    return lang.gettext("What I saw")


def line_button(lang: Language, other_lines: int) -> str:
    """The label of the button that reads the next line of writing of a photo with
    ``other_lines`` (>= 1) lines besides the one read first: "Read the other line" for two
    lines in all, "Read the next line" for more."""
    if other_lines == 1:
        # Translators: a button under a reading of a photo with two lines of writing: read the one not shown.
        return lang.gettext("Read the other line")
    # Translators: a button under a reading of a photo with three or more lines of writing: read the next one.
    return lang.gettext("Read the next line")


def saw_expired(lang: Language) -> str:
    """"What I saw" on a photo the bot no longer has."""
    return lang.gettext("I no longer have that photo. Please send it again.")


def saw_caption(lang: Language) -> str:
    """The caption of the "What I saw" picture."""
    return lang.gettext("What I saw: your photo, the ink I found, the boxes I cut, and each 28×28 digit I read.")


def saw_no_digit_caption(lang: Language) -> str:
    """The caption of the "What I saw" picture of a photo in which no digit was read."""
    return lang.gettext("What I saw: your photo, the ink I found in it, and why I read no digit there.")


def right_button(lang: Language) -> str:
    """The label of the button confirming a reading."""
    return lang.gettext("✅ Right")


def wrong_button(lang: Language) -> str:
    """The label of the button that opens the keypad to correct a reading."""
    return lang.gettext("❌ Wrong")


def back_button(lang: Language) -> str:
    """The label of the keypad's way back to Right/Wrong."""
    return lang.gettext("↩️ Back")


def feedback_thanks(lang: Language) -> str:
    """The toast when feedback is stored."""
    return lang.gettext("Thanks! 🙏")


def feedback_missing(lang: Language) -> str:
    """The toast when the reading is gone (or was never stored)."""
    return lang.gettext("I no longer have this reading (it may have been deleted with /forgetme).")


def feedback_unavailable(lang: Language) -> str:
    """The toast when the database cannot be reached."""
    return lang.gettext("Sorry, I can't save that right now. Please try again later.")


def feedback_outdated(lang: Language) -> str:
    """The toast for a button whose data the bot no longer understands."""
    return lang.gettext("These buttons are out of date. Please send the photo again.")


def feedback_refusal(lang: Language, status: FeedbackStatus) -> str:
    """The toast when a feedback tap changes nothing, by what the store said (duplicate, missing, not yours)."""
    if status is FeedbackStatus.DUPLICATE:
        return lang.gettext("You already told me about this one. Thanks!")
    if status is FeedbackStatus.NOT_OWNER:
        return lang.gettext("Only the person who sent this photo can tell me if I got it right. "
                            "Send your own and I'll read it too! 🙂")
    return feedback_missing(lang)


# ----------------------------------------------------------------- readings


def format_percent(lang: Language, probability: float) -> str:
    """A probability in [0, 1] as ``"98.7 %"`` (``"98,7 %"`` in German...); never claims 100 % or 0 %.

    Examples (English):
        0.9871 -> ``'98.7 %'``; 0.99999 -> ``'99.9 %'``; 0.00001 -> ``'<0.1 %'``
    """
    if probability < 0.0005:
        return "<" + lang.percent(0.001)
    return lang.percent(min(probability, 0.999))


def format_size(lang: Language, num_bytes: int) -> str:
    """A byte count for people: ``"1.6 MB"``, ``"512 kB"``, ``"12 bytes"``."""
    if num_bytes >= 1024 * 1024:
        return lang.gettext("{size} MB", size=lang.number(num_bytes / (1024 * 1024), 1))
    if num_bytes >= 1024:
        return lang.gettext("{size} kB", size=lang.number(num_bytes / 1024))
    return lang.ngettext("{count} byte", "{count} bytes", num_bytes)


def _runners_up(lang: Language, prediction: DigitPrediction) -> str:
    """``"next: 1 at 0.9 %"``, adding the third guess only when it is at least 1 %."""
    guesses = [
        # Translators: one runner-up of a reading, e.g. "1 at 0.9 %".
        lang.gettext("{digit} at {percent}", digit=digit, percent=format_percent(lang, probability))
        for rank, (digit, probability) in enumerate(prediction.top3[1:])
        if rank == 0 or probability >= 0.01
    ]
    if not guesses:
        return lang.gettext("nothing else came close")
    # Translators: {guesses} lists the runners-up, e.g. "1 at 0.9 %, 2 at 0.3 %".
    return lang.gettext("next: {guesses}", guesses=", ".join(guesses))


def format_digit(lang: Language, prediction: DigitPrediction) -> str:
    """One digit with its confidence and runners-up: ``"7 — 98.7 % sure (next: 1 at 0.9 %)"``."""
    mark = " ?" if prediction.low_confidence else ""
    # Translators: {digit} is the digit read (with " ?" when unsure), {percent} how sure, e.g. "98.7 %",
    # and {runners_up} the next guesses, e.g. "next: 1 at 0.9 %".
    return lang.gettext("{digit} — {percent} sure ({runners_up})", digit=f"{prediction.digit}{mark}",
                        percent=format_percent(lang, prediction.confidence),
                        runners_up=_runners_up(lang, prediction))


def format_reading(lang: Language, reading: PhotoReading) -> str:
    """The reply to a photo: the number, each digit's confidence and runners-up.

    A low-confidence reading says so plainly and suggests a better photo; a photo with
    further lines of writing, which were not read, gets a line saying so and naming the button
    that reads them (:func:`line_button`).

    Args:
        lang: the language to answer in.
        reading: the digits, left to right (the classifier raises rather than return none;
            an empty reading still gets the "no digit found" answer).
    """
    if not reading.digits:
        return format_image_error(lang, NoDigitFoundError())
    text = _format_digits(lang, reading)
    if reading.runner_up:
        # Translators: the bot reads each photo two ways (digit by digit, and the whole line at once);
        # this line says they gave different answers, and how likely each is to be right: {number} is
        # the answer given, e.g. "1847", with {percent}, e.g. "58.2 %"; {runner_up} the other reading,
        # e.g. "1874", with {runner_up_percent}, e.g. "9.0 %". The two need not add up to 100 %.
        text += "\n" + lang.gettext(
            "Reading digit by digit and reading the whole line gave different answers: {number} is "
            "{percent} likely, {runner_up} {runner_up_percent}.", number=reading.number,
            percent=format_percent(lang, reading.confidence), runner_up=reading.runner_up,
            runner_up_percent=format_percent(lang, reading.runner_up_confidence))
    if reading.line_reader_read_nothing:
        # Translators: the bot reads each photo two ways (digit by digit, and the whole line at once);
        # this line says the whole-line reading found no digit where the digit-by-digit reading did.
        text += "\n" + lang.gettext("Reading the whole line found no digit there, so it may be no digit at all.")
    if reading.other_lines:
        # Translators: the photo holds more than one line of writing and only one was read;
        # {count} is how many lines were not read; {button} is the label of the button that reads
        # the next one ("Read the other line" or "Read the next line").
        text += "\n" + lang.ngettext(
            "I read one line; this photo has {count} more line of writing. Tap “{button}” to read it.",
            "I read one line; this photo has {count} more lines of writing. Tap “{button}” to read "
            "them one by one.", reading.other_lines, button=line_button(lang, reading.other_lines))
    return text


def _format_digits(lang: Language, reading: PhotoReading) -> str:
    """:func:`format_reading` without the runner-up line."""
    better_photo = lang.gettext("A closer, sharper photo in even light would help.")
    if len(reading.digits) == 1:
        (prediction,) = reading.digits
        if prediction.low_confidence:
            values = dict(digit=prediction.digit, percent=format_percent(lang, prediction.confidence),
                          runners_up=_runners_up(lang, prediction))
            if prediction.digit == 8:
                # Translators: the text for 8, which takes "an" in English; the same as for the other digits.
                unsure = lang.gettext("I think it's an {digit}, but I'm not sure: only {percent} ({runners_up}).",
                                      **values)
            else:
                # Translators: {percent} is how sure, e.g. "55.0 %"; {runners_up} like "next: 4 at 40.5 %".
                unsure = lang.gettext("I think it's a {digit}, but I'm not sure: only {percent} ({runners_up}).",
                                      **values)
            return unsure + "\n" + better_photo
        if prediction.digit == 8:
            # Translators: the text for 8, which takes "an" in English; the same as for the other digits.
            return lang.gettext("It's an {reading}", reading=format_digit(lang, prediction))
        # Translators: {reading} is like "7 — 98.7 % sure (next: 1 at 0.9 %)".
        return lang.gettext("It's a {reading}", reading=format_digit(lang, prediction))
    lines = [lang.gettext("I read {number}", number=reading.number)]
    lines += [f"• {format_digit(lang, prediction)}" for prediction in reading.digits]
    if reading.low_confidence:
        lines.append(lang.gettext("I'm not sure about the digits marked ?.") + " " + better_photo)
    return "\n".join(lines)


def image_error_texts(lang: Language, error: DigitImageError) -> tuple[str, str]:
    """``(message, tip)`` for a picture that cannot be read; the tip may be empty.

    ``core`` raises its errors with English texts; the bot says the same in the user's
    language, telling the cases apart by the error's class and its ``detail``. An error this
    does not know gets its class's general text, never English in another language's reply.
    """
    if isinstance(error, FileTooBigError):
        return (lang.gettext("That file is {size}: Telegram only lets me download files up to 20 MB.",
                             size=format_size(lang, error.num_bytes)),
                lang.gettext("Send it as a photo (Telegram shrinks it for you) or as a smaller image."))
    detail = error.detail or ""
    if isinstance(error, UnreadableImageError):
        tip = lang.gettext("Send a photo (JPEG, PNG, HEIC, WebP, GIF, BMP or TIFF) of a digit written on paper.")
        if detail == "0 bytes":
            return lang.gettext("That file is empty."), tip
        if detail == "no JPEG EOI marker":
            return lang.gettext("That photo seems cut off (the file is incomplete)."), tip
        if detail.startswith("format "):
            image_format = detail.removeprefix("format ").strip()
            if image_format:
                return lang.gettext("I can't read {format} images.", format=image_format), tip
            return lang.gettext("I can't read this kind of image."), tip
        return lang.gettext("That file isn't an image I can open (it may be corrupt or another kind of file)."), tip
    if isinstance(error, ImageTooLargeError):
        tip = lang.gettext("Send a normal phone photo; anything up to about 40 megapixels works.")
        size = re.fullmatch(r"(\d+)x(\d+)", detail)
        if size:
            return (lang.gettext("That image is too large ({width} x {height} pixels) for me to read.",
                                 width=size.group(1), height=size.group(2)), tip)
        return lang.gettext("That image is too large for me to read."), tip
    if isinstance(error, ImageTooSmallError):
        return (lang.gettext("That image is too small to hold a readable digit."),
                lang.gettext("Photograph the digit so it fills a good part of the picture."))
    if isinstance(error, NoDigitFoundError):
        reason = no_digit_reason(lang, error.reason)
        tips = {
            "blank": lang.gettext("Make sure the digit is in the picture, written dark enough to see."),
            "border": lang.gettext("Photograph the digit on the paper alone: away from the table's edge, your "
                                   "fingers and ruled lines."),
            "faint": lang.gettext("Write with a darker pen, or take the photo in brighter, even light."),
            "small": lang.gettext("Photograph the digit from closer, so it fills a good part of the picture."),
        }
        tip = tips.get(error.reason) or lang.gettext(
            "Write the digit in dark ink on plain paper, fill a good part of the frame with it, "
            "and take the photo in even light.")
        return " ".join(filter(None, [lang.gettext("I couldn't find a handwritten digit in that picture."), reason])), tip
    return lang.gettext("I couldn't read that image."), ""


def no_digit_reason(lang: Language, reason: str) -> str:
    """Why no digit was read (``NoDigitFoundError.reason``), one sentence in ``lang``; ``""``
    for no reason or one this does not know."""
    sentences = {
        "blank": lang.gettext("I found no ink: the picture looks blank to me."),
        "border": lang.gettext("I found only specks, or marks along the edges (a table, a finger, a page edge "
                               "or a ruled line)."),
        "texture": lang.gettext("I found only texture or specks, nothing shaped like writing."),
        "faint": lang.gettext("The marks I found are filled blobs or too faint to trace."),
        "small": lang.gettext("The marks I found are too small to read."),
        "shapes": lang.gettext("The marks I found are shapes, not pen strokes."),
        "not_digits": lang.gettext("No mark I found looks like a digit to me."),
    }
    return sentences.get(reason, "")


def format_image_error(lang: Language, error: DigitImageError) -> str:
    """The reply when a picture cannot be read: what went wrong, then the tip (see :func:`image_error_texts`)."""
    message, tip = image_error_texts(lang, error)
    return f"{message}\n{tip}" if tip else message


# ----------------------------------------------------------------- feedback


def keypad_prompt(lang: Language, position: int, predicted: str) -> str:
    """The keypad's question for digit ``position`` (0-based) of the ``predicted`` number.

    Examples (English):
        ``(0, "7")`` -> ``'Which digit is it?'``; ``(1, "427")`` -> ``'Digit 2 of 3 (I read 2): which is it?'``
    """
    if len(predicted) == 1:
        return lang.gettext("Which digit is it?")
    return lang.gettext("Digit {position} of {total} (I read {digit}): which is it?",
                        position=position + 1, total=len(predicted), digit=predicted[position])


def with_prompt(text: str, prompt: str) -> str:
    """A reading's text with the keypad's question below it (replacing any earlier question)."""
    return strip_prompt(text) + PROMPT_MARK + prompt


def strip_prompt(text: str) -> str:
    """A reading's text without the keypad's question, if it has one."""
    return text.split(PROMPT_MARK, 1)[0]


def format_feedback_done(lang: Language, predicted: str, labels: str) -> str:
    """The line added under a reading once the user answered.

    Examples (English):
        ``("7", "7")`` -> ``'✅ Confirmed, thanks!'``; ``("7", "1")`` -> ``'✏️ Corrected: 7 → 1, thanks!'``
    """
    if predicted == labels:
        return lang.gettext("✅ Confirmed, thanks!")
    return lang.gettext("✏️ Corrected: {predicted} → {labels}, thanks!", predicted=predicted, labels=labels)


def format_forgotten(lang: Language, readings: int, language_choice: bool = False) -> str:
    """The /forgetme answer after deleting ``readings`` stored photo readings and, if
    ``language_choice``, the user's choice of language."""
    if readings and language_choice:
        return lang.ngettext(
            "Done: I deleted everything I had stored about you ({count} photo reading and your choice of language).",
            "Done: I deleted everything I had stored about you ({count} photo readings and your choice of language).",
            readings)
    if readings:
        return lang.ngettext("Done: I deleted everything I had stored about you ({count} photo reading).",
                             "Done: I deleted everything I had stored about you ({count} photo readings).", readings)
    if language_choice:
        return lang.gettext("Done: I deleted everything I had stored about you (your choice of language).")
    return lang.gettext("I have nothing stored about you.")


def forget_unavailable(lang: Language) -> str:
    """/forgetme when the database cannot be reached: nothing was deleted."""
    return lang.gettext("Sorry, I can't reach my records right now, so nothing was deleted. Please try again later.")


# ----------------------------------------------------------------- /language


def language_menu(lang: Language, chosen: bool) -> str:
    """The /language text: which language the bot speaks with the user, and why; then "choose".

    Args:
        lang: the language in use (the text is in it).
        chosen: True when the user chose it with /language, False when it follows Telegram's settings.
    """
    if chosen:
        current = lang.gettext("I speak {language} with you, as you chose.", language=lang.name)
    else:
        current = lang.gettext("I speak {language} with you, following your Telegram settings.", language=lang.name)
    return current + "\n" + lang.gettext("Choose the language I speak with you:")


def language_follow_telegram_button(lang: Language) -> str:
    """The /language button that drops the user's choice: follow Telegram's language again."""
    return lang.gettext("🌐 As in Telegram")


def language_chosen(lang: Language, chosen: bool) -> str:
    """The toast after a /language tap, in the language now in use.

    Args:
        chosen: True for a language the user picked, False for "as in Telegram".
    """
    if chosen:
        return lang.gettext("From now on I speak {language} with you.", language=lang.name)
    return lang.gettext("From now on I follow your Telegram settings: {language}.", language=lang.name)


# ----------------------------------------------------------------- /stats


def confusion_matrix_caption(lang: Language) -> str:
    """The caption of the /stats confusion matrix."""
    return lang.gettext("Confusion matrix on the MNIST test set: rows are the true digits, columns what I answered.")


def _utc(moment: datetime) -> str:
    """``"2026-01-02 03:04 UTC"``: the same in every language."""
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def format_stats(
    lang: Language, report: ModelReport | None, photos_read: int, started_at: datetime, live: LiveStats | None = None
) -> str:
    """The /stats text: model quality and size, training date, photos read since start, live feedback.

    Args:
        lang: the language to answer in.
        report: the active model's metrics, or None when it has none.
        photos_read: photos successfully read since the bot started.
        started_at: when the bot started (timezone-aware).
        live: figures from users' feedback on the model now serving (``FeedbackStore.live_stats``
            of its version), or None to leave them out (no store).
    """
    lines = []
    if report is None:
        lines.append(lang.gettext("I have no metrics for the current model."))
    else:
        if report.test_accuracy is not None:
            accuracy = lang.percent(report.test_accuracy, 2)
            if report.test_images:
                lines.append(lang.ngettext("Test accuracy: {accuracy} on {count} MNIST test image",
                                           "Test accuracy: {accuracy} on {count} MNIST test images",
                                           report.test_images, accuracy=accuracy))
            else:
                lines.append(lang.gettext("Test accuracy: {accuracy}", accuracy=accuracy))
        if report.sure_right is not None and report.sure_count:
            lines.append(lang.ngettext(
                "When I say I'm {threshold} sure or more, I'm right {right} of the time "
                "(measured on {count} real handwritten digit I was never tuned on).",
                "When I say I'm {threshold} sure or more, I'm right {right} of the time "
                "(measured on {count} real handwritten digits I was never tuned on).",
                report.sure_count, threshold=lang.percent(0.9, 0), right=lang.percent(report.sure_right)))
        if report.recall:
            lines.append(lang.gettext("Recall per digit (how often each true digit is read right):"))
            lines.append("  ".join(f"{digit}: {lang.percent(recall)}"
                                   for digit, recall in sorted(report.recall.items())))
        details = []
        if report.created_at:
            details.append(lang.gettext("trained {date}", date=_utc(report.created_at)))
        if report.parameters:
            details.append(lang.ngettext("{count} parameter", "{count} parameters", report.parameters))
        if report.size_bytes:
            details.append(format_size(lang, report.size_bytes))
        if details:
            lines.append(lang.gettext("Model: {details}", details=", ".join(details)))
    lines.append(lang.gettext("Photos read since {date}: {count}", date=_utc(started_at),
                              count=lang.number(photos_read)))
    if live is not None:
        lines += format_live_stats(lang, live)
    return "\n".join(lines)


def format_live_stats(lang: Language, live: LiveStats) -> list[str]:
    """The /stats lines about users' feedback: answers confirmed and corrected, live accuracy, confusions.

    The figures are those of ``live.model_version`` (the model now serving), named in the
    first line; when other versions have feedback too, a last line gives the accuracy over
    all of them, for comparison. Before any feedback on this model, the first line says so.
    """
    version = live.model_version
    buttons = dict(right=right_button(lang), wrong=wrong_button(lang))
    if live.digits_checked == 0:
        if version is None:
            lines = [lang.gettext("No feedback yet: tap {right} or {wrong} under my answers.", **buttons)]
        else:
            lines = [lang.gettext(
                "No feedback on this model ({version}) yet: tap {right} or {wrong} under my answers.",
                version=version, **buttons)]
    else:
        corrected = lang.number(live.corrected_answers)
        if version is None:
            first = lang.ngettext("Feedback from users: {count} answer confirmed, {corrected} corrected",
                                  "Feedback from users: {count} answers confirmed, {corrected} corrected",
                                  live.confirmed_answers, corrected=corrected)
        else:
            first = lang.ngettext(
                "Feedback from users on this model ({version}): {count} answer confirmed, {corrected} corrected",
                "Feedback from users on this model ({version}): {count} answers confirmed, {corrected} corrected",
                live.confirmed_answers, version=version, corrected=corrected)
        lines = [first, lang.ngettext("Live accuracy: {accuracy} of {count} digit checked",
                                      "Live accuracy: {accuracy} of {count} digits checked",
                                      live.digits_checked, accuracy=lang.percent(live.accuracy))]
        if live.confusions:
            mix_ups = ", ".join(
                # Translators: a mistake and how often it was made, e.g. "1 read as 7 (2×)".
                lang.gettext("{true} read as {predicted} ({count}×)", true=true, predicted=predicted,
                             count=lang.number(count))
                for true, predicted, count in live.confusions)
            lines.append(lang.gettext("Most common mix-ups: {mix_ups}", mix_ups=mix_ups))
    if live.other_versions_checked:
        lines.append(lang.ngettext("All model versions: {accuracy} of {count} digit checked",
                                   "All model versions: {accuracy} of {count} digits checked",
                                   live.digits_checked_all_versions,
                                   accuracy=lang.percent(live.accuracy_all_versions)))
    return lines


# ----------------------------------------------------------------- /retrain, /model, /rollback


def admin_only(lang: Language) -> str:
    """An admin command from someone else."""
    return lang.gettext("Sorry, only the bot's admins can do that.")


def retrain_starting(lang: Language) -> str:
    """The retrain's status message before the child reports."""
    return lang.gettext("🛠 Retraining: collecting the samples and starting…")


def retrain_already_running(lang: Language) -> str:
    """/retrain while one runs."""
    return lang.gettext("A retrain is already running. Its status message shows how far it is.")


def retrain_no_result(lang: Language) -> str:
    """Why a retrain failed when its process ended with no report."""
    return lang.gettext("the training process ended without a result")


def rollback_while_retraining(lang: Language) -> str:
    """/rollback while a retrain runs."""
    return lang.gettext("A retrain is running; roll back after it has finished.")


def rollback_nothing_older(lang: Language) -> str:
    """/rollback with no older usable version."""
    return lang.gettext("There is no older usable version to roll back to. /model lists the versions.")


def format_duration(lang: Language, seconds: float) -> str:
    """A rough duration for people: ``"40 s"``, ``"3 min 10 s"``, ``"1 h 5 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return lang.gettext("{seconds} s", seconds=seconds)
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        if minutes < 10 and rest:
            return lang.gettext("{minutes} min {seconds} s", minutes=minutes, seconds=rest)
        return lang.gettext("{minutes} min", minutes=minutes)
    hours, rest = divmod(seconds, 3600)
    return lang.gettext("{hours} h {minutes} min", hours=hours, minutes=rest // 60)


def _accuracy(lang: Language, value: float | None) -> str:
    return "—" if value is None else lang.percent(value, 2)


def format_retrain_progress(lang: Language, start: dict, event: dict, last_epoch: dict | None = None) -> str:
    """The status message while a retrain runs.

    Args:
        lang: the language of the admin who started it.
        start: the retrain's ``start`` event (base version, sample counts), or {} before it.
        event: the latest progress event (``start``, ``step``, ``epoch`` or ``evaluating``).
        last_epoch: the latest ``epoch`` event, whose validation accuracy stays on show.
    """
    if not start:
        lines = [lang.gettext("🛠 Retraining")]
    else:
        values = dict(base=start["base"], mnist=lang.number(start["mnist_samples"]),
                      user=lang.number(start["user_samples"]))
        if start["user_samples"]:
            lines = [lang.gettext("🛠 Retraining from {base}: {mnist} MNIST images + {user} user samples "
                                  "(each counted {weight}×)", weight=f"{start['user_weight']:g}", **values)]
        else:
            lines = [lang.gettext("🛠 Retraining from {base}: {mnist} MNIST images + {user} user samples", **values)]
        lines.append(lang.ngettext("{count} user sample held out to judge the result.",
                                   "{count} user samples held out to judge the result.", start["user_holdout"]))
    kind = event.get("event")
    if kind == "start":
        lines.append(lang.gettext("Epoch 1 of {epochs} under way…", epochs=event["epochs"]))
    if last_epoch:
        lines.append(lang.gettext("Epoch {epoch} of {epochs} done: validation accuracy {accuracy}.",
                                  epoch=last_epoch["epoch"], epochs=last_epoch["epochs"],
                                  accuracy=_accuracy(lang, last_epoch.get("val_accuracy"))))
    if kind == "step":
        lines.append(lang.gettext("Epoch {epoch} of {epochs} under way: {percent} of the run done.",
                                  epoch=event["epoch"], epochs=event["epochs"],
                                  percent=lang.percent(event["fraction"], 0)))
    elif kind == "evaluating":
        lines.append(lang.gettext("Training done; comparing the new model with the active one…"))
    if kind in ("step", "epoch") and event.get("eta_seconds") is not None and event["fraction"] < 1:
        lines.append(lang.gettext("About {duration} left.", duration=format_duration(lang, event["eta_seconds"])))
    return "\n".join(lines)


def format_retrain_result(lang: Language, done: dict) -> str:
    """The final status: promoted or not, with the before/after figures (``done`` event of the retrain)."""
    before, after = done["before"], done["after"]
    if done["promoted"]:
        lines = [lang.gettext("✅ New model {version} promoted: I'm using it now (was {base}).",
                              version=done["version"], base=done["base"])]
    else:
        lines = [lang.gettext("❌ New model {version} not promoted: I keep using {base}.",
                              version=done["version"], base=done["base"])]
    lines.append(lang.gettext("MNIST test accuracy: {before} → {after}",
                              before=_accuracy(lang, before["mnist_accuracy"]),
                              after=_accuracy(lang, after["mnist_accuracy"])))
    if after.get("user_holdout"):
        lines.append(lang.gettext("Held-out user samples ({count}): {before} → {after}",
                                  count=lang.number(after["user_holdout"]),
                                  before=_accuracy(lang, before["user_accuracy"]),
                                  after=_accuracy(lang, after["user_accuracy"])))
    else:
        lines.append(lang.gettext("Held-out user samples: none yet."))
    lines.append(lang.gettext("Rule: MNIST may drop by at most {points} point, the user samples not at all.",
                              points=lang.number(0.1, 1)))
    lines.append(lang.gettext("Took {duration}.", duration=format_duration(lang, done["seconds"])))
    if done.get("pruned"):
        lines.append(lang.gettext("Deleted old rejected versions to save space: {versions}.",
                                  versions=", ".join(done["pruned"])))
    return "\n".join(lines)


def format_retrain_failed(lang: Language, reason: str) -> str:
    """The status when a retrain could not finish; the active model is unchanged.

    Args:
        reason: why, in a few words (the training process's own message is in English).
    """
    return lang.gettext("⚠️ The retrain failed: {reason}\nThe active model is unchanged.", reason=reason)


def format_retrain_exit(lang: Language, returncode: int) -> str:
    """Why a retrain process ended without a result, from its exit status."""
    if returncode < 0:
        return lang.gettext("the training process was stopped (signal {signal})", signal=-returncode)
    return lang.gettext("the training process exited with status {status} (see retrain.log in the bot's home)",
                        status=returncode)


def format_confusion_caption(lang: Language, version: str) -> str:
    """Caption of a new version's confusion matrix."""
    return lang.gettext("Confusion matrix of {version} on the MNIST test set: rows true digits, columns answers.",
                        version=version)


def format_model_versions(lang: Language, versions: list[ModelVersion], active: str | None,
                          keep_rejected: int | None = None) -> str:
    """/model: one line per version, newest first, the active one marked.

    Args:
        lang: the language to answer in.
        versions: the registry's versions, oldest first.
        active: the active version's name, or None.
        keep_rejected: how many rejected versions a retrain keeps; when given and some are
            listed, a last line says that older ones are deleted.
    """
    if not versions:
        return lang.gettext("No model versions are registered yet.")
    labels = {INITIAL: lang.gettext("first model"), PROMOTED: lang.gettext("retrained"),
              REJECTED: lang.gettext("retrained, not promoted")}
    lines = [lang.gettext("Model versions (▶ = in use):")]
    for version in reversed(versions):
        parts = [lang.gettext("MNIST {accuracy}", accuracy=_accuracy(lang, version.test_accuracy))]
        if version.user_holdout:
            parts.append(lang.gettext("user samples {accuracy} of {count}",
                                      accuracy=_accuracy(lang, version.user_accuracy),
                                      count=lang.number(version.user_holdout)))
        trained = version.trained_at or version.created_at
        if trained:
            parts.append(lang.gettext("trained {date}", date=_utc(trained)))
        parts.append(labels.get(version.status, version.status))
        mark = "▶" if version.name == active else "  "
        lines.append(f"{mark} {version.name}: " + ", ".join(parts))
    if keep_rejected is not None and any(version.status == REJECTED for version in versions):
        lines.append(lang.ngettext(
            "Of the versions not promoted, each retrain keeps the newest {count} (and the one in use) "
            "and deletes older ones.",
            "Of the versions not promoted, each retrain keeps the newest {count} (and the one in use) "
            "and deletes older ones.",
            keep_rejected))
    return "\n".join(lines)


def format_rolled_back(lang: Language, version: ModelVersion) -> str:
    """After /rollback: which version is now in use."""
    return lang.gettext("Switched to {version} (MNIST {accuracy}). I'm using it now.",
                        version=version.name, accuracy=_accuracy(lang, version.test_accuracy))


def format_already_active(lang: Language, name: str) -> str:
    """/rollback to the version already in use."""
    return lang.gettext("{version} is already the model in use.", version=name)


def format_unknown_version(lang: Language, name: str) -> str:
    """/rollback to a version that does not exist."""
    return lang.gettext("There is no model version {version}. /model lists the versions.", version=name)


def format_cannot_switch(lang: Language, detail: str) -> str:
    """/rollback that the registry refused; ``detail`` is its (English, technical) reason."""
    return lang.gettext("I can't switch to that: {detail}. /model lists the versions.", detail=detail)
