"""Export a Keras model to the ``.tflite`` file that serving runs with LiteRT, and check they agree.

Serving (the bot, ``digitbot predict``, the playground) never imports TensorFlow: it loads
``digit_cnn.tflite`` with ``ai_edge_litert``. Training writes that file beside every
``digit_cnn.keras`` it saves; this module is also the way to export an older ``.keras``
model that has none::

    python -m training.export path/to/digit_cnn.keras [--check-data ../shared/data/mnist.npz]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.config import TFLITE_SUFFIX

#: Largest difference in probability allowed between the Keras model and its export.
PARITY_TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """The model could not be converted, or its export does not compute the same outputs."""


def tflite_bytes(model) -> bytes:
    """Convert a Keras model to a float32 TensorFlow Lite flatbuffer (no quantisation).

    Args:
        model: a ``keras.Model`` mapping (N, 28, 28, 1) float32 to (N, K) logits.

    Returns:
        The ``.tflite`` file's bytes; its batch dimension is dynamic.

    Raises:
        ExportError: the converter failed.
    """
    import tensorflow as tf

    try:
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as exc:  # the converter raises many types
        raise ExportError(f"cannot convert the model to TensorFlow Lite ({type(exc).__name__}: {exc})") from exc


def write_tflite(model, path: Path) -> Path:
    """Write ``model``'s export to ``path`` atomically (temporary file, then rename); returns ``path``."""
    content = tflite_bytes(model)
    with atomic_path(Path(path)) as temporary:
        temporary.write_bytes(content)
    return Path(path)


def check_parity(model, tflite_path: Path, images: np.ndarray, batch_size: int = 256) -> dict:
    """Compare the Keras model and its LiteRT export on ``images``.

    Args:
        model: the ``keras.Model``.
        tflite_path: its export.
        images: uint8 (N, 28, 28) or float32 in [0, 1].
        batch_size: images per call.

    Returns:
        ``{"images": N, "same_argmax": bool, "max_probability_difference": float, "ties": int}``;
        ``ties`` counts images whose top classes are tied within the tolerance and came out
        in another order (they count as the same answer).

    Raises:
        ExportError: the argmax differs on any image where the Keras model's answer is ahead
            by more than :data:`PARITY_TOLERANCE`, or a probability differs by more than it.
    """
    from core.classifier import Classifier, softmax
    from core.preprocessing import to_model_input

    inputs = to_model_input(images)
    keras_probabilities = softmax(model.predict(inputs, batch_size=batch_size, verbose=0))
    served = Classifier.from_path(tflite_path, num_threads=2)
    served.temperature = 1.0  # compare the raw outputs, before any calibration
    lite_probabilities = served.predict_probabilities(inputs)
    difference = float(np.abs(keras_probabilities - lite_probabilities).max()) if len(inputs) else 0.0
    keras_answer, lite_answer = keras_probabilities.argmax(axis=1), lite_probabilities.argmax(axis=1)
    rows = np.arange(len(inputs))
    # Where two classes tie to within the tolerance (an untrained or degenerate model), float
    # rounding may pick either: only an answer the Keras model ranks clearly lower differs.
    margin = keras_probabilities[rows, keras_answer] - keras_probabilities[rows, lite_answer]
    same = bool(((keras_answer == lite_answer) | (margin <= PARITY_TOLERANCE)).all())
    report = {"images": int(len(inputs)), "same_argmax": same, "max_probability_difference": difference,
              "ties": int((keras_answer != lite_answer).sum())}
    if not same or difference > PARITY_TOLERANCE:
        raise ExportError(f"the LiteRT export disagrees with the Keras model: {report}")
    return report


def export_saved_model(keras_path: Path, check_images: np.ndarray | None = None) -> tuple[Path, dict | None]:
    """Export a saved ``.keras`` file to its ``.tflite`` sibling; optionally check parity.

    Raises:
        ExportError: conversion failed or the export disagrees (the file is then removed).
    """
    from training.model import load_keras_model

    keras_path = Path(keras_path)
    model = load_keras_model(keras_path)
    target = write_tflite(model, keras_path.with_suffix(TFLITE_SUFFIX))
    report = None
    if check_images is not None:
        try:
            report = check_parity(model, target, check_images)
        except ExportError:
            target.unlink(missing_ok=True)
            raise
    return target, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the .keras file; the .tflite is written beside it")
    parser.add_argument("--check-data", type=Path, default=None,
                        help="MNIST .npz: check the export against the Keras model on its test set")
    args = parser.parse_args(argv)
    images = None
    if args.check_data is not None:
        from training.data import load_mnist

        images = load_mnist(args.check_data).x_test
    try:
        target, report = export_saved_model(args.model, images)
    except (ExportError, OSError, ValueError) as exc:
        print(f"export failed: {exc}")
        return 1
    print(f"wrote {target}" + (f"; parity {report}" if report else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
