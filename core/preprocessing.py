"""Photo bytes to MNIST-like 28x28 digit images: decode, even out light, threshold, segment, normalise.

The chain, each step a function on NumPy arrays:

1. :func:`decode_image` - bytes to a grayscale uint8 photo, EXIF orientation applied,
   with size limits checked from the header before any pixel is decoded.
2. :func:`to_working_size` - scale so the long side is between 320 and 1024 px.
3. :func:`ink_map` - detect polarity, estimate the paper's background (a grey-level
   closing on a small copy), divide it out, so shadows and uneven light vanish:
   float32 ink strength in [0, 1].
4. :func:`binarize` - hysteresis threshold on the ink map (Otsu with a floor).
5. :func:`remove_lines` - ruled and grid lines (long thin horizontal/vertical runs).
6. :func:`sharpen_thick_marks` - marks too thick for a pen cut to their ink's core, so a
   blurred photo's strokes get back their width and their holes.
7. :func:`find_digit_boxes` - connected components, minus specks, filled blobs,
   border-touching paper edges and table regions; strokes grouped into digits; touching
   digits split; ordered left to right.
8. :func:`normalize_digit` - stroke width evened out, fitted into 20x20 keeping the
   aspect ratio with anti-aliasing, placed on 28x28 with its center of mass at the
   center, as MNIST was made (LeCun, Bottou, Bengio, Haffner 1998; the MNIST page).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.config import DIGIT_BOX, IMAGE_SIZE
from core.errors import ImageTooLargeError, ImageTooSmallError, NoDigitFoundError, UnreadableImageError

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
#: Most digits we read from one photo; more marks than this is texture, not a number.
MAX_DIGITS = 16


@dataclass
class Segmentation:
    """What preprocessing found in one photo (for inference and for showing the steps).

    Attributes:
        gray: uint8 (H, W), the photo at working size, dark ink on light paper.
        ink: float32 (H, W) in [0, 1], ink strength after background removal.
        mask: uint8 (H, W) in {0, 255}, the strokes kept (after line and speck removal).
        boxes: per digit ``(x, y, w, h)`` in pixels of the decoded photo (large JPEGs are
            decoded at 1/2 to 1/8 scale, see :func:`decode_image`), left to right.
        working_boxes: the same boxes in working-size pixels.
        digit_images: float32 (N, 28, 28) in [0, 1], white digit on black: the model input.
        scale: working size / decoded size.
        inverted: True when the photo was light ink on a dark background.
        pen_like: per digit, whether its marks look like pen strokes
            (:func:`looks_like_pen_strokes`); a mark that does not, and that the model reads
            unsure, is a shape or texture rather than a digit.
        tilt: degrees the text line rises (negative) or falls (positive) from left to right
            in the image, by which each digit was turned upright (:func:`text_line_tilt`);
            0.0 when the line is level or too short to tell.
    """

    gray: np.ndarray
    ink: np.ndarray
    mask: np.ndarray
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    working_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    digit_images: np.ndarray = field(default_factory=lambda: np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32))
    scale: float = 1.0
    inverted: bool = False
    pen_like: list[bool] = field(default_factory=list)
    tilt: float = 0.0


# --------------------------------------------------------------------------------------------
# 1. Decoding


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


# --------------------------------------------------------------------------------------------
# 2-4. Working size, background removal, threshold


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


def is_light_on_dark(gray: np.ndarray) -> bool:
    """True when the marks are lighter than the background (e.g. chalk, or MNIST itself).

    The background is the bulk of the pixels, so the marks are the tail of the histogram
    farther from the median: compare the 1st and 99th percentile distances. That must hold
    twice: on the photo as it is (with a dark background), and once its light is evened
    out (divided by a Gaussian blur of sigma 1/10 of its size), so a bright patch of light
    on dim paper is not taken for light ink: written marks are thin, a highlight is wide.

    Args:
        gray: uint8 (H, W).
    """
    small = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA) if max(gray.shape) > 64 else gray
    low, median, high = np.percentile(small, (1, 50, 99))
    # Paper, even in shadow, is rarely darker than mid-grey; demand a dark background too,
    # so a photo with a dark shadow or table is not mistaken for chalk on a board.
    if not (median < 110 and (high - median) > (median - low) * 1.2):
        return False
    height, width = gray.shape
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
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    ratio = gray.astype(np.float32) / np.maximum(background, 1.0)
    ink = np.clip(1.0 - ratio, 0.0, 1.0)
    # The closing is a max filter, so grainy paper sits a little below its "background":
    # take the paper's typical level (the median pixel is paper) as zero ink.
    floor = float(np.median(ink[::4, ::4]))
    if floor > 0:
        ink = np.clip((ink - floor) / (1.0 - floor), 0.0, 1.0)
    return ink, inverted


def binarize(ink: np.ndarray) -> np.ndarray:
    """Hysteresis threshold: pixels above a low threshold that connect to strong ink.

    The strong threshold is Otsu's on the ink map, floored at 0.22 (paper grain and JPEG
    noise stay below it) and capped at 0.5; the low one is 55 % of it.

    Args:
        ink: float32 (H, W) in [0, 1].

    Returns:
        uint8 (H, W) in {0, 255}.
    """
    return _hysteresis(ink)[0]


def _hysteresis(ink: np.ndarray) -> tuple[np.ndarray, tuple[int, np.ndarray, np.ndarray] | None]:
    """:func:`binarize`, also returning the 8-connected components it found ``(count, labels,
    stats)`` as from ``cv2.connectedComponentsWithStats``: the kept mask's components are
    exactly the labels it keeps (the others are 0 in the mask), so they need not be found again."""
    ink8 = np.round(ink * 255).astype(np.uint8)
    otsu, _ = cv2.threshold(ink8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    strong = float(np.clip(otsu / 255.0, 0.22, 0.5))
    weak = strong * 0.55
    weak_mask = (ink >= weak).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak_mask, connectivity=8)
    if count <= 1:
        return np.zeros_like(ink8), None
    has_strong = np.zeros(count, dtype=bool)
    has_strong[labels[ink >= strong]] = True  # fancy assignment: no need to sort out duplicates
    has_strong[0] = False
    return np.take(np.where(has_strong, 255, 0).astype(np.uint8), labels), (count, labels, stats)


#: How far from a line's centre (pixels) :func:`_erase_line_runs` follows a run of ink
#: across it; longer runs are strokes (lines are at most 4 % of 1024 px thick).
_RUN_REACH = 24


def _runs_across(mask: np.ndarray, columns: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each column, the vertical run of ink of ``mask`` through (or within 2 px of) the
    given row, followed up to :data:`_RUN_REACH` px either way.

    Returns:
        ``(top, bottom, found)``: int arrays of row offsets from ``rows`` (``bottom - top + 1``
        is the run's length; a run followed to the reach's end counts as longer than any
        line) and a bool array, False where no ink is near the row.
    """
    height = mask.shape[0]
    offsets = np.arange(-_RUN_REACH, _RUN_REACH + 1)
    grid = rows[None, :] + offsets[:, None]
    inside = (grid >= 0) & (grid < height)
    window = np.zeros(grid.shape, dtype=bool)
    window[inside] = mask[grid[inside], np.broadcast_to(columns, grid.shape)[inside]] > 0
    band = window[_RUN_REACH - 2:_RUN_REACH + 3]
    found = band.any(axis=0)
    seed = _RUN_REACH - 2 + band.argmax(axis=0)  # the first ink pixel near the row, from above
    # The run around the seed ends at the nearest gap above and below it.
    index = np.arange(len(offsets))[:, None]
    gap_above = np.maximum.accumulate(np.where(window, -1, index), axis=0)
    gap_below = np.minimum.accumulate(np.where(window, len(offsets), index)[::-1], axis=0)[::-1]
    every = np.arange(rows.size)
    top = gap_above[seed, every] + 1
    bottom = gap_below[seed, every] - 1
    # A run that reaches the end of the window (inside the image) is longer than we followed.
    open_top = (top == 0) & inside[0]
    open_bottom = (bottom == len(offsets) - 1) & inside[-1]
    top = np.where(open_top, top - len(offsets), top)
    bottom = np.where(open_bottom, bottom + len(offsets), bottom)
    return top - _RUN_REACH, bottom - _RUN_REACH, found


def _erase_line_runs(mask: np.ndarray, segments: list[tuple[int, int, int, int]],
                     max_thickness_ratio: float = 0.04, faint: np.ndarray | None = None) -> np.ndarray:
    """Erase near-horizontal line segments from ``mask`` where the line is alone.

    For each column along a segment, the vertical run of ink through the line is erased
    only if it is no thicker than the line itself (1.5 times plus 2 px; the line's thickness
    is the lower quartile of the runs, as in :func:`_line_thickness`: digits resting on the
    line over much of its length lengthen the runs there, the bare line is the thinnest part);
    where a stroke crosses or rests on the line the run is thicker, and it is kept, so a 4's
    stem or a 2's base survive an underline. A line thicker than ``max_thickness_ratio``
    of its length is a stroke and stays.

    Args:
        mask: uint8 (H, W) in {0, 255}.
        segments: ``(x1, y1, x2, y2)`` per line, in pixels.
        faint: uint8 (H, W), nonzero where there is any ink, however faint, or None. The
            line's thickness is measured there when given: a faint line shows whole in it,
            while ``mask`` may hold only the pieces of it that touch the digits.

    Returns:
        uint8 (H, W) in {0, 255}, a copy.
    """
    height, width = mask.shape
    cleaned = mask.copy()
    for x1, y1, x2, y2 in segments:
        if x2 < x1:
            x1, y1, x2, y2 = x2, y2, x1, y1
        columns = np.arange(max(0, x1), min(width, x2 + 1))
        if columns.size == 0:
            continue
        rows = np.round(y1 + (columns - x1) * (y2 - y1) / max(1, x2 - x1)).astype(int)
        top, bottom, found = _runs_across(mask, columns, rows)
        if not found.any():
            continue
        lengths = bottom - top + 1
        alone = found
        if faint is not None:
            line_top, line_bottom, line_found = _runs_across(faint, columns, rows)
            if (line_found | found).mean() < 0.5:
                continue  # a ruled line runs on in the faint ink; this is a row of strokes
            # Measure the line in the mask, but only where the faint ink shows it alone (no
            # stroke crossing it): the faint ink draws it wider than the threshold does.
            # Where the faint ink was cleared (lines already removed), the mask decides.
            line_lengths = line_bottom - line_top + 1
            typical = float(np.median(line_lengths[line_found])) if line_found.any() else 0.0
            alone = found & (~line_found | (line_lengths <= 1.5 * typical + 2))
        lengths = lengths[alone]
        if lengths.size == 0:
            continue
        thickness = float(np.percentile(lengths, 25))
        if thickness > max_thickness_ratio * max(1, x2 - x1):
            continue  # too thick for its length: a stroke, not a ruled line
        limit = thickness * 1.5 + 2
        # With the faint ink, only where it too shows the line alone: a stroke resting on a
        # line already removed (:func:`_remove_straight_lines`) is thin in the mask but not there.
        erase = alone & (bottom - top + 1 <= limit)
        if not erase.any():
            continue
        offsets = np.arange(-_RUN_REACH, _RUN_REACH + 1)[:, None]
        inside = erase[None, :] & (offsets >= top[None, :]) & (offsets <= bottom[None, :])
        grid = rows[None, :] + offsets
        inside &= (grid >= 0) & (grid < height)
        cleaned[grid[inside], np.broadcast_to(columns, grid.shape)[inside]] = 0
    return cleaned


def _remove_straight_lines(mask: np.ndarray, faint: np.ndarray | None = None) -> np.ndarray:
    """Remove axis-aligned ruled and grid lines: straight runs spanning most of the image.

    A line is a run found by a morphological opening with a 1-px-thick kernel a third of
    the image long (on the mask spread across the line by the drift of a 2.5-degree tilt
    over that length, so thin, slightly tilted lines are found too), whose extent reaches
    70 % of the image's width (or height) and whose mean thickness is at most 5 % of that
    extent (so the stem of a 7 or 1 in a tight crop, which also spans most of the height,
    is not taken for a line). Where ink runs across the line for more than 1.5 times the
    line's thickness plus 2 px (:func:`_line_thickness`; a stroke crossing it, or a 2's
    base drawn along an underline) its pixels are kept; the line's ragged fringe (slivers
    under 3 px thick beside it) goes with it, so it cannot cling to a digit resting on the
    line. Strokes that crossed a removed line are re-joined with a short closing across it.

    Given ``faint`` (all the ink above the hysteresis' low threshold), the lines are looked
    for there: a light printed ruling or the grid of squared paper passes the threshold
    only near the digits it touches, in stubs too short to be found in ``mask`` alone. In
    the faint ink such a line may run in dashes: gaps of up to 6 px between dashes at least
    3 px long are bridged first (lone specks of grain are not).

    Args:
        mask: uint8 (H, W) in {0, 255}.
        faint: uint8 (H, W) in {0, 255}, a superset of ``mask``'s ink, or None.

    Returns:
        uint8 (H, W) in {0, 255}, the mask without the lines.
    """
    height, width = mask.shape
    cleaned = mask.copy()
    source = mask if faint is None else cv2.bitwise_or(mask, faint)
    for axis in (0, 1):
        length = (width if axis == 0 else height)
        kernel_shape = (max(3, length // 3), 1) if axis == 0 else (1, max(3, length // 3))
        # A thin line tilted by a degree or two steps sideways every few dozen pixels, so it
        # has no straight run a third of the image long: spread the ink across the line by
        # the drift of a 2.5-degree tilt over the kernel's length first.
        drift = int(np.ceil(max(3, length // 3) * np.tan(np.radians(2.5)) / 2))
        found_in = source
        if faint is not None:
            # A light line passes the low threshold in dashes: bridge gaps of a few pixels
            # between dashes at least 3 px long (grain's lone dots are not bridged).
            dashes = cv2.morphologyEx(source, cv2.MORPH_OPEN, cv2.getStructuringElement(
                cv2.MORPH_RECT, (3, 1) if axis == 0 else (1, 3)))
            bridged = cv2.morphologyEx(dashes, cv2.MORPH_CLOSE, cv2.getStructuringElement(
                cv2.MORPH_RECT, (7, 1) if axis == 0 else (1, 7)))
            found_in = cv2.bitwise_or(mask, bridged)
        spread = cv2.dilate(found_in, cv2.getStructuringElement(
            cv2.MORPH_RECT, (1, 2 * drift + 1) if axis == 0 else (2 * drift + 1, 1)))
        # A run that long needs as many inked pixels in one row (column): without them the
        # opening below finds nothing, so skip it (the common case, a photo without ruled
        # lines; the long opening is the costliest step here).
        per_row = cv2.reduce(spread, 1 if axis == 0 else 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
        if int(per_row.max()) < 255 * max(3, length // 3):
            continue
        runs = cv2.morphologyEx(spread, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel_shape))
        runs = cv2.bitwise_and(runs, found_in)
        if not runs.any():
            continue
        # Let slightly tilted lines join up before measuring their extent.
        joined = cv2.dilate(runs, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5) if axis == 0 else (5, 1)))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        along = cv2.CC_STAT_WIDTH if axis == 0 else cv2.CC_STAT_HEIGHT
        across_image = cv2.CC_STAT_HEIGHT if axis == 0 else cv2.CC_STAT_WIDTH
        run_pixels = np.bincount(labels[runs > 0].ravel(), minlength=count)
        line_labels = [
            label for label in range(1, count)
            if stats[label, along] >= 0.7 * length
            and stats[label, across_image] <= 0.12 * (height if axis == 0 else width)
            # A ruled line is thin for its length; a digit's stem in a tight crop is not.
            and run_pixels[label] <= max(3.0, 0.05 * stats[label, along]) * stats[label, along]
        ]
        if not line_labels:
            continue
        # Only the long runs themselves (plus a 1-px anti-aliasing fringe): a stroke resting
        # on the line, like the base of a 2 on an underline, keeps its own pixels.
        lines = np.where(np.isin(labels, line_labels) & (runs > 0), 255, 0).astype(np.uint8)
        line_thickness = _line_thickness(lines > 0, axis)
        lines = cv2.bitwise_and(cv2.dilate(lines, np.ones((3, 1) if axis == 0 else (1, 3), np.uint8)), mask)
        # Where a stroke crosses or rests on the line (a 4's stem, a 2's base drawn along an
        # underline), the ink runs across the line for longer than the line is thick: keep it.
        span = int(np.floor(line_thickness * 1.5 + 2)) + 1
        crossing = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(
            cv2.MORPH_RECT, (1, span) if axis == 0 else (span, 1)))
        lines = cv2.bitwise_and(lines, cv2.bitwise_not(crossing))
        cleaned = cv2.bitwise_and(cleaned, cv2.bitwise_not(lines))
        # The line's ragged fringe (1-2 px slivers along it) would cling to the digits it touches.
        band = cv2.dilate(lines, cv2.getStructuringElement(
            cv2.MORPH_RECT, (1, span + 2) if axis == 0 else (span + 2, 1)))
        solid = cv2.morphologyEx(cleaned, cv2.MORPH_OPEN, cv2.getStructuringElement(
            cv2.MORPH_RECT, (1, 3) if axis == 0 else (3, 1)))
        cleaned = np.where((band > 0) & (solid == 0), 0, cleaned).astype(np.uint8)
        thickness = int(np.ceil(max(3.0, line_thickness) * 1.5))
        across = (1, thickness + 2) if axis == 0 else (thickness + 2, 1)
        # Re-join strokes cut by the line, but only inside the former line band.
        rejoined = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, across))
        cleaned = np.where(lines > 0, rejoined, cleaned)
    return cleaned


def _line_thickness(line: np.ndarray, axis: int) -> float:
    """A line's thickness in pixels: the lower quartile of the lengths of the runs of a
    boolean (H, W) line mask across it (down the columns for horizontal lines, ``axis`` 0;
    along the rows for vertical ones, 1). Digits resting on the line lengthen the runs
    where they touch it; the bare line is the thinnest part."""
    runs = line if axis == 0 else line.T
    padded = np.pad(runs, ((1, 1), (0, 0))).T  # column by column, in row order
    starts = np.flatnonzero((padded[:, 1:] & ~padded[:, :-1]).ravel())
    ends = np.flatnonzero((padded[:, :-1] & ~padded[:, 1:]).ravel())
    return float(np.percentile(ends - starts, 25)) if starts.size else 1.0


def _border_contact(component: np.ndarray) -> float:
    """The largest share of one image side that a boolean (H, W) region runs along (its outermost 2 px)."""
    height, width = component.shape
    return max(
        np.count_nonzero(component[:2].any(axis=0)) / width,
        np.count_nonzero(component[-2:].any(axis=0)) / width,
        np.count_nonzero(component[:, :2].any(axis=1)) / height,
        np.count_nonzero(component[:, -2:].any(axis=1)) / height,
    )


def remove_border_regions(mask: np.ndarray,
                          components: tuple[int, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Remove solid regions that run along the image border: a table, a finger, a dark margin.

    Such a region is dark where the paper is light, so it thresholds as a dense patch of
    "ink". It must go before :func:`remove_lines`, which would otherwise cut it into
    stroke-like slivers. A region is removed when it covers more than 2 % of the image,
    fills more than 30 % of its bounding box, and runs along more than 35 % of one side or
    reaches from one side to the opposite one (the edge of a table across the photo; then
    every mark lying mostly beyond it, towards the nearer border, goes too). A form's frame
    line with a digit touching it is sparse and stays (its line is removed later).

    Args:
        mask: uint8 (H, W) in {0, 255}.
        components: ``(count, labels, stats)`` of 8-connected components whose labels cover
            the mask's (labels that are 0 in the mask are ignored), as :func:`_hysteresis`
            returns them; found here when None.

    Returns:
        uint8 (H, W) in {0, 255}.
    """
    height, width = mask.shape
    if components is None:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    else:
        count, labels, stats = components
    removed = np.zeros(count, dtype=bool)
    zone = np.zeros((height, width), dtype=bool)
    x, y, w, h, area = (stats[:, index] for index in range(5))
    touches = (x <= 1) | (y <= 1) | (x + w >= width - 1) | (y + h >= height - 1)
    large = (area >= 0.02 * height * width) & (area >= 0.3 * w * h)
    for label in np.flatnonzero(touches & large):
        if label == 0 or not mask.flat[int(np.argmax(labels == label))]:
            continue  # the background, or a faint region binarize dropped
        x, y, w, h, area = (int(v) for v in stats[label])
        framed = np.zeros((height, width), dtype=bool)
        framed[y:y + h, x:x + w] = labels[y:y + h, x:x + w] == label
        # A band across the photo (a table's edge): beyond it, towards the nearer border,
        # is the table.
        # (It meets both sides along most of its own thickness, where a digit in a tight
        # crop only touches them at a stroke's end.)
        left = np.count_nonzero(framed[:, :2].any(axis=1))
        right = np.count_nonzero(framed[:, -2:].any(axis=1))
        top = np.count_nonzero(framed[:2].any(axis=0))
        bottom = np.count_nonzero(framed[-2:].any(axis=0))
        if h < 0.5 * height and min(left, right) >= 0.5 * h:
            beyond = np.s_[y:, :] if y + h / 2 > height / 2 else np.s_[:y + h, :]
        elif w < 0.5 * width and min(top, bottom) >= 0.5 * w:
            beyond = np.s_[:, x:] if x + w / 2 > width / 2 else np.s_[:, :x + w]
        else:
            beyond = None
        if beyond is not None:
            zone[beyond] = True
            removed[label] = True
        else:
            removed[label] = max(top / width, bottom / width, left / height, right / height) > 0.35
    if not removed.any():
        return mask
    # Beyond a band, the table's texture leaves specks and slivers: drop every mark that
    # lies mostly there.
    if zone.any():
        inside = np.bincount(labels[zone], minlength=count)
        removed |= inside >= 0.5 * stats[:, cv2.CC_STAT_AREA]
    removed[0] = False
    return cv2.bitwise_and(mask, np.take(np.where(removed, 0, 255).astype(np.uint8), labels))


def _longest_span(occupied: np.ndarray, max_gap: int) -> int:
    """Length of the longest stretch of a boolean (N,) array whose False gaps are all <= ``max_gap``.

    A near-horizontal segment that ``cv2.HoughLinesP`` could return with that ``maxLineGap``
    covers columns that form such a stretch, so a shorter longest stretch rules it out.
    """
    columns = np.flatnonzero(occupied)
    if columns.size == 0:
        return 0
    breaks = np.flatnonzero(np.diff(columns) > max_gap + 1)
    starts = np.concatenate(([columns[0]], columns[breaks + 1]))
    ends = np.concatenate((columns[breaks], [columns[-1]]))
    return int((ends - starts + 1).max())


def _distinct_lines(segments: list[tuple[int, int, int, int]], ink: np.ndarray,
                    tolerance: float = 6.0) -> list[tuple[int, int, int, int]]:
    """One segment per line, on the line: each segment is first moved (by up to 3 px) onto the
    rows where it runs over the most ink of ``ink`` (uint8 (H, W)). The Hough transform
    reports a line drawn a few pixels thick several times, a pixel or two apart, and
    following the off-centre ones would seed on the strokes beside the line: of the
    segments whose rows at both image edges are within ``tolerance`` pixels of each other,
    keep the one running over the most ink."""
    height, width = ink.shape

    def ends(segment: tuple[int, int, int, int]) -> tuple[float, float]:
        x1, y1, x2, y2 = segment
        slope = (y2 - y1) / max(1, x2 - x1) if x2 != x1 else 0.0
        return y1 - slope * x1, y1 + slope * (width - 1 - x1)

    shifts = np.arange(-3, 4)[:, None]

    def on_line(segment: tuple[int, int, int, int]) -> tuple[tuple[int, int, int, int], int]:
        # Found at half size on a thickened copy, a segment may sit up to 3 px off its
        # line: move it onto the row offset that runs over the most ink.
        x1, y1, x2, y2 = segment
        columns = np.arange(max(0, min(x1, x2)), min(width, max(x1, x2) + 1))
        rows = np.round(np.interp(columns, sorted((x1, x2)), (y1, y2) if x1 <= x2 else (y2, y1))).astype(int)
        grid = rows[None, :] + shifts
        inside = (grid >= 0) & (grid < height)
        hits = np.zeros(grid.shape, dtype=bool)
        hits[inside] = ink[grid[inside], np.broadcast_to(columns, grid.shape)[inside]] > 0
        counts = hits.sum(axis=1)
        best = int(np.argmax(counts))
        shift = int(shifts[best, 0])
        return (x1, y1 + shift, x2, y2 + shift), int(counts[best])

    placed = sorted((on_line(segment) for segment in segments), key=lambda item: item[1], reverse=True)
    kept: list[tuple[tuple[int, int, int, int], tuple[float, float]]] = []
    for segment, _ in placed:
        left, right = ends(segment)
        if all(abs(left - other[0]) > tolerance or abs(right - other[1]) > tolerance for _, other in kept):
            kept.append((segment, (left, right)))
    return [segment for segment, _ in kept]


#: Largest share of the image the faint ink (:func:`_faint_ink`) may cover for lines to be
#: looked for in it: ruled pages in the generated set reach 8 %; grainy paper and textures,
#: where the Hough transform finds "lines" in the grain, 13 % and more.
MAX_FAINT_COVERAGE = 0.12

#: How many times stronger than a removed line's median ink a pixel on it must be to be a
#: pen stroke drawn along the line (:func:`remove_lines`); printed rulings and grids are light.
PEN_OVER_PRINT = 2.0


def _faint_ink(components: tuple[int, np.ndarray, np.ndarray] | None, mask: np.ndarray,
               kept: np.ndarray) -> np.ndarray | None:
    """All the ink above the hysteresis' low threshold, as uint8 (H, W) in {0, 255}, minus the
    regions :func:`remove_border_regions` took out of ``mask`` (giving ``kept``).
    ``components`` are :func:`_hysteresis`'s. None without components."""
    if components is None:
        return None
    count, labels, stats = components
    keep = np.ones(count, dtype=bool)
    keep[0] = False
    if kept is not mask:
        keep[labels[(mask > 0) & (kept == 0)]] = False
    if keep[1:].all():
        return cv2.compare(labels, 0, cv2.CMP_NE)
    return np.take(np.where(keep, 255, 0).astype(np.uint8), labels)


def remove_lines(mask: np.ndarray, faint: np.ndarray | None = None,
                 ink: np.ndarray | None = None) -> np.ndarray:
    """Remove ruled lines, underlines and grid lines.

    First axis-aligned lines (:func:`_remove_straight_lines`), then tilted ones found with
    the probabilistic Hough transform (``cv2.HoughLinesP``; Matas, Galambos, Kittler 2000):
    thin segments (thickness under 4 % of their length) within 12 degrees of horizontal or
    vertical that run from edge to edge (each end within 6 % of the image's border), as a
    line on the page does and a digit's stroke in a tight crop does not. Tilted lines are
    erased only where they are alone (:func:`_erase_line_runs`).

    A faint ruled line passes the hysteresis threshold only in pieces: those that touch a
    digit (or a speck of stronger ink), short and tilted, too short for either test. Given
    ``faint``, all the ink above the threshold's low level, lines are found there, where
    they run whole (tilted ones only when it covers at most :data:`MAX_FAINT_COVERAGE` of
    the image), and their pieces are erased from ``mask``.

    Then, given ``ink``, erased pixels whose ink is at least twice the line's median (and
    0.2 above it) are given back: a pen stroke drawn along a light printed line, such as the
    bar of a 4 on a grid line of squared paper, is far darker than the print. Last, a digit's
    stroke that ran along a line between two places where it touches it (the base of a 2
    drawn on an underline) is given back (:func:`_restore_strokes_along_lines`).

    Args:
        mask: uint8 (H, W) in {0, 255}.
        faint: uint8 (H, W) in {0, 255} or None: every pixel above the hysteresis' low
            threshold (a superset of ``mask``'s ink, minus the regions removed along the border).
        ink: float32 (H, W) in [0, 1], the ink strength (:func:`ink_map`), or None.

    Returns:
        uint8 (H, W) in {0, 255}, the mask without the lines.
    """
    cleaned = _remove_straight_lines(mask, faint)
    if faint is not None and cv2.countNonZero(faint) > MAX_FAINT_COVERAGE * faint.size:
        faint = None  # grain or texture (or a tight crop of big digits): no tilted lines to find there
    if faint is not None:
        # The lines just removed are done with, strokes resting on them included: take
        # them (and their faint fringe) out of the faint ink, so they are not found again.
        removed = cv2.bitwise_and(mask, cv2.bitwise_not(cleaned))
        if cv2.countNonZero(removed):
            faint = cv2.bitwise_and(faint, cv2.bitwise_not(cv2.dilate(removed, np.ones((7, 7), np.uint8))))
    for transpose in (False, True):
        height, width = cleaned.shape[::-1] if transpose else cleaned.shape
        # Light ruled lines threshold into dashes: bridge short gaps, and detect at half
        # resolution (a line stays a line; the Hough transform costs a quarter).
        if faint is None:
            work = np.ascontiguousarray(cleaned.T) if transpose else cleaned
            bridged = cv2.morphologyEx(work, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 1)))
            half = cv2.resize(bridged, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
        else:  # bridged and shrunk before transposing: a quarter of the pixels to move
            bridged = cv2.morphologyEx(faint, cv2.MORPH_CLOSE, cv2.getStructuringElement(
                cv2.MORPH_RECT, (1, 15) if transpose else (15, 1)))
            half = cv2.resize(bridged, (max(1, faint.shape[1] // 2), max(1, faint.shape[0] // 2)),
                              interpolation=cv2.INTER_AREA)
            half = np.ascontiguousarray(half.T) if transpose else half
        half = np.where(half > 64, 255, 0).astype(np.uint8)
        # A thin or faint line is 1 px thin at half size and steps a row here and there: the
        # Hough transform's walk along it would lose it at the first step. (Two rows
        # suffice; three cost half as much again.)
        half = cv2.dilate(half, np.ones((2, 1), np.uint8))
        half_width = half.shape[1]
        min_length, max_gap = int(0.85 * half_width), max(2, half_width // 20)
        if _longest_span(half.any(axis=0), max_gap) < min_length:
            continue  # no run of ink across the image that a line could lie on: skip the transform
        found = cv2.HoughLinesP(half, 1, np.pi / 360, threshold=max(10, int(0.3 * half_width)),
                                minLineLength=min_length, maxLineGap=max_gap)
        if found is None:
            continue
        segments = []
        for x1, y1, x2, y2 in (found[:, 0, :] * 2 + 1):
            angle = abs(np.degrees(np.arctan2(y2 - y1, x2 - x1)))
            spans = min(x1, x2) <= 0.06 * width and max(x1, x2) >= 0.94 * width
            if min(angle, 180 - angle) <= 12 and spans:
                segments.append((int(x1), int(y1), int(x2), int(y2)))
        if not segments:
            continue
        source = None
        work = np.ascontiguousarray(cleaned.T) if transpose else cleaned
        if faint is not None:
            source = np.ascontiguousarray(faint.T) if transpose else faint
        segments = _distinct_lines(segments, work if source is None else source)
        erased = _erase_line_runs(work, segments, max_thickness_ratio=0.04, faint=source)
        cleaned = np.ascontiguousarray(erased.T) if transpose else erased
    removed = cv2.bitwise_and(mask, cv2.bitwise_not(cleaned))
    if not cv2.countNonZero(removed):
        return cleaned
    if ink is not None:
        line_ink = float(np.median(ink[removed > 0]))
        pen = (removed > 0) & (ink >= max(PEN_OVER_PRINT * line_ink, line_ink + 0.2))
        if pen.any():
            cleaned = cleaned.copy()
            cleaned[pen] = 255
            removed[pen] = 0
    return _restore_strokes_along_lines(cleaned, removed)


#: Most marks touching removed line pixels that :func:`_restore_strokes_along_lines` pairs up;
#: beyond that the "marks" are texture or grain, and nothing is restored.
_MAX_LINE_CONTACTS = 40


def _restore_strokes_along_lines(cleaned: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """Give back the line pixels that a digit's own stroke ran along.

    A 2 whose bottom loop sits on an underline and whose tail leaves it further right
    touches the line twice; between the two its stroke runs along the line, no thicker
    than the line itself, so erasing the line cuts the 2's base out and leaves a "?".
    Two marks that both lie above the line (their centroids above their contacts with it),
    touch the erased pixels, and one of which touches the line below the other's strokes
    (within its columns: strokes of one digit, not two digits side by side) get back the
    erased pixels in the columns between their nearest contacts, on the rows of those
    contacts. Horizontal lines only: the case is a digit's base.

    Args:
        cleaned: uint8 (H, W) in {0, 255}, the mask without the lines.
        removed: uint8 (H, W) in {0, 255}, the line pixels erased from it.

    Returns:
        uint8 (H, W) in {0, 255}: ``cleaned``, or a copy with those pixels restored.
    """
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(cleaned, connectivity=8)
    near = cv2.dilate(removed, np.ones((3, 3), np.uint8)) > 0
    rows, columns = np.nonzero(near & (labels > 0))
    owners = labels[rows, columns]
    touching = np.unique(owners)
    if touching.size < 2 or touching.size > _MAX_LINE_CONTACTS:
        return cleaned
    first = np.full(count, np.iinfo(np.int64).max)
    last = np.full(count, -1)
    np.minimum.at(first, owners, columns)
    np.maximum.at(last, owners, columns)
    top = np.full(count, np.iinfo(np.int64).max)
    bottom = np.full(count, -1)
    np.minimum.at(top, owners, rows)
    np.maximum.at(bottom, owners, rows)
    contacts = np.maximum(np.bincount(owners, minlength=count), 1)
    contact_row = np.bincount(owners, weights=rows, minlength=count) / contacts
    above = [label for label in touching if centroids[label, 1] < contact_row[label]]
    restored = cleaned
    left = stats[:, cv2.CC_STAT_LEFT]
    right = left + stats[:, cv2.CC_STAT_WIDTH] - 1

    def under(a: int, b: int) -> bool:  # does a touch the line below b's strokes?
        return first[a] <= right[b] and last[a] >= left[b]

    for index, a in enumerate(above):
        for b in above[index + 1:]:
            if not (under(a, b) or under(b, a)):
                continue
            if last[a] < first[b]:
                low, high = last[a], first[b]
            elif last[b] < first[a]:
                low, high = last[b], first[a]
            else:
                continue  # their contacts overlap: nothing of the line lies between them
            if restored is cleaned:
                restored = cleaned.copy()
            # Only the line they touch (between their contacts' rows), not another in those columns.
            band = slice(min(top[a], top[b]), max(bottom[a], bottom[b]) + 1)
            restored[band, low:high + 1] |= removed[band, low:high + 1]
    return restored


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
    distance = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    sharpened = mask
    for label in possible:
        x, y, w, h = (int(v) for v in stats[label, :4])
        region = labels[y:y + h, x:x + w] == label
        if float(distance[y:y + h, x:x + w][region].max()) <= THICK_RADIUS_RATIO * long_side[label]:
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


# --------------------------------------------------------------------------------------------
# 5. Components to digits


@dataclass
class _Blob:
    x: int
    y: int
    w: int
    h: int
    area: int
    labels: list[int]

    @property
    def x2(self) -> int:
        return self.x + self.w

    @property
    def y2(self) -> int:
        return self.y + self.h

    def merge(self, other: "_Blob") -> "_Blob":
        x, y = min(self.x, other.x), min(self.y, other.y)
        return _Blob(x, y, max(self.x2, other.x2) - x, max(self.y2, other.y2) - y,
                     self.area + other.area, self.labels + other.labels)


def _stroke_width(component: np.ndarray) -> float:
    """Mean stroke width in pixels of a binary shape: 2 * area / perimeter."""
    contours, _ = cv2.findContours(component, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(contour, True) for contour in contours)
    return 2.0 * float(np.count_nonzero(component)) / max(perimeter, 1.0)


#: Thinnest mean stroke, in working-size pixels, that thresholded pen ink has; finer marks
#: are paper texture, noise or hairline edges riddled with holes.
MIN_PEN_WIDTH = 2.0
#: Largest ratio of a mark's widest point (inscribed radius) to its mean stroke width
#: (2 * area / perimeter) for pen strokes; measured on the real and generated photos:
#: digits have a median of 0.83 and 99 % are under 1.3, wedges and corners of shapes and
#: blobs on a stroke are over 1.45.
MAX_PEN_WIDEST_RATIO = 1.45


def looks_like_pen_strokes(mask: np.ndarray) -> bool:
    """Whether a mark is drawn with a pen: a stroke of about even width, not a wedge, a
    filled patch or a texture.

    Compares the widest point of the ink (the largest inscribed circle's radius, from the
    distance transform) with the mean stroke width 2 * area / perimeter: a stroke of width
    w has an inscribed radius of about w / 2 (more where strokes cross), so the ratio is
    near 0.5-1; a filled wedge or a blot on a thin line has a much wider point than its mean
    width, and a texture's holes make its perimeter long and its mean width tiny.

    Args:
        mask: uint8 (h, w), the digit's ink non-zero, tightly cropped, at working size.

    Returns:
        False when the mean stroke width is under :data:`MIN_PEN_WIDTH` px or the ratio is
        over :data:`MAX_PEN_WIDEST_RATIO`.
    """
    component = cv2.copyMakeBorder((mask > 0).astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    width = _stroke_width(component)
    if width < MIN_PEN_WIDTH:
        return False
    widest = float(cv2.distanceTransform(component, cv2.DIST_L2, 3).max())
    return widest <= MAX_PEN_WIDEST_RATIO * width


#: A lone thick mark is read as a bold digit only if it fills less of its convex hull than this.
MAX_BOLD_SOLIDITY = 0.8


def _solidity(component: np.ndarray) -> float:
    """Area of a binary (h, w) shape over the area of its convex hull, in (0, 1]."""
    points = cv2.findNonZero(component)
    hull = cv2.contourArea(cv2.convexHull(points)) if points is not None else 0.0
    return float(np.count_nonzero(component)) / max(hull, 1.0)


#: A shape whose holes are darker than this share of the way from its ink to the paper is a
#: filled object seen as an outline (:func:`_is_filled_shape`). Measured on the generated
#: and real photos: filled shapes' holes are at -0.02-0.19, digits' at 0.55 and above, and a
#: blurred 8's narrow holes (still grey with the strokes' blur) at 0.3.
FILLED_HOLE_RATIO = 0.25


def _is_filled_shape(component: np.ndarray, gray_crop: np.ndarray, gray_around: np.ndarray) -> bool:
    """True when the shape's holes are as dark as its strokes: a filled object seen as an outline.

    A large dark object defeats the local background estimate, which then sees only its
    rim; a real 0, 6, 8 or 9 has paper in its holes.
    """
    contours, _ = cv2.findContours(component, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(component)
    cv2.drawContours(filled, contours, -1, 1, thickness=-1)
    holes = (filled > 0) & (component == 0)
    if holes.sum() < 0.15 * filled.sum():
        return False
    ink_level = float(np.median(gray_crop[component > 0]))
    hole_level = float(np.median(gray_crop[holes]))
    paper_level = float(np.percentile(gray_around, 75))
    return hole_level - ink_level < FILLED_HOLE_RATIO * (paper_level - ink_level)


def find_digit_boxes(mask: np.ndarray, ink: np.ndarray, gray: np.ndarray | None = None,
                     components: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None,
                     ) -> tuple[list[_Blob], np.ndarray, np.ndarray]:
    """Find the digits among the connected components of a stroke mask.

    Removes: shadows and folds far fainter than the pen's strokes (:func:`_drop_shadows`),
    specks (small next to the largest mark), regions touching the border that
    are large or span it (paper edges, a table, a finger), filled blobs (thicker than a
    pen stroke; a thick mark stays when it sits on a line of digits, alone or with a pen
    stroke of its own digit above or below it, or when it is the only mark and fills under
    :data:`MAX_BOLD_SOLIDITY` of its convex hull, a bold digit), faint marks, and pieces of
    ruled lines too tilted or broken for :func:`remove_lines` (:func:`_drop_line_remnants`),
    and faint hairlines running in from the border (:func:`_drop_faint_edges`).
    Groups strokes of one digit (overlapping in x, e.g. the bar of a 5, and small pieces
    that are thick only for their size, such as a 6's detached top dot:
    :func:`_pen_pieces`; the pieces of a broken digit, :func:`_join_fragments`; an open 4's
    two strokes side by side at different heights, :func:`_join_offset_strokes`), keeps the
    marks on the main text line, level or tilted (:func:`_main_text_line`), splits wide
    blobs of touching digits, and orders the digits left to right.

    Args:
        mask: uint8 (H, W) in {0, 255}.
        ink: float32 (H, W) in [0, 1], the ink strength.
        gray: uint8 (H, W), the photo, dark ink on light (for the filled-shape check), or None.
        components: ``cv2.connectedComponentsWithStats(mask, connectivity=8)`` if already
            computed, else None.

    Returns:
        ``(blobs, labels, kept_mask)``: digit groups left to right, the int32 label image
        of the components, and uint8 (H, W) of the kept strokes.

    Raises:
        NoDigitFoundError: nothing digit-like remains.
    """
    height, width = mask.shape
    count, labels, stats, _ = components or cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        raise NoDigitFoundError(detail="no marks after thresholding")
    areas = stats[1:, cv2.CC_STAT_AREA]
    image_area = height * width
    coverage = float(areas.sum()) / image_area
    if coverage > 0.15 and np.count_nonzero(areas >= 4) > 250:
        raise NoDigitFoundError(detail=f"noise or texture: {count - 1} marks cover {coverage:.0%}")
    candidates: list[_Blob] = []
    for label in np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= max(20, 0.0001 * image_area)):
        if label == 0:
            continue
        x, y, w, h, area = (int(v) for v in stats[label])
        touches = x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1
        if touches:
            component = labels == label
            contact = _border_contact(component)
            # A paper edge, a table or a finger runs along the border; a digit in a tight
            # crop only touches it where its strokes end or curve.
            centre_x, centre_y = (x + w / 2) / width, (y + h / 2) / height
            near_border = min(centre_x, 1 - centre_x, centre_y, 1 - centre_y) < 0.2
            if contact > 0.35 or (contact > 0.08 and near_border) or (area > 0.35 * image_area and area > 0.5 * w * h):
                continue
            if min(w, h) < 0.25 * max(w, h) and max(w / width, h / height) > 0.5 and contact > 0.1:
                continue  # a long thin border-touching line remnant (grid of a form)
            if max(w / width, h / height) > 0.4 and min(w, h) < 0.25 * max(w, h):
                pen = _stroke_width(component[y:y + h, x:x + w].astype(np.uint8))
                if pen < 0.04 * float(np.hypot(w, h)):
                    continue  # a margin line or a paper edge running in from the border
        candidates.append(_Blob(x, y, w, h, area, [label]))
    if not candidates:
        raise NoDigitFoundError(detail="only specks or border regions")
    strength = {}  # median ink strength of each mark, by id
    for blob in candidates:
        component = labels[blob.y:blob.y2, blob.x:blob.x2] == blob.labels[0]
        strength[id(blob)] = float(np.median(ink[blob.y:blob.y2, blob.x:blob.x2][component]))
    candidates = _drop_shadows(candidates, strength)
    largest = max(blob.area for blob in candidates)
    candidates = [blob for blob in candidates if blob.area >= 0.06 * largest]
    candidates = _drop_line_remnants(candidates, labels, width)
    candidates = _drop_faint_edges(candidates, labels, strength)

    # Thickness and contrast checks on the strong candidates.
    kept: list[_Blob] = []
    thick: list[_Blob] = []
    wide: list[_Blob] = []  # too thick for their own size: filled shapes, or small pieces of a digit
    solidity: dict[int, float] = {}
    inscribed_radius: dict[int, float] = {}
    for blob in candidates:
        component = (labels[blob.y:blob.y2, blob.x:blob.x2] == blob.labels[0]).astype(np.uint8)
        stroke = _stroke_width(component)
        fill = blob.area / float(blob.w * blob.h)
        thin_bar = max(blob.w, blob.h) >= 2.5 * min(blob.w, blob.h)  # a "1" or a bar is solid
        inscribed = float(cv2.distanceTransform(component, cv2.DIST_L2, 3).max())
        inscribed_radius[id(blob)] = inscribed
        if strength[id(blob)] < 0.1:
            continue
        if stroke > 0.38 * max(blob.h, blob.w) and not thin_bar:
            wide.append(blob)
            continue  # a filled blob, not a pen stroke
        if inscribed > THICK_RADIUS_RATIO * max(blob.h, blob.w) and not thin_bar:
            if inscribed <= 0.3 * max(blob.h, blob.w):
                thick.append(blob)  # a marker's closed curl (the loop of a 2), or a filled shape
                solidity[id(blob)] = _solidity(component)
            else:
                wide.append(blob)
            continue  # its widest part is far thicker than any pen: a filled shape
        if fill > 0.75 and not thin_bar and blob.area > 200:
            wide.append(blob)
            continue
        if gray is not None:
            margin = max(4, blob.h // 4)
            around = gray[max(0, blob.y - margin):blob.y2 + margin, max(0, blob.x - margin):blob.x2 + margin]
            if _is_filled_shape(component, gray[blob.y:blob.y2, blob.x:blob.x2], around):
                continue
        kept.append(blob)
    pieces = _pen_pieces(wide + thick, kept, inscribed_radius)
    thick = [blob for blob in thick if blob not in pieces]
    # A thick blob is a digit only when it sits on a line of at least two other digits of its
    # height, thin or thick themselves (a number written with a marker, where every digit
    # may be thick); alone, it is more likely a filled shape. A
    # thick blob that makes one digit with a pen stroke below or above it (the filled top
    # of a bold 5 and its tail) needs one such neighbour.
    alone = not kept
    line_height = max((blob.h for blob in kept), default=0)
    for blob in thick:
        # As for the pieces of a broken digit (:func:`_join_fragments`), the gap may be up to
        # 35 % of the line's height.
        partner = _stacked_partner(blob, kept, 0.35 * line_height)
        if partner is not None and blob.merge(partner).h > 1.2 * line_height:
            partner = None
        unit = blob.merge(partner) if partner is not None else blob
        neighbours = sum(
            1 for other in kept + thick
            if other is not partner and other is not blob
            and 0.6 * unit.h <= other.h <= 1.6 * unit.h
            and min(other.y2, unit.y2) - max(other.y, unit.y) > 0.5 * min(other.h, unit.h)
        )
        # Alone, a bold digit (a marker's, or a heavy pen's) still has the bays and holes of
        # its strokes: it fills much less of its convex hull than a blob does.
        if neighbours >= (1 if partner is not None else 2) or (alone and solidity[id(blob)] < MAX_BOLD_SOLIDITY):
            kept.append(blob)
    if not kept:
        raise NoDigitFoundError(detail="marks are blobs or too faint")

    # Group strokes of one digit: strong overlap in x.
    kept.sort(key=lambda blob: blob.x)
    groups: list[_Blob] = []
    for blob in sorted(kept, key=lambda b: -b.area):
        for index, group in enumerate(groups):
            overlap = min(group.x2, blob.x2) - max(group.x, blob.x)
            vertical_gap = max(group.y, blob.y) - min(group.y2, blob.y2)
            if overlap >= 0.5 * min(group.w, blob.w) and vertical_gap < 0.5 * max(group.h, blob.h):
                groups[index] = group.merge(blob)
                break
        else:
            groups.append(blob)
    for piece in pieces:
        # A piece joins the digit it lies above or below; a dot beside the digits stays out.
        group = _stacked_partner(piece, groups)
        if group is not None and group.h > piece.h:
            groups = [other for other in groups if other is not group] + [group.merge(piece)]
    groups = _join_offset_strokes(_join_fragments(groups))

    tallest = max(groups, key=lambda group: group.h)
    line = _main_text_line(groups)
    # Small marks on the line are kept only if they are digit-sized ("1" is narrow but tall).
    line = [group for group in line if group.h >= 0.5 * tallest.h or group.area >= 0.15 * tallest.area]
    # A digit is one stroke or a few (a broken 4, a 5's bar); a cloud of specks is texture.
    line = [group for group in line if len(group.labels) <= 5]
    if not line:
        raise NoDigitFoundError(detail="only clouds of specks")
    if len(line) > MAX_DIGITS:
        raise NoDigitFoundError(detail=f"{len(line)} marks: texture, not a number")
    tallest = max(line, key=lambda group: group.h)
    if tallest.h < max(12, 0.045 * min(height, width)):
        raise NoDigitFoundError(detail="marks too small")
    line.sort(key=lambda group: group.x)

    kept_mask = np.zeros_like(mask)
    for group in line:
        for label in group.labels:
            region = labels[group.y:group.y2, group.x:group.x2] == label
            kept_mask[group.y:group.y2, group.x:group.x2][region] = 255
    median_height = float(np.median([group.h for group in line]))
    split: list[_Blob] = []
    for group in line:
        # The width of a digit on this line: the median of the other marks that are not
        # narrow like a 1 (touching digits are judged against their neighbours).
        others = [other.w for other in line if other is not group and other.w >= 0.45 * other.h]
        digit_width = float(np.median(others)) if others else None
        split.extend(_split_touching(group, kept_mask, median_height, digit_width))
    return split, labels, kept_mask


def _main_text_line(groups: list[_Blob]) -> list[_Blob]:
    """The marks on the main text line: those that stand beside the tallest mark.

    A mark belongs to the line when it is at least 40 % as tall as the tallest mark and
    overlaps vertically (by over 30 % of the smaller height) either the tallest mark or its
    neighbour on the line, the nearest mark already taken on that side. Walking outwards
    from the tallest mark this way follows a line that is tilted or drifts uphill: a number
    photographed 8 degrees off level rises by more than a digit's height over ten digits,
    yet each digit still overlaps the one next to it.

    Args:
        groups: the digit candidates, at least one.

    Returns:
        The marks on the line, in no particular order.
    """
    tallest = max(groups, key=lambda group: group.h)

    def overlaps(a: _Blob, b: _Blob) -> bool:
        return min(a.y2, b.y2) - max(a.y, b.y) > 0.3 * min(a.h, b.h)

    def centre(group: _Blob) -> float:
        return group.x + group.w / 2

    line = [tallest]
    eligible = [group for group in groups if group is not tallest and group.h >= 0.4 * tallest.h]
    for side in (1, -1):
        neighbour = tallest
        this_side = [group for group in eligible
                     if (centre(group) >= centre(tallest) if side == 1 else centre(group) < centre(tallest))]
        for group in sorted(this_side, key=lambda group: side * centre(group)):
            if overlaps(group, tallest) or overlaps(group, neighbour):
                line.append(group)
                neighbour = group
    return line


def _stacked_partner(blob: _Blob, marks: list[_Blob], max_gap: float | None = None) -> _Blob | None:
    """The largest mark of ``marks`` that ``blob`` lies above or below as a stroke of the same
    digit: they overlap in x by half the narrower one's width, and the vertical gap between
    them is under ``max_gap`` pixels (default: half the taller one's height, the rule strokes
    are grouped by). None if there is none."""
    partners = [
        other for other in marks
        if other is not blob
        and min(other.x2, blob.x2) - max(other.x, blob.x) >= 0.5 * min(other.w, blob.w)
        and max(other.y, blob.y) - min(other.y2, blob.y2)
        < (0.5 * max(other.h, blob.h) if max_gap is None else max_gap)
    ]
    return max(partners, key=lambda other: other.area) if partners else None


def _pen_pieces(wide: list[_Blob], kept: list[_Blob], inscribed: dict[int, float]) -> list[_Blob]:
    """The small marks, rejected as too thick for their own size, that may be pieces of a
    digit: a 6's detached top dot, the hook of a 3 broken off where the pen ran light.

    Such a piece is thick for its size only because it is short: its widest point is no
    wider than the pen's (inscribed radius at most 1.25 times the median of the pen-stroke
    marks'), and it is under half as tall and wide as the tallest pen-stroke mark. It joins
    a digit only if it lies above or below it (see :func:`find_digit_boxes`).

    Args:
        wide: marks rejected as thick or filled.
        kept: the pen-stroke marks.
        inscribed: inscribed-circle radius in pixels of every mark, by ``id``.
    """
    if not wide or not kept:
        return []
    pen = float(np.median([inscribed[id(blob)] for blob in kept]))
    tallest = max(blob.h for blob in kept)
    return [blob for blob in wide
            if max(blob.w, blob.h) <= 0.5 * tallest and inscribed[id(blob)] <= 1.25 * pen]

#: A mark whose median ink strength is under this fraction of the strongest digit-sized
#: mark's is a shadow or a fold in the paper, not a pen's stroke (:func:`_drop_shadows`).
#: Measured: fold shadows on crumpled paper reach 0.16-0.17 beside a pen's 0.51.
SHADOW_STRENGTH = 0.4


def _drop_shadows(candidates: list[_Blob], strength: dict[int, float]) -> list[_Blob]:
    """Drop shadows and folds in the paper: marks far fainter than the pen's strokes.

    A fold's shadow thresholds into a large, soft region that passes the hysteresis
    threshold at a few darker pixels; next to it a small digit would be dropped as a speck.
    The digits of one number are written with one pen, so a mark whose median ink strength
    is under :data:`SHADOW_STRENGTH` times that of the strongest digit-sized mark (at least
    40 % as tall as the tallest mark, so a dark speck of dirt does not set the bar) goes.

    Args:
        candidates: the marks.
        strength: each mark's median ink strength in [0, 1], by ``id``.

    Returns:
        The marks kept, in their order.
    """
    if len(candidates) < 2:
        return candidates
    tallest = max(blob.h for blob in candidates)
    reference = max(strength[id(blob)] for blob in candidates if blob.h >= 0.4 * tallest)
    return [blob for blob in candidates if strength[id(blob)] >= SHADOW_STRENGTH * reference]


def _drop_faint_edges(candidates: list[_Blob], labels: np.ndarray, strength: dict[int, float]) -> list[_Blob]:
    """Drop the faint hairlines that run in from the image border: a paper edge, a fold or
    the shadow of a page's edge, too short along the border to be removed as a border region.

    Such a mark touches the border (within 1 px) and is drawn both far thinner (mean stroke
    width under half) and far fainter (median ink strength under 60 %) than the median of
    the other marks: the digits of one number are written with one pen. ``strength`` holds
    each mark's median ink strength, by ``id``, as :func:`find_digit_boxes` measured it.
    """
    height, width = labels.shape
    touching = [blob for blob in candidates
                if blob.x <= 1 or blob.y <= 1 or blob.x2 >= width - 1 or blob.y2 >= height - 1]
    if not touching or len(touching) == len(candidates):
        return candidates

    def stroke(blob: _Blob) -> float:
        return _stroke_width((labels[blob.y:blob.y2, blob.x:blob.x2] == blob.labels[0]).astype(np.uint8))

    others = [blob for blob in candidates if blob not in touching]
    pen = float(np.median([stroke(blob) for blob in others]))
    typical = float(np.median([strength[id(blob)] for blob in others]))
    dropped = [blob for blob in touching if stroke(blob) < 0.5 * pen and strength[id(blob)] < 0.6 * typical]
    return [blob for blob in candidates if blob not in dropped]


def _drop_line_remnants(candidates: list[_Blob], labels: np.ndarray, image_width: int) -> list[_Blob]:
    """Drop what is left of a ruled line too tilted or broken to be removed as a line.

    A remnant is a flat mark (at least 5 times as wide as tall, a fifth of the image wide)
    drawn thinner than the digit-shaped marks (under 3 times as wide as tall; mean stroke
    width under 60 % of theirs) that runs on beyond them, left or right, for a quarter of
    its length: handwriting does not.
    """
    flat = [blob for blob in candidates if blob.w >= 5 * blob.h and blob.w >= 0.2 * image_width]
    if not flat or len(flat) == len(candidates):
        return candidates
    others = [blob for blob in candidates if blob.w < 3 * blob.h]  # digit-shaped marks
    if not others:
        return candidates
    pen = float(np.median([_stroke_width((labels[b.y:b.y2, b.x:b.x2] == b.labels[0]).astype(np.uint8))
                           for b in others]))
    left, right = min(b.x for b in others), max(b.x2 for b in others)
    dropped = []
    for blob in flat:
        stroke = _stroke_width((labels[blob.y:blob.y2, blob.x:blob.x2] == blob.labels[0]).astype(np.uint8))
        beyond = max(left - blob.x, blob.x2 - right)
        if stroke < 0.6 * pen and beyond >= 0.25 * blob.w:
            dropped.append(blob)
    return [blob for blob in candidates if blob not in dropped]


def _join_fragments(groups: list[_Blob]) -> list[_Blob]:
    """Join the pieces of a digit whose stroke broke where the pen ran light.

    A fragment is a group under 60 % of the tallest group's height; it joins the nearest
    other group (box to box) when the gap is under 35 % of that height and together they
    are no taller than 1.2 and no wider than 0.9 times it, the size of one digit. Smallest
    fragments first, until nothing changes.
    """
    if len(groups) < 2:
        return groups
    tallest = max(group.h for group in groups)
    groups = list(groups)
    changed = True
    while changed and len(groups) > 1:
        changed = False
        for fragment in sorted((g for g in groups if g.h < 0.6 * tallest), key=lambda g: g.area):
            best, best_gap = None, 0.35 * tallest
            for other in groups:
                if other is fragment:
                    continue
                gap_x = max(0, max(other.x, fragment.x) - min(other.x2, fragment.x2))
                gap_y = max(0, max(other.y, fragment.y) - min(other.y2, fragment.y2))
                gap = float(np.hypot(gap_x, gap_y))
                merged = other.merge(fragment)
                if gap < best_gap and merged.h <= 1.2 * tallest and merged.w <= 0.9 * tallest:
                    best, best_gap = other, gap
            if best is not None:
                groups = [g for g in groups if g is not fragment and g is not best] + [best.merge(fragment)]
                changed = True
                break
    return groups


def _join_offset_strokes(groups: list[_Blob]) -> list[_Blob]:
    """Join two strokes of one digit that sit side by side but at different heights: the
    open 4 written in two strokes that do not meet (an "L"-shaped hook high on the left, the
    stem reaching far lower on the right).

    Neighbours in x are joined when both are at least 60 % of the tallest group's height,
    their boxes meet or nearly do (gap at most 10 % of the joined height), together they are
    the shape of one digit (no wider than 0.9 times their joined height, at most 1.5 times
    the tallest group's height) and their bottoms differ by at least 30 % of the joined
    height. Digits of a number stand on one line, so their bottoms agree far more closely.
    """
    if len(groups) < 2:
        return groups
    tallest = max(group.h for group in groups)
    groups = sorted(groups, key=lambda group: group.x)
    index = 0
    while index < len(groups) - 1:
        left, right = groups[index], groups[index + 1]
        joined = left.merge(right)
        if (min(left.h, right.h) >= 0.6 * tallest and right.x - left.x2 <= 0.1 * joined.h
                and joined.w <= 0.9 * joined.h and joined.h <= 1.5 * tallest
                and abs(left.y2 - right.y2) >= 0.3 * joined.h):
            groups[index:index + 2] = [joined]
        else:
            index += 1
    return groups


def _split_touching(group: _Blob, mask: np.ndarray, line_height: float,
                    digit_width: float | None = None) -> list[_Blob]:
    """Split a blob that is much wider than a digit at the valleys of its column profile.

    A blob is a candidate when it is 1.6 times as wide as the line is tall, or, next to
    other digits, 1.35 times as wide as the line is tall and 1.6 times as wide as they are
    (``digit_width``, pixels); it is cut into as many digits as those widths suggest, at
    column-profile minima that are narrow necks (at most 60 % of the typical column). A cut
    that leaves a part under half the blob's height is undone: that part is a stroke's tail.
    """
    aspect = group.w / max(1.0, min(group.h, line_height * 1.15))
    parts = int(round(aspect / 0.85))
    if digit_width and aspect >= 1.35 and group.w >= 1.6 * digit_width:
        parts = max(parts, int(round(group.w / digit_width)))
    elif aspect < 1.6:
        return [group]
    if parts < 2:
        return [group]
    crop = mask[group.y:group.y2, group.x:group.x2] > 0
    profile = cv2.GaussianBlur(crop.sum(axis=0).astype(np.float32)[None, :], (0, 0), max(1.0, group.w / 80))[0]
    typical = float(np.median(profile[profile > 0])) if (profile > 0).any() else 0.0
    cuts = []
    for index in range(1, parts):
        center = index * group.w / parts
        low, high = int(center - 0.3 * group.w / parts), int(center + 0.3 * group.w / parts)
        low, high = max(1, low), min(group.w - 1, max(high, low + 1))
        cut = low + int(np.argmin(profile[low:high]))
        # Touching digits meet in a narrow neck; a wide single digit (a flat 2) has no such valley.
        if profile[cut] <= 0.6 * typical:
            cuts.append(cut)

    def part(left: int, right: int) -> _Blob | None:
        columns = crop[:, left:right]
        rows = np.flatnonzero(columns.any(axis=1))
        if rows.size == 0 or right - left < 2:
            return None
        return _Blob(group.x + left, group.y + int(rows[0]), right - left, int(rows[-1] - rows[0] + 1),
                     int(columns.sum()), group.labels)

    edges = [0, *cuts, group.w]
    while True:
        parts = [part(left, right) for left, right in zip(edges[:-1], edges[1:])]
        heights = [piece.h if piece is not None else group.h for piece in parts]
        flat = int(np.argmin(heights))
        # Every digit is at least half as tall as the blob; a flatter part is a stroke's tail
        # (the long base of a 2 running off to the right), not a digit: undo the cut beside it.
        if len(parts) < 2 or heights[flat] >= 0.5 * group.h:
            break
        del edges[flat + 1 if flat < len(parts) - 1 else flat]
    result = [piece for piece in parts if piece is not None]
    return result or [group]


#: Smallest tilt of a text line, in degrees, for which :func:`segment_photo` turns the digits
#: upright; below it the estimate is within the noise of where a hand puts each digit's foot.
MIN_TILT = 1.0
#: Largest tilt it corrects; a steeper "line" is more likely marks that are not one line.
MAX_TILT = 15.0


def text_line_tilt(blobs: list[_Blob]) -> float:
    """How far the line of digits is tilted, in degrees: the Theil-Sen estimate (Theil 1950;
    Sen 1968) of the slope of their baseline, the median of the slopes between every pair of
    digits' box bottoms, which one digit sitting a little high or low does not sway. (Box
    centres move with the digits' heights, which vary by 15 % or more in one hand.)

    A photo taken with the phone turned, or a number written uphill, tilts the digits with
    their line; MNIST's digits stand upright, and a few degrees can turn an open 3 into an 8.

    Args:
        blobs: the digits, at least 3 for an estimate (two boxes' bottoms are too noisy).

    Returns:
        The angle in degrees (negative when the line rises to the right, in image
        coordinates where y grows downwards), or 0.0 when fewer than 3 digits, under
        :data:`MIN_TILT` or over :data:`MAX_TILT`.
    """
    if len(blobs) < 3:
        return 0.0
    x = np.array([blob.x + blob.w / 2 for blob in blobs])
    y = np.array([blob.y2 for blob in blobs])
    first, second = np.triu_indices(len(blobs), k=1)
    apart = x[second] != x[first]
    if not apart.any():
        return 0.0
    slope = float(np.median((y[second] - y[first])[apart] / (x[second] - x[first])[apart]))
    angle = float(np.degrees(np.arctan(slope)))
    return angle if MIN_TILT <= abs(angle) <= MAX_TILT else 0.0


def rotate_mask(mask: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate a binary mask about its centre, counter-clockwise as seen for positive
    ``degrees`` (``cv2.getRotationMatrix2D``), on a canvas grown so nothing is cut off.

    Args:
        mask: uint8 (h, w) in {0, 255}.
        degrees: the angle; :func:`text_line_tilt`'s value turns a digit on that line upright.

    Returns:
        uint8 (h', w') in {0, 255}, bilinear then thresholded at half.
    """
    height, width = mask.shape
    radians = np.radians(abs(degrees))
    grown_width = int(np.ceil(width * np.cos(radians) + height * np.sin(radians))) + 2
    grown_height = int(np.ceil(width * np.sin(radians) + height * np.cos(radians))) + 2
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    matrix[0, 2] += (grown_width - width) / 2
    matrix[1, 2] += (grown_height - height) / 2
    rotated = cv2.warpAffine(mask, matrix, (grown_width, grown_height), flags=cv2.INTER_LINEAR, borderValue=0)
    return cv2.compare(rotated, 127, cv2.CMP_GT)


# --------------------------------------------------------------------------------------------
# 6. MNIST-style normalisation


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


# --------------------------------------------------------------------------------------------
# The whole chain


def segment_photo(gray: np.ndarray) -> Segmentation:
    """Find and normalise every digit in a grayscale photo.

    Args:
        gray: uint8 (H, W), any polarity, as from :func:`decode_image`.

    Returns:
        A :class:`Segmentation` with at least one digit image.

    Raises:
        ImageTooSmallError: a side under :data:`MIN_SIDE`.
        NoDigitFoundError: blank, noise, or nothing digit-like.
    """
    if min(gray.shape) < MIN_SIDE:
        raise ImageTooSmallError(detail=f"{gray.shape[1]}x{gray.shape[0]}")
    work, scale = to_working_size(gray)
    ink, inverted = ink_map(work)
    shown = 255 - work if inverted else work
    mask, components = _hysteresis(ink)
    if not mask.any():
        raise NoDigitFoundError(detail="blank: no ink above threshold")
    without_border = remove_border_regions(mask, components)
    mask = remove_lines(without_border, _faint_ink(components, mask, without_border), ink)
    if not mask.any():
        raise NoDigitFoundError(detail="only a region along the border (a table or a finger)")
    components = cv2.connectedComponentsWithStats(mask, connectivity=8)
    sharpened = sharpen_thick_marks(mask, ink, components)
    blobs, labels, kept = find_digit_boxes(sharpened, ink, shown, components if sharpened is mask else None)
    images, boxes, working_boxes, pen_like = [], [], [], []
    tilt = text_line_tilt(blobs)
    for blob in blobs:
        # Only the digit's own strokes: a neighbour's may reach into its box (a tilted line).
        crop = np.where(np.isin(labels[blob.y:blob.y2, blob.x:blob.x2], blob.labels), 255, 0).astype(np.uint8)
        images.append(normalize_digit(rotate_mask(crop, tilt) if tilt else crop))
        pen_like.append(looks_like_pen_strokes(crop))
        working_boxes.append((blob.x, blob.y, blob.w, blob.h))
        boxes.append((int(blob.x / scale), int(blob.y / scale), max(1, int(round(blob.w / scale))),
                      max(1, int(round(blob.h / scale)))))
    return Segmentation(
        gray=shown, ink=ink, mask=kept, boxes=boxes, working_boxes=working_boxes,
        digit_images=np.stack(images).astype(np.float32), scale=scale, inverted=inverted, pen_like=pen_like,
        tilt=tilt,
    )


def preprocess_bytes(data: bytes) -> Segmentation:
    """Decode and segment photo bytes: :func:`decode_image` then :func:`segment_photo`."""
    return segment_photo(decode_image(data))
