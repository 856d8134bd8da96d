"""Take what is not writing out of the stroke mask: solid regions along the border, and ruled, grid and
underlines (giving back the strokes drawn along them)."""

from __future__ import annotations

import cv2
import numpy as np

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
        # Let slightly tilted lines join up before measuring their extent (which the join
        # widens by join - 1 px: not counted below, so a line's extent is its own).
        join = 5
        joined = cv2.dilate(runs, cv2.getStructuringElement(cv2.MORPH_RECT, (1, join) if axis == 0 else (join, 1)))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        along = cv2.CC_STAT_WIDTH if axis == 0 else cv2.CC_STAT_HEIGHT
        across_image = cv2.CC_STAT_HEIGHT if axis == 0 else cv2.CC_STAT_WIDTH
        run_pixels = np.bincount(labels[runs > 0].ravel(), minlength=count)
        line_labels = [
            label for label in range(1, count)
            if stats[label, along] >= 0.7 * length
            and stats[label, across_image] - (join - 1) <= 0.12 * (height if axis == 0 else width)
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
