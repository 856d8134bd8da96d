"""End to end: an admin's /retrain runs in a child process while the bot keeps answering photos."""

from __future__ import annotations

import asyncio
import re
import time

import numpy as np
import pytest
from bot_fakes import TOKEN, digit_photo
from retrain_data import FIXTURE, write_always_model, write_mnist

from core.config import Settings
from core.registry import ModelRegistry

from bot import i18n, messages
from bot.context import get_services
from bot.local_api import LocalBotApi
from bot.main import load_active_classifier, running
from bot.app import build_application
from bot.ratelimit import BotLimits
from bot.retrain import get_retrain_state
from bot.store import DATABASE_FILENAME, FeedbackStore

EN = i18n.english()

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN, USER = 7, 1001


def seed_feedback(home, count: int = 60) -> None:
    """Users' answers to the broken model: every digit read as 9, corrected (9s confirmed)."""
    with np.load(FIXTURE) as archive:
        images, labels = archive["x"][400 - count : 400], archive["y"][400 - count : 400]
    home.mkdir(parents=True, exist_ok=True)
    store = FeedbackStore.open(home / DATABASE_FILENAME)
    try:
        for image, label in zip(images, labels):
            if label == 9:
                continue  # the test data has no 9: the broken model must score 0 on it
            reading = store.record_reading(user_id=USER, chat_id=USER, model_version="v1",
                                           predictions=[(9, 0.99, image.astype(np.float32) / 255)])
            store.record_feedback(reading.reading_id, USER, [int(label)])
    finally:
        store.close()


async def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def api():
    async with LocalBotApi(TOKEN) as server:
        yield server


async def test_admin_retrain_promotes_while_photos_keep_being_answered(api, tmp_path, tiny_model_path, monkeypatch):
    # A model that answers 9 to everything: the number reader would read the photos itself.
    monkeypatch.setenv("DIGITBOT_NUMBER_READER", "off")
    # The active model is broken (answers 9 to everything; the test data has no 9), so any
    # candidate is at least as good and the gate must promote it.
    (tmp_path / "broken").mkdir()
    broken = write_always_model(tiny_model_path, tmp_path / "broken" / "digit_cnn.keras", digit=9)
    settings = Settings(token=TOKEN, base_url=api.base_url, base_file_url=api.base_file_url,
                        admin_ids=frozenset({ADMIN}), home=tmp_path / "home", model_path=broken,
                        mnist_path=write_mnist(tmp_path / "mnist.npz", without=9), retrain_epochs=1)
    seed_feedback(settings.home)
    first = load_active_classifier(settings)
    application = build_application(settings, first, limits=BotLimits.unlimited())
    async with running(application, poll_timeout=5):
        api.send_command(USER, "retrain")
        (refusal,) = await api.next_messages(USER)
        assert refusal.text == messages.admin_only(EN)

        api.send_command(ADMIN, "retrain")
        (status,) = await api.next_messages(ADMIN)
        await wait_until(lambda: status.text.startswith("🛠 Retraining from v1"), timeout=60)
        assert re.search(r"\+ [1-9]\d* user samples", status.text), status.text  # the store's export
        assert re.search(r"[1-9]\d* user samples held out", status.text), status.text

        state = get_retrain_state(application.bot_data)
        latencies = []
        for digit in "38":
            sent = time.perf_counter()
            api.send_photo(USER, digit_photo(digit))
            (reply,) = await api.next_messages(USER, timeout=10)
            latencies.append(time.perf_counter() - sent)
            assert reply.text.startswith("It's a 9")  # the broken model, still in service
        assert state.process is not None and state.process.returncode is None, "retrain ended too early"
        assert max(latencies) < 2.0, latencies

        api.send_command(ADMIN, "retrain")
        (busy,) = await api.next_messages(ADMIN)
        assert busy.text == messages.retrain_already_running(EN)

        (matrix,) = await api.next_messages(ADMIN, timeout=90)
        assert matrix.method == "sendPhoto" and matrix.photo.startswith(b"\x89PNG") and "v2" in matrix.text
        assert status.text.startswith("✅ New model v2 promoted"), status.text
        assert "MNIST test accuracy: 0.00 % →" in status.text

        assert not (settings.home / "retrain-user-samples.npz").exists()  # the export is not kept
        registry = ModelRegistry(settings.registry_dir)
        assert registry.active().name == "v2"
        served = get_services(application).classifier
        assert served is not first and served.path == registry.get("v2").tflite_path

        api.send_command(USER, "model")
        (listing,) = await api.next_messages(USER)
        assert "▶ v2" in listing.text and "v1" in listing.text
