"""End to end: ``digitbot run --webhook-url URL --port N`` as its own process, fed by the local Bot API server.

The server POSTs each update to the webhook with the secret header, as Telegram does; the
bot answers through the Bot API as usual. Needs the trained model (the process loads it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from bot_fakes import TOKEN, digit_photo

from core.config import load_settings

from bot.local_api import LocalBotApi
from bot.main import webhook_secret

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
USER = 2002


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def model_path() -> Path:
    path = load_settings({**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}).model_path
    if not path.is_file():
        pytest.skip(f"needs a trained model at {path}")
    return path


async def test_digitbot_run_with_a_webhook_answers_photos_and_refuses_forged_posts(tmp_path, model_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/digitbot"
    async with LocalBotApi(TOKEN) as api:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.base_url,
               "DIGITBOT_HOME": str(tmp_path / "home"), "DIGITBOT_MODEL": str(model_path), "TF_CPP_MIN_LOG_LEVEL": "2"}
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--webhook-url", url, "--port", str(port), "--listen", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while api.webhook_url != url:
                assert bot.poll() is None, f"the bot exited with {bot.returncode}: {bot.stderr.read()[-2000:]}"
                assert time.monotonic() < deadline, "the bot never set its webhook"
                await asyncio.sleep(0.1)
            assert "setWebhook" in api.requests and "getUpdates" not in api.requests

            api.send_photo(USER, digit_photo("7"))
            (reply,) = await api.next_messages(USER, timeout=30)
            assert reply.text.startswith("It's a 7 — ")

            forged = {"update_id": 999_999, "message": {"message_id": 1, "date": 0, "text": "/start",
                                                        "chat": {"id": USER, "type": "private"}}}
            async with httpx.AsyncClient(timeout=5) as client:
                without_secret = await client.post(url, json=forged)
                wrong_secret = await client.post(url, json=forged,
                                                  headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert (without_secret.status_code, wrong_secret.status_code) == (403, 403)
            assert webhook_secret(TOKEN) not in without_secret.text

            api.send_command(USER, "start")  # still served after the forged posts
            (greeting,) = await api.next_messages(USER, timeout=10)
            assert greeting.text
            await asyncio.sleep(0.2)  # no answer to the forged /start
            assert api.messages(USER)[-1] is greeting
            assert "getUpdates" not in api.requests  # every update came by the webhook
        finally:
            bot.send_signal(signal.SIGTERM)
            try:
                _, stderr = await asyncio.to_thread(bot.communicate, timeout=30)
            except subprocess.TimeoutExpired:
                bot.kill()
                raise
        assert bot.returncode == 0, stderr[-2000:]
        assert TOKEN.partition(":")[2] not in stderr
