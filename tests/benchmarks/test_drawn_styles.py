"""benchmarks.drawn_styles: each style's redrawn digits are read and counted, and the report names them."""

from __future__ import annotations

import numpy as np


def test_every_style_row_counts_its_redrawn_digits_and_the_wrong_answers(mnist_sample):
    from benchmarks.drawn_styles import STYLES, format_rows, read_styles

    images, labels = mnist_sample
    seen = []

    def always_four(batch: np.ndarray) -> np.ndarray:  # a "classifier" that reads every digit as 4
        seen.append(batch.shape)
        return np.full(len(batch), 4)

    rows = read_styles(always_four, images, labels, seed=3)
    assert [(row["style"], row["digit"]) for row in rows] == [(name, digit) for name, _, digits in STYLES
                                                             for digit in digits]
    for row in rows:
        assert 0 < row["redrawn"] <= int((labels == row["digit"]).sum())
        if row["digit"] == 4:
            assert row["right_before"] == row["right_after"] == row["redrawn"] and not row["wrong_as"].any()
        else:
            assert row["right_before"] == row["right_after"] == 0
            assert row["wrong_as"][4] == row["redrawn"] == row["wrong_as"].sum()
    assert all(shape[1:] == (28, 28) for shape in seen)
    footless = next(row for row in rows if row["style"] == "footless 4")
    assert footless["redrawn"] >= 0.9 * (labels == 4).sum()  # rate 1: nearly every 4 redrawn

    lines = format_rows(rows)
    assert len(lines) == len(rows) + 1 and "footless 4" in lines[1 + rows.index(footless)]
    assert "100.0%" in lines[1 + rows.index(footless)] and "4 x" in lines[1]


def test_without_mnist_it_says_so_and_skips(tmp_path, capsys):
    from benchmarks.drawn_styles import main

    assert main(["--mnist", str(tmp_path / "absent.npz")]) == 0
    assert "SKIP" in capsys.readouterr().out
