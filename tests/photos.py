"""Draw photo-like test images from real handwriting (MNIST test digits), and a few non-digits: dark ink on light paper."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

FIXTURE = Path(__file__).parent / "fixtures" / "mnist_test_500.npz"


def paper(height: int = 720, width: int = 960, seed: int = 0) -> np.ndarray:
    """float32 (H, W) paper in [0, 1] with a lighting gradient and a little grain."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    cols = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    light = 0.93 - 0.12 * rows * cols
    return np.clip(light + rng.normal(0, 0.01, (height, width)).astype(np.float32), 0, 1)


def place_digits(background: np.ndarray, digits: list[np.ndarray], height: int, left: int, top: int,
                 gap: float = 0.35, darkness: float = 0.85) -> np.ndarray:
    """Write MNIST digits (uint8 28x28, white on black) as dark ink, left to right.

    Args:
        background: float32 (H, W) in [0, 1]; modified copy returned.
        height: rendered height of each 28-px MNIST image, in pixels.
        left, top: where the first digit's 28x28 frame goes.
        gap: extra space between frames, as a fraction of ``height``.
        darkness: how much of the paper's light the strokes' cores take away, in (0, 1]
            (0.85 a pen; 0.2 a light pencil).
    """
    page = background.copy()
    x = left
    for digit in digits:
        alpha = cv2.resize(digit.astype(np.float32) / 255.0, (height, height), interpolation=cv2.INTER_CUBIC)
        alpha = np.clip(alpha, 0, 1)
        region = page[top:top + height, x:x + height]
        region[:] = region * (1 - darkness * alpha[: region.shape[0], : region.shape[1]])
        x += int(height * (0.75 + gap))
    return page


def arc_ending_in_a_wedge() -> np.ndarray:
    """float32 (480, 640) paper with a pen-thin arc ending in a filled wedge: a shape's outline, not a digit."""
    page = paper(480, 640)
    cv2.ellipse(page, (320, 200), (90, 110), 0, -60, 120, 0.15, 6)
    cv2.fillPoly(page, [np.array([[250, 290], [330, 300], [270, 380]], np.int32)], 0.15)
    return page


def texture_patch(seed: int = 3) -> np.ndarray:
    """float32 (480, 640) paper with a coarse texture patch (grain, fabric): speckled ink full of holes."""
    page = paper(480, 640)
    patch = np.random.default_rng(seed).random((120, 90)) < 0.55
    page[180:300, 280:370][patch] = 0.2
    return page


def to_jpeg(page: np.ndarray, quality: int = 85) -> bytes:
    """float32 (H, W) in [0, 1] to JPEG bytes."""
    ok, buffer = cv2.imencode(".jpg", np.round(page * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buffer.tobytes()


def to_png(image: np.ndarray) -> bytes:
    """uint8 or float [0, 1] (H, W) to PNG bytes."""
    if image.dtype != np.uint8:
        image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    ok, buffer = cv2.imencode(".png", image)
    assert ok
    return buffer.tobytes()


@lru_cache(maxsize=1)
def _mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    with np.load(FIXTURE) as archive:
        return archive["x"], archive["y"]


def handwritten(digit: int, variant: int = 0) -> np.ndarray:
    """The ``variant``-th MNIST test image of ``digit`` in the committed fixture: uint8 (28, 28)."""
    images, labels = _mnist_sample()
    return images[np.flatnonzero(labels == digit)[variant]]


def number_photo(text: str, size: tuple[int, int] = (1280, 960), variant: int = 0, quality: int = 90) -> bytes:
    """A JPEG photo of ``text`` (digits) written by hand, centred on a ``(width, height)`` page."""
    width, height = size
    digit_height = int(min(0.4 * height, 0.85 * width / (0.75 * len(text) + 0.35 * (len(text) - 1) + 0.25)))
    span = int(digit_height * (0.75 * len(text) + 0.35 * (len(text) - 1)))
    page = place_digits(
        paper(height, width, seed=len(text) + variant),
        [handwritten(int(char), variant) for char in text],
        height=digit_height,
        left=max(0, (width - span) // 2 - digit_height // 8),
        top=(height - digit_height) // 2,
    )
    return to_jpeg(page, quality)
