"""A digit's stroke mask to the model's input as MNIST was made: stroke width evened out, fitted in
20x20, centred by mass on 28x28."""

from __future__ import annotations

import cv2
import numpy as np

from core.config import DIGIT_BOX, IMAGE_SIZE


def _stroke_width(component: np.ndarray) -> float:
    """Mean stroke width in pixels of a binary shape: 2 * area / perimeter."""
    contours, _ = cv2.findContours(component, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(contour, True) for contour in contours)
    return 2.0 * float(np.count_nonzero(component)) / max(perimeter, 1.0)


def enclosing_box(boxes) -> tuple[int, int, int, int]:
    """The ``(x, y, w, h)`` box around ``boxes`` (each ``(x, y, w, h)``, pixels; at least one)."""
    x0 = min(x for x, _, _, _ in boxes)
    y0 = min(y for _, y, _, _ in boxes)
    x1 = max(x + w for x, _, w, _ in boxes)
    y1 = max(y + h for _, y, _, h in boxes)
    return x0, y0, x1 - x0, y1 - y0


def crop_to_bounding_box(image: np.ndarray) -> np.ndarray:
    """Crop to the bounding box of the non-zero pixels.

    Args:
        image: (H, W) of any dtype, ink non-zero.

    Returns:
        The crop (same dtype); the input unchanged if it has no ink.
    """
    rows = np.flatnonzero(image.any(axis=1))
    columns = np.flatnonzero(image.any(axis=0))
    if rows.size == 0:
        return image
    return image[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]


def fit_in_box(image: np.ndarray, box: int = DIGIT_BOX) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio, anti-aliased.

    Args:
        image: float32 (H, W) in [0, 1], ink bright.

    Returns:
        float32 (h, w) with max(h, w) == box, values in [0, 1].
    """
    height, width = image.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.clip(cv2.resize(image, size, interpolation=interpolation), 0.0, 1.0)


def pad_to_canvas(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Place an image of at most size x size in the middle of a black size x size canvas.

    Args:
        image: float32 (h, w), h, w <= size.

    Returns:
        float32 (size, size).
    """
    canvas = np.zeros((size, size), np.float32)
    height, width = image.shape
    top, left = (size - height) // 2, (size - width) // 2
    canvas[top:top + height, left:left + width] = image
    return canvas


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted centroid ``(row, column)`` of an (H, W) image; its middle if empty."""
    moments = cv2.moments(image.astype(np.float32))
    if moments["m00"] <= 1e-9:
        return (image.shape[0] - 1) / 2.0, (image.shape[1] - 1) / 2.0
    return moments["m01"] / moments["m00"], moments["m10"] / moments["m00"]


def shift_to_center_of_mass(canvas: np.ndarray) -> np.ndarray:
    """Translate the digit so its intensity-weighted centroid sits mid-canvas (sub-pixel).

    Args:
        canvas: float32 (28, 28), ink bright on dark, values in [0, 1].

    Returns:
        float32 (28, 28), same value range.
    """
    row, column = center_of_mass(canvas)
    middle = (canvas.shape[0] - 1) / 2.0
    matrix = np.float32([[1, 0, middle - column], [0, 1, middle - row]])
    shifted = cv2.warpAffine(canvas, matrix, canvas.shape[::-1], flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.clip(shifted, 0.0, 1.0)


#: Stroke width MNIST digits have inside their 20-px box, in pixels (measured on the
#: training set with :func:`_stroke_width`: median about 2.6 px at 20 px height).
TARGET_STROKE = 2.6


def normalize_stroke_width(mask: np.ndarray, box: int = DIGIT_BOX) -> np.ndarray:
    """Thicken thin pen strokes (or thin marker strokes) so that, once the digit is scaled
    into a ``box``-pixel square, its stroke is about :data:`TARGET_STROKE` px wide like MNIST.

    Args:
        mask: uint8 (h, w) in {0, 255}, the digit's strokes, tightly cropped.

    Returns:
        uint8 (h', w') in {0, 255}, padded as needed so dilation is not clipped.
    """
    scale = box / max(mask.shape)
    width = _stroke_width((mask > 0).astype(np.uint8)) * scale
    target = TARGET_STROKE
    if width < 0.8 * target:
        grow = int(round((target - width) / scale / 2.0))
        if grow >= 1:
            mask = cv2.copyMakeBorder(mask, grow, grow, grow, grow, cv2.BORDER_CONSTANT, value=0)
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
            mask = cv2.dilate(mask, kernel)
    elif width > 1.9 * target:
        shrink = int(round((width - 1.5 * target) / scale / 2.0))
        if shrink >= 1:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * shrink + 1, 2 * shrink + 1))
            eroded = cv2.erode(mask, kernel)
            if np.count_nonzero(eroded) > 0.3 * np.count_nonzero(mask):
                mask = eroded
    return mask


def remove_hairlines(mask: np.ndarray) -> np.ndarray:
    """Remove hairlines far thinner than the digit's own strokes: the stubs of faint ruled
    lines that the hysteresis threshold kept where they touch a marker's strokes.

    Only for strokes at least 6 px wide (mean width 2 * area / perimeter): a morphological
    opening with a disc a third of that width, kept if it leaves 85 % of the ink (a pen
    stroke survives it; a 1-2 px line does not).

    Args:
        mask: uint8 (h, w) in {0, 255}, the digit's strokes.

    Returns:
        uint8 (h, w) in {0, 255}.
    """
    width = _stroke_width((mask > 0).astype(np.uint8))
    if width < 6:
        return mask
    radius = int(width / 4)
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return opened if np.count_nonzero(opened) >= 0.9 * np.count_nonzero(mask) else mask


def normalize_digit(mask: np.ndarray) -> np.ndarray:
    """A binary digit crop to the model's input, as MNIST was made.

    Hairlines removed (:func:`remove_hairlines`), stroke width evened out, cropped to its
    bounding box, fitted in 20x20 keeping the
    aspect ratio with area-averaging anti-aliasing, placed on a 28x28 canvas and shifted
    so the center of mass is at the center.

    Args:
        mask: uint8 (h, w) in {0, 255}, the digit's strokes (any crop around them).

    Returns:
        float32 (28, 28) in [0, 1], white digit on black.
    """
    mask = crop_to_bounding_box(mask)
    if mask.size == 0 or not mask.any():
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    mask = crop_to_bounding_box(normalize_stroke_width(remove_hairlines(mask)))
    digit = fit_in_box(mask.astype(np.float32) / 255.0)
    return shift_to_center_of_mass(pad_to_canvas(digit))


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Digit images to the network's input: float32 (N, 28, 28, 1) in [0, 1].

    Args:
        images: (N, 28, 28) or (N, 28, 28, 1); uint8 in [0, 255] (MNIST) is scaled by
            1/255, floats are taken to be in [0, 1] already.
    """
    images = np.asarray(images)
    scaled = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    return scaled.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
