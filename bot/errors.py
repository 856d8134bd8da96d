"""The one error handler: log what went wrong with the update id, then apologise to the user."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot import messages

logger = logging.getLogger(__name__)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle an exception raised by a handler, or by polling when ``update`` is None.

    Network trouble while polling is logged briefly: PTB retries with back-off by itself.
    Anything else is logged with its traceback and the update id, and the chat (if any) gets
    a short apology. Failing to send that apology is logged, never raised.
    """
    error = context.error
    if update is None and isinstance(error, NetworkError):
        logger.warning("Network problem while polling Telegram (%s); PTB retries", error)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("Update %s caused an error", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await context.bot.send_message(update.effective_chat.id, messages.SOMETHING_WENT_WRONG)
    except TelegramError as send_error:
        logger.warning("Could not apologise for update %s: %s", update_id, send_error)
