"""Assemble the python-telegram-bot ``Application``: builder, handlers in order, error handler."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from telegram import BotCommand, BotCommandScopeAllGroupChats, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from core.config import Settings

from bot import addressing, callbacks, handlers, i18n, messages, retrain
from bot.context import BotServices, PhotoClassifier, get_services, store_services
from bot.errors import error_handler
from bot.ratelimit import BotLimits
from bot.store import DATABASE_FILENAME, SCHEMA_VERSION, FeedbackStore

logger = logging.getLogger(__name__)

#: The update types the bot asks Telegram for.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]

# New messages only: edits of old messages are not re-read.
_NEW = filters.UpdateType.MESSAGE
# In a group only what mentions the bot, replies to it or carries /read in a caption; all in private chats.
_ASKED = _NEW & addressing.ADDRESSED


def build_application(settings: Settings, classifier: PhotoClassifier, *, limits: BotLimits | None = None) -> Application:
    """Build the bot around an already loaded classifier. Makes no network call.

    Args:
        settings: token and Bot API URLs. When only ``base_url`` is set and ends in
            ``/bot`` (a local Bot API server), the file URL is derived from it.
        classifier: the loaded model (``core.classifier.Classifier`` or a fake).
        limits: rate limits and pool sizes; defaults suit a public bot.

    Returns:
        The application, ready for ``run_polling``/``run_webhook`` or :func:`bot.main.running`.
    """
    limits = limits or BotLimits()
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .concurrent_updates(limits.concurrent_updates)
        .connection_pool_size(limits.connection_pool_size)
        .pool_timeout(10.0)
        .read_timeout(15.0)  # downloads of photos up to 20 MB
        .get_updates_read_timeout(10.0)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if limits.outgoing_per_second:
        builder.rate_limiter(AIORateLimiter(overall_max_rate=limits.outgoing_per_second, max_retries=2))
    if settings.base_url:
        builder.base_url(settings.base_url)
    base_file_url = settings.base_file_url or _file_url_for(settings.base_url)
    if base_file_url:
        builder.base_file_url(base_file_url)
    application = builder.build()
    executor = ThreadPoolExecutor(limits.inference_workers, thread_name_prefix="digitbot-cpu")
    store_services(application.bot_data, BotServices(settings, classifier, limits, executor))

    application.add_handler(TypeHandler(Update, handlers.limit_rate), group=-1)
    application.add_handler(CommandHandler("start", handlers.on_start, filters=_NEW))
    application.add_handler(CommandHandler("help", handlers.on_help, filters=_NEW))
    application.add_handler(CommandHandler("stats", handlers.on_stats, filters=_NEW))
    application.add_handler(CommandHandler("model", retrain.on_model, filters=_NEW))
    application.add_handler(CommandHandler("retrain", retrain.on_retrain, filters=_NEW))
    application.add_handler(CommandHandler("rollback", retrain.on_rollback, filters=_NEW))
    application.add_handler(CommandHandler("language", handlers.on_language, filters=_NEW))
    application.add_handler(CommandHandler("forgetme", handlers.on_forget_me, filters=_NEW))
    application.add_handler(CommandHandler("read", handlers.on_read, filters=_NEW))
    # Groups: "@bot" in reply to someone's photo reads that photo, as /read does.
    application.add_handler(MessageHandler(_NEW & addressing.READ_REPLIED_PHOTO, handlers.on_read))
    application.add_handler(MessageHandler(_ASKED & filters.PHOTO, handlers.on_photo))
    application.add_handler(MessageHandler(_ASKED & filters.Document.IMAGE, handlers.on_image_document))
    application.add_handler(MessageHandler(_ASKED & filters.Document.ALL, handlers.on_other_document))
    # Unknown commands: any in a private chat; in a group only those naming the bot (/foo@digitbot),
    # since a bare /foo may be meant for another bot.
    application.add_handler(MessageHandler(
        _NEW & filters.COMMAND & (addressing.PRIVATE | addressing.COMMAND_FOR_BOT), handlers.on_help))
    application.add_handler(MessageHandler(_ASKED, handlers.on_other_message))
    for action, callback in (
        (callbacks.SAW, handlers.on_saw),
        (callbacks.LINE, handlers.on_line),
        (callbacks.RIGHT, handlers.on_right),
        (callbacks.WRONG, handlers.on_wrong),
        (callbacks.FIX, handlers.on_fix),
        (callbacks.BACK, handlers.on_back),
        (callbacks.LANGUAGE, handlers.on_language_button),
    ):
        application.add_handler(CallbackQueryHandler(callback, pattern=callbacks.PATTERNS[action]))
    application.add_handler(CallbackQueryHandler(handlers.on_unknown_button))
    application.add_error_handler(error_handler)
    return application


def _file_url_for(base_url: str | None) -> str | None:
    """``http://host:port/bot`` -> ``http://host:port/file/bot`` (the Bot API server's layout)."""
    if base_url and base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    return None


async def post_init(application: Application) -> None:
    """Open the feedback store under ``settings.home``, register the command menus, watch the model registry.

    Raises:
        bot.store.StoreError: the database cannot be opened or migrated (the bot does not start).
    """
    services = get_services(application)
    services.store = await services.run_db(FeedbackStore.open, services.settings.home / DATABASE_FILENAME)
    logger.info("Feedback store %s (schema version %s)", services.store.path, SCHEMA_VERSION)
    await set_command_menus(application)
    retrain.watch_registry(application)


async def set_command_menus(application: Application) -> None:
    """Register the command menus, in private chats and in groups, in every language the bot speaks.

    English is registered without a ``language_code``, so it is also the menu of everyone whose
    language the bot does not speak; each other language for its two-letter code (Telegram shows
    the ``pt`` menu to ``pt-br`` users too).
    """
    requests = []
    for lang in i18n.supported():
        language_code = lang.menu_code or None
        requests.append(application.bot.set_my_commands(
            [BotCommand(command, text) for command, text in messages.commands(lang)], language_code=language_code))
        requests.append(application.bot.set_my_commands(
            [BotCommand(command, text) for command, text in messages.group_commands(lang)],
            scope=BotCommandScopeAllGroupChats(), language_code=language_code))
    await asyncio.gather(*requests)


async def post_stop(application: Application) -> None:
    """End a running retrain (its candidate is discarded; the active model is untouched) and the registry watch."""
    await retrain.stop_retrain(application)


async def post_shutdown(application: Application) -> None:
    """End a running retrain if still needed, stop the worker threads (queued work is dropped), close the store."""
    await retrain.stop_retrain(application)
    services = get_services(application)
    services.executor.shutdown(wait=True, cancel_futures=True)
    if services.store is not None:
        await services.run_db(services.store.close)
        services.store = None
    services.db_executor.shutdown(wait=True)
