"""Ink strength from a grayscale photo (polarity found, the paper's shading divided out), its hysteresis
threshold, and blurred marks cut back to their core."""

from __future__ import annotations

import cv2
import numpy as np


def is_light_on_dark(gray: np.ndarray) -> bool:
    """True when the marks are lighter than the background (e.g. chalk, or MNIST itself).

    The background is the bulk of the pixels, so the marks are the tail of the histogram
    farther from the median: compare the 1st and 99th percentile distances. That must hold
    twice: on the photo as it is (with a dark background), and once its light is evened
    out (divided by a Gaussian blur of sigma 1/10 of its size), so a bright patch of light
    on dim paper is not taken for light ink: written marks are thin, a highlight is wide.

    The first look is at a copy 64 px on its long side that keeps the photo's aspect ratio:
    from a 640x480 working image that is a whole 10x10 area average, which OpenCV computes
    about 4 times as fast as the 64x64 squash (10 x 7.5) used before.

    Args:
        gray: uint8 (H, W).
    """
    height, width = gray.shape
    small = gray
    if max(height, width) > 64:
        factor = 64.0 / max(height, width)
        small = cv2.resize(gray, (max(1, round(width * factor)), max(1, round(height * factor))),
                           interpolation=cv2.INTER_AREA)
    low, median, high = np.percentile(small, (1, 50, 99))
    # Paper, even in shadow, is rarely darker than mid-grey; demand a dark background too,
    # so a photo with a dark shadow or table is not mistaken for chalk on a board.
    if not (median < 110 and (high - median) > (median - low) * 1.2):
        return False
    factor = 128.0 / max(height, width)
    small = cv2.resize(gray, (max(1, round(width * factor)), max(1, round(height * factor))),
                       interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR).astype(np.float32)
    even = small / np.maximum(cv2.GaussianBlur(small, (0, 0), 12, borderType=cv2.BORDER_REPLICATE), 1.0)
    low, median, high = np.percentile(even, (1, 50, 99))
    return bool((high - median) > (median - low) * 1.2)


def ink_map(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """Ink strength with the paper's shading divided out.

    The background is estimated by a grey-level closing (max filter for dark ink) on a
    copy 128 px on its long side, with a kernel about a quarter of that, smoothed and scaled
    back up; ink = 1 - photo / background. Strokes up to ~20 % of the image's long side
    are removed from the background estimate; shadows and gradients wider than that stay
    in it and are divided out.

    Args:
        gray: uint8 (H, W), any polarity.

    Returns:
        ``(ink, inverted)``: float32 (H, W) in [0, 1] (0 = paper), and whether the photo
        was light on dark (then it was inverted first).
    """
    inverted = is_light_on_dark(gray)
    if inverted:
        gray = 255 - gray
    height, width = gray.shape
    factor = 128.0 / max(height, width)
    small = cv2.resize(gray, (max(1, round(width * factor)), max(1, round(height * factor))),
                       interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    background = cv2.GaussianBlur(background, (0, 0), 3)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    ink = gray.astype(np.float32)
    np.divide(ink, np.maximum(background, 1).astype(np.float32), out=ink)  # photo / background, in place
    # The closing is a max filter, so grainy paper sits a little below its "background":
    # take the paper's typical level (the median pixel is paper) as zero ink.
    floor = float(np.median(np.clip(1.0 - ink[::4, ::4], 0.0, 1.0)))
    if floor >= 1.0:
        return np.zeros_like(ink), inverted  # a black page: nothing stands out from the "paper" (and no 0 / 0)
    # ink = (1 - ratio - floor) / (1 - floor), clipped to [0, 1]: one pass, in place.
    np.multiply(ink, -1.0 / (1.0 - max(floor, 0.0)), out=ink)
    ink += 1.0
    np.clip(ink, 0.0, 1.0, out=ink)
    return ink, inverted


def binarize(ink: np.ndarray) -> np.ndarray:
    """Hysteresis threshold: pixels above a low threshold that connect to strong ink.

    The strong threshold is Otsu's on the ink map, floored at :data:`STRONG_FLOOR` (paper
    grain and JPEG noise stay below it) and capped at 0.5; the low one is 55 % of it.

    Args:
        ink: float32 (H, W) in [0, 1].

    Returns:
        uint8 (H, W) in {0, 255}.
    """
    return _hysteresis(ink)[0]


#: The hysteresis threshold's floor: paper grain and JPEG noise in the ink map stay below it.
STRONG_FLOOR = 0.22

#: :func:`faint_floor`: the lowest floor it gives, and the multiple of the paper's grain (the
#: 99th percentile of the ink below Otsu's threshold) it puts the floor at. Set on
#: ``benchmarks.capture_variations``' light pencil row (strokes a quarter as dark as the
#: paper is bright, cores about 0.2 in the ink map) and ``benchmarks.photo_robustness``'
#: negatives; real photos are read with it only when recognition confirms the reading.
FAINT_FLOOR_MIN = 0.12
FAINT_FLOOR_GRAIN_RATIO = 4.0


def faint_floor(ink: np.ndarray) -> float | None:
    """A lower floor for the hysteresis threshold, for strokes fainter than
    :data:`STRONG_FLOOR` (a light pencil): :data:`FAINT_FLOOR_GRAIN_RATIO` times the paper's
    grain, at least :data:`FAINT_FLOOR_MIN`.

    On a page with no ink standing out from the grain, Otsu's threshold splits the grain
    itself and the floor comes out low: what it finds is grain, for recognition to reject.

    Args:
        ink: float32 (H, W) in [0, 1], from :func:`ink_map`.

    Returns:
        The floor, in [:data:`FAINT_FLOOR_MIN`, :data:`STRONG_FLOOR`); None when the grain
        leaves no room below :data:`STRONG_FLOOR`, or Otsu's threshold is above it (then a
        second threshold would find the same marks).
    """
    ink8 = cv2.convertScaleAbs(ink, alpha=255.0)
    otsu, _ = cv2.threshold(ink8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if otsu / 255.0 >= STRONG_FLOOR:
        return None  # the strong threshold is Otsu's whatever the floor: the same marks
    paper = ink8[ink8 < max(otsu, 1)]
    grain = float(np.percentile(paper, 99)) / 255.0 if paper.size else 0.0
    floor = max(FAINT_FLOOR_MIN, FAINT_FLOOR_GRAIN_RATIO * grain)
    return floor if floor < STRONG_FLOOR else None


def _hysteresis(ink: np.ndarray, floor: float = STRONG_FLOOR) -> tuple[
        np.ndarray, tuple[int, np.ndarray, np.ndarray] | None,
        tuple[int, np.ndarray, np.ndarray, np.ndarray] | None]:
    """:func:`binarize` (its strong threshold floored at ``floor``), also returning the
    8-connected components it found ``(count, labels, stats)`` as from
    ``cv2.connectedComponentsWithStats``: the kept mask's components are exactly the labels it
    keeps (the others are 0 in the mask), so they need not be found again.

    Returns:
        ``(mask, components, mask_components)``: ``mask_components`` is
        ``cv2.connectedComponentsWithStats(mask, connectivity=8)`` itself (labels, stats and
        centroids alike) when every component above the low threshold holds strong ink, so
        the mask is that threshold's whole ink; else None (it would need relabelling)."""
    ink8 = cv2.convertScaleAbs(ink, alpha=255.0)  # round(ink * 255) as uint8, in one pass (ink >= 0)
    otsu, _ = cv2.threshold(ink8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    strong = float(np.clip(otsu / 255.0, floor, 0.5))
    weak = strong * 0.55
    weak_mask = (ink >= weak).astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(weak_mask, connectivity=8)
    if count <= 1:
        return np.zeros_like(ink8), None, None
    has_strong = np.zeros(count, dtype=bool)
    has_strong[labels[ink >= strong]] = True  # fancy assignment: no need to sort out duplicates
    has_strong[0] = False
    kept = np.flatnonzero(has_strong)
    whole = (count, labels, stats, centroids) if len(kept) == count - 1 else None
    if len(kept) > MAX_BOXED_COMPONENTS:  # a look-up over the whole image
        return np.take(np.where(has_strong, 255, 0).astype(np.uint8), labels), (count, labels, stats), whole
    mask = np.zeros_like(ink8)
    for label in kept:  # few marks: paint each inside its own bounding box only
        x, y, width, height = stats[label, :4]
        mask[y:y + height, x:x + width][labels[y:y + height, x:x + width] == label] = 255
    return mask, (count, labels, stats), whole


#: Up to this many kept components, :func:`_hysteresis` paints each in its bounding box (a
#: photo of a digit or a number: about 0.3 ms less than a look-up over a 640x480 image);
#: with more it looks every pixel's label up at once.
MAX_BOXED_COMPONENTS = 32


#: Share of a thick mark's peak ink (its 95th percentile) that :func:`sharpen_thick_marks`
#: keeps: about the half maximum of a blurred stroke's profile, a little above it so the
#: narrow holes of a blurred 8 or 9 open.
BLUR_CORE_LEVEL = 0.6

#: A mark whose widest point (inscribed radius) exceeds this share of its bounding box's
#: long side is thick for a pen stroke (as in :func:`find_digit_boxes`).
THICK_RADIUS_RATIO = 0.17

#: Share of a thick mark's core that one piece must hold for :func:`sharpen_thick_marks` to
#: use it: a blurred stroke's core is whole; the core of a patch of grain falls apart.
CORE_WHOLE = 0.9

#: Most candidate thick marks :func:`sharpen_thick_marks` looks at; more are grain or texture.
MAX_SHARPENED_MARKS = 100


def _distance_in_box(mask: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    """``cv2.distanceTransform(mask, cv2.DIST_L2, 3)`` over the box ``(x, y, w, h)`` of one
    8-connected component of ``mask``, computed on the box and a 1-px ring around it only.

    Over the component's own pixels it equals the whole image's transform, up to float
    rounding (at most 4e-6 px over the 32,130 marks of the real dev photos: the chamfer steps
    are summed in another order; not one thickness test changed). The first pixel
    off the component straight up, down, left or right of any of its pixels is paper (an inked
    one would belong to the component), and it lies inside the ring; the 3x3 chamfer distance
    grows with each of |dx| and |dy|, so paper farther out is never nearer; and the chamfer
    path to paper inside the ring stays inside it. The whole image's transform cost 0.7 ms of
    a 640x480 photo's reading; a digit's box costs a few microseconds.

    Returns:
        float32 (h, w), the distance (in px, 3x3 chamfer approximation of L2) of each pixel of
        the box to the nearest paper; that of the whole image on the component's pixels only.
    """
    top, left = max(0, y - 1), max(0, x - 1)
    distance = cv2.distanceTransform(np.ascontiguousarray(mask[top:y + h + 1, left:x + w + 1]), cv2.DIST_L2, 3)
    return distance[y - top:y - top + h, x - left:x - left + w]


def sharpen_thick_marks(mask: np.ndarray, ink: np.ndarray,
                        components: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Keep only the core of marks too thick for a pen stroke: the pixels whose ink is at
    least :data:`BLUR_CORE_LEVEL` of the mark's peak.

    A blurred photo (a shaky hand, focus on the table) spreads each stroke into a halo that
    the hysteresis' low threshold takes in whole, and small digits' holes fill: an 8 or a 9
    becomes a filled blob. Cutting the mark at about the half maximum of its own ink (the
    usual edge of a blurred line's profile) gives back strokes of about their true width and
    opens the holes. A marker's strokes or a filled shape, flat in ink, keep their shape.

    Args:
        mask: uint8 (H, W) in {0, 255}, the stroke mask.
        ink: float32 (H, W) in [0, 1], the ink strength (:func:`ink_map`).
        components: ``cv2.connectedComponentsWithStats(mask, connectivity=8)`` if already
            computed, else None.

    Returns:
        uint8 (H, W) in {0, 255}: ``mask`` itself when no mark is thick, else a copy with the
        thick marks' halos removed.
    """
    count, labels, stats, _ = components or cv2.connectedComponentsWithStats(mask, connectivity=8)
    long_side = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    # A mark whose widest point is a disc of radius r holds at least pi r^2 pixels: marks
    # with fewer cannot be thick (most pen strokes and specks end here).
    possible = np.flatnonzero(stats[:, cv2.CC_STAT_AREA]
                              >= np.maximum(20, np.pi * (THICK_RADIUS_RATIO * long_side) ** 2))
    possible = possible[possible > 0]
    if possible.size == 0 or possible.size > MAX_SHARPENED_MARKS:
        return mask  # nothing thick, or a texture of many blobs (left to find_digit_boxes)
    sharpened = mask
    for label in possible:
        x, y, w, h = (int(v) for v in stats[label, :4])
        region = labels[y:y + h, x:x + w] == label
        if float(_distance_in_box(mask, x, y, w, h)[region].max()) <= THICK_RADIUS_RATIO * long_side[label]:
            continue
        crop_ink = ink[y:y + h, x:x + w]
        peak = float(np.percentile(crop_ink[region], 95))
        core = (region & (crop_ink >= BLUR_CORE_LEVEL * peak)).astype(np.uint8)
        pieces, _, piece_stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
        if pieces > 2 and piece_stats[1:, cv2.CC_STAT_AREA].max() < CORE_WHOLE * np.count_nonzero(core):
            continue  # the core falls apart: grain or texture, not a blurred stroke
        if sharpened is mask:
            sharpened = mask.copy()
        sharpened[y:y + h, x:x + w][region & (core == 0)] = 0
    return sharpened
