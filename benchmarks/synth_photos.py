"""Generate photo-like JPEGs of MNIST *test* digits on paper, for the robustness benchmark.

Every image is a pure function of ``(kind, seed)`` (and the MNIST test set): its random
numbers come from ``numpy.random.default_rng(seed)``, so any one image can be
regenerated alone. Kinds:

- ``single``: one MNIST test digit in ink on paper. "5-30 % of the frame" (issue 3) is
  read as an *area* fraction; the digit's ink bounding-box height is drawn from 8-45 %
  of the image height, which gives about 5-30 % of the frame's area for the bounding box
  of a typical digit in a 4:3 frame.
- ``multi``: a number of 2-4 MNIST test digits written side by side (heights within
  +-15 %, baseline jitter, gaps 0.15-0.6 of the mean digit width, never overlapping).
- ``none``: no digit: blank paper, pure noise, or a non-digit scene (colour blobs,
  large geometric shapes, a textured surface).

A photo is made the way a phone makes one: paper texture (off-white, low-frequency
blotches, fine grain), optional ruled lines, ink (near-black or blue) laid on
multiplicatively through an alpha mask made from the upscaled MNIST digit, then a
rotation (+-10 deg) and a perspective warp of the whole page, uneven lighting and a
soft shadow, Gaussian blur (sigma 0-1.5 px), sensor noise, and JPEG at quality 60-90.

Usage::

    python -m benchmarks.synth_photos --out benchmarks/data/synth_v1            # the set
    python -m benchmarks.synth_photos --fixtures tests/fixtures/photos          # 12 fixtures
    python -m benchmarks.synth_photos --contact /tmp/synth_contact.png          # a grid to look at
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "mnist.npz"
DEFAULT_SET_DIR = PROJECT_ROOT / "benchmarks" / "data" / "synth_v1"
DEFAULT_FIXTURES_DIR = PROJECT_ROOT / "tests" / "fixtures" / "photos"

#: Frame sizes (width, height) and how often each is drawn.
SIZES: tuple[tuple[tuple[int, int], float], ...] = (
    ((1280, 960), 0.50),
    ((960, 1280), 0.15),
    ((1600, 1200), 0.10),
    ((800, 600), 0.15),
    ((640, 480), 0.10),
)
#: Range of the digit's ink bounding-box height as a fraction of the image height.
DIGIT_HEIGHT_RANGE = (0.08, 0.45)
JPEG_QUALITY_RANGE = (60, 90)
NEGATIVE_VARIANTS = ("blank", "noise", "blobs", "shapes", "texture")
KINDS = ("single", "multi", "none")
LABEL_FIELDS = (
    "file", "kind", "label", "seed", "width", "height",
    "variant", "ink", "ruled", "jpeg_quality", "digit_height_frac", "mnist_indices",
)


# ---------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Mnist:
    """The MNIST test set.

    Attributes:
        images: uint8 (10000, 28, 28), white digit (255) on black (0).
        labels: uint8 (10000,), 0-9.
    """

    images: np.ndarray
    labels: np.ndarray

    def index_of(self, digit: int, rng: np.random.Generator) -> int:
        """A random index into the test set whose label is ``digit`` (0-9)."""
        candidates = np.flatnonzero(self.labels == digit)
        return int(candidates[rng.integers(len(candidates))])


def load_mnist_test(path: str | Path = DEFAULT_MNIST) -> Mnist:
    """Load ``x_test``/``y_test`` from a Keras-layout ``mnist.npz`` (never committed)."""
    with np.load(path) as data:
        return Mnist(images=np.asarray(data["x_test"], np.uint8), labels=np.asarray(data["y_test"], np.uint8))


@dataclass
class Sample:
    """One generated photo.

    Attributes:
        kind: ``single``, ``multi`` or ``none``.
        label: the digits as text (``"7"``, ``"304"``), or ``"none"``.
        seed: the seed that regenerates it with :func:`render_sample`.
        image: uint8 (height, width, 3) BGR, before JPEG encoding.
        jpeg_quality: the JPEG quality to encode it with, 60-90.
        meta: variant, ink, ruled, digit_height_frac, mnist_indices (for ``labels.csv``).
    """

    kind: str
    label: str
    seed: int
    image: np.ndarray
    jpeg_quality: int
    meta: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        """Width of the image in pixels."""
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        """Height of the image in pixels."""
        return int(self.image.shape[0])


# ---------------------------------------------------------------------------------------
# Low-level helpers


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: float) -> np.ndarray:
    """Low-frequency noise: a coarse Gaussian grid resized smoothly to full size.

    Args:
        height, width: output size in pixels.
        cells: about how many noise cells span the longer side (>= 1).

    Returns:
        float32 (height, width), roughly zero mean and unit standard deviation.
    """
    scale = max(height, width) / max(cells, 1.0)
    grid_h, grid_w = max(2, int(round(height / scale)) + 2), max(2, int(round(width / scale)) + 2)
    grid = rng.standard_normal((grid_h, grid_w)).astype(np.float32)
    field_ = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    return (field_ - field_.mean()) / (field_.std() + 1e-6)


def choose_size(rng: np.random.Generator) -> tuple[int, int]:
    """A frame size ``(width, height)`` drawn from :data:`SIZES`."""
    weights = np.array([weight for _, weight in SIZES])
    return SIZES[int(rng.choice(len(SIZES), p=weights / weights.sum()))][0]


def choose_ink(rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """An ink: ``("black", bgr)`` or ``("blue", bgr)``; bgr float32 (3,) in [0, 255]."""
    if rng.random() < 0.62:
        level = rng.uniform(18, 60)
        tint = rng.uniform(-6, 10, size=3)  # some "black" pens are bluish or brownish
        return "black", np.clip(level + tint, 0, 255).astype(np.float32)
    return "blue", np.array([rng.uniform(110, 175), rng.uniform(25, 75), rng.uniform(8, 45)], np.float32)


def multiply_in(page: np.ndarray, alpha: np.ndarray, colour: np.ndarray, x: int = 0, y: int = 0) -> np.ndarray:
    """Lay a colour multiplicatively onto ``page`` through ``alpha`` (as ink or a line on paper).

    Args:
        page: float32 (H, W, 3) BGR in [0, 255]; modified in place and returned.
        alpha: float32 (h, w) in [0, 1], placed with its top-left corner at (x, y);
            parts outside the page are clipped.
        colour: float32 (3,) BGR in [0, 255]: what white paper looks like under full ink.
        x, y: top-left corner of ``alpha`` in page pixels (may be negative).

    Returns:
        ``page``.
    """
    height, width = page.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + alpha.shape[1], width), min(y + alpha.shape[0], height)
    if x0 >= x1 or y0 >= y1:
        return page
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, np.newaxis]
    page[y0:y1, x0:x1] *= 1.0 - a + a * (colour / 255.0)
    return page


# ---------------------------------------------------------------------------------------
# Paper and ink


def make_paper(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Off-white paper as a phone sees it: tinted, blotchy at low frequency, finely grained.

    Returns:
        float32 (height, width, 3) BGR in [0, 255]; mean brightness about 150-240.
    """
    brightness = rng.uniform(165, 242)
    warmth = rng.uniform(-0.03, 0.09)  # >0: yellowish indoor light, <0: bluish daylight
    tint = np.array([-warmth, -0.4 * warmth, 0.0], np.float32) + rng.uniform(-0.01, 0.01, size=3).astype(np.float32)
    base = brightness * (1.0 + tint)
    blotches = 1.0 + rng.uniform(0.01, 0.035) * smooth_noise(rng, height, width, rng.uniform(3, 8))
    blotches += rng.uniform(0.003, 0.012) * smooth_noise(rng, height, width, rng.uniform(25, 60))
    grain = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), rng.uniform(0.7, 1.3))
    grain *= rng.uniform(0.6, 1.8) / (grain.std() + 1e-6)
    paper = base[np.newaxis, np.newaxis, :] * blotches[..., np.newaxis] + grain[..., np.newaxis]
    return paper.astype(np.float32)


def draw_ruled_lines(page: np.ndarray, rng: np.random.Generator, line_height: float) -> np.ndarray:
    """Draw light blue or grey horizontal ruling (and sometimes a red margin) onto paper.

    Args:
        page: float32 (H, W, 3) BGR in [0, 255]; modified in place and returned.
        line_height: the nominal frame height in pixels; lines are about 1/12 of it apart.

    Returns:
        ``page``.
    """
    height, width = page.shape[:2]
    spacing = line_height / 12.0 * rng.uniform(0.85, 1.15)
    thickness = max(1.0, line_height / rng.uniform(350, 600))
    if rng.random() < 0.7:
        colour = np.array([rng.uniform(215, 245), rng.uniform(170, 205), rng.uniform(130, 170)], np.float32)
    else:
        grey = rng.uniform(150, 200)
        colour = np.full(3, grey, np.float32)
    strength = rng.uniform(0.45, 0.9)
    rows = np.arange(height, dtype=np.float32)[:, np.newaxis]
    offset = rng.uniform(0, spacing)
    # distance of each row to the nearest line, then an anti-aliased profile of the line
    distance = np.abs(((rows - offset + spacing / 2) % spacing) - spacing / 2)
    profile = np.clip(thickness / 2 + 0.5 - distance, 0, 1) * strength
    profile = profile * (1.0 + 0.08 * smooth_noise(rng, 1, width, 20))  # printing is not perfectly even
    multiply_in(page, np.clip(np.broadcast_to(profile, (height, width)), 0, 1).astype(np.float32), colour)
    if rng.random() < 0.35:  # red margin line
        x = int(width * rng.uniform(0.1, 0.25))
        alpha = np.zeros((height, width), np.float32)
        cv2.line(alpha, (x, 0), (x, height - 1), 1.0, max(1, int(round(thickness * 1.3))), cv2.LINE_AA)
        multiply_in(page, alpha * rng.uniform(0.4, 0.7), np.array([150, 130, 230], np.float32))
    return page


def choose_tool(rng: np.random.Generator) -> tuple[str, float]:
    """A writing tool and its stroke width as a fraction of the digit height.

    Returns:
        ``("pen", 0.03-0.075)`` (ballpoint: an even, thin line) or ``("marker", 0.06-0.15)``
        (felt tip: MNIST's own stroke, thinned at most to 45 %).
    """
    if rng.random() < 0.5:
        return "pen", float(rng.uniform(0.03, 0.075))
    return "marker", float(rng.uniform(0.06, 0.15))


def digit_alpha(digit: np.ndarray, height_px: float, rng: np.random.Generator,
                tool: tuple[str, float] = ("marker", 0.1)) -> np.ndarray:
    """Turn a 28x28 MNIST digit into a pen-ink alpha mask whose ink is ``height_px`` tall.

    The digit is cropped to its ink, slanted/rotated a little, upscaled with bicubic
    interpolation and blurred (so the contour is smooth, not a staircase), thresholded
    into a signed distance field so the stroke gets a crisp 1-2 px edge and a pen-like
    width (thinner than MNIST's felt-tip strokes at times), and given uneven density.

    Args:
        digit: uint8 (28, 28), white digit on black.
        height_px: wanted height of the ink's bounding box, in pixels (>= 8).
        rng: the image's random generator.
        tool: ``(name, stroke width / height)`` from :func:`choose_tool`.

    Returns:
        float32 (h, w) in [0, 1], tightly cropped to the ink (h close to ``height_px``).
    """
    source = digit.astype(np.float32) / 255.0
    ys, xs = np.nonzero(source > 0.1)
    source = np.pad(source[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], 3)
    ink_h = ys.max() - ys.min() + 1
    scale = height_px / ink_h
    up_w, up_h = int(round(source.shape[1] * scale)), int(round(source.shape[0] * scale))
    up = cv2.resize(source, (up_w, up_h), interpolation=cv2.INTER_CUBIC)
    up = cv2.GaussianBlur(up, (0, 0), max(0.5, 0.45 * scale))
    # slight slant and rotation of the hand, about the centre
    angle, shear = rng.uniform(-6, 6), rng.uniform(-0.12, 0.12)
    rot = cv2.getRotationMatrix2D((up_w / 2, up_h / 2), angle, 1.0)
    rot[0, 1] += shear
    rot[0, 2] -= shear * up_h / 2
    up = cv2.warpAffine(up, rot, (up_w, up_h), flags=cv2.INTER_LINEAR, borderValue=0)
    up *= 1.0 + 0.06 * smooth_noise(rng, up_h, up_w, max(4.0, height_px / 6))  # wobbly edges
    if tool[0] == "pen":
        loops = count_holes(source > 0.5)[1]
        alpha = pen_stroke(up, scale, tool[1] * height_px, loops, rng)
    else:
        alpha = marker_stroke(up, tool[1] * height_px, rng)
    density = rng.uniform(0.82, 0.97) * (1.0 - 0.12 * np.abs(smooth_noise(rng, up_h, up_w, 6)))
    streaks = 1.0 - 0.08 * np.clip(smooth_noise(rng, up_h, up_w, max(8.0, height_px / 3)), 0, None)
    alpha = np.clip(alpha * density * streaks, 0, 1).astype(np.float32)
    ys, xs = np.nonzero(alpha > 0.05)
    return alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def marker_stroke(soft: np.ndarray, width_px: float, rng: np.random.Generator) -> np.ndarray:
    """Felt-tip ink: threshold the upscaled digit, then thin it (never below 45 %) to ``width_px``.

    Args:
        soft: float32 (h, w) in about [0, 1], the smoothly upscaled MNIST digit.
        width_px: wanted stroke width in pixels.

    Returns:
        float32 (h, w) alpha in [0, 1] with a 1-2 px anti-aliased edge.
    """
    inside = (soft > rng.uniform(0.35, 0.5)).astype(np.uint8)
    if not inside.any():
        inside = (soft > 0.5 * soft.max()).astype(np.uint8)
    signed = cv2.distanceTransform(inside, cv2.DIST_L2, 5) - cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    stroke_width = 4.0 * float(signed[inside > 0].mean())  # mean distance inside a stroke is width / 4
    erode = max(0.0, (stroke_width - max(2.2, 0.45 * stroke_width, width_px)) / 2)
    return np.clip((signed - erode) / rng.uniform(0.8, 1.6) + 0.5, 0, 1).astype(np.float32)


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a small binary mask: bool (h, w) in, one-pixel skeleton out."""
    skeleton = np.pad(mask.astype(bool), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = skeleton
            n = [np.roll(np.roll(p, dy, 0), dx, 1) for dy, dx in
                 ((1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1))]
            # n[0]=north (P2) clockwise to n[7]=north-west (P9)
            neighbours = sum(v.astype(np.uint8) for v in n)
            transitions = sum(((~n[i]) & n[(i + 1) % 8]).astype(np.uint8) for i in range(8))
            if step == 0:
                cond = ~(n[0] & n[2] & n[4]) & ~(n[2] & n[4] & n[6])
            else:
                cond = ~(n[0] & n[2] & n[6]) & ~(n[0] & n[4] & n[6])
            remove = p & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & cond
            if remove.any():
                skeleton = p & ~remove
                changed = True
    return skeleton[1:-1, 1:-1]


def count_holes(mask: np.ndarray, min_area: float = 0.0) -> tuple[int, int]:
    """``(components, holes)`` of a bool (h, w) mask, ignoring holes under ``min_area`` px."""
    contours, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return 0, 0
    parents = hierarchy[0][:, 3]
    holes = sum(1 for contour, parent in zip(contours, parents) if parent >= 0 and cv2.contourArea(contour) >= min_area)
    return int((parents < 0).sum()), holes


def centre_line_threshold(soft: np.ndarray, loops: int, min_area: float) -> float:
    """The lowest threshold of a blurred digit that keeps its ``loops`` open without breaking it.

    Upscaling and blurring can fill a small loop (of a 6, 8, 9); a higher threshold thins
    the stroke and reopens it, so the centre line keeps the loop.

    Args:
        soft: float32 (h, w) in about [0, 1].
        loops: how many loops (holes) the original 28x28 digit has.
        min_area: smallest hole that counts, in pixels of ``soft``.

    Returns:
        A threshold in (0, max(soft)].
    """
    peak = float(soft.max())
    base_components = count_holes(soft > 0.45 * peak)[0]
    best, best_holes = 0.45, -1
    for threshold in (0.45, 0.55, 0.65, 0.75, 0.8):
        components, holes = count_holes(soft > threshold * peak, min_area)
        if components > base_components:
            break
        if holes > best_holes:
            best, best_holes = threshold, holes
        if holes >= loops:
            break
    return best * peak


def pen_stroke(soft: np.ndarray, scale: float, width_px: float, loops: int, rng: np.random.Generator) -> np.ndarray:
    """Ballpoint ink: redraw the digit's centre line with an even stroke ``width_px`` wide.

    The centre line is found on a copy of the digit at about 5 px per MNIST pixel (Zhang-Suen
    thinning), smoothed along the line, and drawn with anti-aliased round-capped segments.

    Args:
        soft: float32 (h, w) in about [0, 1], the smoothly upscaled MNIST digit.
        scale: output pixels per MNIST pixel.
        width_px: stroke width in pixels (at least 2).
        loops: how many loops the original digit has (kept open in the centre line).

    Returns:
        float32 (h, w) alpha in [0, 1].
    """
    height, width = soft.shape
    mid_scale = min(1.0, 5.0 / scale)
    mid = cv2.resize(soft, (max(8, int(width * mid_scale)), max(8, int(height * mid_scale))), interpolation=cv2.INTER_AREA)
    skeleton = thin(mid > centre_line_threshold(mid, loops, (0.8 * scale * mid_scale) ** 2))
    ys, xs = np.nonzero(skeleton)
    if len(ys) < 2:
        return marker_stroke(soft, width_px, rng)
    index = -np.ones(skeleton.shape, np.int64)
    index[ys, xs] = np.arange(len(ys))
    edges = []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        for k, (y, x) in enumerate(zip(ys, xs)):
            y2, x2 = y + dy, x + dx
            if 0 <= y2 < skeleton.shape[0] and 0 <= x2 < skeleton.shape[1] and index[y2, x2] >= 0:
                edges.append((k, index[y2, x2]))
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    edges_arr = np.array(edges, np.int64).reshape(-1, 2)
    degree = np.bincount(edges_arr.ravel(), minlength=len(points))
    for _ in range(3):  # Laplacian smoothing of the centre line, ends kept in place
        total = np.zeros_like(points)
        np.add.at(total, edges_arr[:, 0], points[edges_arr[:, 1]])
        np.add.at(total, edges_arr[:, 1], points[edges_arr[:, 0]])
        movable = degree >= 2
        points[movable] = 0.5 * points[movable] + 0.5 * total[movable] / degree[movable, np.newaxis]
    points = (points + 0.5) / mid_scale - 0.5
    canvas = np.zeros((height, width), np.float32)
    shift = 4  # sub-pixel precision for cv2.line
    thickness = max(2, int(round(width_px)))
    for a, b in edges_arr:
        p1 = tuple(int(round(v * (1 << shift))) for v in points[a])
        p2 = tuple(int(round(v * (1 << shift))) for v in points[b])
        cv2.line(canvas, p1, p2, 1.0, thickness, cv2.LINE_AA, shift)
    return canvas


def number_alpha(digits: list[np.ndarray], height_px: float, rng: np.random.Generator,
                 tool: tuple[str, float] = ("marker", 0.1)) -> np.ndarray:
    """Write several MNIST digits side by side, like a person writing a number.

    Heights vary within +-15 %, bottoms sit on a common baseline with small jitter, and
    the gap between two digits is 0.15-0.6 of the mean digit width, so ink boxes never
    overlap.

    Args:
        digits: uint8 (28, 28) images, white on black, left to right.
        height_px: the mean ink height in pixels.
        tool: one writing tool for all digits, from :func:`choose_tool`.

    Returns:
        float32 (h, w) in [0, 1], tightly cropped.
    """
    masks = [digit_alpha(digit, height_px * rng.uniform(0.87, 1.15), rng, tool) for digit in digits]
    mean_width = float(np.mean([mask.shape[1] for mask in masks]))
    gaps = [int(math.ceil(rng.uniform(0.15, 0.6) * mean_width)) + 1 for _ in masks[1:]] + [0]
    drops = [int(round(rng.uniform(-0.05, 0.05) * height_px)) for _ in masks]
    tallest = max(mask.shape[0] for mask in masks)
    pad = int(0.06 * height_px) + 2
    canvas = np.zeros((tallest + 2 * pad, sum(m.shape[1] for m in masks) + sum(gaps)), np.float32)
    baseline = pad + tallest
    x = 0
    for mask, gap, drop in zip(masks, gaps, drops):
        top = baseline + drop - mask.shape[0]
        canvas[top : top + mask.shape[0], x : x + mask.shape[1]] = mask
        x += mask.shape[1] + gap
    ys, xs = np.nonzero(canvas > 0.05)
    return canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


# ---------------------------------------------------------------------------------------
# The camera: geometry, light, optics, sensor, JPEG


def page_homography(rng: np.random.Generator, width: int, height: int, margin: tuple[int, int]) -> np.ndarray:
    """Homography from the page canvas to the frame: rotation +-10 deg, scale, perspective.

    Args:
        width, height: the frame size in pixels.
        margin: ``(mx, my)``: the page canvas is ``(width + 2 mx, height + 2 my)``.

    Returns:
        float64 (3, 3) mapping page-canvas pixels to frame pixels.
    """
    mx, my = margin
    centre = np.array([width / 2 + mx, height / 2 + my])
    angle = math.radians(rng.uniform(-10, 10))
    scale = rng.uniform(0.96, 1.04)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    corners = (frame - [width / 2, height / 2]) * scale @ rotation.T + centre
    corners += rng.uniform(-0.035, 0.035, size=(4, 2)) * [width, height]
    corners = np.clip(corners, 0, [width + 2 * mx - 1, height + 2 * my - 1])
    return cv2.getPerspectiveTransform(corners.astype(np.float32), frame.astype(np.float32))


def map_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (3, 3) homography to float (N, 2) points; returns float64 (N, 2)."""
    return cv2.perspectiveTransform(np.asarray(points, np.float64).reshape(-1, 1, 2), matrix).reshape(-1, 2)


def lighting_gain(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Uneven light: a gradient, a vignette and a colour cast, as a multiplicative gain.

    Returns:
        float32 (height, width, 3), values about 0.6-1.15.
    """
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = rng.uniform(0, 2 * math.pi)
    ramp = ((xx - width / 2) * math.cos(theta) + (yy - height / 2) * math.sin(theta)) / max(width, height)
    gain = 1.0 + rng.uniform(0.1, 0.45) * ramp
    radius = ((xx - width * rng.uniform(0.3, 0.7)) ** 2 + (yy - height * rng.uniform(0.3, 0.7)) ** 2) / (
        (width**2 + height**2) / 4
    )
    gain *= 1.0 - rng.uniform(0.0, 0.25) * radius
    warmth = rng.uniform(-0.04, 0.08)  # colour temperature of the light: never magenta
    cast = np.array([1.0 - warmth, 1.0 - 0.4 * warmth, 1.0], np.float32) + rng.uniform(-0.01, 0.01, 3).astype(np.float32)
    return gain[..., np.newaxis] * cast


def shadow_gain(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A soft shadow (of a hand or phone) over part of the frame, as a multiplicative gain.

    Returns:
        float32 (height, width, 3): 1 outside the shadow, 0.5-0.85 inside (a little bluer),
        with an edge blurred over 2-10 % of the frame.
    """
    small_w, small_h = max(8, width // 8), max(8, height // 8)
    mask = np.zeros((small_h, small_w), np.float32)
    if rng.random() < 0.55:  # a straight-edged shadow from one side
        a = np.array([rng.uniform(-0.2, 1.2) * small_w, -small_h], np.float32)
        b = np.array([rng.uniform(-0.2, 1.2) * small_w, 2 * small_h], np.float32)
        side = rng.choice([-1, 1])
        far = a + (b - a) / 2 + side * np.array([3 * small_w, 0], np.float32)
        cv2.fillPoly(mask, [np.array([a, b, far], np.int32)], 1.0)
    else:  # a blob entering from an edge
        centre = (int(rng.choice([-0.1, 1.1]) * small_w), int(rng.uniform(0, 1) * small_h))
        if rng.random() < 0.5:
            centre = (int(rng.uniform(0, 1) * small_w), int(rng.choice([-0.1, 1.1]) * small_h))
        axes = (int(rng.uniform(0.3, 0.7) * small_w), int(rng.uniform(0.3, 0.7) * small_h))
        cv2.ellipse(mask, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.02, 0.1) * max(small_w, small_h))
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    darkness = rng.uniform(0.5, 0.85)
    tint = np.array([1.0, 0.98, 0.95], np.float32)  # shadows are lit by the bluish sky/room
    return 1.0 - mask[..., np.newaxis] * (1.0 - darkness * tint)


def camera(image: np.ndarray, rng: np.random.Generator, shadow: bool = True) -> np.ndarray:
    """Lighting, shadow, lens blur and sensor noise on a rendered scene.

    Args:
        image: float32 (H, W, 3) BGR in [0, 255], as seen under even white light.
        shadow: whether a shadow may fall on the scene (with probability 0.75).

    Returns:
        uint8 (H, W, 3) BGR.
    """
    height, width = image.shape[:2]
    image = image * lighting_gain(rng, height, width)
    if shadow and rng.random() < 0.75:
        image *= shadow_gain(rng, height, width)
    sigma = rng.uniform(0.0, 1.5)
    if sigma > 0.25:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    # shot noise grows with brightness; a little chroma noise; phones denoise, so it is soft
    level = rng.uniform(0.8, 3.0)
    luma = rng.standard_normal((height, width)).astype(np.float32)
    chroma = rng.standard_normal((height, width, 3)).astype(np.float32) * 0.35
    noise = (luma[..., np.newaxis] + chroma) * level * np.sqrt(np.clip(image, 1, 255) / 255.0)
    noise = cv2.GaussianBlur(noise, (0, 0), rng.uniform(0.5, 0.9))  # demosaicing and denoising
    return np.clip(image + noise + 0.5, 0, 255).astype(np.uint8)


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of a uint8 (H, W, 3) BGR image at ``quality`` (1-100)."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buffer.tobytes()


def downscale(image: np.ndarray, max_width: int) -> np.ndarray:
    """Shrink a uint8 (H, W, 3) image with INTER_AREA so its width is at most ``max_width``."""
    height, width = image.shape[:2]
    if width <= max_width:
        return image
    size = (max_width, max(1, int(round(height * max_width / width))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


# ---------------------------------------------------------------------------------------
# Scenes


def paper_photo(
    rng: np.random.Generator,
    width: int,
    height: int,
    ink_alpha_fn=None,
    ruled_probability: float = 0.35,
    max_fraction: float = DIGIT_HEIGHT_RANGE[1],
) -> tuple[np.ndarray, dict]:
    """Photograph a sheet of paper, optionally with ink on it, filling the frame.

    Args:
        width, height: frame size in pixels.
        ink_alpha_fn: None for blank paper, or ``f(height_px) -> float32 (h, w) alpha``
            producing the ink for a wanted height; the height is drawn from
            :data:`DIGIT_HEIGHT_RANGE` and shrunk until the ink fits in the frame.
        ruled_probability: chance of ruled lines.
        max_fraction: upper end of the ink height / frame height range (for long numbers).

    Returns:
        ``(uint8 (height, width, 3) BGR image, meta)``; meta holds ``ink``, ``ruled`` and
        ``digit_height_frac`` (ink box height / frame height after the warp, 0 if blank).
    """
    mx, my = int(0.22 * width), int(0.22 * height)
    page = make_paper(rng, height + 2 * my, width + 2 * mx)
    ruled = bool(rng.random() < ruled_probability)
    if ruled:
        draw_ruled_lines(page, rng, height)
    to_frame = page_homography(rng, width, height, (mx, my))
    to_page = np.linalg.inv(to_frame)
    meta = {"ink": "", "ruled": int(ruled), "digit_height_frac": 0.0}
    if ink_alpha_fn is not None:
        ink_name, ink_colour = choose_ink(rng)
        low = DIGIT_HEIGHT_RANGE[0]
        fraction = rng.uniform(low, max(low, max_fraction))
        border = 0.03 * min(width, height)
        for attempt in range(40):
            # page pixels per frame pixel near the frame centre
            local = np.linalg.norm(np.diff(map_points(to_page, [[width / 2, height / 2], [width / 2, height / 2 + 1]]), axis=0))
            alpha = ink_alpha_fn(fraction * height * float(local))
            cx = rng.uniform(0, 1)
            cy = rng.uniform(0, 1)
            # choose the ink's centre in the frame, then move it onto the page
            half_w = alpha.shape[1] / float(local) / 2
            half_h = alpha.shape[0] / float(local) / 2
            fx = border + half_w + cx * max(0.0, width - 2 * (border + half_w))
            fy = border + half_h + cy * max(0.0, height - 2 * (border + half_h))
            px, py = map_points(to_page, [[fx, fy]])[0]
            x0, y0 = int(round(px - alpha.shape[1] / 2)), int(round(py - alpha.shape[0] / 2))
            box = [[x0, y0], [x0 + alpha.shape[1], y0], [x0 + alpha.shape[1], y0 + alpha.shape[0]], [x0, y0 + alpha.shape[0]]]
            corners_in_frame = map_points(to_frame, box)
            inside = (corners_in_frame.min(axis=0) >= 2).all() and (corners_in_frame.max(axis=0) <= [width - 3, height - 3]).all()
            if inside:
                break
            fraction *= 0.93
        multiply_in(page, alpha, ink_colour, x0, y0)
        meta.update(ink=ink_name, digit_height_frac=round(float(np.ptp(corners_in_frame[:, 1])) / height, 3))
    frame = cv2.warpPerspective(page, to_frame, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if ink_alpha_fn is None and rng.random() < 0.4:
        frame = add_specks(frame, rng)
    return camera(frame, rng), meta


def add_specks(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few tiny dust specks (radius <= 0.3 % of the shorter side) on a float32 BGR image."""
    height, width = image.shape[:2]
    alpha = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        radius = max(1, int(rng.uniform(0.001, 0.003) * min(width, height)))
        cv2.circle(alpha, (int(rng.integers(width)), int(rng.integers(height))), radius, rng.uniform(0.3, 0.7), -1, cv2.LINE_AA)
    return multiply_in(image, alpha, np.full(3, 60, np.float32))


def noise_scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Pure noise: grey or colour, white or blurred (grainy), as float32 (H, W, 3) in [0, 255]."""
    channels = 3 if rng.random() < 0.5 else 1
    noise = rng.standard_normal((height, width, channels)).astype(np.float32)
    if rng.random() < 0.5:
        noise = cv2.GaussianBlur(noise, (0, 0), rng.uniform(1, 6)).reshape(height, width, channels)
        noise /= noise.std() + 1e-6
    image = rng.uniform(90, 170) + rng.uniform(25, 70) * noise
    return np.clip(np.broadcast_to(image, (height, width, 3)), 0, 255).astype(np.float32)


def blobs_scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """An out-of-focus object: a colour gradient with a few large soft colour blobs."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    start, end = rng.uniform(30, 230, size=3), rng.uniform(30, 230, size=3)
    theta = rng.uniform(0, 2 * math.pi)
    t = np.clip(0.5 + ((xx - width / 2) * math.cos(theta) + (yy - height / 2) * math.sin(theta)) / max(width, height), 0, 1)
    image = start + (end - start) * t[..., np.newaxis]
    for _ in range(int(rng.integers(2, 6))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        sx, sy = rng.uniform(0.08, 0.35) * width, rng.uniform(0.08, 0.35) * height
        weight = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2)[..., np.newaxis]
        image = image * (1 - weight) + rng.uniform(10, 245, size=3) * weight
    return image.astype(np.float32)


def shapes_scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A few large filled geometric shapes (rectangles, ellipses, triangles) on a plain ground."""
    image = np.empty((height, width, 3), np.float32)
    image[:] = rng.uniform(60, 235, size=3)
    short = min(width, height)
    for _ in range(int(rng.integers(2, 5))):
        colour = tuple(float(c) for c in rng.uniform(10, 245, size=3))
        cx, cy = int(rng.uniform(0.15, 0.85) * width), int(rng.uniform(0.15, 0.85) * height)
        size = int(rng.uniform(0.2, 0.45) * short)
        shape = rng.choice(["rect", "ellipse", "triangle"])
        if shape == "rect":
            box = ((cx, cy), (size * rng.uniform(1, 2), size * rng.uniform(0.6, 1.2)), rng.uniform(0, 90))
            cv2.fillPoly(image, [cv2.boxPoints(box).astype(np.int32)], colour, cv2.LINE_AA)
        elif shape == "ellipse":
            axes = (int(size * rng.uniform(0.6, 1.0)), int(size * rng.uniform(0.5, 1.0)))
            cv2.ellipse(image, (cx, cy), axes, rng.uniform(0, 180), 0, 360, colour, -1, cv2.LINE_AA)
        else:
            # corners on a circle, at least 70 deg apart, so the triangle is never a sliver
            angles = rng.uniform(0, 2 * math.pi) + np.cumsum([0, rng.uniform(1.2, 2.4), rng.uniform(1.2, 2.4)])
            points = np.array([[cx, cy]]) + size * np.stack([np.cos(angles), np.sin(angles)], axis=1)
            cv2.fillPoly(image, [points.astype(np.int32)], colour, cv2.LINE_AA)
    return image


def texture_scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A textured surface filling the frame: wood grain, woven fabric, or speckled stone."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    kind = rng.choice(["wood", "fabric", "stone"])
    if kind == "wood":
        warp = smooth_noise(rng, height, width, 4) * rng.uniform(10, 30)
        period = rng.uniform(0.015, 0.04) * height
        rings = 0.5 + 0.5 * np.sin(2 * math.pi * (yy + warp + 0.1 * xx) / period)
        rings = rings * 0.6 + 0.4 * (0.5 + 0.15 * smooth_noise(rng, height, width, 60))
        light, dark = np.array([95, 150, 200]), np.array([40, 80, 130])
        image = dark + (light - dark) * np.clip(rings, 0, 1)[..., np.newaxis]
    elif kind == "fabric":
        period = rng.uniform(0.006, 0.015) * min(width, height)
        weave = np.sin(2 * math.pi * xx / period) * np.sin(2 * math.pi * yy / period)
        base = rng.uniform(40, 220, size=3)
        image = base * (1 + 0.12 * weave[..., np.newaxis] + 0.05 * smooth_noise(rng, height, width, 10)[..., np.newaxis])
    else:
        speckle = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), rng.uniform(1, 3))
        speckle /= speckle.std() + 1e-6
        base = rng.uniform(80, 200)
        image = (base + 25 * speckle + 15 * smooth_noise(rng, height, width, 8))[..., np.newaxis] * np.array(
            [1.0, rng.uniform(0.95, 1.05), rng.uniform(0.95, 1.1)]
        )
    return np.clip(image, 0, 255).astype(np.float32)


SCENES = {"noise": noise_scene, "blobs": blobs_scene, "shapes": shapes_scene, "texture": texture_scene}


# ---------------------------------------------------------------------------------------
# Samples


def render_sample(kind: str, seed: int, mnist: Mnist, size: tuple[int, int] | None = None) -> Sample:
    """Render one photo; the same ``(kind, seed, size)`` always gives the same pixels.

    Args:
        kind: ``single``, ``multi`` or ``none``.
        seed: seeds ``numpy.random.default_rng`` for this image only.
        mnist: the MNIST test set (digits are drawn from it).
        size: ``(width, height)``; None draws one from :data:`SIZES` (the draw is made
            either way, so the rest of the image does not depend on whether it is given).

    Returns:
        A :class:`Sample` (uint8 BGR image, label, JPEG quality 60-90, meta).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    rng = np.random.default_rng(seed)
    drawn = choose_size(rng)
    width, height = size or drawn
    quality = int(rng.integers(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1))
    if kind == "single":
        digit = int(rng.integers(10))
        index = mnist.index_of(digit, rng)
        tool = choose_tool(rng)
        image, meta = paper_photo(rng, width, height, lambda h: digit_alpha(mnist.images[index], h, rng, tool))
        label, meta["variant"], meta["mnist_indices"] = str(digit), tool[0], str(index)
    elif kind == "multi":
        count = int(rng.integers(2, 5))
        digits = [int(rng.integers(1, 10))] + [int(d) for d in rng.integers(0, 10, size=count - 1)]
        indices = [mnist.index_of(d, rng) for d in digits]
        # a number is about (0.7 n + 0.26 (n - 1)) digit heights wide: keep it in 85 % of the frame
        tool = choose_tool(rng)
        widest = 0.85 * width / (height * (0.7 * count + 0.26 * (count - 1)))
        image, meta = paper_photo(
            rng, width, height, lambda h: number_alpha([mnist.images[i] for i in indices], h, rng, tool),
            max_fraction=min(DIGIT_HEIGHT_RANGE[1], widest),
        )
        label, meta["variant"], meta["mnist_indices"] = "".join(map(str, digits)), tool[0], " ".join(map(str, indices))
    else:
        variant = NEGATIVE_VARIANTS[int(rng.integers(len(NEGATIVE_VARIANTS)))]
        if variant == "blank":
            image, meta = paper_photo(rng, width, height, None, ruled_probability=0.5)
        else:
            image = camera(SCENES[variant](rng, width, height), rng)
            meta = {"ink": "", "ruled": 0, "digit_height_frac": 0.0}
        label, meta["variant"], meta["mnist_indices"] = "none", variant, ""
    return Sample(kind=kind, label=label, seed=seed, image=image, jpeg_quality=quality, meta=meta)


# ---------------------------------------------------------------------------------------
# Sets, fixtures, contact sheets


def sample_row(sample: Sample, file_name: str, width: int | None = None, height: int | None = None) -> dict:
    """The ``labels.csv`` row of a sample written as ``file_name`` (at its size, or the given one)."""
    meta = sample.meta
    return {
        "file": file_name, "kind": sample.kind, "label": sample.label, "seed": sample.seed,
        "width": width or sample.width, "height": height or sample.height,
        "variant": meta.get("variant", ""), "ink": meta.get("ink", ""), "ruled": meta.get("ruled", 0),
        "jpeg_quality": sample.jpeg_quality, "digit_height_frac": meta.get("digit_height_frac", 0.0),
        "mnist_indices": meta.get("mnist_indices", ""),
    }


def set_plan(n_single: int, n_multi: int, n_none: int, base_seed: int) -> list[tuple[str, int, str]]:
    """``(kind, seed, file name)`` for every image of a set; seeds are ``base_seed + i``."""
    plan = []
    for kind, count in (("single", n_single), ("multi", n_multi), ("none", n_none)):
        for number in range(count):
            plan.append((kind, base_seed + len(plan), f"{kind}_{number:04d}.jpg"))
    return plan


def write_labels(path: Path, rows: list[dict]) -> None:
    """Write ``labels.csv`` with the columns of :data:`LABEL_FIELDS`."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=LABEL_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def generate_set(out_dir: Path, mnist: Mnist, n_single: int, n_multi: int, n_none: int, base_seed: int,
                 small_every: int = 0) -> list[dict]:
    """Render a whole set into ``out_dir`` (JPEGs plus ``labels.csv``).

    Args:
        small_every: if > 0, every ``small_every``-th image of each kind is rendered at
            640x480 (or 480x640 when its drawn size is portrait) to keep the folder small.

    Returns:
        The ``labels.csv`` rows.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for kind, seed, name in set_plan(n_single, n_multi, n_none, base_seed):
        number = int(name.split("_")[1].split(".")[0])
        size = None
        if small_every and number % small_every == small_every - 1:
            drawn = choose_size(np.random.default_rng(seed))
            size = (640, 480) if drawn[0] >= drawn[1] else (480, 640)
        sample = render_sample(kind, seed, mnist, size)
        (out_dir / name).write_bytes(encode_jpeg(sample.image, sample.jpeg_quality))
        rows.append(sample_row(sample, name))
    write_labels(out_dir / "labels.csv", rows)
    return rows


#: What the 12 test fixtures must cover: (kind, ink, ruled, variant); None = any.
FIXTURE_SLOTS = (
    ("single", "blue", 1, None), ("single", "blue", 0, None), ("single", "black", 1, None),
    ("single", "black", 0, None), ("single", "black", 0, None), ("single", "blue", 0, None),
    ("multi", "black", None, None), ("multi", "blue", None, None), ("multi", None, 1, None),
    ("multi", None, None, None), ("none", None, 1, "blank"), ("none", None, None, "shapes"),
)


def generate_fixtures(out_dir: Path, mnist: Mnist, base_seed: int = 90_000, max_width: int = 640,
                      quality: int = 80) -> list[dict]:
    """Render the 12 small test fixtures, downscaled to ``max_width`` and saved at ``quality``.

    Seeds are tried from ``base_seed`` upwards and a photo is kept when it fills a free
    slot of :data:`FIXTURE_SLOTS` (single digits and numbers of distinct labels and lengths).

    Returns:
        The ``labels.csv`` rows (width and height are the downscaled sizes).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    free = list(FIXTURE_SLOTS)
    rows, labels_seen, lengths_seen = [], set(), set()
    seed = base_seed
    while free and seed < base_seed + 2000:
        kind = free[0][0]
        sample = render_sample(kind, seed, mnist)
        seed += 1
        meta = sample.meta
        for slot in free:
            want_kind, ink, ruled, variant = slot
            fits = (
                want_kind == kind
                and (ink is None or meta["ink"] == ink)
                and (ruled is None or meta["ruled"] == ruled)
                and (variant is None or meta["variant"] == variant)
                and sample.label not in labels_seen
                and (kind != "multi" or len(sample.label) not in lengths_seen or len(lengths_seen) >= 3)
            )
            if fits:
                break
        else:
            continue
        free.remove(slot)
        if kind != "none":
            labels_seen.add(sample.label)
        if kind == "multi":
            lengths_seen.add(len(sample.label))
        small = downscale(sample.image, max_width)
        name = f"{kind}_{sample.label if kind != 'none' else meta['variant']}_{sample.seed}.jpg"
        (out_dir / name).write_bytes(encode_jpeg(small, quality))
        row = sample_row(sample, name, small.shape[1], small.shape[0])
        row["jpeg_quality"] = quality
        rows.append(row)
    write_labels(out_dir / "labels.csv", rows)
    return rows


def contact_sheet(images: list[np.ndarray], captions: list[str], columns: int = 6, tile: int = 320) -> np.ndarray:
    """A grid of downscaled images with captions.

    Args:
        images: uint8 (H, W, 3) BGR images of any sizes.
        captions: one short text per image.
        tile: side of the square each image is fitted into, in pixels.

    Returns:
        uint8 (rows * (tile + 20), columns * tile, 3) BGR.
    """
    tiles = []
    for image, caption in zip(images, captions):
        cell = np.full((tile + 20, tile, 3), 40, np.uint8)
        height, width = image.shape[:2]
        scale = tile / max(height, width)
        small = cv2.resize(image, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
        y0, x0 = (tile - small.shape[0]) // 2, (tile - small.shape[1]) // 2
        cell[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
        cv2.putText(cell, caption, (4, tile + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(cell)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    return np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])


def main(argv: list[str] | None = None) -> int:
    """CLI: write the benchmark set, the test fixtures and/or a contact sheet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=DEFAULT_MNIST, help="Keras-layout mnist.npz")
    parser.add_argument("--out", type=Path, help="write the set (JPEGs + labels.csv) into this folder")
    parser.add_argument("--single", type=int, default=200)
    parser.add_argument("--multi", type=int, default=100)
    parser.add_argument("--none", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first image; image i uses seed + i")
    parser.add_argument("--small-every", type=int, default=0,
                        help="render every N-th image of each kind at 640x480 (keeps the folder small)")
    parser.add_argument("--fixtures", type=Path, help="write the 12 small test fixtures into this folder")
    parser.add_argument("--contact", type=Path, help="write a PNG grid of 24 images of the set's seeds")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    mnist = load_mnist_test(args.mnist)
    if args.out:
        rows = generate_set(args.out, mnist, args.single, args.multi, args.none, args.seed, args.small_every)
        total = sum((args.out / row["file"]).stat().st_size for row in rows)
        print(f"wrote {len(rows)} images to {args.out} ({total / 1e6:.1f} MB)")
    if args.fixtures:
        rows = generate_fixtures(args.fixtures, mnist)
        print(f"wrote {len(rows)} fixtures to {args.fixtures}")
    if args.contact:
        plan = set_plan(args.single, args.multi, args.none, args.seed)
        picks = [p for p in plan if p[0] == "single"][:12] + [p for p in plan if p[0] == "multi"][:8]
        picks += [p for p in plan if p[0] == "none"][:4]
        samples = [render_sample(kind, seed, mnist) for kind, seed, _ in picks]
        captions = [f"{s.label} {s.meta['variant']} {s.meta['ink']} {s.width}x{s.height}" for s in samples]
        # show what JPEG did to them, as the benchmark will see it
        decoded = [cv2.imdecode(np.frombuffer(encode_jpeg(s.image, s.jpeg_quality), np.uint8), cv2.IMREAD_COLOR)
                   for s in samples]
        args.contact.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.contact), contact_sheet(decoded, captions))
        print(f"wrote {args.contact}")
    if not (args.out or args.fixtures or args.contact):
        parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
