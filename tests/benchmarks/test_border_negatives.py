"""The border-only negatives benchmarks.border_negatives draws, and its report."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.border_negatives import KINDS, border_photo, main


def test_photos_take_the_kinds_in_turn_and_are_the_same_every_run():
    for index in range(8):
        kind, photo = border_photo(index)
        assert kind == KINDS[index % 4]
        assert photo.dtype == np.uint8 and photo.shape in {(480, 640), (640, 480)}
        assert np.array_equal(photo, border_photo(index)[1])
    assert not np.array_equal(border_photo(0, seed=0)[1], border_photo(0, seed=1)[1])
    with pytest.raises(ValueError):
        border_photo(-1)


def test_only_the_border_is_dark():
    # Whatever is drawn touches the border; the middle of the page stays paper (finger and
    # pen leave part of it, so the test takes a table and a page edge).
    for index in (0, 2):
        _, photo = border_photo(index)
        height, width = photo.shape
        middle = photo[height // 3:2 * height // 3, width // 2:3 * width // 4]
        assert middle.min() > 150


def test_the_report_counts_every_photo(capsys):
    assert main(["--count", "4"]) == 0
    printed = capsys.readouterr().out
    assert "all" in printed and " 4 " in printed
    for kind in KINDS:
        assert kind in printed
