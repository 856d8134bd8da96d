"""On-the-fly augmentation for MNIST batches, as TensorFlow ops (runs inside ``tf.data``).

Phone photos are less tidy than MNIST: digits are slanted, rotated, thinner or bolder,
and not perfectly centred after preprocessing. Each image gets its own random affine
map (rotation, shear, anisotropic zoom, translation; Simard et al. 2003 showed affine
distortions help on MNIST), a random stroke-width change (grey-level dilation or
erosion) and a random gamma on the ink.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random distortions (uniformly sampled per image).

    Attributes:
        rotation_degrees: maximum absolute rotation.
        shear: maximum absolute shear factor (x shifted by shear * y).
        zoom: maximum relative zoom change, e.g. 0.15 for [0.85, 1.15] per axis.
        shift_pixels: maximum absolute translation per axis, in pixels.
        dilate_probability: chance of a 2x2 grey-level dilation (bolder strokes).
        erode_probability: chance of a 2x2 grey-level erosion (thinner strokes).
        gamma: maximum |log gamma| of the ink-intensity curve.
    """

    rotation_degrees: float = 12.0
    shear: float = 0.25
    zoom: float = 0.15
    shift_pixels: float = 2.5
    dilate_probability: float = 0.25
    erode_probability: float = 0.15
    gamma: float = 0.4


def augment_batch(images, config: AugmentConfig = AugmentConfig()):
    """Distort a batch of digits.

    Args:
        images: float32 tensor (N, 28, 28, 1), ink bright on dark, values in [0, 1].
        config: the ranges of the distortions.

    Returns:
        float32 tensor (N, 28, 28, 1), values in [0, 1].
    """
    import tensorflow as tf

    batch = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)

    # Stroke width: dilation = 2x2 max filter; erosion = 2x2 min filter.
    choice = tf.random.uniform([batch, 1, 1, 1])
    dilated = tf.nn.max_pool2d(images, 2, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 2, 1, "SAME")
    images = tf.where(choice < config.dilate_probability, dilated, images)
    erode_upper = config.dilate_probability + config.erode_probability
    images = tf.where((choice >= config.dilate_probability) & (choice < erode_upper), eroded, images)

    # One affine map per image, from output to input coordinates (what the op expects).
    def uniform(limit):
        return tf.random.uniform([batch], -limit, limit)

    angle = uniform(config.rotation_degrees * math.pi / 180.0)
    shear = uniform(config.shear)
    zoom_x = tf.exp(uniform(math.log1p(config.zoom)))
    zoom_y = zoom_x * tf.exp(uniform(math.log1p(config.zoom) / 2))
    shift_x, shift_y = uniform(config.shift_pixels), uniform(config.shift_pixels)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # A = R(angle) @ [[1, shear], [0, 1]] @ diag(1/zoom_x, 1/zoom_y)
    a00, a01 = cos / zoom_x, (cos * shear - sin) / zoom_y
    a10, a11 = sin / zoom_x, (sin * shear + cos) / zoom_y
    center = (size - 1.0) / 2.0
    a02 = center - a00 * center - a01 * center + shift_x
    a12 = center - a10 * center - a11 * center + shift_y
    zeros = tf.zeros_like(angle)
    transforms = tf.stack([a00, a01, a02, a10, a11, a12, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )

    gamma = tf.exp(uniform(config.gamma))[:, None, None, None]
    images = tf.pow(tf.clip_by_value(images, 1e-6, 1.0), gamma)
    return tf.where(images < 1e-3, tf.zeros_like(images), images)


def _stroke_thickness(image: np.ndarray) -> int:
    """Approximate pen width in pixels of a 28x28 uint8 digit (2 * ink area / perimeter)."""
    import cv2

    mask = (image > 96).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(contour, True) for contour in contours)
    return int(np.clip(round(2.0 * mask.sum() / max(perimeter, 1.0)) - 1, 1, 3))


#: OpenCV's ``shift`` for the strokes drawn here: coordinates with 4 fractional bits, 1/16 px.
STROKE_SHIFT = 4


def _draw_stroke(canvas: np.ndarray, points, colour: int, thickness: int) -> None:
    """Draw the open polyline through ``points`` (float (K, 2), x and y in pixels, K >= 2)
    on ``canvas`` (uint8 (H, W), changed in place): value ``colour`` 0-255, ``thickness``
    pixels wide, anti-aliased, placed to 1/16 pixel (:data:`STROKE_SHIFT`)."""
    import cv2

    scaled = np.round(np.asarray(points, dtype=float) * (1 << STROKE_SHIFT)).astype(np.int32)
    cv2.polylines(canvas, [scaled], False, colour, thickness, cv2.LINE_AA, STROKE_SHIFT)


def _ink_pixels(canvas: np.ndarray):
    """The ink pixels (over 96) of a digit's uint8 image or canvas and its vertical extent:
    ``(rows, columns, top, bottom, height)`` (int arrays of the pixels' coordinates, then
    pixels), or None when there are fewer than 10 such pixels (too little to restyle)."""
    rows, columns = np.nonzero(canvas > 96)
    if rows.size < 10:
        return None
    top, bottom = rows.min(), rows.max()
    return rows, columns, top, bottom, bottom - top + 1


def add_continental_styles(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                           seed: int = 0) -> np.ndarray:
    """Draw handwriting variants that are common in Europe but rare in MNIST.

    MNIST's writers were American: most of its 1s are a single bar and few 7s are crossed.
    A fraction ``rate`` of the 1s gets a flag (an upstroke from the top going down-left,
    25-60 % of the digit's height long, 15-65 degrees below horizontal; a third of those
    also a foot), and the same
    fraction of the 7s a crossbar through the stem at 45-65 % of the height, 45-80 % of
    the digit's width long. Strokes are drawn anti-aliased with the digit's own pen width.

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 1s and of the 7s to change, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the variants drawn.
    """
    rng = np.random.default_rng(seed)
    out = images.copy()
    for digit in (1, 7):
        indices = np.flatnonzero(labels == digit)
        chosen = indices[rng.random(len(indices)) < rate]
        for index in chosen:
            image = out[index]
            extent = _ink_pixels(image)
            if extent is None:
                continue
            rows, columns, top, bottom, height = extent
            thickness = _stroke_thickness(image)
            colour = int(rng.integers(200, 256))
            if digit == 1:
                top_columns = columns[rows <= top + 1]
                start = np.array([top_columns.mean(), top + 0.5])
                length = height * rng.uniform(0.25, 0.6)
                angle = np.deg2rad(rng.uniform(15, 65))
                end = start + length * np.array([-np.cos(angle), np.sin(angle)])
                if rng.random() < 0.3:  # a foot as well: the printed-style 1
                    bottom_columns = columns[rows >= bottom - 1]
                    half = height * rng.uniform(0.15, 0.3)
                    base = np.array([bottom_columns.mean(), bottom - 0.5])
                    _draw_stroke(image, [base - [half, 0], base + [half, 0]], colour, thickness)
            else:
                bar = _crossbar(rows, columns, top, height, rng)
                if bar is None:
                    continue
                start, end = bar
            _draw_stroke(image, [start, end], colour, thickness)
    return out


def _crossbar(rows: np.ndarray, columns: np.ndarray, top: int, height: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """The ends (x, y) of a crossbar through a 7's stem, or None where the chosen row has no ink.

    ``rows`` and ``columns`` are the digit's ink pixels, ``top`` and ``height`` its vertical
    extent. The bar crosses at 45-65 % of the height, is 45-80 % of the digit's width long,
    its centre within 15 % of its half-length of the stem's, tilted by up to 12 % of it.
    """
    row = int(top + height * rng.uniform(0.45, 0.65))
    stem = columns[rows == row]
    if stem.size == 0:
        return None
    half = max(2.0, (columns.max() - columns.min() + 1) * rng.uniform(0.45, 0.8) / 2)
    centre = stem.mean() + rng.uniform(-0.15, 0.15) * half
    tilt = rng.uniform(-0.12, 0.12) * half
    return np.array([centre - half, row - tilt]), np.array([centre + half, row + tilt])


def restyled_copies(images: np.ndarray, labels: np.ndarray,
                    restyled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images a style function (``add_*`` here) changed, and their labels: the copies a
    training set adds beside the originals.

    Args:
        images: uint8 (N, 28, 28), the originals.
        labels: (N,), their labels.
        restyled: uint8 (N, 28, 28), what the style function returned for ``images``.

    Returns:
        ``(copies uint8 (K, 28, 28), labels (K,))``, K <= N, in the originals' order.
    """
    changed = (restyled != images).any(axis=(1, 2))
    return restyled[changed], labels[changed]


def elastic_distort(images: np.ndarray, alpha: float = 34.0, sigma: float = 4.0, seed: int = 0) -> np.ndarray:
    """Elastic distortion of each image (Simard, Steinkraus & Platt 2003, section 2).

    Every pixel is moved by a random displacement field: uniform noise in [-1, 1] per
    axis, smoothed by a Gaussian of standard deviation ``sigma`` pixels and scaled by
    ``alpha`` (the paper's values for MNIST: sigma 4, alpha 34), then resampled bilinearly.

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        alpha: displacement scale in pixels, >= 0.
        sigma: smoothing of the displacement field in pixels, > 0.
        seed: for the displacement fields.

    Returns:
        uint8 (N, 28, 28), the distorted copies.
    """
    import cv2

    rng = np.random.default_rng(seed)
    height, width = images.shape[1:3]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    out = np.empty_like(images)
    for index, image in enumerate(images):
        dx, dy = (cv2.GaussianBlur(rng.uniform(-1, 1, (height, width)).astype(np.float32), (0, 0), sigma) * alpha
                  for _ in range(2))
        out[index] = cv2.remap(image, grid_x + dx, grid_y + dy, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out


def _refit_to_mnist_frame(canvas: np.ndarray) -> np.ndarray:
    """Frame a digit drawn on a larger canvas as MNIST does (LeCun et al. 1998).

    The ink's bounding box is scaled (aspect kept) to fit a 20x20 box and the result is
    placed in 28x28 with its center of mass at the center.

    Args:
        canvas: uint8 (H, W), white digit on black, with some ink.

    Returns:
        uint8 (28, 28).
    """
    import cv2

    rows, columns = np.nonzero(canvas > 0)
    crop = canvas[rows.min():rows.max() + 1, columns.min():columns.max() + 1].astype(np.float32)
    scale = 20.0 / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    out = np.zeros((28, 28), np.float32)
    top, left = (28 - small.shape[0]) // 2, (28 - small.shape[1]) // 2
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    if out.max() > 0:  # shrinking fades thin strokes: keep the ink as bright as it was
        out *= canvas.max() / out.max()
    total = out.sum()
    if total > 0:  # whole-pixel shift, as MNIST's own centring (no second resampling blur)
        ys, xs = np.indices(out.shape)
        shift_y = int(round(13.5 - (ys * out).sum() / total))
        shift_x = int(round(13.5 - (xs * out).sum() / total))
        # ...but never past the frame's edge (np.roll would wrap the ink around)
        shift_y = int(np.clip(shift_y, 1 - top, 27 - 1 - (top + small.shape[0] - 1)))
        shift_x = int(np.clip(shift_x, 1 - left, 27 - 1 - (left + small.shape[1] - 1)))
        out = np.roll(out, (shift_y, shift_x), axis=(0, 1))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _loop_through(point: np.ndarray, radius: float, direction_degrees: float, sweep_degrees: float,
                  steps: int = 32) -> np.ndarray:
    """Points (steps, 2) as (x, y) of an arc of a circle that starts at ``point``: the centre
    lies ``radius`` pixels from it in ``direction_degrees`` (image axes, y down: -90 is up),
    and the arc sweeps ``sweep_degrees`` (360: a closed loop) clockwise on screen."""
    direction = np.deg2rad(direction_degrees)
    centre = point + radius * np.array([np.cos(direction), np.sin(direction)])
    start = np.arctan2(point[1] - centre[1], point[0] - centre[0])
    angles = start + np.deg2rad(np.linspace(0.0, sweep_degrees, steps))
    return centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def add_looped_styles(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                      seed: int = 0) -> np.ndarray:
    """Draw two looped handwriting variants, common in Latin America and Europe, rare in MNIST.

    A fraction ``rate`` of the 9s gets a tail that curls: from the lowest ink (the foot of
    the stem) an arc of a circle turns down, left and back up (120-200 degrees, radius
    15-30 % of the digit's height), the 9 that MNIST-trained models read as 8. The same
    fraction of the 2s gets a closed loop (radius 14-24 % of the height) where the pen
    starts, at the leftmost ink of the top 40 %: the 2 they read as 9. Strokes are drawn
    anti-aliased with the digit's own pen width (the loop one pixel finer, so it stays
    open) on a padded canvas, and the digit is framed
    again as MNIST is (:func:`_refit_to_mnist_frame`), so a tail below the digit is kept.

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 9s and of the 2s to change, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the variants drawn.
    """
    rng = np.random.default_rng(seed)
    out = images.copy()
    for digit in (9, 2):
        for index, canvas in _padded_picks(out, labels, digit, rate, rng):
            extent = _ink_pixels(canvas)
            if extent is None:
                continue
            rows, columns, top, bottom, height = extent
            thickness = _stroke_thickness(out[index])
            colour = int(rng.integers(200, 256))
            if digit == 9:  # the tail's arc starts at the foot, its centre to the left
                foot = np.array([columns[rows >= bottom - 1].mean(), bottom - 0.5])
                radius = height * rng.uniform(0.15, 0.3)
                points = _loop_through(foot, radius, 180.0, rng.uniform(120, 200), steps=24)
            else:
                upper = rows <= top + 0.4 * height
                start = int(np.argmin(columns[upper]))
                end = np.array([columns[upper][start], rows[upper][start]], dtype=float)
                radius = height * rng.uniform(0.14, 0.24)
                # the loop lies inside the 2's curve: to the right of and below its start
                points = _loop_through(end, radius, rng.uniform(-10, 60), 360.0)
            width = thickness if digit == 9 else max(1, thickness - 1)  # a loop drawn finer stays open
            _draw_stroke(canvas, points, colour, width)
            out[index] = _refit_to_mnist_frame(canvas)
    return out


def _padded_picks(images: np.ndarray, labels: np.ndarray, digit: int, rate: float,
                  rng: np.random.Generator, pad: int = 12):
    """Yield ``(index, canvas)`` for a random share ``rate`` of the images of ``digit``: the
    image on a black canvas ``pad`` pixels wider on every side (uint8 (28 + 2 pad, 28 + 2 pad)),
    room to draw strokes that leave the 28x28 frame before :func:`_refit_to_mnist_frame`."""
    import cv2

    chosen = np.flatnonzero(labels == digit)
    for index in chosen[rng.random(len(chosen)) < rate]:
        yield index, cv2.copyMakeBorder(images[index], pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)


def _redrawn(images: np.ndarray, labels: np.ndarray, digit: int, rate: float, seed: int, redraw) -> np.ndarray:
    """A copy of ``images`` (uint8 (N, 28, 28)) where a random share ``rate`` of the images of
    ``digit`` (:func:`_padded_picks`, seeded by ``seed``) are redrawn: ``redraw(canvas, image,
    rng)`` draws on the padded canvas (uint8, changed in place) of the original ``image``
    with the shared generator ``rng``, and returns the canvas to frame again as MNIST is
    (:func:`_refit_to_mnist_frame`), or None to leave that image as it is."""
    rng = np.random.default_rng(seed)
    out = images.copy()
    for index, canvas in _padded_picks(out, labels, digit, rate, rng):
        drawn = redraw(canvas, out[index], rng)
        if drawn is not None:
            out[index] = _refit_to_mnist_frame(drawn)
    return out


def add_stemmed_nines(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                      seed: int = 0) -> np.ndarray:
    """Redraw 9s as a ring on a stem, the 9 of many Latin American hands, rare in MNIST.

    In MNIST the stem of a 9 leaves its loop on the right. Many writers (it is the commonest
    9 in the ORAND-CAR cheque amounts) draw the loop first and then a stem from its lower
    left or middle, straight down, so the digit looks like a "P" or a lollipop; models
    trained on MNIST read it as 8. For a fraction ``rate`` of the 9s whose loop is closed and
    in the upper 70 % of the digit, the ink below the loop is erased and a new stem is drawn
    from the loop's bottom, starting between 10 % left of it and 60 % across it, 50-90 % of
    the digit's height long, leaning -20 to +8 degrees from vertical, with a small hook to
    the left at its foot one time in three; pen width one pixel wider than the digit's own
    estimate (:func:`_stroke_thickness` underestimates), anti-aliased. The digit is then
    framed again as MNIST is (:func:`_refit_to_mnist_frame`). 9s with an open loop are left
    as they are.

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 9s to consider, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the redrawn 9s.
    """
    def straight_stem(rng, left, width, bottom, digit_height):
        start = np.array([left + width * rng.uniform(-0.1, 0.6), bottom])
        lean = np.deg2rad(rng.uniform(-20, 8))  # negative: the foot to the left
        foot = start + digit_height * rng.uniform(0.5, 0.9) * np.array([np.sin(lean), np.cos(lean)])
        points = [start, (start + foot) / 2 + rng.normal(0.0, 0.6, 2), foot]
        if rng.random() < 1 / 3:
            hook = digit_height * rng.uniform(0.1, 0.2)
            points.append(foot + np.array([-hook, -hook * rng.uniform(0.0, 0.6)]))
        return points

    return _restemmed_nines(images, labels, rate, seed, straight_stem)


def add_curled_nines(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                     seed: int = 0) -> np.ndarray:
    """Redraw 9s as a ring on a stem that leans either way, bows and often curls at its foot.

    The cheques' commonest misread 9 (read 8 by both models, at up to 99.8 %): the stem leaves
    the ring's bottom, leans right as often as left, and its foot curls back like a "g".
    :func:`add_stemmed_nines` draws the stem straight and leaning left; fine-tuned with it, the
    models still read those 9s as 8. Here, for a fraction ``rate`` of the 9s whose loop is
    closed and in the upper 70 % of the digit, the ink below the loop is erased and a new stem
    drawn from the loop's bottom, starting between 0 and 70 % across it: a quadratic Bezier
    curve 50-90 % of the digit's height long, leaning -25 to +30 degrees from vertical (positive:
    the foot to the right), its middle bowed sideways by up to a quarter of its length either
    way; one time in two it ends in a hook 10-25 % of the digit's height long, three times in
    four to the left. Pen and framing as :func:`add_stemmed_nines`.

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 9s to consider, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the redrawn 9s.
    """
    def curled_stem(rng, left, width, bottom, digit_height):
        start = np.array([left + width * rng.uniform(0.0, 0.7), bottom])
        lean = np.deg2rad(rng.uniform(-25, 30))
        length = digit_height * rng.uniform(0.5, 0.9)
        direction = np.array([np.sin(lean), np.cos(lean)])
        foot = start + length * direction
        control = (start + foot) / 2 + length * rng.uniform(-0.25, 0.25) * np.array([direction[1], -direction[0]])
        t = np.linspace(0.0, 1.0, 12)[:, np.newaxis]
        points = list((1 - t) ** 2 * start + 2 * (1 - t) * t * control + t ** 2 * foot)
        if rng.random() < 0.5:
            side = -1 if rng.random() < 0.75 else 1
            hook = digit_height * rng.uniform(0.1, 0.25)
            points.append(foot + np.array([side * hook, -hook * rng.uniform(0.0, 0.8)]))
        return points

    return _restemmed_nines(images, labels, rate, seed, curled_stem)


def _restemmed_nines(images: np.ndarray, labels: np.ndarray, rate: float, seed: int, stem) -> np.ndarray:
    """The 9s redrawn with a new stem: for a share ``rate`` of the 9s whose loop is closed and in
    the upper 70 % of the digit, the ink below the loop is erased and ``stem(rng, left, width,
    bottom, digit_height)`` gives the new stem's points (x, y) from the loop's bottom; drawn
    one pixel wider than the digit's estimated pen, anti-aliased, and framed again as MNIST is."""
    import cv2

    def redraw(canvas: np.ndarray, image: np.ndarray, rng: np.random.Generator):
        ink = (canvas > 96).astype(np.uint8)
        rows = np.flatnonzero(ink.any(axis=1))
        if rows.size < 5:
            return None
        contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        holes = [contour for contour, links in zip(contours, hierarchy[0])
                 if links[3] >= 0 and cv2.contourArea(contour) >= 4]
        if not holes:
            return None
        left, top, width, height = cv2.boundingRect(max(holes, key=cv2.contourArea))
        digit_height = rows[-1] - rows[0] + 1
        if top + height > rows[0] + 0.7 * digit_height:  # the loop is not at the top
            return None
        thickness = _stroke_thickness(image)
        canvas[top + height + thickness + 1:, :] = 0  # the old stem, below the ring
        points = stem(rng, left, width, top + height + 0.5 * thickness, digit_height)
        _draw_stroke(canvas, points, int(rng.integers(230, 256)), thickness + 1)
        return canvas

    return _redrawn(images, labels, 9, rate, seed, redraw)


def add_long_flagged_ones(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                          seed: int = 0) -> np.ndarray:
    """Give 1s a long, steep flag, the "Λ"-like 1 of many Latin American and European hands.

    :func:`add_continental_styles` draws the short flag (25-60 % of the height). Many writers
    (most 1s in the ORAND-CAR cheque amounts) draw an upstroke nearly as long as the stem,
    so the 1 looks like a "Λ"; readers trained on MNIST take the flag for a 7's bar or for
    another 1. For a fraction ``rate`` of the 1s, a flag is drawn from the top of the stem
    down to the left, 60-100 % of the digit's height long and 40-75 degrees below
    horizontal but at least 20 degrees flatter than the stem (45 at most for a stem leaning
    like a "/"), slightly bent, with the digit's pen width (one pixel wider, as
    :func:`_stroke_thickness` underestimates), anti-aliased, on a padded canvas; the digit is
    then framed again as MNIST is (:func:`_refit_to_mnist_frame`).

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 1s to change, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the flagged 1s.
    """
    def redraw(canvas: np.ndarray, image: np.ndarray, rng: np.random.Generator):
        extent = _ink_pixels(canvas)
        if extent is None:
            return None
        rows, columns, top, bottom, height = extent
        start = np.array([columns[rows <= top + 1].mean(), top + 0.5])
        foot_x = columns[rows >= bottom - 1].mean()
        # The stem's own angle below horizontal, towards the left (90: upright; under 90: a
        # "/"): the flag leaves it at least 20 degrees flatter, or it would run along it.
        stem = np.degrees(np.arctan2(height, start[0] - foot_x))
        angle = np.deg2rad(rng.uniform(40, max(45.0, min(75.0, stem - 20))))
        end = start + height * rng.uniform(0.6, 1.0) * np.array([-np.cos(angle), np.sin(angle)])
        bend = rng.normal(0.0, 0.04 * height, 2)
        points = np.array([start, (start + end) / 2 + bend, end])
        _draw_stroke(canvas, points, int(rng.integers(200, 256)), _stroke_thickness(image) + 1)
        return canvas

    return _redrawn(images, labels, 1, rate, seed, redraw)


def add_cursive_loops(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                      seed: int = 0) -> np.ndarray:
    """Draw the loops of cursive 2s and 3s, common in European and Latin American hands, rare in MNIST.

    A fraction ``rate`` of the 2s gets a closed loop at the bottom-left corner where the
    diagonal meets the base (the pen circles there before running right; at its largest the
    2 looks like an "α"), found as the leftmost ink of the bottom 30 %: a circle through that
    point, radius 10-20 % of the digit's height, its centre above it and inside the corner
    (-100 to -20 degrees). The same fraction of the 3s gets a tail that curls back into the
    lower bowl and closes it: a circle through the leftmost ink of the bottom 35 %, radius
    15-25 % of the height, centre up and to the right (-70 to -15 degrees), swept 300-360
    degrees: the 3 that readers trained on MNIST take for an 8. Loops are drawn
    anti-aliased, one pixel finer than the digit's own pen (:func:`_stroke_thickness`) so
    they stay open, on a padded canvas, and the digit is framed again as MNIST is
    (:func:`_refit_to_mnist_frame`).

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 2s and of the 3s to change, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the loops drawn.
    """
    rng = np.random.default_rng(seed)
    out = images.copy()
    for digit, bottom_share, radius_range, direction_range, sweep_range in (
            (2, 0.3, (0.1, 0.2), (-100, -20), (340, 360)),
            (3, 0.35, (0.15, 0.25), (-70, -15), (300, 360))):
        for index, canvas in _padded_picks(out, labels, digit, rate, rng):
            extent = _ink_pixels(canvas)
            if extent is None:
                continue
            rows, columns, top, bottom, height = extent
            lower = rows >= bottom - bottom_share * height
            leftmost = int(np.argmin(columns[lower]))
            point = np.array([columns[lower][leftmost], rows[lower][leftmost]], dtype=float)
            points = _loop_through(point, height * rng.uniform(*radius_range), rng.uniform(*direction_range),
                                   rng.uniform(*sweep_range))
            _draw_stroke(canvas, points, int(rng.integers(230, 256)), max(1, _stroke_thickness(out[index]) - 1))
            out[index] = _refit_to_mnist_frame(canvas)
    return out


def add_hooked_sevens(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                      seed: int = 0) -> np.ndarray:
    """Give 7s a hook that hangs down from the start of the top bar, and most of them a crossbar.

    Many European hands start a 7 with a short downstroke (a serif) at the left end of the top
    bar and cross its stem; with both, the 7 has a 4's parts (a left stroke, a bar, a stem
    through it), and MNIST-trained models read it as 4 (real dev scans and cheque amounts;
    MNIST's 7s almost never have the hook). For a fraction ``rate`` of the 7s, a slightly bent
    stroke is drawn from the leftmost ink of the top fifth of the digit, down and mostly a
    little left, 20-45 % of the digit's height long; three times in four a crossbar as
    :func:`add_continental_styles` draws it (45-65 % of the height, 45-80 % of the width).
    Strokes are drawn anti-aliased with the digit's own pen width on a padded canvas, and the
    digit is framed again as MNIST is (:func:`_refit_to_mnist_frame`).

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 7s to change, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the hooks drawn.
    """
    def redraw(canvas: np.ndarray, image: np.ndarray, rng: np.random.Generator):
        extent = _ink_pixels(canvas)
        if extent is None:
            return None
        rows, columns, top, bottom, height = extent
        thickness = _stroke_thickness(image)
        colour = int(rng.integers(200, 256))
        upper = rows <= top + 0.2 * height
        leftmost = int(np.argmin(columns[upper]))
        start = np.array([columns[upper][leftmost], rows[upper][leftmost]], dtype=float)
        lean = np.deg2rad(rng.uniform(-10, 30))  # positive: the hook's end to the left
        length = height * rng.uniform(0.2, 0.45)
        direction = np.array([-np.sin(lean), np.cos(lean)])
        end = start + length * direction
        control = (start + end) / 2 + length * rng.uniform(-0.2, 0.2) * np.array([direction[1], -direction[0]])
        t = np.linspace(0.0, 1.0, 8)[:, np.newaxis]
        hook = (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t ** 2 * end
        _draw_stroke(canvas, hook, colour, thickness)
        bar = _crossbar(rows, columns, top, height, rng) if rng.random() < 0.75 else None
        if bar is not None:
            _draw_stroke(canvas, bar, colour, thickness)
        return canvas

    return _redrawn(images, labels, 7, rate, seed, redraw)


def _ink_box(canvas: np.ndarray, min_rows: int = 8):
    """The ink of a digit's canvas (uint8, pixels over 96) and its bounding box:
    ``(ink bool (H, W), top, height, left, width)`` in pixels, or None when the ink spans
    fewer than ``min_rows`` rows (too little to restyle)."""
    ink = canvas > 96
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size < min_rows:
        return None
    columns = np.flatnonzero(ink.any(axis=0))
    return ink, int(rows[0]), int(rows[-1] - rows[0] + 1), int(columns[0]), int(columns[-1] - columns[0] + 1)


def add_footless_fours(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                       seed: int = 0) -> np.ndarray:
    """Cut the stem of 4s off at the crossbar, the "L"-shaped 4 of many Latin American hands.

    In MNIST the stem of a 4 runs on well below its crossbar. Many writers (most 4s in the
    ORAND-CAR cheque amounts) draw a long left stroke down to the bar, the bar to the right,
    and then only a short stem rising from it, so the 4 looks like an "L" followed by a
    short "ı", or an "h"; models trained on MNIST read it as 6. For a fraction ``rate`` of
    the 4s, the crossbar is found as the row with the most ink between 35 and 85 % of the
    digit's height, and the ink more than a pen width below it is erased, and the stem is
    shortened: the ink right of the bar's middle that lies above 15-60 % of the digit's height
    over the bar is erased too. 4s whose cut leaves under half of their ink,
    or whose bar row has ink over less than half the digit's width, are left as they are.
    What is left is stretched back to the digit's height (a tall "L", not a squat "u") and
    framed again as MNIST is (:func:`_refit_to_mnist_frame`).

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 4s to consider, in [0, 1].
        seed: for the choice of images and the cut.

    Returns:
        uint8 (N, 28, 28), a copy with the footless 4s.
    """
    import cv2

    def redraw(canvas: np.ndarray, image: np.ndarray, rng: np.random.Generator):
        box = _ink_box(canvas)
        if box is None:
            return None
        ink, top, height, _, width = box
        band = np.arange(top + int(0.35 * height), top + int(0.85 * height) + 1)
        inked = ink[band].sum(axis=1)  # a bar is the row with the most ink
        bar_row = int(band[int(np.argmax(inked))])
        if inked.max() < 0.5 * width:
            return None
        thickness = _stroke_thickness(image)
        cut = canvas.copy()
        cut[bar_row + thickness + 1:, :] = 0
        bar = np.flatnonzero(ink[bar_row])
        middle = (bar[0] + bar[-1]) // 2
        keep_above = int(round((bar_row - top) * rng.uniform(0.15, 0.6)))
        cut[:max(0, bar_row - keep_above), middle:] = 0
        if (cut > 96).sum() < 0.5 * ink.sum():
            return None
        # Stretched back to the digit's own height: the left stroke stays a tall "L".
        kept_rows = np.flatnonzero((cut > 0).any(axis=1))
        piece = cut[kept_rows[0]:kept_rows[-1] + 1]
        return cv2.resize(piece, (piece.shape[1], max(piece.shape[0], height + 2)), interpolation=cv2.INTER_LINEAR)

    return _redrawn(images, labels, 4, rate, seed, redraw)


def add_flat_topped_threes(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                           seed: int = 0) -> np.ndarray:
    """Redraw the top of 3s as a bar and a diagonal, the "ʒ"-like 3 of many European hands.

    MNIST's 3s have two round bowls. Many writers (most 3s in the Danish parish registers of
    ``real_numbers_dev/ledger``, and common in German and Scandinavian hands) draw the top as
    a flat bar and a straight diagonal down to the waist, then the round lower bowl; models
    trained on MNIST read it as 2. For a fraction ``rate`` of the 3s, the ink above 38-50 %
    of the digit's height is erased and a bar drawn from 0-25 % across the digit's top to
    80-100 % across (rising or falling by up to 8 % of the height), then a diagonal from its
    right end to the leftmost ink of the cut's row (the waist where the lower bowl starts);
    pen one pixel wider than the digit's estimated one, anti-aliased. 3s with no ink at the
    cut are left as they are. The digit is then framed again as MNIST is
    (:func:`_refit_to_mnist_frame`).

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 3s to consider, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the flat-topped 3s.
    """
    def redraw(canvas: np.ndarray, image: np.ndarray, rng: np.random.Generator):
        box = _ink_box(canvas)
        if box is None:
            return None
        ink, top, height, left, width = box
        cut = int(round(top + height * rng.uniform(0.38, 0.5)))
        waist = np.flatnonzero(ink[cut])
        if waist.size == 0:
            return None
        thickness = _stroke_thickness(image) + 1
        canvas[:cut, :] = 0
        start = np.array([left + width * rng.uniform(0.0, 0.25), top + 0.5 * thickness])
        corner = np.array([left + width * rng.uniform(0.8, 1.0), start[1] + height * rng.uniform(-0.08, 0.08)])
        end = np.array([waist[0] + 0.5, cut + 0.5])
        points = np.array([start, corner, end])
        _draw_stroke(canvas, points, int(rng.integers(220, 256)), thickness)
        return canvas

    return _redrawn(images, labels, 3, rate, seed, redraw)


def add_lifted_bar_fives(images: np.ndarray, labels: np.ndarray, rate: float = 0.35,
                         seed: int = 0) -> np.ndarray:
    """Redraw the bar of 5s as a separate short stroke, lifted above the body and to the right.

    In MNIST the bar of a 5 joins its stem. Many writers (most 5s in the Danish parish registers
    of ``real_numbers_dev/ledger``) write the body in one stroke and then flick the bar on
    apart from it, high and to the right, sometimes as a short slanted tick; without it
    the body looks like a 3, and models trained on MNIST read it as 3. For a fraction ``rate``
    of the 5s, the ink above 18-30 % of the digit's height is erased and a bar drawn from
    35-60 % across the digit to 85-110 % across, a pen's width and 5-20 % of the height above the cut, one
    time in two slanting down to the right by 10-30 % of the height (a tick); pen as the
    digit's estimated one, anti-aliased. The digit is then framed again as MNIST is
    (:func:`_refit_to_mnist_frame`).

    Args:
        images: uint8 (N, 28, 28), white digits on black; not modified.
        labels: integer (N,), 0-9.
        rate: fraction of the 5s to change, in [0, 1].
        seed: for the choice of images and the stroke geometry.

    Returns:
        uint8 (N, 28, 28), a copy with the lifted bars.
    """
    def redraw(canvas: np.ndarray, image: np.ndarray, rng: np.random.Generator):
        box = _ink_box(canvas)
        if box is None:
            return None
        _, top, height, left, width = box
        cut = int(round(top + height * rng.uniform(0.18, 0.3)))
        thickness = _stroke_thickness(image)
        canvas[:cut, :] = 0
        if not (canvas > 96).any():
            return None
        y = cut - thickness - height * rng.uniform(0.05, 0.2)  # a pen's width and more above the body
        start = np.array([left + width * rng.uniform(0.35, 0.6), y])
        end = np.array([left + width * rng.uniform(0.85, 1.1), y + (height * rng.uniform(0.1, 0.3) if rng.random() < 0.5
                                                                    else height * rng.uniform(-0.05, 0.05))])
        _draw_stroke(canvas, [start, end], int(rng.integers(220, 256)), thickness)
        return canvas

    return _redrawn(images, labels, 5, rate, seed, redraw)


#: The drawn styles a training CLI can add copies of, by option stem: what a share of them gets.
STYLE_RATE_HELP = {
    "elastic": "share of the digits that also get an elastically distorted copy (elastic_distort)",
    "looped": "share of the 9s and 2s that also get a copy with a curled tail or a starting loop "
              "(add_looped_styles)",
    "stemmed": "share of the 9s that also get a copy drawn as a ring on a stem (add_stemmed_nines)",
    "curled": "share of the 9s that also get a copy on a leaning, curled stem (add_curled_nines)",
    "long-flag": "share of the 1s that also get a copy with a long, steep flag (add_long_flagged_ones)",
    "cursive": "share of the 2s and 3s that also get a copy with cursive loops (add_cursive_loops)",
    "footless": "share of the 4s that also get a copy with the stem cut off at the crossbar (add_footless_fours)",
    "flat-top": "share of the 3s that also get a copy with a flat bar and a diagonal on top (add_flat_topped_threes)",
    "lifted-bar": "share of the 5s that also get a copy with the bar apart, high and to the right (add_lifted_bar_fives)",
    "hooked": "share of the 7s that also get a copy with a hook down from the bar's start and mostly a crossbar "
              "(add_hooked_sevens)",
}


def share(text: str) -> float:
    """argparse type: a share in [0, 1].

    Raises:
        argparse.ArgumentTypeError: not a number, or outside [0, 1] (argparse reports it as a usage error).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def add_style_rate_arguments(parser: argparse.ArgumentParser, styles: tuple[str, ...]) -> None:
    """Add ``--<style>-rate SHARE`` (0-1, default 0) to a training CLI for each of ``styles``.

    Args:
        parser: the training CLI's parser; the values arrive as ``<style>_rate`` attributes
            (``long-flag`` as ``long_flag_rate``).
        styles: keys of :data:`STYLE_RATE_HELP`.

    Raises:
        KeyError: a style that is not in :data:`STYLE_RATE_HELP`.
    """
    for style in styles:
        parser.add_argument(f"--{style}-rate", type=share, default=0.0, metavar="SHARE",
                            help=f"{STYLE_RATE_HELP[style]}, 0-1")
