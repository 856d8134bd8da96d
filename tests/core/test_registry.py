"""The model registry: versions appear whole or not at all, the active pointer switches atomically."""

from __future__ import annotations

import json
import os

import pytest

from core.config import DEFAULT_MODEL_PATH
from core.registry import (
    INITIAL,
    PROMOTED,
    REJECTED,
    ModelRegistry,
    RegistryBusyError,
    UnknownVersionError,
)

DEAD_PID = 2**22 + 12345  # above Linux's pid_max: never a live process


def fake_model_dir(directory, accuracy=0.9):
    """A folder with a (fake) model file, card and metrics, as training writes them."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "digit_cnn.keras").write_bytes(b"not really a model")
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
    assert active.confusion_matrix_path.is_file()
    assert json.loads((active.path / "digit_cnn.json").read_text())["version"] == "v1"  # Classifier.version
    assert active.test_accuracy == json.loads((DEFAULT_MODEL_PATH.parent / "metrics.json").read_text())["test_accuracy"]
    assert registry.ensure_active(DEFAULT_MODEL_PATH) == active  # idempotent
    assert [v.name for v in registry.versions()] == ["v1"]


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
