"""Run the bot: load the model once, build the application, poll or serve a webhook until stopped."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from telegram.error import TelegramError
from telegram.ext import Application

from core.classifier import Classifier, ModelLoadError
from core.config import DEFAULT_MODEL_PATH, PROJECT_ROOT, Settings
from core.registry import ModelRegistry

from bot.app import ALLOWED_UPDATES, build_application
from bot.log import configure_logging
from bot.ratelimit import BotLimits

logger = logging.getLogger(__name__)

#: Seconds Telegram holds a getUpdates request open when there is nothing new.
POLL_TIMEOUT = 30
DEFAULT_WEBHOOK_PORT = 8443


#: glibc ``mallopt`` parameters and the values :func:`keep_freed_memory_for_reuse` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's ceiling for it on 64-bit
_TRIM_THRESHOLD_BYTES = 128 * 1024 * 1024


def keep_freed_memory_for_reuse() -> bool:
    """Let glibc's malloc keep freed memory for the next photo instead of returning it to the OS.

    Reading a photo allocates and frees a few megabytes of NumPy/OpenCV arrays. By default
    glibc hands large blocks back to the kernel on free (``mmap`` threshold, heap trimming),
    so the next photo's arrays are fresh pages: about 1,300 page faults and 3 ms of kernel
    time per photo on the worker threads. With the thresholds raised the memory is reused;
    resident memory stays at the peak working set (a few MB more). A no-op without glibc.

    Returns:
        True if both thresholds were set.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)
    )


def webhook_secret(token: str) -> str:
    """A stable secret for Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header, derived from the token.

    Only someone who knows the token can compute it, and it never reveals the token.
    """
    return hashlib.sha256(b"digitbot-webhook:" + token.encode()).hexdigest()


#: Seconds an export of an older model version may take (TensorFlow's import is most of it).
EXPORT_TIMEOUT = 300


def export_in_child_process(model_path: Path) -> None:
    """Write the ``.tflite`` export of a ``.keras`` model that has none (a version registered
    before models were served by LiteRT), in a child process: the bot never imports TensorFlow.

    Raises:
        core.classifier.ModelLoadError: the export failed; the message carries its output.
    """
    logger.info("Exporting %s to LiteRT (it has no .tflite yet)", model_path)
    try:
        done = subprocess.run([sys.executable, "-m", "training.export", str(model_path)], capture_output=True,
                              text=True, timeout=EXPORT_TIMEOUT, cwd=PROJECT_ROOT,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    except (OSError, subprocess.SubprocessError) as exc:
        raise ModelLoadError(f"{model_path}: cannot export it to LiteRT ({exc})") from exc
    if done.returncode != 0:
        raise ModelLoadError(f"{model_path}: cannot export it to LiteRT: {(done.stdout + done.stderr).strip()[-500:]}")


def load_active_classifier(settings: Settings) -> Classifier:
    """Load the registry's active model version, setting the registry up on first use.

    On first use ``settings.model_path`` (``DIGITBOT_MODEL``, else the shipped model) is
    registered as ``v1``; afterwards the active version is served and ``DIGITBOT_MODEL`` only
    matters again for an empty registry. Leftovers of killed retrains are removed.

    Raises:
        core.classifier.ModelLoadError, core.registry.RegistryError: as :func:`run_bot`.
    """
    registry = ModelRegistry(settings.registry_dir)
    registry.clean_debris()
    active = registry.ensure_active(settings.model_path)
    if settings.model_path != DEFAULT_MODEL_PATH and active.source != str(settings.model_path.resolve()):
        logger.warning("DIGITBOT_MODEL=%s is not what %s serves (%s, active); it only seeds an empty registry",
                       settings.model_path, registry.root, active.name)
    if not active.tflite_path.is_file():
        export_in_child_process(active.model_path)
    classifier = Classifier.from_path(active.tflite_path)
    logger.info("Loaded model version %s from %s (%s)", active.name, active.tflite_path, classifier.version)
    return classifier


def run_bot(
    settings: Settings,
    *,
    webhook_url: str | None = None,
    port: int | None = None,
    listen: str = "0.0.0.0",
    limits: BotLimits | None = None,
) -> None:
    """Serve the bot until SIGINT/SIGTERM, by long polling or, with ``webhook_url``, a webhook.

    Blocks; owns the event loop (PTB's ``run_polling``/``run_webhook``). Network errors
    toward Telegram are retried by PTB with back-off and never stop the bot.

    Args:
        settings: from ``core.config.load_settings``.
        webhook_url: public HTTPS URL Telegram should post updates to, e.g.
            ``https://bot.example.com/digitbot``; its path is also the local path served.
        port: local port of the webhook server (default 8443); ignored when polling.
        listen: local address of the webhook server.
        limits: rate limits and pool sizes (default: :class:`BotLimits`).

    Raises:
        core.classifier.ModelLoadError: the model cannot be loaded.
        core.registry.RegistryError: the registry is empty and there is no model to start it with.
        telegram.error.InvalidToken: Telegram rejects the token.
    """
    keep_freed_memory_for_reuse()
    configure_logging(settings.token)
    classifier = load_active_classifier(settings)
    application = build_application(settings, classifier, limits=limits)
    if webhook_url is None:
        application.run_polling(timeout=POLL_TIMEOUT, bootstrap_retries=-1, allowed_updates=ALLOWED_UPDATES)
    else:
        application.run_webhook(
            listen=listen,
            port=port or DEFAULT_WEBHOOK_PORT,
            url_path=urlsplit(webhook_url).path.lstrip("/"),
            webhook_url=webhook_url,
            secret_token=webhook_secret(settings.token),
            bootstrap_retries=-1,
            allowed_updates=ALLOWED_UPDATES,
        )


@asynccontextmanager
async def running(application: Application, *, poll_timeout: float = 10.0) -> AsyncIterator[Application]:
    """Poll for updates inside the current event loop, in the same order as ``run_polling``.

    For tests, benchmarks and the playground, which own their event loop::

        async with running(build_application(settings, classifier)):
            ...  # the bot answers meanwhile

    Polling errors go to the application's error handlers, as with ``run_polling``.
    """

    def on_polling_error(error: TelegramError) -> None:
        application.create_task(application.process_error(update=None, error=error))

    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.updater.start_polling(
            timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES, error_callback=on_polling_error
        )
        await application.start()
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
                if application.post_stop:
                    await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
