"""The one error handler: log what went wrong with the update id, apologise to the user, alert the admins."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot import i18n, messages
from bot.context import get_language, get_services
from bot.i18n import Language
from bot.store import StoreError

logger = logging.getLogger(__name__)

_ALERTS_KEY = "admin_alerts"
#: Seconds between two alerts to the admins; errors meanwhile are counted into the next one.
ADMIN_ALERT_INTERVAL = 60.0
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class AdminAlerts:
    """Rate limit of the admins' error alerts: at most one per ``interval`` seconds.

    Attributes:
        interval: seconds between alerts.
        clock: monotonic time source in seconds (injectable for tests).
        last_sent: ``clock()`` when the last alert went out, or None.
        suppressed: errors not alerted since then.
    """

    interval: float = ADMIN_ALERT_INTERVAL
    clock: Callable[[], float] = time.monotonic
    last_sent: float | None = field(default=None, init=False)
    suppressed: int = field(default=0, init=False)

    def take(self) -> int | None:
        """Claim the right to alert now: the number of errors suppressed before this one, or None if too soon."""
        now = self.clock()
        if self.last_sent is not None and now - self.last_sent < self.interval:
            self.suppressed += 1
            return None
        self.last_sent, suppressed, self.suppressed = now, self.suppressed, 0
        return suppressed


def get_admin_alerts(context: ContextTypes.DEFAULT_TYPE) -> AdminAlerts:
    """The bot's :class:`AdminAlerts`, created on first use."""
    return context.bot_data.setdefault(_ALERTS_KEY, AdminAlerts())


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle an exception raised by a handler, or by polling when ``update`` is None.

    Network trouble while polling is logged briefly: PTB retries with back-off by itself.
    Anything else is logged with its traceback and the update id, the chat (if any) gets
    a short apology in the sender's language, and the admins (``settings.admin_ids``) an alert,
    at most one a minute, each in the language they chose with /language (else English).
    Failing to send either message is logged, never raised.
    """
    error = context.error
    if update is None and isinstance(error, NetworkError):
        logger.warning("Network problem while polling Telegram (%s); PTB retries", error)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("Update %s caused an error", update_id, exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            lang = await get_language(update, context)
        except Exception:  # whatever broke the update must not also stop the apology
            logger.warning("Could not tell the language of update %s", update_id, exc_info=True)
            lang = i18n.english()
        try:
            await context.bot.send_message(update.effective_chat.id, messages.something_went_wrong(lang))
        except TelegramError as send_error:
            logger.warning("Could not apologise for update %s: %s", update_id, send_error)
    await alert_admins(context, update_id, error)


async def alert_admins(context: ContextTypes.DEFAULT_TYPE, update_id: int | None, error: BaseException | None) -> None:
    """Tell each admin that an unexpected error happened, unless an alert went out within the last minute.

    The alert names the update id, the error's type and where in the bot's code it was raised,
    never the error's message or the update's content: those may hold user data or, in an
    HTTP error, the token. The log has the details.
    """
    admin_ids = _admin_ids(context)
    if not admin_ids:
        return
    suppressed = get_admin_alerts(context).take()
    if suppressed is None:
        return
    error_type, where = type(error).__name__ if error is not None else "unknown error", _where(error)
    for admin_id in sorted(admin_ids):
        text = messages.format_admin_error_alert(await _admin_language(context, admin_id), update_id, error_type,
                                                 where, suppressed)
        try:
            await context.bot.send_message(admin_id, text)
        except TelegramError as send_error:  # e.g. an admin who never started the bot
            logger.warning("Could not alert admin %s about update %s: %s", admin_id, update_id, send_error)


async def _admin_language(context: ContextTypes.DEFAULT_TYPE, admin_id: int) -> Language:
    """The language admin ``admin_id`` chose with /language, else English (an alert comes
    with no update of theirs to tell their Telegram language)."""
    try:
        services = get_services(context)
        if services.store is None:
            return i18n.english()
        return i18n.find(await services.run_db(services.store.language_of, admin_id)) or i18n.english()
    except (KeyError, AttributeError, StoreError, RuntimeError):  # no services, or the store is closed
        return i18n.english()


def _admin_ids(context: ContextTypes.DEFAULT_TYPE) -> frozenset[int]:
    try:
        return get_services(context).settings.admin_ids
    except (KeyError, AttributeError):
        return frozenset()


def _where(error: BaseException | None) -> str | None:
    """``path:line in function`` of the innermost traceback frame in the project's own code, or None."""
    where = None
    traceback = error.__traceback__ if error is not None else None
    while traceback is not None:
        code = traceback.tb_frame.f_code
        path = os.path.abspath(code.co_filename)
        if path.startswith(_PROJECT_ROOT + os.sep) and f"{os.sep}site-packages{os.sep}" not in path:
            where = f"{os.path.relpath(path, _PROJECT_ROOT)}:{traceback.tb_lineno} in {code.co_name}"
        traceback = traceback.tb_next
    return where
