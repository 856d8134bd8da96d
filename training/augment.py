"""On-the-fly augmentation for MNIST batches, as TensorFlow ops (runs inside ``tf.data``).

Phone photos are less tidy than MNIST: digits are slanted, rotated, thinner or bolder,
and not perfectly centred after preprocessing. Each image gets its own random affine
map (rotation, shear, anisotropic zoom, translation; Simard et al. 2003 showed affine
distortions help on MNIST), a random stroke-width change (grey-level dilation or
erosion) and a random gamma on the ink.
"""

from __future__ import annotations

import math
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
