"""Photo bytes to a grayscale array: size limits checked from the header, decoding (first frame,
EXIF orientation, transparency flattened), scaling to working size."""

from __future__ import annotations

import io
import warnings
from functools import cache
from typing import TYPE_CHECKING

import cv2
import numpy as np

from core.errors import ImageTooLargeError, ImageTooSmallError, UnreadableImageError

if TYPE_CHECKING:
    from PIL import Image

#: Largest photo we decode, in pixels (a 48 MP phone photo is 8000 x 6000).
MAX_PIXELS = 64_000_000
#: Largest file we accept, in bytes (Telegram lets bots download at most 20 MB).
MAX_BYTES = 25 * 1024 * 1024
#: Smallest side in pixels that can hold a digit.
MIN_SIDE = 8
#: Formats we read (Pillow's names); MPO is the multi-picture JPEG some phones write, HEIF
#: (Pillow's name for HEIC too) an iPhone's photos, through the ``pillow-heif`` plugin.
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF"})
#: Formats decoded by Pillow rather than OpenCV: HEIF, which OpenCV cannot read, and GIF,
#: whose transparent colour OpenCV does not report.
PILLOW_FORMATS = frozenset({"GIF", "HEIF"})
#: Pillow modes with an alpha channel (``P`` images keep theirs in ``info["transparency"]``).
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
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
    fmt, width, height, _ = _probe(data)
    return fmt, width, height


def _probe(data: bytes) -> tuple[str, int, int, bool]:
    """:func:`probe_image`, also telling whether the header announces transparency (an alpha
    channel, or a transparent palette colour); same errors."""
    from PIL import Image, UnidentifiedImageError

    _register_heif_opener()
    if not data:
        raise UnreadableImageError("That file is empty.", detail="0 bytes")
    if len(data) > MAX_BYTES:
        raise ImageTooLargeError(detail=f"{len(data)} bytes")
    try:
        with warnings.catch_warnings():
            # Pillow warns of images over ~89 MP; ours is refused below by MAX_PIXELS (64 MP)
            # with a clear answer, so its warning would only clutter the output.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, (width, height) = image.format or "", image.size
                transparent = _has_transparency(image)
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
    return fmt, width, height, transparent


@cache
def _register_heif_opener() -> bool:
    """Teach Pillow to open HEIF/HEIC (``pillow-heif``), once; False when it is not installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def _has_transparency(image: Image.Image) -> bool:
    """Whether a Pillow image (header read) may have pixels that are not fully opaque."""
    return image.mode in ALPHA_MODES or "transparency" in image.info


def decode_image(data: bytes) -> np.ndarray:
    """Decode image bytes to grayscale, honouring EXIF orientation.

    Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling (much
    faster than decoding at full size and shrinking); the result is never smaller than
    about 600 px on its long side. Of an animated GIF (or WebP, or a HEIF sequence) only
    the first frame is read. An image with transparent pixels is composited over white or
    black, whichever its marks stand out on (:func:`flatten_alpha`); one whose alpha
    channel is opaque throughout is decoded as if it had none.

    Args:
        data: JPEG, PNG, WebP, BMP, TIFF, GIF or HEIF/HEIC bytes.

    Returns:
        uint8 (H, W), values 0-255.

    Raises:
        UnreadableImageError: empty, corrupt, truncated or not an image.
        ImageTooLargeError: over :data:`MAX_BYTES` or :data:`MAX_PIXELS`.
        ImageTooSmallError: a side under :data:`MIN_SIDE` pixels.
    """
    fmt, width, height, transparent = _probe(data)
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
    image = None
    if fmt in PILLOW_FORMATS:
        image = _decode_with_pillow(data)
    elif transparent:  # None when every pixel is opaque: then OpenCV decodes it, as before
        image = _decode_with_pillow(data, only_if_transparent=True)
    if image is None:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if image is None:
        image = _decode_with_pillow(data)
    if image is None or image.size == 0:
        raise UnreadableImageError(detail=f"{fmt} data could not be decoded")
    if image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return image


def _decode_with_pillow(data: bytes, only_if_transparent: bool = False) -> np.ndarray | None:
    """Decode with Pillow: the formats of :data:`PILLOW_FORMATS`, images with transparent
    pixels, and files OpenCV refuses (some TIFF and WebP variants).

    The first frame, EXIF orientation applied, transparent pixels composited
    (:func:`flatten_alpha`).

    Returns:
        uint8 (H, W); None when the data cannot be decoded, or, with ``only_if_transparent``,
        when no pixel is less than fully opaque (OpenCV's decoding then stands).
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            if _has_transparency(image):
                gray_alpha = np.asarray(image.convert("RGBA").convert("LA"))
                gray, alpha = gray_alpha[..., 0], gray_alpha[..., 1]
                if int(alpha.min()) < 255:
                    return flatten_alpha(gray, alpha)
            if only_if_transparent:
                return None
            return np.asarray(image.convert("L"))
    except (OSError, ValueError, SyntaxError):
        return None


#: Share of a picture that must be opaque (alpha-weighted) for :func:`flatten_alpha` to take
#: its opaque pixels for paper rather than for the strokes.
OPAQUE_PAPER = 0.5


def flatten_alpha(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite a grey image with transparency over white or black, so its marks stand out.

    A drawing app exports strokes on a fully transparent background whose hidden colour is
    arbitrary: often black, like black strokes, so dropping the alpha channel leaves a black
    page. When less than :data:`OPAQUE_PAPER` of the picture is opaque, the opaque pixels are
    the strokes, and the background is chosen to contrast with them: white under dark strokes
    (their alpha-weighted mean luminance under 128), black under light ones. When most of it
    is opaque, the opaque pixels are mostly paper, and the background matches them (white
    under light paper), so a photo with transparent corners gets no dark frame. Semi-
    transparent (anti-aliased) edges blend: ``gray * a + background * (1 - a)``, ``a = alpha
    / 255`` (straight, not premultiplied, alpha, as PNG, WebP and GIF store it). A picture
    transparent throughout is white.

    Args:
        gray: uint8 (H, W), the luminance of the colour channels.
        alpha: uint8 (H, W), 0 (transparent) to 255 (opaque).

    Returns:
        uint8 (H, W), values 0-255.
    """
    weights = alpha.astype(np.float64)
    total = float(weights.sum())
    if total == 0.0:
        return np.full(gray.shape, 255, np.uint8)
    light = float((gray * weights).sum()) / total >= 128
    mostly_opaque = total / (255.0 * alpha.size) >= OPAQUE_PAPER
    # Mostly transparent: the opaque pixels are strokes, contrast with them. Mostly opaque:
    # they are paper, match it.
    background = 255 if light == mostly_opaque else 0
    alpha32 = alpha.astype(np.uint32)
    blended = (gray.astype(np.uint32) * alpha32 + background * (255 - alpha32) + 127) // 255
    return blended.astype(np.uint8)


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
