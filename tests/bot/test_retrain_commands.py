"""/retrain, /model and /rollback handlers with fake updates; the retrain texts."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
from types import SimpleNamespace
from unittest.mock import AsyncMock, MagicMock, patch

from bot_fakes import FakeClassifier, make_message_update

from core.registry import PROMOTED, REJECTED, ModelRegistry

from bot import i18n, messages, retrain
from bot.context import get_services

EN = i18n.english()

ADMIN = 42  # the user id of make_message_update's updates


def make_admin(context):
    services = get_services(context)
    services.settings = dataclasses.replace(services.settings, admin_ids=frozenset({ADMIN}))
    return services


def fake_version(registry, status, accuracy):
    with registry.candidate() as directory:
        (directory / "digit_cnn.keras").write_bytes(b"fake")
        (directory / "digit_cnn.tflite").write_bytes(b"fake export")
        (directory / "metrics.json").write_text(json.dumps({"test_accuracy": accuracy}))
        return registry.commit(directory, status=status, activate=status != REJECTED)


async def test_non_admin_retrain_is_refused_and_nothing_starts(context):
    update = make_message_update(text="/retrain")
    with patch.object(retrain.asyncio, "create_subprocess_exec", AsyncMock()) as launch:
        await retrain.on_retrain(update, context)
    update.effective_message.reply_text.assert_awaited_once_with(messages.admin_only(EN))
    launch.assert_not_awaited()
    state = retrain.get_retrain_state(context.bot_data)
    assert not state.busy and state.task is None


async def test_second_retrain_while_one_runs_is_told_so(context):
    make_admin(context)
    retrain.get_retrain_state(context.bot_data).busy = True
    update = make_message_update(text="/retrain")
    await retrain.on_retrain(update, context)
    update.effective_message.reply_text.assert_awaited_once_with(messages.retrain_already_running(EN))


def test_child_command_carries_the_budget(settings, tmp_path):
    settings = dataclasses.replace(settings, retrain_epochs=2, retrain_max_samples=500, mnist_path=tmp_path / "m.npz",
                                   retrain_keep_rejected=5)
    command = retrain.retrain_command(settings, tmp_path / "users.npz")
    assert command[1:3] == ["-m", "training.retrain"]
    joined = " ".join(command)
    assert "--epochs 2" in joined and "--max-samples 500" in joined and "--nice 10" in joined
    assert "--keep-rejected 5" in joined
    assert f"--data {tmp_path / 'm.npz'}" in joined and f"--user-samples {tmp_path / 'users.npz'}" in joined


async def test_model_lists_versions_and_rollback_switches_back(context):
    services = make_admin(context)
    registry = ModelRegistry(services.settings.registry_dir)
    fake_version(registry, "initial", 0.996)
    fake_version(registry, PROMOTED, 0.997)
    fake_version(registry, REJECTED, 0.95)
    state = retrain.get_retrain_state(context.bot_data)
    state.load_classifier = lambda path: FakeClassifier(default="2")
    update = make_message_update(text="/model")
    await retrain.on_model(update, context)
    text = update.effective_message.reply_text.await_args.args[0]
    assert "▶ v2: MNIST 99.70 %" in text and "v3: MNIST 95.00 %" in text and "not promoted" in text
    assert text.splitlines()[-1] == ("Of the versions not promoted, each retrain keeps the newest 3 "
                                     "(and the one in use) and deletes older ones.")

    loaded = FakeClassifier(default="1")
    state.load_classifier = lambda path: loaded
    update = make_message_update(text="/rollback")
    context.args = []
    await retrain.on_rollback(update, context)
    assert registry.active().name == "v1" and services.classifier is loaded
    assert update.effective_message.reply_text.await_args.args[0].startswith("Switched to v1")

    context.args = ["v2"]
    update = make_message_update(text="/rollback v2")
    with registry.retrain_lock():  # as if `digitbot retrain` were running on this registry
        await retrain.on_rollback(update, context)
    update.effective_message.reply_text.assert_awaited_once_with(messages.rollback_while_retraining(EN))
    assert registry.active().name == "v1"

    context.args = ["v9"]
    update = make_message_update(text="/rollback v9")
    await retrain.on_rollback(update, context)
    assert update.effective_message.reply_text.await_args.args[0] == (
        "There is no model version v9. /model lists the versions.")
    assert registry.active().name == "v1"


async def test_non_admin_rollback_is_refused(context):
    update = make_message_update(text="/rollback v1")
    context.args = ["v1"]
    await retrain.on_rollback(update, context)
    update.effective_message.reply_text.assert_awaited_once_with(messages.admin_only(EN))


def test_result_text_gives_before_and_after_either_way():
    done = {"version": "v4", "base": "v3", "promoted": True, "seconds": 200,
            "before": {"mnist_accuracy": 0.996, "user_accuracy": 0.9, "user_holdout": 50},
            "after": {"mnist_accuracy": 0.9958, "user_accuracy": 0.94, "user_holdout": 50}}
    text = messages.format_retrain_result(EN, done)
    assert text.startswith("✅ New model v4 promoted")
    assert "99.60 % → 99.58 %" in text and "(50): 90.00 % → 94.00 %" in text and "3 min 20 s" in text
    text = messages.format_retrain_result(EN, {**done, "promoted": False})
    assert text.startswith("❌ New model v4 not promoted: I keep using v3")
    assert "Deleted" not in text
    text = messages.format_retrain_result(EN, {**done, "promoted": False, "pruned": ["v1", "v2"]})
    assert text.endswith("Deleted old rejected versions to save space: v1, v2.")


def test_progress_text_shows_epoch_accuracy_and_time_left():
    start = {"base": "v1", "mnist_samples": 60000, "user_samples": 300, "user_weight": 20.0, "user_holdout": 70}
    event = {"event": "epoch", "epoch": 1, "epochs": 3, "val_accuracy": 0.9961, "fraction": 0.333, "eta_seconds": 130}
    text = messages.format_retrain_progress(EN, start, event, last_epoch=event)
    assert "60,000 MNIST images + 300 user samples (each counted 20×)" in text
    assert "Epoch 1 of 3 done: validation accuracy 99.61 %" in text and "About 2 min 10 s left." in text
    step = {"event": "step", "epoch": 2, "epochs": 3, "fraction": 0.5, "eta_seconds": 100}
    text = messages.format_retrain_progress(EN, start, step, last_epoch=event)
    assert "Epoch 1 of 3 done: validation accuracy 99.61 %" in text and "Epoch 2 of 3 under way: 50 %" in text


def test_help_lists_admin_commands_for_admins_only():
    assert "/model" in messages.help_text(EN) and "/retrain" not in messages.help_text(EN)
    assert "/retrain" in messages.help_text(EN, admin=True) and "/rollback" in messages.help_text(EN, admin=True)


async def admin_retrain_running(context, child: list[str]):
    """Send /retrain as an admin with ``child`` as the retrain command; returns ``(state, status)``.

    ``status`` is the status message, its ``edit_text`` an ``AsyncMock``.
    """
    make_admin(context)
    update = make_message_update(text="/retrain")
    status = MagicMock()
    status.edit_text = AsyncMock()
    update.effective_message.reply_text = AsyncMock(return_value=status)
    with patch.object(retrain, "retrain_command", return_value=child):
        await retrain.on_retrain(update, context)
        state = retrain.get_retrain_state(context.bot_data)
        for _ in range(1000):  # until the child is started (or the task has given up)
            if state.process is not None or state.task.done():
                break
            await retrain.asyncio.sleep(0.01)
    return state, status


async def test_stopping_the_bot_terminates_a_running_retrain(context):
    state, status = await admin_retrain_running(context, [sys.executable, "-c", "import time; time.sleep(60)"])
    assert state.process is not None, state.task
    process = state.process
    await retrain.stop_retrain(SimpleNamespace(bot_data=context.bot_data))
    assert process.returncode == -signal.SIGTERM
    assert not state.busy and state.task.done()
    status.edit_text.assert_not_awaited()  # no "failed" report while shutting down


async def test_promoted_version_that_cannot_be_loaded_is_switched_back(context):
    services = make_admin(context)
    registry = ModelRegistry(services.settings.registry_dir)
    fake_version(registry, "initial", 0.996)
    promoted = fake_version(registry, PROMOTED, 0.997)  # the child activated it
    done = {"event": "done", "version": "v2", "base": "v1", "promoted": True, "model_path": str(promoted.model_path),
            "confusion_matrix": str(promoted.confusion_matrix_path), "seconds": 1.0, "reasons": [],
            "before": {}, "after": {}}
    state = retrain.get_retrain_state(context.bot_data)
    state.load_classifier = MagicMock(side_effect=RuntimeError("corrupt archive"))
    status = MagicMock()
    status.edit_text = AsyncMock()
    served = services.classifier
    with patch.object(retrain, "_run_child", AsyncMock(return_value=done)):
        await retrain._run(services, state, status, EN)
    assert registry.active().name == "v1" and services.classifier is served
    assert "corrupt archive" in status.edit_text.await_args.args[0]
    assert not state.busy


async def test_a_switch_by_another_process_is_followed(context):
    services = get_services(context)
    registry = ModelRegistry(services.settings.registry_dir)
    state = retrain.get_retrain_state(context.bot_data)
    assert not await retrain.sync_with_registry(services, state)  # empty registry: nothing to do
    fake_version(registry, "initial", 0.996)
    second = fake_version(registry, PROMOTED, 0.997)  # e.g. `digitbot retrain` promoted it
    loaded = FakeClassifier(default="2")
    loaded.path = second.model_path
    state.load_classifier = lambda path: loaded
    assert await retrain.sync_with_registry(services, state)
    assert services.classifier is loaded
    assert not await retrain.sync_with_registry(services, state)  # already served
    loaded.path = second.tflite_path  # what a real Classifier serves: the same version, not a switch
    assert not await retrain.sync_with_registry(services, state)


async def test_a_retrain_nobody_follows_is_killed(context):
    """If relaying its progress fails, the child must not go on (and maybe promote) unobserved."""
    # A "start" event without its fields makes the status text fail to format.
    child = [sys.executable, "-c", "import time; print('{\"event\": \"start\"}', flush=True); time.sleep(60)"]
    with patch.object(retrain.asyncio.subprocess.Process, "kill", autospec=True,
                      side_effect=retrain.asyncio.subprocess.Process.kill) as kill:
        state, status = await admin_retrain_running(context, child)
        await retrain.asyncio.wait_for(state.task, 30)
    (process,) = {call.args[0] for call in kill.call_args_list}
    assert process.returncode == -signal.SIGKILL
    assert "The retrain failed: KeyError" in status.edit_text.await_args.args[0]
    assert not state.busy


async def test_retrain_report_names_the_versions_it_deleted(context, caplog):
    services = make_admin(context)
    registry = ModelRegistry(services.settings.registry_dir)
    fake_version(registry, "initial", 0.996)
    rejected = fake_version(registry, REJECTED, 0.95)
    done = {"event": "done", "version": "v2", "base": "v1", "promoted": False, "model_path": str(rejected.model_path),
            "confusion_matrix": str(rejected.confusion_matrix_path), "seconds": 1.0, "reasons": [],
            "before": {"mnist_accuracy": 0.996}, "after": {"mnist_accuracy": 0.95}, "pruned": ["v0"]}
    state = retrain.get_retrain_state(context.bot_data)
    status = MagicMock()
    status.edit_text = AsyncMock()
    with patch.object(retrain, "_run_child", AsyncMock(return_value=done)), caplog.at_level("INFO", "bot.retrain"):
        await retrain._run(services, state, status, EN)
    text = status.edit_text.await_args.args[0]
    assert text.startswith("❌ New model v2 not promoted")
    assert "Deleted old rejected versions to save space: v0." in text
    assert "deleted old rejected model versions: v0" in caplog.text
    assert registry.active().name == "v1" and not state.busy
