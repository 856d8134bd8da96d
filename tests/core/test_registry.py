"""The model registry: versions appear whole or not at all, the active pointer switches atomically."""

from __future__ import annotations

import json
import os
from unittest.mock import patch

import pytest

import core.registry
from core.atomic import write_text_atomic
from core.config import DEFAULT_KEEP_REJECTED, DEFAULT_MODEL_PATH
from core.registry import (
    INITIAL,
    PROMOTED,
    REJECTED,
    RegistryError,
    ModelRegistry,
    RegistryBusyError,
    UnknownVersionError,
)

DEAD_PID = 2**22 + 12345  # above Linux's pid_max: never a live process


def fake_model_dir(directory, accuracy=0.9):
    """A folder with a (fake) model file, card and metrics, as training writes them."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "digit_cnn.keras").write_bytes(b"not really a model")
    (directory / "digit_cnn.tflite").write_bytes(b"not really its export")
    (directory / "digit_cnn.json").write_text(json.dumps({"test_accuracy": accuracy}))
    (directory / "metrics.json").write_text(json.dumps({"test_accuracy": accuracy}))
    return directory / "digit_cnn.keras"


def add_version(registry, tmp_path, status, accuracy=0.9, activate=False):
    with registry.candidate() as directory:
        fake_model_dir(directory, accuracy)
        return registry.commit(directory, status=status, activate=activate)


def test_first_use_registers_the_shipped_model(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    active = registry.ensure_active(DEFAULT_MODEL_PATH)
    assert (active.name, active.status) == ("v1", INITIAL)
    assert active.model_path.read_bytes() == DEFAULT_MODEL_PATH.read_bytes()
    assert active.tflite_path.read_bytes() == DEFAULT_MODEL_PATH.with_suffix(".tflite").read_bytes()
    assert active.confusion_matrix_path.is_file()
    assert json.loads((active.path / "digit_cnn.json").read_text())["version"] == "v1"  # Classifier.version
    assert active.test_accuracy == json.loads((DEFAULT_MODEL_PATH.parent / "metrics.json").read_text())["test_accuracy"]
    assert registry.ensure_active(DEFAULT_MODEL_PATH) == active  # idempotent
    assert [v.name for v in registry.versions()] == ["v1"]


def test_a_model_is_registered_only_with_its_tflite_export(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    seed = fake_model_dir(tmp_path / "seed")
    seed.with_suffix(".tflite").unlink()
    with pytest.raises(RegistryError, match="training.export"):
        registry.import_model(seed)
    with pytest.raises(RegistryError, match="digit_cnn.tflite"):
        with registry.candidate() as directory:
            (directory / "digit_cnn.keras").write_bytes(b"model without its export")
            registry.commit(directory, status=PROMOTED)
    assert registry.versions() == [] and not [p for p in registry.root.iterdir() if p.name.startswith(".cand")]


def test_activate_and_roll_back(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    registry.ensure_active(fake_model_dir(tmp_path / "seed"))
    add_version(registry, tmp_path, PROMOTED, 0.95, activate=True)
    add_version(registry, tmp_path, REJECTED, 0.5)
    assert registry.active().name == "v2"
    assert registry.previous().name == "v1"
    registry.activate("1")
    assert registry.active().name == "v1" and registry.previous() is None
    registry.activate("v3")  # an admin may activate even a rejected version explicitly
    assert registry.previous().name == "v2"  # rejected ones are skipped when rolling back
    assert (registry.root / "ACTIVE").read_text() == "v3\n"
    with pytest.raises(UnknownVersionError):
        registry.activate("v9")
    assert registry.active().name == "v3"
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".ACTIVE")]


def test_half_written_candidate_is_ignored_and_cleaned(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    registry.ensure_active(fake_model_dir(tmp_path / "seed"))
    debris = registry.root / f".candidate-{DEAD_PID}-abcd"  # a killed retrain's leftovers
    debris.mkdir()
    (debris / "digit_cnn.keras").write_bytes(b"half a mo")
    (registry.root / ".ACTIVE.x1y2").write_text("v")
    live = registry.root / f".candidate-{os.getpid()}-beef"  # still being built by a live process
    live.mkdir()
    assert [v.name for v in registry.versions()] == ["v1"]
    assert registry.active().name == "v1"
    assert set(registry.clean_debris()) == {debris, registry.root / ".ACTIVE.x1y2"}
    assert live.is_dir()
    assert add_version(registry, tmp_path, PROMOTED).name == "v2"


def test_failed_build_leaves_nothing(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    with pytest.raises(RuntimeError):
        with registry.candidate() as directory:
            (directory / "digit_cnn.keras").write_bytes(b"partial")
            raise RuntimeError("training crashed")
    assert list(registry.root.iterdir()) == []


def test_broken_pointer_falls_back_to_newest_usable_version(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    registry.ensure_active(fake_model_dir(tmp_path / "seed"))
    add_version(registry, tmp_path, PROMOTED)
    add_version(registry, tmp_path, REJECTED)
    (registry.root / "ACTIVE").write_text("v7\n")
    assert registry.active() is None
    assert registry.ensure_active(DEFAULT_MODEL_PATH).name == "v2"


def test_retrain_lock_is_exclusive(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    with registry.retrain_lock():
        with pytest.raises(RegistryBusyError):
            with ModelRegistry(tmp_path / "models").retrain_lock():
                pass
    with registry.retrain_lock():
        pass


# ---------------------------------------------------------------------- retention


def registry_with(tmp_path, statuses):
    """A registry whose versions v1, v2, ... have ``statuses`` in order; v1 active."""
    registry = ModelRegistry(tmp_path / "models")
    for index, status in enumerate(statuses):
        add_version(registry, tmp_path, status, activate=index == 0)
    return registry


def names(registry):
    return [version.name for version in registry.versions()]


def entries(registry):
    """Everything in the registry folder but the lock and the pointer (so debris shows up)."""
    return sorted(path.name for path in registry.root.iterdir() if path.name not in (".retrain.lock", "ACTIVE"))


def test_retention_keeps_rollback_targets_the_active_one_and_the_newest_rejected(tmp_path):
    assert DEFAULT_KEEP_REJECTED == 3
    registry = registry_with(tmp_path, [INITIAL, PROMOTED, REJECTED, REJECTED, PROMOTED,
                                        REJECTED, REJECTED, REJECTED, REJECTED])
    registry.activate("v3")  # an admin's explicit /rollback v3 to a rejected version
    assert registry.prune_rejected() == ["v4", "v6"]
    # All initial/promoted (v1, v2, v5), the active rejected v3, the newest three other rejected.
    assert names(registry) == ["v1", "v2", "v3", "v5", "v7", "v8", "v9"]
    assert entries(registry) == names(registry)  # nothing half-deleted or hidden left behind
    assert registry.active().name == "v3" and registry.active().status == REJECTED
    assert registry.prune_rejected() == []  # nothing more to do

    assert add_version(registry, tmp_path, REJECTED).name == "v10"  # numbering goes on past the gaps
    assert registry.prune_rejected(keep=["v7"]) == []  # spared (a retrain's base), not counted in the 3
    assert registry.prune_rejected() == ["v7"]
    assert names(registry) == ["v1", "v2", "v3", "v5", "v8", "v9", "v10"]


def test_numbers_are_never_reused_after_pruning(tmp_path):
    registry = registry_with(tmp_path, [INITIAL, REJECTED, REJECTED, REJECTED])
    assert registry.prune_rejected(keep_rejected=1) == ["v2", "v3"]
    assert names(registry) == ["v1", "v4"]  # the newest version is always among those kept
    assert add_version(registry, tmp_path, REJECTED).name == "v5"
    assert registry.prune_rejected(keep_rejected=1) == ["v4"]
    assert add_version(registry, tmp_path, PROMOTED).name == "v6"
    assert names(registry) == ["v1", "v5", "v6"]
    with pytest.raises(ValueError, match="at least 1"):  # 0 would delete the newest, freeing its number
        registry.prune_rejected(keep_rejected=0)


def test_a_version_activated_after_the_listing_is_not_deleted(tmp_path):
    registry = registry_with(tmp_path, [INITIAL, REJECTED, REJECTED, REJECTED])
    rename, renamed = os.rename, []

    def rename_then_switch(source, target):
        rename(source, target)
        renamed.append(source.name)
        if source == registry.root / "v2":  # while v2 is being deleted, another process switches to v3
            ModelRegistry(registry.root).activate("v3")

    with patch.object(core.registry.os, "rename", rename_then_switch):
        assert registry.prune_rejected(keep_rejected=1) == ["v2"]  # v3 was listed for deletion too
    assert renamed == ["v2"]  # v3 never left the listing, not even for a moment
    assert names(registry) == ["v1", "v3", "v4"] and registry.active().name == "v3"


def test_a_version_activated_while_being_renamed_away_is_put_back(tmp_path):
    registry = registry_with(tmp_path, [INITIAL, REJECTED, REJECTED])
    rename = os.rename

    def rename_while_switching(source, target):
        rename(source, target)
        if str(target).startswith(str(registry.root / ".pruned-")):
            # A switch that had checked v2 existed just before the rename lands just after it.
            write_text_atomic(registry.root / "ACTIVE", "v2\n")

    with patch.object(core.registry.os, "rename", rename_while_switching):
        assert registry.prune_rejected(keep_rejected=1) == []
    assert names(registry) == ["v1", "v2", "v3"] and entries(registry) == ["v1", "v2", "v3"]
    assert registry.active().name == "v2" and registry.active().model_path.is_file()


class Killed(BaseException):
    """The process dies here (nothing after it runs, no except Exception catches it)."""


def test_crash_between_rename_and_removal_leaves_a_loadable_registry(tmp_path):
    registry = registry_with(tmp_path, [INITIAL, REJECTED, REJECTED])

    def removal_killed_midway(path, ignore_errors=False):
        # Half the files gone, then the process dies. Left as v2/, this would list as a
        # model of status "initial" (no version.json): a rollback target that never was one.
        (path / "version.json").unlink()
        (path / "metrics.json").unlink()
        raise Killed

    with patch.object(core.registry.shutil, "rmtree", removal_killed_midway), pytest.raises(Killed):
        registry.prune_rejected(keep_rejected=1)
    (debris,) = [path for path in registry.root.iterdir() if path.name.startswith(".pruned-v2-")]
    assert (debris / "digit_cnn.keras").is_file() and not (debris / "version.json").exists()

    restarted = ModelRegistry(registry.root)  # the next process
    assert names(restarted) == ["v1", "v3"]  # the half-deleted v2 is not listed, let alone loaded
    assert restarted.previous() is None and restarted.ensure_active(DEFAULT_MODEL_PATH).name == "v1"
    assert all(version.model_path.is_file() for version in restarted.versions())
    assert restarted.active().name == "v1"
    with pytest.raises(UnknownVersionError):
        restarted.get("v2")
    assert restarted.clean_debris() == [debris]
    assert entries(restarted) == ["v1", "v3"]
    assert add_version(restarted, tmp_path, PROMOTED).name == "v4"


def test_pruning_takes_the_retrain_lock_unless_already_held(tmp_path):
    registry = registry_with(tmp_path, [INITIAL, REJECTED, REJECTED])
    with ModelRegistry(registry.root).retrain_lock(), pytest.raises(RegistryBusyError):  # e.g. another process
        registry.prune_rejected(keep_rejected=1)
    assert names(registry) == ["v1", "v2", "v3"]
    with registry.retrain_lock():  # a retrain prunes with the lock it already holds
        assert registry.prune_rejected(keep_rejected=1) == ["v2"]
        with pytest.raises(RegistryBusyError), ModelRegistry(registry.root).retrain_lock():
            pass  # it still holds it afterwards
    with ModelRegistry(registry.root).retrain_lock():  # released at the end of the block
        pass
