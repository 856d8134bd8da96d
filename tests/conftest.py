"""Shared fixtures: data paths, the committed MNIST sample, models (tiny and shipped)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.config import DEFAULT_MODEL_PATH, PROJECT_ROOT  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
#: The full MNIST file the project's machines have beside the checkout (never committed).
SHARED_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "mnist.npz"
REAL_DIGITS = PROJECT_ROOT.parent / "shared" / "data" / "real_digits_dev"


@pytest.fixture(scope="session")
def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """500 MNIST test images (uint8 (500, 28, 28), white on black) and labels (uint8 (500,))."""
    with np.load(FIXTURES / "mnist_test_500.npz") as archive:
        return archive["x"], archive["y"]


@pytest.fixture(scope="session")
def full_mnist_path() -> Path:
    """Path of the full MNIST .npz; skips the test when it is absent."""
    path = Path(os.environ.get("DIGITBOT_MNIST") or SHARED_MNIST)
    if not path.is_file():
        pytest.skip(f"full MNIST file not found at {path} (set DIGITBOT_MNIST)")
    return path


@pytest.fixture(scope="session")
def shipped_classifier():
    """The shipped model in models/, loaded once per test session."""
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.fail(f"the shipped model {DEFAULT_MODEL_PATH} is missing: run `digitbot train`")
    from core.classifier import Classifier

    return Classifier.from_path(DEFAULT_MODEL_PATH)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """An untrained model of the real architecture (11 outputs) saved to a temp .keras file
    with its .tflite export beside it (fast, no data)."""
    import keras

    from core.config import NUM_OUTPUTS
    from training.export import write_tflite
    from training.model import build_cnn

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "digit_cnn.keras"
    model = build_cnn(num_classes=NUM_OUTPUTS, width=4)
    model.save(path)
    write_tflite(model, path.with_suffix(".tflite"))
    return path
