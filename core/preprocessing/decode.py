"""Photo bytes to a grayscale array: size limits checked from the header, decoding with EXIF
orientation, scaling to working size."""

from __future__ import annotations

import io

import cv2
import numpy as np

from core.errors import ImageTooLargeError, ImageTooSmallError, UnreadableImageError

#: Largest photo we decode, in pixels (a 48 MP phone photo is 8000 x 6000).
MAX_PIXELS = 64_000_000
#: Largest file we accept, in bytes (Telegram lets bots download at most 20 MB).
MAX_BYTES = 25 * 1024 * 1024
#: Smallest side in pixels that can hold a digit.
MIN_SIDE = 8
#: Formats we read (Pillow's names); MPO is the multi-picture JPEG some phones write.
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF"})
#: Working resolution: long side between these, in pixels.
WORKING_MIN, WORKING_MAX = 320, 1024


def probe_image(data: bytes) -> tuple[str, int, int]:
    """Read format and size from the header only (no pixel decoding).

    Returns:
        ``(format, width, height)``, e.g. ``("JPEG", 1280, 960)``.

    Raises:
        UnreadableImageError: empty bytes, or not an image in a supported format.
        ImageTooLargeError: more than :data:`MAX_BYTES` bytes or :data:`MAX_PIXELS` pixels.
        ImageTooSmallError: a side shorter than :data:`MIN_SIDE` pixels.
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise UnreadableImageError("That file is empty.", detail="0 bytes")
    if len(data) > MAX_BYTES:
        raise ImageTooLargeError(detail=f"{len(data)} bytes")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format or "", image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UnreadableImageError(detail=f"not an image: {exc}") from exc
    except Image.DecompressionBombError as exc:  # Pillow's own guard, above ~179 MP
        raise ImageTooLargeError(
            f"That image is too large (over {MAX_PIXELS // 1_000_000} megapixels) for me to read.", detail=str(exc)
        ) from exc
    if fmt not in SUPPORTED_FORMATS:
        raise UnreadableImageError(
            f"I can't read {fmt or 'this'} images.", detail=f"format {fmt}"
        )
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"That image is too large ({width} x {height} pixels) for me to read.", detail=f"{width}x{height}"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageTooSmallError(detail=f"{width}x{height}")
    return fmt, width, height


def decode_image(data: bytes) -> np.ndarray:
    """Decode image bytes to grayscale, honouring EXIF orientation.

    Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling (much
    faster than decoding at full size and shrinking); the result is never smaller than
    about 600 px on its long side.

    Args:
        data: JPEG, PNG, WebP, BMP or TIFF bytes.

    Returns:
        uint8 (H, W), values 0-255.

    Raises:
        UnreadableImageError: empty, corrupt, truncated or not an image.
        ImageTooLargeError: over :data:`MAX_BYTES` or :data:`MAX_PIXELS`.
        ImageTooSmallError: a side under :data:`MIN_SIDE` pixels.
    """
    fmt, width, height = probe_image(data)
    if fmt in ("JPEG", "MPO") and b"\xff\xd9" not in data[-4096:]:
        # libjpeg pads a truncated file with grey and only warns; refuse it instead.
        raise UnreadableImageError("That photo seems cut off (the file is incomplete).", detail="no JPEG EOI marker")
    flag = cv2.IMREAD_GRAYSCALE
    if fmt in ("JPEG", "MPO"):
        long_side = max(width, height)
        for factor, reduced in ((8, cv2.IMREAD_REDUCED_GRAYSCALE_8), (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
                                (2, cv2.IMREAD_REDUCED_GRAYSCALE_2)):
            if long_side / factor >= 600:
                flag = reduced
                break
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, flag)
    if image is None:
        image = _decode_with_pillow(data)
    if image is None or image.size == 0:
        raise UnreadableImageError(detail=f"{fmt} data could not be decoded")
    if image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return image


def _decode_with_pillow(data: bytes) -> np.ndarray | None:
    """Fallback decoder for files OpenCV refuses (some TIFF and WebP variants)."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("L"))
    except (OSError, ValueError, SyntaxError):
        return None


def to_working_size(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale so the long side is in [:data:`WORKING_MIN`, :data:`WORKING_MAX`] pixels.

    Returns:
        ``(uint8 (H', W'), scale)`` where ``scale`` = new size / old size.
    """
    long_side = max(gray.shape)
    if long_side > WORKING_MAX:
        scale = WORKING_MAX / long_side
        interpolation = cv2.INTER_AREA
    elif long_side < WORKING_MIN:
        scale = WORKING_MIN / long_side
        interpolation = cv2.INTER_CUBIC
    else:
        return gray, 1.0
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=interpolation), scale
