"""/retrain, /model and /rollback: retrain in a child process, relay its progress, hot-swap the model.

The retrain runs as ``python -m training.retrain`` (TensorFlow training in the bot's process
would stall its event loop and double its memory), at lower CPU priority so photos keep
being answered at normal speed. Its JSON progress lines become edits of one status
message. When the child has promoted a candidate, the new classifier is loaded on a worker
thread and swapped into ``BotServices.classifier``: readings already under way keep the old
object, so no request fails. The registry (``core.registry``) decides what is active, so a
retrain killed at any moment leaves the active model as it was.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from core.config import PROJECT_ROOT, Settings
from core.registry import ModelRegistry, RegistryBusyError, RegistryError, UnknownVersionError

from bot import messages
from bot.context import BotServices, PhotoClassifier, get_language, get_services, is_admin
from bot.i18n import Language

logger = logging.getLogger(__name__)

_STATE_KEY = "retrain"
#: Least seconds between two edits of the status message (Telegram dislikes rapid edits).
EDIT_INTERVAL = 2.0
#: Seconds a retrain gets to exit after SIGTERM when the bot stops, before SIGKILL.
TERMINATE_GRACE = 5.0
#: The retrain's CPU priority below the bot's (``nice`` increment).
RETRAIN_NICENESS = 10
#: Seconds between two looks at the registry for a switch made by another process.
REGISTRY_POLL_SECONDS = 30.0
USER_SAMPLES_FILENAME = "retrain-user-samples.npz"
LOG_FILENAME = "retrain.log"


def load_classifier(path: Path) -> PhotoClassifier:
    """Load a model version (blocking: run it on a worker thread). Raises ``ModelLoadError``."""
    from core.classifier import Classifier

    return Classifier.from_path(path)


@dataclass
class RetrainState:
    """The bot's one retrain: single-flight flag, the child process, the task relaying it.

    Attributes:
        busy: set from the moment /retrain is accepted until its report is sent.
        process: the running child, or None.
        task: the task relaying progress, or None.
        stopping: set when the bot shuts down (the child is terminated; no report follows).
        load_classifier: loads a model version; tests may replace it.
    """

    busy: bool = False
    process: asyncio.subprocess.Process | None = None
    task: asyncio.Task | None = None
    watch: asyncio.Task | None = None
    stopping: bool = False
    load_classifier: Callable[[Path], PhotoClassifier] = load_classifier


def get_retrain_state(bot_data: Any) -> RetrainState:
    """The :class:`RetrainState` in ``bot_data`` (an application's or a context's), created on first use."""
    data = bot_data if isinstance(bot_data, dict) else bot_data.bot_data
    return data.setdefault(_STATE_KEY, RetrainState())


def registry_of(services: BotServices) -> ModelRegistry:
    """The model registry under the bot's home."""
    return ModelRegistry(services.settings.registry_dir)


def retrain_command(settings: Settings, user_samples: Path | None) -> list[str]:
    """The child's command line: this Python, ``-m training.retrain`` and the settings' budget."""
    command = [
        sys.executable, "-m", "training.retrain",
        "--home", str(settings.home.resolve()),
        "--seed-model", str(settings.model_path.resolve()),
        "--epochs", str(settings.retrain_epochs),
        "--keep-rejected", str(settings.retrain_keep_rejected),
        "--nice", str(RETRAIN_NICENESS),
    ]
    if settings.retrain_max_samples:
        command += ["--max-samples", str(settings.retrain_max_samples)]
    if settings.mnist_path:
        command += ["--data", str(settings.mnist_path.resolve())]
    if user_samples is not None:
        command += ["--user-samples", str(user_samples)]
    return command


def _child_environment() -> dict[str, str]:
    # The child must run this very code (not another checkout on the path) and stay quiet.
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH")]))
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return environment


async def _admin_and_idle(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: Language,
                          busy_text: Callable[[Language], str]) -> RetrainState | None:
    """The retrain state when the sender is an admin and no retrain runs; else answer why not (in
    ``lang``; ``busy_text`` while a retrain runs), and None."""
    if not is_admin(get_services(context).settings, update.effective_user):
        await update.effective_message.reply_text(messages.admin_only(lang))
        return None
    state = get_retrain_state(context.bot_data)
    if state.busy:
        await update.effective_message.reply_text(busy_text(lang))
        return None
    return state


async def on_retrain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/retrain (admins): start a retrain unless one is running; progress edits one status message,
    in the language of the admin who asked."""
    lang = await get_language(update, context)
    state = await _admin_and_idle(update, context, lang, messages.retrain_already_running)
    if state is None:
        return
    services = get_services(context)
    message = update.effective_message
    state.busy = True  # before any await: a second /retrain handled concurrently must see it
    try:
        status = await message.reply_text(messages.retrain_starting(lang))
    except BaseException:
        state.busy = False
        raise
    # A plain task, not application.create_task: Application.stop() waits for those, and a
    # stopping bot must end the retrain instead (see stop_retrain).
    state.task = asyncio.get_running_loop().create_task(_run(services, state, status, lang))


async def _edit(status: Message, text: str) -> None:
    try:
        await status.edit_text(text)
    except TelegramError as error:  # e.g. "message is not modified"; progress is best effort
        logger.debug("Could not edit the retrain status message: %s", error)


async def _export_user_samples(services: BotServices) -> Path | None:
    """Export the feedback store's labelled samples for the child, or None without a store."""
    if services.store is None:
        return None
    path = services.settings.home.resolve() / USER_SAMPLES_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    # On a worker thread, not the database thread: the store's lock covers only the query,
    # and writing the file must not hold up the readings that photos record meanwhile.
    count = await services.run_blocking(services.store.export_labelled_samples, path)
    logger.info("Exported %d labelled user samples to %s", count, path)
    return path


async def _run(services: BotServices, state: RetrainState, status: Message, lang: Language) -> None:
    """Run the child, relay its progress, then report in ``lang`` and (if promoted) hot-swap. Never raises."""
    try:
        done = await _run_child(services, state, status, lang)
        if state.stopping:
            return
        if done is None or done.get("event") != "done":
            reason = (done or {}).get("message") or messages.retrain_no_result(lang)
            await _edit(status, messages.format_retrain_failed(lang, reason))
            return
        if done.get("pruned"):  # the child logs to retrain.log; say it in the bot's log too
            logger.info("The retrain deleted old rejected model versions: %s", ", ".join(done["pruned"]))
        if done["promoted"]:
            try:
                classifier = await services.run_blocking(state.load_classifier, Path(done["model_path"]))
            except Exception:
                # Never leave active a version the bot cannot load: switch back, keep serving.
                await services.run_blocking(registry_of(services).activate, done["base"])
                raise
            services.classifier = classifier  # in-flight readings keep the old object
            logger.info("Now serving model version %s", done["version"])
        await _edit(status, messages.format_retrain_result(lang, done))
        picture = Path(done["confusion_matrix"])
        if picture.is_file():
            png = await services.run_blocking(picture.read_bytes)
            await status.reply_photo(png, caption=messages.format_confusion_caption(lang, done["version"]))
    except Exception as error:  # a plain task: nobody else would see this
        logger.error("Retrain failed", exc_info=error)
        if not state.stopping:
            await _edit(status, messages.format_retrain_failed(lang, f"{type(error).__name__}: {error}"))
    finally:
        state.process = None
        state.busy = False


async def _run_child(services: BotServices, state: RetrainState, status: Message, lang: Language) -> dict | None:
    """Start ``training.retrain``, edit the status per progress line; return its last event.

    If relaying fails, the child is killed: a retrain nobody follows must not promote anything.
    """
    home = services.settings.home
    home.mkdir(parents=True, exist_ok=True)
    user_samples = await _export_user_samples(services)
    try:
        with open(home / LOG_FILENAME, "wb") as log:
            state.process = process = await asyncio.create_subprocess_exec(
                *retrain_command(services.settings, user_samples),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=log,
                env=_child_environment(),
            )
            logger.info("Retrain started (pid %d); its log is %s", process.pid, home / LOG_FILENAME)
            try:
                last_event = await _relay_progress(process, status, lang)
                returncode = await process.wait()
            except BaseException:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                raise
    finally:
        if user_samples is not None:  # users' digits live in the store only (/forgetme must reach them all)
            user_samples.unlink(missing_ok=True)
    logger.info("Retrain exited with status %s", returncode)
    if returncode != 0 and (last_event is None or last_event.get("event") != "error"):
        return {"event": "error", "message": messages.format_retrain_exit(lang, returncode)}
    return last_event


async def _relay_progress(process: asyncio.subprocess.Process, status: Message, lang: Language) -> dict | None:
    """Read the child's JSON lines until it closes stdout, editing the status (throttled); return the last."""
    assert process.stdout is not None
    last_event: dict | None = None
    start: dict = {}
    last_epoch: dict | None = None
    last_edit = 0.0
    async for raw in process.stdout:
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        last_event = event
        kind = event.get("event")
        if kind == "start":
            start = event
        elif kind == "epoch":
            last_epoch = event
        if kind in ("start", "step", "epoch", "evaluating"):
            now = time.monotonic()
            if now - last_edit >= EDIT_INTERVAL or kind == "evaluating":
                last_edit = now
                await _edit(status, messages.format_retrain_progress(lang, start, event, last_epoch))
    return last_event


async def stop_retrain(application: Application) -> None:
    """Terminate a running retrain (SIGTERM, SIGKILL after :data:`TERMINATE_GRACE` s); for shutdown.

    The registry's active model is untouched by a terminated retrain; its half-built
    candidate is cleaned up by the next one.
    """
    state = get_retrain_state(application.bot_data)
    state.stopping = True
    if state.watch is not None:
        state.watch.cancel()
        await asyncio.gather(state.watch, return_exceptions=True)
    process = state.process
    if process is not None and process.returncode is None:
        logger.info("Stopping the running retrain (pid %d)", process.pid)
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), TERMINATE_GRACE)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
    if state.task is not None:
        await asyncio.gather(state.task, return_exceptions=True)


async def sync_with_registry(services: BotServices, state: RetrainState) -> bool:
    """Serve the registry's active version if another process (``digitbot retrain``) switched it.

    Returns:
        True when a newly loaded classifier was swapped in. A version that cannot be loaded
        is logged and the current model kept (never raised).
    """
    if state.busy:  # our own retrain or rollback swaps by itself
        return False
    registry = registry_of(services)
    active = await services.run_blocking(registry.active)
    served = services.classifier.path
    # A version is served from its .tflite and retrained from its .keras: the folder names it.
    if active is None or (served is not None and Path(served).resolve().parent == active.path.resolve()):
        return False
    try:
        classifier = await services.run_blocking(state.load_classifier, active.model_path)
    except Exception:
        logger.warning("Cannot load %s, made active by another process; still serving %s",
                       active.name, served, exc_info=True)
        return False
    services.classifier = classifier
    logger.info("Now serving model version %s (switched by another process)", active.name)
    return True


def watch_registry(application: Application) -> None:
    """Look at the registry every :data:`REGISTRY_POLL_SECONDS` and follow switches; stopped by stop_retrain."""
    services, state = get_services(application), get_retrain_state(application.bot_data)

    async def watch() -> None:
        while True:
            await asyncio.sleep(REGISTRY_POLL_SECONDS)
            try:
                await sync_with_registry(services, state)
            except Exception:  # a plain task: log, keep watching
                logger.warning("Could not check the model registry", exc_info=True)

    state.watch = asyncio.get_running_loop().create_task(watch())


async def on_model(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/model: the model versions, the active one (now also the one served) marked."""
    services = get_services(context)
    await sync_with_registry(services, get_retrain_state(context.bot_data))
    registry = registry_of(services)
    versions = await services.run_blocking(registry.versions)
    active = await services.run_blocking(registry.active)
    await update.effective_message.reply_text(
        messages.format_model_versions(await get_language(update, context), versions, active.name if active else None,
                                       keep_rejected=services.settings.retrain_keep_rejected)
    )


async def on_rollback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/rollback [VERSION] (admins): switch to VERSION, by default the previous version, without a restart."""
    lang = await get_language(update, context)
    state = await _admin_and_idle(update, context, lang, messages.rollback_while_retraining)
    if state is None:
        return
    services = get_services(context)
    message = update.effective_message
    registry = registry_of(services)
    try:
        target = await services.run_blocking(_rollback_target, registry, context.args or [])
    except UnknownVersionError as error:
        name = context.args[0] if context.args else None
        await message.reply_text(messages.format_unknown_version(lang, name) if name
                                 else messages.format_cannot_switch(lang, str(error)))
        return
    if target is None:
        await message.reply_text(messages.rollback_nothing_older(lang))
        return
    active = await services.run_blocking(registry.active)
    if active is not None and active.name == target.name:
        await message.reply_text(messages.format_already_active(lang, target.name))
        return
    # Load first, switch after: a model that cannot be loaded never becomes active.
    classifier = await services.run_blocking(state.load_classifier, target.model_path)
    try:
        await services.run_blocking(_activate_unless_retraining, registry, target.name)
    except RegistryBusyError:  # `digitbot retrain` runs on the same registry
        await message.reply_text(messages.rollback_while_retraining(lang))
        return
    except RegistryError as error:
        await message.reply_text(messages.format_cannot_switch(lang, str(error)))
        return
    services.classifier = classifier
    logger.info("Rolled back to model version %s", target.name)
    await message.reply_text(messages.format_rolled_back(lang, target))


def _rollback_target(registry: ModelRegistry, args: list[str]):
    """The version named in ``args``, else the previous one (None if there is none)."""
    return registry.get(args[0]) if args else registry.previous()


def _activate_unless_retraining(registry: ModelRegistry, name: str):
    """Activate ``name`` while holding the retrain lock, so no retrain elsewhere overwrites the switch.

    Raises:
        RegistryBusyError: a retrain (e.g. ``digitbot retrain``) holds the lock.
        UnknownVersionError: no complete version has that name.
    """
    with registry.retrain_lock():
        return registry.activate(name)
