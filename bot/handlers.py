"""Handlers: each translates one kind of update between Telegram and ``core``, nothing more."""

from __future__ import annotations

import logging
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from core.errors import DigitImageError, ImageTooLargeError
from core.visualize import render_steps_png

from bot import callbacks, messages
from bot.context import (
    PhotoClassifier,
    RememberedPhoto,
    get_rate_bucket,
    get_services,
    recall_photo,
    remember_photo,
)
from bot.stats import confusion_matrix_png, load_model_report

logger = logging.getLogger(__name__)


async def limit_rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop updates from a user who exceeds their allowance, warning them once.

    Runs before every other handler (group -1); raising ``ApplicationHandlerStop`` ends
    the update's processing.
    """
    if update.effective_user is None or get_rate_bucket(context).try_take():
        return
    bucket = get_rate_bucket(context)
    if not bucket.warned:
        bucket.warned = True
        if update.callback_query:
            await update.callback_query.answer(messages.SLOW_DOWN)
        elif update.effective_message:
            await update.effective_message.reply_text(messages.SLOW_DOWN)
    raise ApplicationHandlerStop


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: greet and explain."""
    await update.effective_message.reply_text(messages.START)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help, and any command the bot does not know: tips and the command list (admins: theirs too)."""
    admin = update.effective_user is not None and update.effective_user.id in get_services(context).settings.admin_ids
    await update.effective_message.reply_text(messages.ADMIN_HELP if admin else messages.HELP)


async def on_other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text, stickers, voice...: point the user at sending a photo."""
    await update.effective_message.reply_text(messages.SEND_A_PHOTO)


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo: read its largest size."""
    photo = update.effective_message.photo[-1]
    await read_and_reply(update, context, RememberedPhoto(photo.file_id, photo.file_size))


async def on_image_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An image sent as a file (uncompressed): read it like a photo."""
    document = update.effective_message.document
    await read_and_reply(update, context, RememberedPhoto(document.file_id, document.file_size))


async def on_other_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A PDF, ZIP or other non-image file: ask for a photo instead."""
    await update.effective_message.reply_text(messages.NOT_AN_IMAGE_DOCUMENT)


async def read_and_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, photo: RememberedPhoto) -> None:
    """Download ``photo``, read it off the event loop, and answer with the reading and a button."""
    services = get_services(context)
    message = update.effective_message
    try:
        data = await download(context, photo)
        reading = await services.run_blocking(services.classifier.read_photo, data)
    except DigitImageError as error:
        logger.debug("Unreadable picture in update %s: %s", update.update_id, error.detail or error)
        await message.reply_text(messages.format_image_error(error))
        return
    services.photos_read += 1
    reading_id = remember_photo(context, photo)
    await message.reply_text(messages.format_reading(reading), reply_markup=callbacks.reading_keyboard(reading_id))


async def on_saw(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "What I saw" button: send the picture of the preprocessing steps for that reading."""
    query = update.callback_query
    photo = recall_photo(context, context.match.group(1))
    if photo is None:
        await query.answer(messages.SAW_EXPIRED, show_alert=True)
        return
    await query.answer()
    services = get_services(context)
    try:
        data = await download(context, photo)
        png = await services.run_blocking(steps_png, services.classifier, data)
    except DigitImageError as error:
        await update.effective_chat.send_message(messages.format_image_error(error))
        return
    await update.effective_chat.send_photo(png, caption=messages.SAW_CAPTION)


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: the model's quality, photos read since start, and the confusion matrix picture."""
    services = get_services(context)
    model_path = Path(services.classifier.path or services.settings.model_path)
    report = await services.run_blocking(load_model_report, model_path, services.classifier.card)
    message = update.effective_message
    await message.reply_text(messages.format_stats(report, services.photos_read, services.started_at))
    png = await services.run_blocking(confusion_matrix_png, model_path, report)
    if png is not None:
        await message.reply_photo(png, caption=messages.CONFUSION_MATRIX_CAPTION)


async def download(context: ContextTypes.DEFAULT_TYPE, photo: RememberedPhoto) -> bytes:
    """Fetch a file's bytes from Telegram, refusing files above the 20 MB bot limit first.

    Raises:
        ImageTooLargeError: the file is larger than Telegram lets bots download.
    """
    if photo.file_size and photo.file_size > messages.MAX_DOWNLOAD_BYTES:
        user_message, tip = messages.format_file_too_big(photo.file_size)
        raise ImageTooLargeError(user_message, tip=tip, detail=f"file_size={photo.file_size}")
    telegram_file = await context.bot.get_file(photo.file_id)
    return bytes(await telegram_file.download_as_bytearray())


def steps_png(classifier: PhotoClassifier, data: bytes) -> bytes:
    """Read the photo again and draw its preprocessing steps as a PNG (blocking; for a worker thread).

    Raises:
        DigitImageError: as ``Classifier.read_photo``.
    """
    reading, segmentation = classifier.read_photo_with_steps(data)
    return render_steps_png(reading, segmentation)
