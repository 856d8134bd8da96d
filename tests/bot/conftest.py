"""Fixtures for the bot tests; the test doubles themselves live in ``bot_fakes``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from unittest.mock import AsyncMock, MagicMock

import os

import pytest
from bot_fakes import TOKEN, FakeClassifier, write_metrics

from core.config import DEFAULT_MODEL_PATH, Settings, load_settings

from bot.context import BotServices, store_services
from bot.ratelimit import BotLimits
from bot.store import DATABASE_FILENAME, FeedbackStore


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings with a test token and no network URLs."""
    return Settings(token=TOKEN, home=tmp_path, model_path=DEFAULT_MODEL_PATH)


@pytest.fixture
def api_settings(api, tmp_path) -> Settings:
    """Settings for a bot polling the test module's ``api`` fixture (a LocalBotApi), its home in ``tmp_path``."""
    return Settings(token=TOKEN, base_url=api.base_url, base_file_url=api.base_file_url, home=tmp_path / "home")


@pytest.fixture
async def bot(api_settings, classifier):
    """The real application polling the test module's ``api`` with ``classifier``."""
    from bot.app import build_application
    from bot.main import running

    async with running(build_application(api_settings, classifier), poll_timeout=5) as application:
        yield application


@pytest.fixture
def fake_classifier() -> FakeClassifier:
    """A fresh :class:`FakeClassifier` reading every photo as 7."""
    return FakeClassifier()


@pytest.fixture
def store(settings):
    """A fresh :class:`FeedbackStore` in the test's home directory."""
    with FeedbackStore.open(settings.home / DATABASE_FILENAME) as feedback_store:
        yield feedback_store


@pytest.fixture
def context(settings, fake_classifier, store):
    """A stand-in ``CallbackContext`` with services (and ``store``) in ``bot_data`` and an ``AsyncMock`` bot.

    ``context.bot.get_file`` returns a file whose download yields ``context.file_bytes``.
    """
    executor = ThreadPoolExecutor(1)
    ctx = SimpleNamespace(bot_data={}, chat_data={}, user_data={}, bot=MagicMock(), match=None, file_bytes=b"")
    services = BotServices(settings, fake_classifier, BotLimits(), executor, store=store)
    store_services(ctx.bot_data, services)

    async def get_file(file_id):
        telegram_file = MagicMock()
        telegram_file.download_as_bytearray = AsyncMock(side_effect=lambda: bytearray(ctx.file_bytes))
        return telegram_file

    ctx.bot.get_file = AsyncMock(side_effect=get_file)
    ctx.bot.send_message = AsyncMock()
    yield ctx
    executor.shutdown()
    services.db_executor.shutdown()


@pytest.fixture(scope="session")
def classifier(tmp_path_factory):
    """The real trained classifier, loaded once per session; a FakeClassifier if none is trained yet."""
    model_path = load_settings({**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}).model_path
    if model_path.is_file():
        from core.classifier import Classifier

        return Classifier.from_path(model_path)
    model_dir = tmp_path_factory.mktemp("fake_model")
    write_metrics(model_dir)
    return FakeClassifier(model_dir=model_dir)


@pytest.fixture
def real_model(classifier):
    """Skip unless the trained model is in use."""
    if isinstance(classifier, FakeClassifier):
        pytest.skip(f"needs a trained model at {DEFAULT_MODEL_PATH} or DIGITBOT_MODEL")
    return classifier
