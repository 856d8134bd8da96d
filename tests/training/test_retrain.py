"""Retraining: the promotion gate, the user-sample split and weights, and real runs in a subprocess."""

from __future__ import annotations

import json
import signal
from types import SimpleNamespace
from unittest.mock import MagicMock

import numpy as np
import pytest
from retrain_data import retrain_process, write_mnist, write_user_samples

from core.config import DEFAULT_MODEL_PATH, ConfigError
from core.registry import INITIAL, PROMOTED, REJECTED, ModelRegistry, RegistryBusyError
from training.data import DatasetError
from training.retrain import (
    RetrainConfig,
    Scores,
    build_parser,
    config_from_args,
    holdout_mask,
    load_user_samples,
    promotion_gate,
    result_event,
    retrain,
    user_sample_weight,
)


def test_gate_promotes_a_candidate_within_a_tenth_of_a_point():
    before = Scores(mnist_accuracy=0.9960, user_accuracy=0.90, user_holdout=50)
    assert promotion_gate(before, Scores(0.9950, 0.90, 50)).promote  # exactly 0.1 point lower
    assert promotion_gate(before, Scores(0.9990, 0.96, 50)).promote
    assert promotion_gate(Scores(0.99), Scores(0.99)).promote  # no user samples: MNIST alone decides


def test_gate_rejects_a_bigger_mnist_drop_or_any_user_drop():
    before = Scores(mnist_accuracy=0.9960, user_accuracy=0.90, user_holdout=50)
    decision = promotion_gate(before, Scores(0.9949, 0.98, 50))
    assert not decision.promote and "more than" in decision.reasons[0]
    decision = promotion_gate(before, Scores(0.9990, 0.88, 50))
    assert not decision.promote and "lower" in decision.reasons[1]


def test_holdout_is_stable_and_about_a_fifth():
    ids = np.arange(5000, dtype=np.int64)
    mask = holdout_mask(ids)
    assert 0.17 < mask.mean() < 0.23
    # The same id is held out whatever else is in the export: no model trains on what judges it.
    assert np.array_equal(holdout_mask(ids[::-1])[::-1], mask)
    assert np.array_equal(holdout_mask(ids[100:200]), mask[100:200])


def test_user_sample_weight():
    assert user_sample_weight(55_000, 300) == 20.0  # capped
    assert user_sample_weight(400, 60) == 1.0  # never below an MNIST image's
    assert user_sample_weight(9_000, 100) == pytest.approx(10.0)
    assert user_sample_weight(55_000, 0) == 1.0


def test_user_samples_file_is_validated(tmp_path):
    assert len(load_user_samples(None)) == 0
    assert len(load_user_samples(tmp_path / "absent.npz")) == 0
    samples = load_user_samples(write_user_samples(tmp_path / "users.npz", 60))
    assert samples.images.shape == (60, 28, 28) and samples.images.dtype == np.uint8
    assert samples.labels.dtype == np.uint8 and samples.confirmed.sum() == 30
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 28, 28), np.float32), labels=np.zeros(3),
             prediction_ids=np.zeros(3), confirmed=np.zeros(3, bool))
    with pytest.raises(DatasetError, match="uint8"):
        load_user_samples(tmp_path / "bad.npz")


def _events(process) -> list[dict]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.slow
def test_retrain_rejects_a_candidate_worse_than_the_active_model(tmp_path):
    """The strong shipped model, fine-tuned far too hard on 400 images, loses accuracy: not promoted."""
    home = tmp_path / "home"
    process = retrain_process(home, "--data", str(write_mnist(tmp_path / "mnist.npz")),
                              "--user-samples", str(write_user_samples(tmp_path / "users.npz")),
                              "--epochs", "1", "--learning-rate", "0.03", "--seed-model", str(DEFAULT_MODEL_PATH))
    events = _events(process)
    assert [event["event"] for event in events][0] == "start"
    done = events[-1]
    assert done["event"] == "done" and done["version"] == "v2" and not done["promoted"]
    assert done["after"]["mnist_accuracy"] < done["before"]["mnist_accuracy"] - 0.001
    registry = ModelRegistry(home / "models")
    assert registry.active().name == "v1" and registry.active().status == INITIAL
    candidate = registry.get("v2")
    assert candidate.status == REJECTED and candidate.confusion_matrix_path.read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads((candidate.path / "metrics.json").read_text())
    assert metrics["retrain"]["before"]["mnist_accuracy"] == done["before"]["mnist_accuracy"]
    assert metrics["retrain"]["user_samples"]["holdout"] == done["after"]["user_holdout"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["start", "evaluating"])  # the first progress line; training just done
def test_killed_retrain_leaves_the_active_model_untouched(tmp_path, kill_at):
    from core.classifier import Classifier

    home = tmp_path / "home"
    registry = ModelRegistry(home / "models")
    active = registry.ensure_active(DEFAULT_MODEL_PATH)
    original = active.model_path.read_bytes()
    process = retrain_process(home, "--data", str(write_mnist(tmp_path / "mnist.npz")), "--epochs", "1",
                              "--learning-rate", "0.03")
    for line in process.stdout:
        if json.loads(line)["event"] == kill_at:
            break
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert registry.active() == active and active.model_path.read_bytes() == original
    assert [version.name for version in registry.versions()] == ["v1"]
    Classifier.from_path(registry.active().model_path)  # loadable
    registry.clean_debris()
    assert sorted(path.name for path in registry.root.iterdir()) == [".retrain.lock", "ACTIVE", "v1"]
    with registry.retrain_lock():  # the dead process's lock is gone with it
        pass


# ---------------------------------------------------------------------- retention after a retrain


def fake_version(registry, status, activate=False):
    with registry.candidate() as directory:
        (directory / "digit_cnn.keras").write_bytes(b"fake")
        (directory / "digit_cnn.tflite").write_bytes(b"fake export")
        (directory / "metrics.json").write_text(json.dumps({"test_accuracy": 0.99}))
        return registry.commit(directory, status=status, activate=activate)


@pytest.fixture
def fake_training(monkeypatch):
    """:func:`retrain` with no model loaded, trained, scored or saved for real (fast).

    Returns a list: put the MNIST accuracies of the next run's active model and candidate
    in it, and the gate decides on them as usual.
    """
    import keras

    import training.retrain
    import training.train

    accuracies: list[float] = []

    def write_artifacts(model, data, config, history, seconds, out_dir, evaluation=None, extra_metrics=None,
                        temperature=1.0):
        (out_dir / "digit_cnn.keras").write_bytes(b"fake")
        (out_dir / "digit_cnn.tflite").write_bytes(b"fake export")
        (out_dir / "metrics.json").write_text(json.dumps({"test_accuracy": 0.9, **(extra_metrics or {})}))

    # A stand-in for a 10-output model (no "not a digit" output: no synthetic non-digits added).
    monkeypatch.setattr(keras.models, "load_model", lambda path, compile=False: SimpleNamespace(output_shape=(None, 10)))
    monkeypatch.setattr(training.train, "fit", lambda data, config, extra, **kwargs: (kwargs["initial_model"], {}, 0.1))
    monkeypatch.setattr(training.train, "write_artifacts", write_artifacts)
    monkeypatch.setattr(training.retrain, "_scores", lambda model, data, holdout: (Scores(accuracies.pop(0)), None))
    return accuracies


def test_retrain_deletes_old_rejected_versions_under_its_lock(tmp_path, fake_training, monkeypatch):
    registry = ModelRegistry(tmp_path / "home" / "models")
    fake_version(registry, INITIAL, activate=True)
    for _ in range(3):
        fake_version(registry, REJECTED)  # v2, v3, v4: earlier retrains that failed the gate
    data = write_mnist(tmp_path / "mnist.npz")
    prune, lock_held = registry.prune_rejected, []

    def prune_and_check_the_lock(*args, **kwargs):
        try:
            with ModelRegistry(registry.root).retrain_lock():
                lock_held.append(False)
        except RegistryBusyError:
            lock_held.append(True)
        return prune(*args, **kwargs)

    monkeypatch.setattr(registry, "prune_rejected", prune_and_check_the_lock)

    fake_training[:] = [0.99, 0.50]  # the candidate is far worse: rejected
    result = retrain(registry, data, config=RetrainConfig(epochs=1))
    assert (result.version.name, result.version.status) == ("v5", REJECTED)
    assert result.pruned == ("v2",) and result_event(result)["pruned"] == ["v2"]
    assert lock_held == [True]  # pruned by the retrain, before it let go of the lock
    assert [version.name for version in registry.versions()] == ["v1", "v3", "v4", "v5"]
    assert not [path for path in registry.root.iterdir() if path.name.startswith(".")
                and path.name != ".retrain.lock"]
    assert registry.active().name == "v1"

    registry.activate("v3")  # an admin's /rollback v3
    fake_training[:] = [0.90, 0.95]  # better: promoted
    result = retrain(registry, data, config=RetrainConfig(epochs=1, keep_rejected=1))
    assert (result.version.name, result.base.name, result.version.status) == ("v6", "v3", PROMOTED)
    assert registry.active().name == "v6"
    # v3 is no longer active but is the base the bot switches back to should v6 not load;
    # of the other rejected (v4, v5) the newest stays.
    assert result.pruned == ("v4",)
    assert [version.name for version in registry.versions()] == ["v1", "v3", "v5", "v6"]
    assert lock_held == [True, True]


def test_a_failed_clean_up_does_not_fail_the_retrain(tmp_path, fake_training, monkeypatch):
    registry = ModelRegistry(tmp_path / "home" / "models")
    fake_version(registry, INITIAL, activate=True)
    for _ in range(3):
        fake_version(registry, REJECTED)
    data = write_mnist(tmp_path / "mnist.npz")
    with pytest.raises(ValueError, match="keep_rejected"):  # refused before any work
        retrain(registry, data, config=RetrainConfig(epochs=1, keep_rejected=0))
    monkeypatch.setattr(registry, "prune_rejected", MagicMock(side_effect=PermissionError("read-only folder")))
    fake_training[:] = [0.99, 0.50]
    result = retrain(registry, data, config=RetrainConfig(epochs=1))
    assert result.version.name == "v5" and result.pruned == ()
    assert [version.name for version in registry.versions()] == ["v1", "v2", "v3", "v4", "v5"]


def test_rejected_versions_kept_come_from_the_option_else_the_environment():
    parser = build_parser()
    assert config_from_args(parser.parse_args([]), environ={})[3].keep_rejected == 3
    environ = {"DIGITBOT_RETRAIN_KEEP_REJECTED": "5"}
    assert config_from_args(parser.parse_args([]), environ=environ)[3].keep_rejected == 5
    assert config_from_args(parser.parse_args(["--keep-rejected", "1"]), environ=environ)[3].keep_rejected == 1
    with pytest.raises(ConfigError, match="--keep-rejected"):
        config_from_args(parser.parse_args(["--keep-rejected", "0"]), environ={})


def test_a_candidate_keeps_its_base_serving_temperature(tmp_path):
    from core.registry import ModelVersion
    from training.retrain import _temperature

    version = ModelVersion(name="v1", number=1, path=tmp_path)
    assert _temperature(version) == 1.0  # no card
    (tmp_path / "digit_cnn.json").write_text(json.dumps({"temperature": 1.3}))
    assert _temperature(version) == 1.3
    (tmp_path / "digit_cnn.json").write_text("{broken")
    assert _temperature(version) == 1.0
