"""benchmarks.quantized: the int8 classifier it makes, and the comparison it prints."""

from __future__ import annotations

import re

import numpy as np


def test_an_int8_copy_is_made_kept_and_compared_with_float32(tiny_model_path, mnist_sample, tmp_path, capsys):
    from benchmarks import quantized

    images, labels = mnist_sample
    data = tmp_path / "mnist.npz"
    np.savez(data, x_train=images[:400], y_train=labels[:400], x_test=images[400:], y_test=labels[400:])
    out = tmp_path / "int8"
    assert quantized.main(["--model", str(tiny_model_path), "--data", str(data), "--out", str(out)]) == 0

    int8 = out / "digit_cnn.tflite"
    assert int8.is_file() and int8.stat().st_size < tiny_model_path.with_suffix(".tflite").stat().st_size
    from core.classifier import Classifier

    served = Classifier.from_path(int8, reader_paths=None)  # loads as serving would
    assert served.predict_probabilities(images[:3].astype(np.float32) / 255.0).shape[0] == 3
    printed = capsys.readouterr().out
    rows = {match[0]: match for match in re.findall(
        r"^(float32|int8) +([\d,]+) B +([\d,]+) dig/s +([\d.]+) ms +([\d.]+)% +(\d+) +([\d.]+)$", printed, re.M)}
    assert set(rows) == {"float32", "int8"}
    assert rows["float32"][5:] == ("0", "0.0000")  # float32 against itself
    assert 0 <= int(rows["int8"][5]) <= 100
