"""Wiring: building the application makes no network call and registers what it should."""

from bot_fakes import TOKEN, FakeClassifier
from telegram.ext import AIORateLimiter, CallbackQueryHandler, MessageHandler

from core.config import Settings

from bot.app import build_application
from bot.context import get_classifier
from bot.errors import error_handler
from bot.ratelimit import BotLimits

from bot import i18n

EN = i18n.english()


def test_build_registers_photo_callback_and_error_handlers(settings, fake_classifier):
    application = build_application(settings, fake_classifier)
    handlers = [handler for group in application.handlers.values() for handler in group]
    assert any(isinstance(h, MessageHandler) and h.callback.__name__ == "on_photo" for h in handlers)
    assert any(isinstance(h, CallbackQueryHandler) for h in handlers)
    assert error_handler in application.error_handlers
    assert get_classifier(application) is fake_classifier
    assert isinstance(application.bot.rate_limiter, AIORateLimiter)


def test_local_server_urls_are_used_and_file_url_derived():
    settings = Settings(token=TOKEN, base_url="http://127.0.0.1:8081/bot")
    application = build_application(settings, FakeClassifier(), limits=BotLimits.unlimited())
    assert application.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    assert application.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"
    assert application.bot.rate_limiter is None


def test_forgetme_and_every_button_action_have_a_handler(settings, fake_classifier):
    from telegram.ext import CommandHandler

    from bot import callbacks

    application = build_application(settings, fake_classifier)
    handlers = [handler for group in application.handlers.values() for handler in group]
    assert any(isinstance(h, CommandHandler) and "forgetme" in h.commands for h in handlers)
    patterns = [h.pattern for h in handlers if isinstance(h, CallbackQueryHandler)]
    assert patterns[:-1] == list(callbacks.PATTERNS.values())
    assert patterns[-1] is None  # the catch-all for unknown buttons comes last
    assert not any(settings.home.iterdir())  # building opens no database: post_init does


async def test_post_init_opens_the_store_and_post_shutdown_closes_it(settings, fake_classifier):
    from unittest.mock import AsyncMock, patch

    import pytest

    from telegram import BotCommandScopeAllGroupChats

    from bot import messages
    from bot.app import post_init, post_shutdown
    from bot.context import get_services
    from bot.store import StoreError

    application = build_application(settings, fake_classifier)
    services = get_services(application)
    with patch.object(type(application.bot), "set_my_commands", AsyncMock()) as set_my_commands:  # no network
        await post_init(application)
    # Per language: the private chats' menu and the groups' one (with /read first); English for everyone else.
    menus = {(call.kwargs.get("language_code"), "scope" in call.kwargs): call for call in set_my_commands.await_args_list}
    codes = [language.menu_code or None for language in i18n.supported()]
    assert set(menus) == {(code, groups) for code in codes for groups in (False, True)} and len(menus) == 10
    private, groups = menus[None, False], menus[None, True]
    assert [command.command for command in private.args[0]] == [command for command, _ in messages.commands(EN)]
    assert [command.command for command in groups.args[0]][0] == "read"
    assert groups.kwargs["scope"] == BotCommandScopeAllGroupChats()
    german = [command.description for command in menus["de", False].args[0]]
    assert german == [description for _, description in messages.commands(i18n.get("de"))]
    assert german[0] == "Was dieser Bot kann"
    store = services.store
    assert store.schema_version >= 1 and store.path == settings.home / "feedback.sqlite3"
    await post_shutdown(application)
    assert services.store is None
    with pytest.raises(StoreError):
        store.schema_version


def test_api_connection_pool_is_sized_by_the_limits(settings, fake_classifier):
    application = build_application(settings, fake_classifier, limits=BotLimits(connection_pool_size=5))
    api_request, updates_request = application.bot.request, application.updater.bot._request[0]
    assert api_request._client_kwargs["limits"].max_connections == 5
    assert updates_request._client_kwargs["limits"].max_connections == 1  # getUpdates: one long poll
