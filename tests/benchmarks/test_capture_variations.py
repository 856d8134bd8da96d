"""The pencil variation of benchmarks.capture_variations: grey, as light as asked, paper kept."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.capture_variations import pencil, vary


@pytest.fixture
def blue_ink_on_paper() -> np.ndarray:
    page = np.full((200, 300, 3), (200, 215, 225), np.uint8)  # BGR: warm white paper
    cv2.line(page, (60, 40), (240, 160), (150, 40, 20), 6)  # a dark blue pen stroke
    return page


@pytest.mark.parametrize("strength", [0.45, 0.25])
def test_pencil_strokes_are_grey_and_as_light_as_asked(blue_ink_on_paper, strength):
    drawn = pencil(blue_ink_on_paper, digit_height=100.0, strength=strength).astype(np.float32)
    paper = blue_ink_on_paper.astype(np.float32)
    corner = (slice(0, 20), slice(0, 20))
    np.testing.assert_allclose(drawn[corner], paper[corner], atol=2)  # the paper stays as it was
    core = drawn[97:104, 147:154].reshape(-1, 3)  # the middle of the stroke
    darkness = 1.0 - core.mean(axis=0) / paper[0, 0]
    # graphite darkens every channel alike (the paper's own tint stays), by about strength
    # times the grain's mean (0.8)
    assert np.ptp(darkness) < 0.03
    assert darkness.mean() == pytest.approx(0.8 * strength, abs=0.08)


def test_pencil_is_a_variation_that_needs_the_digit_height(blue_ink_on_paper):
    data = vary(blue_ink_on_paper, "pencil", 100.0)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == blue_ink_on_paper.shape
    assert vary(blue_ink_on_paper, "light pencil", 100.0) != data
