"""Training smoke run, the report files, and the shipped model's accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.config import DEFAULT_MODEL_PATH, MODELS_DIR


def test_build_cnn_outputs_logits():
    from training.model import build_cnn

    model = build_cnn()
    assert model.output_shape == (None, 10)
    assert model.layers[-1].get_config()["activation"] == "linear"
    assert 50_000 < model.count_params() < 1_000_000


@pytest.mark.slow
def test_training_smoke_run_writes_every_artifact(tmp_path, mnist_sample):
    """A few hundred samples, two epochs: every artifact is written and loadable."""
    from PIL import Image

    from core.classifier import Classifier
    from training.data import MnistData
    from training.train import TrainConfig, fit, write_artifacts

    x, y = mnist_sample
    data = MnistData(x_train=x[:400], y_train=y[:400], x_test=x[400:], y_test=y[400:], source="fixture", sha256="0" * 64)
    config = TrainConfig(epochs=2, batch_size=64, validation_size=80, max_samples=None)
    model, history, seconds = fit(data, config, verbose=0)
    result = write_artifacts(model, data, config, history, seconds, tmp_path)

    names = {"digit_cnn.keras", "digit_cnn.json", "metrics.json", "confusion_matrix.png",
             "training_curves.png", "misclassified.png"}
    assert names <= {path.name for path in tmp_path.iterdir()}
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")], "temporary files left behind"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert np.array(metrics["confusion_matrix"]).shape == (10, 10)
    assert sum(map(sum, metrics["confusion_matrix"])) == 100
    assert set(metrics["per_class"]) == {str(d) for d in range(10)}
    assert metrics["epochs_run"] == 2 and metrics["parameters"] == model.count_params()
    for key in ("test_accuracy", "test_loss", "training_seconds", "data_sha256", "versions", "model_size_bytes"):
        assert key in metrics
    for png in ("confusion_matrix.png", "training_curves.png", "misclassified.png"):
        with Image.open(tmp_path / png) as image:
            assert image.format == "PNG" and image.width > 300
    classifier = Classifier.from_path(result.model_path)
    assert classifier.predict_probabilities(x[:3].astype(np.float32) / 255).shape == (3, 10)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    from training.evaluate import atomic_path

    target = tmp_path / "model.keras"
    target.write_bytes(b"old model")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"half a new mod")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old model"
    assert [path.name for path in tmp_path.iterdir()] == ["model.keras"]


def test_shipped_model_on_mnist_fixture(shipped_classifier, mnist_sample):
    """The shipped model reads the 500 committed MNIST test images; a broken model cannot pass."""
    x, y = mnist_sample
    predictions = shipped_classifier.predict_probabilities(x.astype(np.float32) / 255.0).argmax(axis=1)
    accuracy = float((predictions == y).mean())
    assert accuracy >= 0.99, f"shipped model reads only {accuracy:.1%} of the MNIST fixture"


def test_shipped_reports_are_consistent():
    metrics = json.loads((MODELS_DIR / "metrics.json").read_text())
    card = json.loads((MODELS_DIR / "digit_cnn.json").read_text())
    # A guard against a broken or badly trained model, not the target (>= 99.75 %, issue 14): the
    # shipped fine-tunes traded 0.04 points of MNIST (99.50 -> 99.46 %) for real cheques and
    # register cells (docs/benchmarks.md, "Measured 2026-12-06, last").
    assert metrics["test_accuracy"] >= 0.994, "MNIST test accuracy fell below the regression guard"
    assert metrics["test_images"] == 10000
    assert DEFAULT_MODEL_PATH.stat().st_size <= 5 * 1024 * 1024
    assert card["test_accuracy"] == metrics["test_accuracy"]
    assert np.trace(np.array(metrics["confusion_matrix"])) == round(metrics["test_accuracy"] * 10000)
    for png in ("confusion_matrix.png", "training_curves.png", "misclassified.png"):
        assert (MODELS_DIR / png).stat().st_size > 10_000


def test_training_curves_keep_both_accuracies_in_view_on_whole_epochs(tmp_path, monkeypatch):
    """A short fine-tune's training accuracy (augmented, lower) is not cut off by the zoom, the
    epochs are whole numbers, and the heading says whose curves they are."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from figure_texts import texts_drawn
    from training.evaluate import plot_training_curves

    drawn = texts_drawn(monkeypatch)
    axes_seen: list = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):
        axes_seen.extend(self.axes)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    history = {"accuracy": [0.9690, 0.9757], "val_accuracy": [0.9826, 0.9868],
               "loss": [0.0894, 0.0789], "val_loss": [0.0594, 0.0516]}
    plot_training_curves(history, tmp_path / "curves.png", "member 3 of 3, the last trained")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    accuracy_axes: Axes = axes_seen[0]
    low, high = accuracy_axes.get_ylim()
    assert low <= 0.9690 and high == 1.0
    assert all(float(tick).is_integer() for tick in accuracy_axes.get_xticks())
    assert "member 3 of 3, the last trained" in drawn
    assert "best validation accuracy 98.68% (epoch 2)" in drawn
