"""The wide strips benchmarks.photo_robustness cuts from its negatives."""

from __future__ import annotations

import numpy as np

from benchmarks.photo_robustness import STRIP_ASPECTS, negative_strips


def test_strips_are_full_width_and_as_wide_as_asked_from_top_middle_and_bottom():
    image = np.arange(480 * 640 * 3, dtype=np.uint32).reshape(480, 640, 3).astype(np.uint8)
    strips = negative_strips(image)
    assert len(strips) == 3 * len(STRIP_ASPECTS)
    for aspect, where, strip in strips:
        assert strip.shape[1] == 640 and strip.shape[0] == int(640 / aspect)
        top = {"top": 0, "middle": (480 - strip.shape[0]) // 2, "bottom": 480 - strip.shape[0]}[where]
        assert np.array_equal(strip, image[top:top + strip.shape[0]])
    # an image already wider than a strip gives none of that shape
    assert {aspect for aspect, _, _ in negative_strips(image[:200])} == {5.0}  # 128 rows fit in 200; 213 and 320 do not
