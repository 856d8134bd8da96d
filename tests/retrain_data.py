"""Small inputs for retrain tests: a Keras-layout MNIST .npz, a user-samples export, a broken model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from core.config import PROJECT_ROOT

FIXTURE = Path(__file__).parent / "fixtures" / "mnist_test_500.npz"


def write_mnist(path: Path, *, without: int | None = None) -> Path:
    """The committed 500 MNIST test images as a tiny Keras-layout .npz: 400 to train on, 100 to test.

    Args:
        without: leave this digit out of the test part.
    """
    with np.load(FIXTURE) as archive:
        x, y = archive["x"], archive["y"]
    keep = np.ones(100, bool) if without is None else y[400:] != without
    np.savez(path, x_train=x[:400], y_train=y[:400], x_test=x[400:][keep], y_test=y[400:][keep])
    return path


def write_user_samples(path: Path, count: int = 60, *, without: int | None = None) -> Path:
    """An export as ``FeedbackStore.export_labelled_samples`` writes it, from MNIST images 340-399."""
    with np.load(FIXTURE) as archive:
        x, y = archive["x"][400 - count : 400], archive["y"][400 - count : 400]
    keep = np.ones(count, bool) if without is None else y != without
    np.savez(path, images=x[keep], labels=y[keep].astype(np.int64),
             prediction_ids=np.arange(1000, 1000 + count, dtype=np.int64)[keep],
             confirmed=(np.arange(count) % 2 == 0)[keep])
    return path


def write_always_model(source: Path, target: Path, digit: int = 9) -> Path:
    """Copy of the model at ``source`` that answers ``digit`` for every image (a broken model),
    with its ``.tflite`` export beside it."""
    from training.export import write_tflite
    from training.model import load_keras_model

    model = load_keras_model(source)
    kernel, bias = model.get_layer("logits").get_weights()
    bias[:] = -50.0
    bias[digit] = 50.0
    model.get_layer("logits").set_weights([np.zeros_like(kernel), bias])
    model.save(target)
    write_tflite(model, Path(target).with_suffix(".tflite"))
    return target


def retrain_process(home: Path, *args: str) -> subprocess.Popen:
    """Start ``python -m training.retrain --home HOME ARGS...`` with stdout piped (JSON lines)."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(
        [sys.executable, "-m", "training.retrain", "--home", str(home), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )
