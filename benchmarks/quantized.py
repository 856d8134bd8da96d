"""What full-integer int8 quantization of the classifier would buy and cost (an experiment; not served).

The shipped classifier (an ensemble of three CNNs, about 79 MFLOP per digit) runs about
2,000 digits/s in batches of 256 on 2 cores in float32, short of the 5,000 issue 14 asks;
the cores already do about 150 GFLOP/s there. This converts the ``.keras`` model with the
TF Lite converter's post-training full-integer quantization (int8 weights and activations,
float32 input and output; the activations' ranges from 500 MNIST *training* digits) and
prints, for the float32 ``.tflite`` beside the ``.keras`` file and for the int8 one:

- the file size;
- batch-of-256 throughput and the one-image p50, measured as :mod:`benchmarks.speed` does
  (``Classifier.predict_probabilities``, LiteRT, 2 threads);
- MNIST test accuracy, and how many of the 10,000 answers and how far the probabilities
  differ from float32's (serving's parity check, ``training.export``, allows 1e-4).

Real photos through the pipeline: ``--out DIR`` keeps the int8 model there (with the model
card), for ``python -m benchmarks.real_photos --model DIR/digit_cnn.tflite`` and
``python -m benchmarks.real_numbers --model DIR/digit_cnn.tflite``.

Imports TensorFlow (for the converter), like training and evaluation.

Usage::

    python -m benchmarks.quantized [--model models/digit_cnn.keras] [--data ../shared/data/mnist.npz] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.config import DEFAULT_MODEL_PATH  # noqa: E402

#: MNIST training digits whose activations set the int8 ranges.
REPRESENTATIVE_DIGITS = 500


def quantize(keras_path: Path, representative: np.ndarray) -> bytes:
    """Full-integer int8 ``.tflite`` bytes of a ``.keras`` classifier, float32 in and out.

    Args:
        keras_path: the ``.keras`` file (single CNN or ensemble).
        representative: float32 (N, 28, 28, 1) in [0, 1], digits to calibrate the ranges on.

    Raises:
        ValueError, OSError: the file is not a loadable Keras archive.
    """
    import tensorflow as tf

    from training.model import load_keras_model

    converter = tf.lite.TFLiteConverter.from_keras_model(load_keras_model(keras_path))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image[np.newaxis]] for image in representative)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.float32
    converter.inference_output_type = tf.float32
    return converter.convert()


def measure(classifier, test_images: np.ndarray, repeats: int = 600) -> dict:
    """Throughput on batches of 256 (digits/s) and the one-image p50 (ms), as
    :func:`benchmarks.speed.model_alone` measures them, and the test set's probabilities,
    float32 (N, K)."""
    from benchmarks.speed import model_alone

    timings, rate = model_alone(classifier, repeats)
    probabilities = np.concatenate([classifier.predict_probabilities(test_images[start:start + 1000])
                                    for start in range(0, len(test_images), 1000)])
    return {"rate": rate, "p50_ms": float(np.median(timings)) * 1000, "probabilities": probabilities}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH, help="the .keras classifier")
    parser.add_argument("--data", default=None, help="MNIST .npz or IDX folder (default: $DIGITBOT_MNIST or keras)")
    parser.add_argument("--out", type=Path, default=None, help="keep the int8 model (and its card) in this folder")
    args = parser.parse_args(argv)

    from core.classifier import Classifier, tflite_path
    from training.data import load_mnist

    keras_path = args.model.with_suffix(".keras")
    float_path = tflite_path(keras_path)
    mnist = load_mnist(args.data)
    test_images = mnist.x_test.astype(np.float32) / 255.0
    representative = (mnist.x_train[:REPRESENTATIVE_DIGITS].astype(np.float32) / 255.0)[..., np.newaxis]
    started = time.perf_counter()
    content = quantize(keras_path, representative)
    print(f"quantized {keras_path} in {time.perf_counter() - started:.0f} s "
          f"(ranges from {REPRESENTATIVE_DIGITS} MNIST training digits)")

    with tempfile.TemporaryDirectory() as folder:
        int8_path = Path(args.out or folder) / float_path.name
        int8_path.parent.mkdir(parents=True, exist_ok=True)
        int8_path.write_bytes(content)
        card = float_path.with_suffix(".json")
        if card.is_file():
            shutil.copy(card, int8_path.with_suffix(".json"))
        results = {}
        for name, path in (("float32", float_path), ("int8", int8_path)):
            results[name] = measure(Classifier.from_path(path, reader_paths=None), test_images)
            results[name]["bytes"] = path.stat().st_size
    reference = results["float32"]["probabilities"]
    print(f"{'model':8} {'size':>11} {'batch 256':>14} {'one p50':>9} {'MNIST':>8} {'answers changed':>16} "
          f"{'max |dp|':>9}")
    for name, result in results.items():
        probabilities = result["probabilities"]
        answers = probabilities[:, :10].argmax(axis=1)
        accuracy = float(np.mean(answers == mnist.y_test))
        changed = int(np.sum(answers != reference[:, :10].argmax(axis=1)))
        difference = float(np.abs(probabilities - reference).max())
        print(f"{name:8} {result['bytes']:>9,} B {result['rate']:>9,.0f} dig/s {result['p50_ms']:>6.2f} ms "
              f"{accuracy:>8.2%} {changed:>16} {difference:>9.4f}")
    print("targets: >= 5,000 digits/s batched; serving's parity check: same answers, probabilities within 1e-4")
    return 0


if __name__ == "__main__":
    sys.exit(main())
