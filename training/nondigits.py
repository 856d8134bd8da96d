"""Synthetic marks that are not one digit, for the classifier's "not a digit" output (class 10).

Segmentation proposes marks that are not single digits: a digit cut in half, two digits
touching, the piece of an underline or a ruled line, a tick, a cross, a dot, a blob, a
speckle of grain. Each kind is drawn here as a binary mask at twice MNIST's scale and
normalised by :func:`core.preprocessing.normalize_digit`, the same step that serves
photos, so the classifier sees these marks exactly as it would in a user's photo.

Kinds and their share of the output (:data:`KIND_SHARES`):

- ``fragment``: part of an MNIST training digit, cut by a random straight line, keeping
  20-60 % of its ink;
- ``pair``: two (sometimes three) MNIST training digits side by side, touching or
  overlapping by up to a third of a digit's width;
- ``line``: a straight or slightly bent stroke at least 4 times longer than wide, mostly
  near horizontal (underlines, strike-throughs, ruled-line remnants);
- ``tick``: a check mark; ``cross``: an x or a +; ``dot``: a filled disc or comma;
- ``blob``: a filled irregular polygon; ``grain``: a dozen or more specks.

Fragments, ticks and commas can look like a digit (the lower half of a 7 is a 1): with a
``reference`` classifier (a callable from float32 (N, 28, 28) images to probabilities
(N, >= 10)) such candidates are kept only when it is unsure of every digit (max < 0.6).
A reference that has a "not a digit" output of its own is asked which digit the mark would
be if it were one (its 10 digit probabilities renormalised to sum to 1): otherwise the
shipped ensemble, which already rejects most fragments, would let digit-like fragments
through as non-digits, and a model fine-tuned on them learns to reject real digits.
Only MNIST *training* digits are used; the test set stays unseen.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: Share of each kind among the generated non-digits.
KIND_SHARES = {
    "fragment": 0.24,
    "pair": 0.26,
    "line": 0.14,
    "tick": 0.07,
    "cross": 0.07,
    "dot": 0.06,
    "blob": 0.08,
    "grain": 0.08,
}
#: Kinds that may look like a digit and are filtered by the reference classifier.
FILTERED_KINDS = frozenset({"fragment", "tick", "dot"})
#: A filtered candidate is kept only when the reference is below this on every digit.
MAX_REFERENCE_CONFIDENCE = 0.6

_SCALE = 2  # draw at 56 px (twice MNIST) so normalisation resamples as it does for photos


def _digit_mask(image: np.ndarray) -> np.ndarray:
    """An MNIST digit uint8 (28, 28) as a binary mask uint8 (56, 56) in {0, 255}."""
    import cv2

    big = cv2.resize(image, (28 * _SCALE, 28 * _SCALE), interpolation=cv2.INTER_LINEAR)
    return np.where(big > 96, 255, 0).astype(np.uint8)


def _fragment(rng: np.random.Generator, digit: np.ndarray) -> np.ndarray | None:
    mask = _digit_mask(digit)
    rows, columns = np.nonzero(mask)
    if rows.size < 20:
        return None
    angle = rng.uniform(0, np.pi)
    normal = np.array([np.cos(angle), np.sin(angle)])
    projection = columns * normal[0] + rows * normal[1]
    keep_fraction = rng.uniform(0.2, 0.6)
    threshold = np.quantile(projection, keep_fraction)
    kept = projection <= threshold
    out = np.zeros_like(mask)
    out[rows[kept], columns[kept]] = 255
    return out


def _pair(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    count = 2 if rng.random() < 0.8 else 3
    picks = [_digit_mask(digits[rng.integers(len(digits))]) for _ in range(count)]
    canvas = np.zeros((56 + 16, 56 * count + 16), np.uint8)
    x = 8
    for mask in picks:
        columns = np.flatnonzero(mask.any(axis=0))
        if columns.size == 0:
            continue
        piece = mask[:, columns[0]:columns[-1] + 1]
        dy = int(rng.integers(-6, 7))
        canvas[8 + dy:8 + dy + 56, x:x + piece.shape[1]] |= piece
        # The next digit starts touching or overlapping this one by up to a third of its width.
        x += max(4, piece.shape[1] - int(rng.uniform(0, 0.34) * piece.shape[1]))
    return canvas


def _polyline(points: np.ndarray, size: tuple[int, int], thickness: int) -> np.ndarray:
    import cv2

    canvas = np.zeros(size, np.uint8)
    cv2.polylines(canvas, [np.round(points * 16).astype(np.int32)], False, 255, thickness, cv2.LINE_AA, 4)
    return np.where(canvas > 127, 255, 0).astype(np.uint8)


def _line(rng: np.random.Generator) -> np.ndarray:
    length = rng.uniform(60, 200)
    angle = np.deg2rad(rng.normal(0, 6) if rng.random() < 0.85 else rng.uniform(-35, 35))
    bend = rng.uniform(-0.06, 0.06) * length
    t = np.linspace(0, 1, 12)
    along = t * length
    across = bend * 4 * t * (1 - t)
    points = np.stack([along * np.cos(angle) - across * np.sin(angle),
                       along * np.sin(angle) + across * np.cos(angle)], axis=1)
    thickness = int(rng.integers(2, max(3, int(length / 8))))
    points -= points.min(axis=0) - thickness - 2
    size = (int(points[:, 1].max() + thickness + 3), int(points[:, 0].max() + thickness + 3))
    return _polyline(points, size, thickness)


def _tick(rng: np.random.Generator) -> np.ndarray:
    short, long_ = rng.uniform(10, 22), rng.uniform(26, 48)
    start = np.array([0.0, 0.0])
    corner = start + short * np.array([np.cos(np.deg2rad(rng.uniform(40, 70))), np.sin(np.deg2rad(rng.uniform(40, 70)))])
    end_angle = np.deg2rad(rng.uniform(-80, -40))
    end = corner + long_ * np.array([np.cos(end_angle), np.sin(end_angle)])
    points = np.stack([start, corner, end])
    thickness = int(rng.integers(3, 7))
    points -= points.min(axis=0) - thickness - 2
    size = (int(points[:, 1].max() + thickness + 3), int(points[:, 0].max() + thickness + 3))
    return _polyline(points, size, thickness)


def _cross(rng: np.random.Generator) -> np.ndarray:
    size = int(rng.integers(30, 56))
    thickness = int(rng.integers(3, 7))
    canvas = np.zeros((size + 2 * thickness, size + 2 * thickness), np.uint8)
    offset = thickness
    if rng.random() < 0.6:  # an x
        jitter = rng.uniform(-0.15, 0.15, size=4) * size
        strokes = [np.array([[0, 0 + jitter[0]], [size, size + jitter[1]]]),
                   np.array([[0, size + jitter[2]], [size, 0 + jitter[3]]])]
    else:  # a +
        middle = size / 2 + rng.uniform(-0.1, 0.1, size=2) * size
        strokes = [np.array([[0, middle[0]], [size, middle[0]]]), np.array([[middle[1], 0], [middle[1], size]])]
    for stroke in strokes:
        canvas |= _polyline(np.clip(stroke, 0, size) + offset, canvas.shape, thickness)
    return canvas


def _dot(rng: np.random.Generator) -> np.ndarray:
    import cv2

    radius = int(rng.integers(3, 10))
    canvas = np.zeros((4 * radius + 8, 4 * radius + 8), np.uint8)
    centre = (2 * radius + 4, radius + 4)
    cv2.ellipse(canvas, centre, (radius, int(radius * rng.uniform(0.7, 1.3))), rng.uniform(0, 180), 0, 360, 255, -1)
    if rng.random() < 0.5:  # a comma: a tail curling down-left from the dot
        tail = np.array([[centre[0] + radius * 0.6, centre[1]], [centre[0] + radius * 0.3, centre[1] + 2 * radius],
                         [centre[0] - radius * 0.8, centre[1] + 3 * radius]])
        canvas |= _polyline(tail, canvas.shape, max(2, radius // 2))
    return canvas


def _blob(rng: np.random.Generator) -> np.ndarray:
    import cv2

    corners = int(rng.integers(5, 10))
    angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
    radii = rng.uniform(10, 28, corners)
    points = np.stack([30 + radii * np.cos(angles) * rng.uniform(0.6, 1.6), 30 + radii * np.sin(angles)], axis=1)
    canvas = np.zeros((64, 80), np.uint8)
    cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 255)
    return canvas


def _grain(rng: np.random.Generator) -> np.ndarray:
    import cv2

    canvas = np.zeros((56, 56), np.uint8)
    for _ in range(int(rng.integers(12, 60))):
        centre = (int(rng.integers(2, 54)), int(rng.integers(2, 54)))
        cv2.circle(canvas, centre, int(rng.integers(1, 3)), 255, -1)
    return canvas


def digit_shares(probabilities: np.ndarray) -> np.ndarray:
    """The 10 digit probabilities renormalised to sum to 1: which digit each image would be.

    Args:
        probabilities: float (N, 10) or (N, 11) softmax outputs (column 10, if any, is
            "not a digit").

    Returns:
        float64 (N, 10), rows summing to 1 (a row with no digit mass at all stays 0).
    """
    digits = np.asarray(probabilities, np.float64)[:, :10]
    totals = digits.sum(axis=1, keepdims=True)
    return np.divide(digits, totals, out=np.zeros_like(digits), where=totals > 0)


def make_non_digits(digits: np.ndarray, count: int, seed: int = 0,
                    reference: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Draw ``count`` normalised non-digit marks (see the module docstring for the kinds).

    Args:
        digits: uint8 (N, 28, 28), MNIST *training* digits, white on black, to cut and pair.
        count: how many images to return, >= 0.
        seed: for every random choice.
        reference: optional classifier, float32 (K, 28, 28) in [0, 1] -> probabilities
            (K, >= 10); filters look-alike fragments, ticks and commas.

    Returns:
        uint8 (count, 28, 28), white marks on black, as :func:`core.preprocessing.normalize_digit`
        makes them (scaled to [0, 255]).
    """
    from core.preprocessing import normalize_digit

    rng = np.random.default_rng(seed)
    kinds = list(KIND_SHARES)
    shares = np.array([KIND_SHARES[kind] for kind in kinds])
    out: list[np.ndarray] = []
    while len(out) < count:
        want = count - len(out)
        batch_kinds = rng.choice(len(kinds), size=max(64, int(want * 1.4)), p=shares / shares.sum())
        images, filtered = [], []
        for index in batch_kinds:
            kind = kinds[index]
            if kind == "fragment":
                mask = _fragment(rng, digits[rng.integers(len(digits))])
            elif kind == "pair":
                mask = _pair(rng, digits)
            else:
                mask = {"line": _line, "tick": _tick, "cross": _cross, "dot": _dot, "blob": _blob,
                        "grain": _grain}[kind](rng)
            if mask is None or not mask.any():
                continue
            images.append(normalize_digit(mask))
            filtered.append(kind in FILTERED_KINDS)
        if not images:
            continue
        stack = np.stack(images)
        keep = np.ones(len(stack), bool)
        if reference is not None and any(filtered):
            probabilities = digit_shares(np.asarray(reference(stack)))
            keep = ~np.array(filtered) | (probabilities.max(axis=1) < MAX_REFERENCE_CONFIDENCE)
        out.extend(np.round(stack[keep] * 255).astype(np.uint8))
    return np.stack(out[:count]) if count else np.zeros((0, 28, 28), np.uint8)
