"""Wiring: building the application makes no network call and registers what it should."""

from bot_fakes import TOKEN, FakeClassifier
from telegram.ext import AIORateLimiter, CallbackQueryHandler, MessageHandler

from core.config import Settings

from bot.app import build_application
from bot.context import get_classifier
from bot.errors import error_handler
from bot.ratelimit import BotLimits


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
