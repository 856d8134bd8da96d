"""Stroke mask to digits (marks filtered, grouped, split and ordered along the text line, turned
upright), and the whole chain from a photo to its :class:`Segmentation`."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from core.config import IMAGE_SIZE
from core.errors import ImageTooSmallError, NoDigitFoundError
from core.preprocessing.decode import MIN_SIDE, decode_image, to_working_size
from core.preprocessing.ink import (
    STRONG_FLOOR,
    THICK_RADIUS_RATIO,
    _hysteresis,
    faint_floor,
    ink_map,
    sharpen_thick_marks,
)
from core.preprocessing.lines import _faint_ink, remove_border_regions, remove_lines
from core.preprocessing.normalisation import _stroke_width, normalize_digit

#: Most digits we read from one photo; more marks than this is texture, not a number.
MAX_DIGITS = 16

#: Working-size pixels the tallest mark of the line must reach (and 4.5 % of the photo's short
#: side): smaller is a speck. Register cells are scanned about this small: a "0" or "10" in a
#: cell 320 px tall at working size is 8-11 px tall (12 here read 3 / 1 fewer benchmarks.real_numbers
#: register cells, tune / check; the other real sets and the synth_v1 negatives were unchanged).
MIN_DIGIT_HEIGHT = 8


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
        crops: per digit, uint8 (h, w) in {0, 255}: its own strokes inside its working box,
            before turning upright (what :mod:`core.preprocessing.hypotheses` re-cuts).
        notes: what recognition decided about the marks, in words for "What I saw" (e.g.
            "a mark cut into 3 digits by recognition"); empty when it changed nothing.
        anchor: the connected-component label (in the photo's stroke mask, the same on
            every run) of the stroke the text line was found from: the tallest stroke of
            the tallest mark. When recognition rejects the line, :func:`segment_photo`
            with ``exclude`` leaves it out and finds the next line. 0 when unknown.
        leftovers: strokes left off the text line that touch a digit's column just above or
            below it (:func:`_leftover_strokes`: a 5's bar lifted from its body, a 7's
            crossbar): per stroke its working box ``(x, y, w, h)`` and uint8 (h, w) mask in
            {0, 255}, for recognition to join to a digit or leave out
            (:func:`core.preprocessing.hypotheses.join_leftovers`).
        border_marks: working boxes ``(x, y, w, h)`` of marks left out because they touch the
            photo's border, that stand on the text line and are as tall as its digits
            (:func:`_border_marks`: digits joined to the box's frame or to a textured
            background that runs out of the crop). No digit is made of them; the number
            reader reads over them, and its reading is weighed against the per-digit one.
        other_lines: working boxes ``(x, y, w, h)`` of further lines of digit-sized marks
            above or below the text line (:func:`_other_lines`), top to bottom: writing that
            is not read. Empty when the photo holds one line.
        lone_marks: working boxes ``(x, y, w, h)`` of the digit-sized marks off the text line
            that make no such line, each alone on its own (:func:`_other_lines`), top to
            bottom: read only when the number readers read nothing in the line given.
        strokes: the connected-component labels (as :attr:`anchor`'s) of every stroke of the
            text line's marks: ``exclude`` them to look past the whole line.
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
    crops: list[np.ndarray] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    anchor: int = 0
    leftovers: tuple[tuple[tuple[int, int, int, int], np.ndarray], ...] = ()
    border_marks: tuple[tuple[int, int, int, int], ...] = ()
    other_lines: tuple[tuple[int, int, int, int], ...] = ()
    lone_marks: tuple[tuple[int, int, int, int], ...] = ()
    strokes: frozenset[int] = frozenset()


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

    def sides_at_border(self, height: int, width: int) -> tuple[bool, bool, bool, bool]:
        """Whether the box reaches (within 1 px) the top, bottom, left and right border of a
        ``height`` x ``width`` image."""
        return self.y <= 1, self.y2 >= height - 1, self.x <= 1, self.x2 >= width - 1

    def merge(self, other: "_Blob") -> "_Blob":
        x, y = min(self.x, other.x), min(self.y, other.y)
        return _Blob(x, y, max(self.x2, other.x2) - x, max(self.y2, other.y2) - y,
                     self.area + other.area, self.labels + other.labels)


#: A mark near the border that touches it along more than this share of its own height or
#: width is taken for a rule or an edge cut off by the crop (:func:`_border_contact` with its
#: own extent): a digit in a tight crop touches it only where a stroke ends or curves.
#: Before, every mark near the border touching it along more than 8 % of the image's side
#: was dropped, which dropped the first or last digit of tightly cropped numbers (cheques).
#: benchmarks.real_numbers read whole, tune / check: cheques 58.0 / 61.1 -> 60.5 / 64.7 %
#: (0.35: 60.1 / 64.2); ledger 79.4 / 81.0 and real singles unchanged. Dropping the 8 % rule
#: for 25 % of the image's side instead read cheques 60.6 / 64.9 but lost register cells
#: (79.1 / 80.7) to the cut-off ends of their rules.
OWN_BORDER_CONTACT = 0.5


def _border_contact(component: np.ndarray, extent: tuple[int, int] | None = None) -> float:
    """The largest share of one image side that a boolean (H, W) region runs along (its outermost 2 px).

    With ``extent = (width, height)``, the region's own bounding box in pixels, the share is of
    its own width (top, bottom) or height (left, right) instead of the image's."""
    width, height = extent if extent is not None else component.shape[::-1]
    return max(
        np.count_nonzero(component[:2].any(axis=0)) / width,
        np.count_nonzero(component[-2:].any(axis=0)) / width,
        np.count_nonzero(component[:, :2].any(axis=1)) / height,
        np.count_nonzero(component[:, -2:].any(axis=1)) / height,
    )


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


def _is_filled_shape(component: np.ndarray, gray_crop: np.ndarray, gray_around: np.ndarray,
                     at_border: tuple[bool, bool, bool, bool] = (False, False, False, False)) -> bool:
    """True when the shape's holes are as dark as its strokes: a filled object seen as an outline.

    A large dark object defeats the local background estimate, which then sees only its
    rim; a real 0, 6, 8 or 9 has paper in its holes. ``at_border``: which sides of the
    crop (top, bottom, left, right) lie on the photo's border. An object cut by the border
    (a finger, a pen's cap) has a rim open where it leaves the photo: that side is closed
    along the border, between the first and last of the rim's pixels there, before its
    holes are found.
    """
    closed = component
    if any(at_border):
        closed = component.copy()
        # Views of the outermost 2 rows (columns, transposed) on each side: writing to them
        # closes the rim in ``closed``.
        for side, edge in zip(at_border, (closed[:2], closed[-2:], closed[:, :2].T, closed[:, -2:].T)):
            touching = np.flatnonzero(edge.any(axis=0)) if side else ()
            if len(touching) >= 2:
                edge[:, touching[0]:touching[-1] + 1] = 1
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(component)
    cv2.drawContours(filled, contours, -1, 1, thickness=-1)
    holes = (filled > 0) & (closed == 0)
    if holes.sum() < 0.15 * filled.sum():
        return False
    ink_level = float(np.median(gray_crop[component > 0]))
    hole_level = float(np.median(gray_crop[holes]))
    paper_level = float(np.percentile(gray_around, 75))
    return hole_level - ink_level < FILLED_HOLE_RATIO * (paper_level - ink_level)


def find_digit_boxes(mask: np.ndarray, ink: np.ndarray, gray: np.ndarray | None = None,
                     components: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None,
                     exclude: frozenset[int] = frozenset(),
                     ) -> tuple[list[_Blob], np.ndarray, np.ndarray]:
    """Find the digits among the connected components of a stroke mask.

    Removes: shadows and folds far fainter than the pen's strokes (:func:`_drop_shadows`),
    specks (small next to the largest mark), regions touching the border that
    are large or span it (paper edges, a table, a finger), filled blobs (thicker than a
    pen stroke; a thick mark stays when it sits on a line of digits, alone or with a pen
    stroke of its own digit above or below it, or when it is the only mark and fills under
    :data:`MAX_BOLD_SOLIDITY` of its convex hull, a bold digit), faint marks, and pieces of
    ruled lines too tilted or broken for :func:`remove_lines` (:func:`_drop_line_remnants`,
    :func:`_drop_broken_vertical_rules`),
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
        exclude: component labels to leave out (strokes recognition rejected).

    Returns:
        ``(blobs, labels, kept_mask)``: digit groups left to right, the int32 label image
        of the components, and uint8 (H, W) of the kept strokes.

    Raises:
        NoDigitFoundError: nothing digit-like remains.
    """
    blobs, labels, kept, *_ = _digit_groups(mask, ink, gray, components, exclude)
    return blobs, labels, kept


def _digit_groups(mask: np.ndarray, ink: np.ndarray, gray: np.ndarray | None = None,
                  components: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None,
                  exclude: frozenset[int] = frozenset(), keep_border: bool = False,
                  line_through: tuple[int, int, int, int] | None = None,
                  ) -> tuple[list[_Blob], np.ndarray, np.ndarray, list[_Blob], list[_Blob], list[_Blob],
                             list[_Blob]]:
    """:func:`find_digit_boxes`, and also the strokes it left off the line beside a digit
    (:func:`_leftover_strokes`), the border-touching marks on the line (:func:`_border_marks`)
    and the further lines of writing (:func:`_other_lines`):
    ``(blobs, labels, kept_mask, leftovers, border_marks, other_lines, lone_marks)``.
    ``keep_border``: the marks that touch the border along much of a side are candidates too
    (see :func:`segment_photo`).
    ``line_through``: the text line is the one through the tallest mark inside this working box
    ``(x, y, w, h)`` (see :func:`segment_photo`), not the photo's tallest."""
    height, width = mask.shape
    count, labels, stats, _ = components or cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        raise NoDigitFoundError(detail="no marks after thresholding", reason="blank")
    areas = stats[1:, cv2.CC_STAT_AREA]
    image_area = height * width
    coverage = float(areas.sum()) / image_area
    if coverage > 0.15 and np.count_nonzero(areas >= 4) > 250:
        raise NoDigitFoundError(detail=f"noise or texture: {count - 1} marks cover {coverage:.0%}",
                                reason="texture")
    candidates: list[_Blob] = []
    at_border: list[_Blob] = []
    for label in np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= max(20, 0.0001 * image_area)):
        if label == 0 or int(label) in exclude:
            continue
        x, y, w, h, area = (int(v) for v in stats[label])
        touches = x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1
        if touches:
            component = labels == label
            contact = _border_contact(component)
            # A paper edge, a table, a finger or a cut-off rule runs along the border; a digit
            # in a tight crop only touches it where its strokes end or curve.
            centre_x, centre_y = (x + w / 2) / width, (y + h / 2) / height
            near_border = min(centre_x, 1 - centre_x, centre_y, 1 - centre_y) < 0.2
            along_border = (contact > 0.08 and near_border
                            and _border_contact(component, (w, h)) > OWN_BORDER_CONTACT)
            if contact > 0.35 or along_border or (area > 0.35 * image_area and area > 0.5 * w * h):
                if not keep_border:  # kept, they are candidates, not marks left out
                    at_border.append(_Blob(x, y, w, h, area, [label]))
                    continue
            if min(w, h) < 0.25 * max(w, h) and max(w / width, h / height) > 0.5 and contact > 0.1:
                continue  # a long thin border-touching line remnant (grid of a form)
            if max(w / width, h / height) > 0.4 and min(w, h) < 0.25 * max(w, h):
                pen = _stroke_width(component[y:y + h, x:x + w].astype(np.uint8))
                if pen < 0.04 * float(np.hypot(w, h)):
                    continue  # a margin line or a paper edge running in from the border
        candidates.append(_Blob(x, y, w, h, area, [label]))
    if not candidates:
        raise NoDigitFoundError(detail="only specks or border regions", reason="border")
    strength = {}  # median ink strength of each mark, by id
    for blob in candidates:
        component = labels[blob.y:blob.y2, blob.x:blob.x2] == blob.labels[0]
        strength[id(blob)] = float(np.median(ink[blob.y:blob.y2, blob.x:blob.x2][component]))
    candidates = _drop_shadows(candidates, strength)
    largest = max(blob.area for blob in candidates)
    candidates = [blob for blob in candidates if blob.area >= 0.06 * largest]
    candidates = _drop_line_remnants(candidates, labels, width)
    candidates = _drop_broken_vertical_rules(candidates, height)
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
            if _is_filled_shape(component, gray[blob.y:blob.y2, blob.x:blob.x2], around,
                                blob.sides_at_border(height, width)):
                continue
        kept.append(blob)
    pieces = _pen_pieces(wide + thick, kept, inscribed_radius)
    thick = [blob for blob in thick if blob not in pieces]
    if not any(blob.w < 3 * blob.h for blob in kept):
        # No digit-shaped pen stroke at all: small digits written with a pen too broad for
        # their size (a register's 0 a few pen widths across) look filled. Judge those
        # marks as bold ones, below; the classifier then reads them only when it is sure
        # (they are not pen-like, :func:`looks_like_pen_strokes`).
        for blob in wide:
            component = (labels[blob.y:blob.y2, blob.x:blob.x2] == blob.labels[0]).astype(np.uint8)
            margin = max(4, blob.h // 4)
            around = None if gray is None else \
                gray[max(0, blob.y - margin):blob.y2 + margin, max(0, blob.x - margin):blob.x2 + margin]
            if blob in pieces or (gray is not None and _is_filled_shape(
                    component, gray[blob.y:blob.y2, blob.x:blob.x2], around, blob.sides_at_border(height, width))):
                continue
            thick.append(blob)
            solidity[id(blob)] = _solidity(component)
    # A thick blob is a digit only when it sits on a line of at least two other digits of its
    # height, thin or thick themselves (a number written with a marker, where every digit
    # may be thick); alone, it is more likely a filled shape. A
    # thick blob that makes one digit with a pen stroke below or above it (the filled top
    # of a bold 5 and its tail) needs one such neighbour.
    alone = not any(blob.w < 3 * blob.h for blob in kept)
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
        raise NoDigitFoundError(detail="marks are blobs or too faint", reason="faint")

    # Group strokes of one digit: strong overlap in x. A flat stroke wider than two digits
    # (an underline, a rule's remnant) is no digit's stroke: grouped by x-overlap it would
    # join every digit above it into one mark.
    kept.sort(key=lambda blob: blob.x)
    upright_widths = [blob.w for blob in kept if blob.w < 3 * blob.h]
    digit_width = float(np.median(upright_widths)) if upright_widths else float("inf")

    def spans_digits(blob: _Blob) -> bool:
        return blob.w >= 4 * blob.h and blob.w > 2 * digit_width

    groups: list[_Blob] = []
    for blob in sorted(kept, key=lambda b: -b.area):
        for index, group in enumerate(groups):
            if spans_digits(blob) or spans_digits(group):
                continue
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

    if line_through is not None:
        inside = [group for group in groups if _inside(group, line_through)]
        if not inside:
            raise NoDigitFoundError(detail="no mark in the line asked for (line_through)")
        line = _main_text_line(groups, anchor=max(inside, key=lambda group: group.h))
    else:
        line = _main_text_line(groups)
    tallest = max(line, key=lambda group: group.h)  # the line's anchor
    # Small marks on the line are kept only if they are digit-sized ("1" is narrow but tall).
    line = [group for group in line if group.h >= 0.5 * tallest.h or group.area >= 0.15 * tallest.area]
    # A digit is one stroke or a few (a broken 4, a 5's bar); a cloud of specks is texture.
    line = [group for group in line if len(group.labels) <= 5]
    if not line:
        raise NoDigitFoundError(detail="only clouds of specks", reason="texture")
    if len(line) > MAX_DIGITS:
        raise NoDigitFoundError(detail=f"{len(line)} marks: texture, not a number", reason="texture")
    tallest = max(line, key=lambda group: group.h)
    if tallest.h < max(MIN_DIGIT_HEIGHT, 0.045 * min(height, width)):
        raise NoDigitFoundError(detail="marks too small", reason="small")
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
    leftovers = _leftover_strokes(groups, line)
    return (split, labels, kept_mask, leftovers, _border_marks(at_border, line),
            *_other_lines(groups, line, leftovers, mask.shape))


#: A mark off the text line counts toward another line of writing (:func:`_other_lines`) when
#: its height is within these multiples of the line's median digit height (the limits by which
#: a thick mark counts its neighbours on the line in :func:`_digit_groups`).
OTHER_LINE_HEIGHT = (0.6, 1.6)
#: ... and when it overlaps the line's band vertically by less than this share of its height.
OTHER_LINE_OVERLAP = 0.3
#: A further line needs at least this many such marks: a lone mark is as often a doodle, a
#: tick or a letter as a digit (lines of fewer are the lone marks, read only when the number
#: readers read nothing in the line given: :attr:`Segmentation.lone_marks`).
OTHER_LINE_MARKS = 2


def _other_lines(groups: list[_Blob], line: list[_Blob], leftovers: list[_Blob],
                 shape: tuple[int, int]) -> tuple[list[_Blob], list[_Blob]]:
    """Further lines of writing above or below ``line``, each as the box around its marks, top
    to bottom: marks of ``groups`` off the line and not its ``leftovers`` that are digit-sized
    (:data:`OTHER_LINE_HEIGHT`), of at most 5 strokes, clear of the line's band
    (:data:`OTHER_LINE_OVERLAP`) and of the border of the ``shape`` (height, width) image (a
    neighbour's writing the crop cut, the grain of a dark scanner bed), found line by line as
    the main text line is (:func:`_main_text_line`), with at least :data:`OTHER_LINE_MARKS`
    marks each; and, as a second list, the lines found of fewer marks (the lone marks), top
    to bottom."""
    taken = {id(group) for group in line} | {id(group) for group in leftovers}
    top, bottom, height = _line_band(line)
    low, high = OTHER_LINE_HEIGHT
    marks = [group for group in groups
             if id(group) not in taken and len(group.labels) <= 5 and low * height <= group.h <= high * height
             and min(group.y2, bottom) - max(group.y, top) < OTHER_LINE_OVERLAP * group.h
             and not any(group.sides_at_border(*shape))]
    found, lone = [], []
    while marks:
        other = _main_text_line(marks)
        box = other[0]
        for mark in other[1:]:
            box = box.merge(mark)
        (found if len(other) >= OTHER_LINE_MARKS else lone).append(box)
        members = {id(mark) for mark in other}
        marks = [mark for mark in marks if id(mark) not in members]
    return sorted(found, key=lambda box: box.y), sorted(lone, key=lambda box: box.y)


def _line_band(line: list[_Blob]) -> tuple[int, int, float]:
    """``(top, bottom, median height)`` of the marks on a text line, in pixels."""
    heights = [group.h for group in line]
    return min(group.y for group in line), max(group.y2 for group in line), float(np.median(heights))


def _border_marks(at_border: list[_Blob], line: list[_Blob]) -> list[_Blob]:
    """The marks of ``at_border`` (left out for touching the border) that may hold digits of
    ``line``: they overlap the line's band by 60 % of the lower of their height and the
    band's, are 0.6-1.6 times the line's median digit height (the limits by which a thick
    mark counts its neighbours on the line in :func:`_digit_groups`), and are not thin like a
    rule (the shorter side at least a quarter of the longer, as for the border's line
    remnants there). The first digits of "65032" joined to the left edge, "300" of "9.300"
    joined to the box's frame below them."""
    if not at_border:
        return []
    top, bottom, height = _line_band(line)
    marks = []
    for blob in at_border:
        overlap = min(blob.y2, bottom) - max(blob.y, top)
        if overlap >= 0.6 * min(blob.h, bottom - top) and 0.6 * height <= blob.h <= 1.6 * height \
                and min(blob.w, blob.h) >= 0.25 * max(blob.w, blob.h):
            marks.append(blob)
    return marks


#: A stroke left off the line is offered to a digit (:func:`_leftover_strokes`) when the gap
#: between them is under this share of the digit's height.
LEFTOVER_GAP = 0.25
#: ... and when it is at most this many times as wide as the digit (an underline is wider).
LEFTOVER_WIDTH = 1.2


def stroke_beside_digit(digit: tuple[int, int, int, int], stroke: tuple[int, int, int, int]) -> bool:
    """Whether a stroke's box may hold a stroke of the digit's (boxes ``(x, y, w, h)``, pixels):
    it shares columns with the digit, is shorter than it and at most :data:`LEFTOVER_WIDTH`
    times as wide (an underline spans several digits), and lies above or below it with a gap
    under :data:`LEFTOVER_GAP` of its height."""
    x, y, w, h = digit
    sx, sy, sw, sh = stroke
    overlap = min(x + w, sx + sw) - max(x, sx)
    gap = max(y, sy) - min(y + h, sy + sh)
    return overlap > 0 and gap < LEFTOVER_GAP * h and sh < h and sw <= LEFTOVER_WIDTH * w


def _leftover_strokes(groups: list[_Blob], line: list[_Blob]) -> list[_Blob]:
    """The marks of ``groups`` left off ``line`` that may be a stroke of a digit on it
    (:func:`stroke_beside_digit`; one or two strokes, with less ink than the digit): a 5's
    bar lifted off its body overlaps it by too little to be grouped with it by the rule
    strokes are grouped by."""
    on_line = {id(group) for group in line}
    return [group for group in groups
            if id(group) not in on_line and len(group.labels) <= 2
            and any(group.area < digit.area and stroke_beside_digit((digit.x, digit.y, digit.w, digit.h),
                                                                    (group.x, group.y, group.w, group.h))
                    for digit in line)]


def _inside(group: _Blob, box: tuple[int, int, int, int]) -> bool:
    """Whether the mark's centre lies inside ``box`` ``(x, y, w, h)``."""
    x, y, w, h = box
    return x <= group.x + group.w / 2 <= x + w and y <= group.y + group.h / 2 <= y + h


def _main_text_line(groups: list[_Blob], anchor: _Blob | None = None) -> list[_Blob]:
    """The marks on the main text line: those that stand beside the tallest mark (or
    ``anchor``, one of ``groups``, when given).

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
    tallest = anchor if anchor is not None else max(groups, key=lambda group: group.h)

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


def _drop_broken_vertical_rules(candidates: list[_Blob], image_height: int) -> list[_Blob]:
    """Drop the pieces of a vertical rule (a column's border, a paper or binding edge) that
    broke where the scan ran light, so that :func:`remove_lines` found no long line.

    The pieces are thin upright marks (at least 4 times as tall as wide) standing one above
    another in one column (their x ranges, widened by 2 px, overlap a chain's first piece).
    A column of at least two such pieces reaching over half the image's height, and with
    pieces adding up to a quarter of it, is a rule: a number is written across, not down.
    Left in, the pieces chain the digits beside them into one tall group.
    """
    upright = sorted((blob for blob in candidates if blob.h >= 4 * blob.w), key=lambda blob: blob.y)
    dropped: set[int] = set()
    for first in upright:
        if id(first) in dropped:
            continue
        column = [blob for blob in upright
                  if min(blob.x2, first.x2) + 2 > max(blob.x, first.x) - 2 and id(blob) not in dropped]
        reach = max(blob.y2 for blob in column) - min(blob.y for blob in column)
        if len(column) >= 2 and reach >= 0.5 * image_height and sum(blob.h for blob in column) >= 0.25 * image_height:
            dropped.update(id(blob) for blob in column)
    return [blob for blob in candidates if id(blob) not in dropped]


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
# The whole chain


def photo_box(working_box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    """A box ``(x, y, w, h)`` in working-size pixels as pixels of the decoded photo (``scale``:
    working size / decoded size); width and height at least 1."""
    x, y, w, h = working_box
    return int(x / scale), int(y / scale), max(1, int(round(w / scale))), max(1, int(round(h / scale)))


def _anchor(blobs: list[_Blob], labels: np.ndarray) -> int:
    """The label of the tallest stroke of the tallest mark (see :attr:`Segmentation.anchor`)."""
    tallest = max(blobs, key=lambda blob: blob.h)
    region = labels[tallest.y:tallest.y2, tallest.x:tallest.x2]

    def height(label: int) -> int:
        rows = np.flatnonzero((region == label).any(axis=1))
        return int(rows[-1] - rows[0] + 1) if len(rows) else 0

    return max(tallest.labels, key=height)


@dataclass(frozen=True)
class PhotoInk:
    """A photo's ink, computed once and shared by every :func:`segment_photo` run on it (and by
    the number reader's reading of the whole photo when none finds a digit).

    Attributes:
        whole: the whole photo as one region with no mark found: a :class:`Segmentation` with
            ``gray`` (working size, dark ink on light paper), ``ink``, ``mask`` (every stroke
            above the hysteresis threshold: no line, border or speck removed), ``scale`` and
            ``inverted`` set, and no boxes.
        components: ``cv2.connectedComponentsWithStats`` (8-connected) of the ink above the
            hysteresis' low threshold, as the threshold gives them.
        mask_components: ``cv2.connectedComponentsWithStats(whole.mask, connectivity=8)``
            when the threshold found it for free (every faint mark joined strong ink, so the
            mask's components are ``components`` unchanged), else None.
    """

    whole: Segmentation
    components: tuple
    mask_components: tuple | None = None


def photo_ink(gray: np.ndarray) -> PhotoInk:
    """The photo at working size, its ink map and stroke mask (:class:`PhotoInk`).

    Args:
        gray: uint8 (H, W), any polarity, as from :func:`decode_image`.

    Raises:
        ImageTooSmallError: a side under :data:`MIN_SIDE`.
    """
    if min(gray.shape) < MIN_SIDE:
        raise ImageTooSmallError(detail=f"{gray.shape[1]}x{gray.shape[0]}")
    work, scale = to_working_size(gray)
    ink, inverted = ink_map(work)
    shown = 255 - work if inverted else work
    return _thresholded(shown, ink, scale, inverted)


def faint_photo_ink(stage: PhotoInk) -> PhotoInk | None:
    """``stage`` thresholded again with the lower floor of :func:`core.preprocessing.ink.faint_floor`:
    the hypothesis that the photo's strokes are fainter than the paper's grain usually
    allows (a light pencil), for recognition to confirm. The ink map is ``stage``'s own.

    Args:
        stage: :func:`photo_ink` of a photo.

    Returns:
        A :class:`PhotoInk` like ``stage``'s, its mask holding the fainter marks too; None when
        the paper's grain leaves no lower floor (the marks would be the same).
    """
    whole = stage.whole
    floor = faint_floor(whole.ink)
    if floor is None:
        return None
    return _thresholded(whole.gray, whole.ink, whole.scale, whole.inverted, floor)


def _thresholded(shown: np.ndarray, ink: np.ndarray, scale: float, inverted: bool,
                 floor: float = STRONG_FLOOR) -> PhotoInk:
    """The :class:`PhotoInk` of a photo at working size (``shown``: uint8, dark ink on light
    paper) and its ink map, thresholded by :func:`core.preprocessing.ink._hysteresis` with its
    strong threshold floored at ``floor``."""
    mask, components, mask_components = _hysteresis(ink, floor)
    if components is not None:
        # Every segment_photo run on this photo shares these arrays: read-only, so none can
        # change them for the next.
        for shared in components[1:]:
            shared.flags.writeable = False
    return PhotoInk(Segmentation(gray=shown, ink=ink, mask=mask, scale=scale, inverted=inverted), components,
                    mask_components)


def _own_strokes(labels: np.ndarray, blob: _Blob) -> np.ndarray:
    """uint8 (h, w) in {0, 255}: the strokes of ``blob`` inside its box (``labels``: the
    int32 component label image), without a neighbour's that reach into it."""
    return np.where(np.isin(labels[blob.y:blob.y2, blob.x:blob.x2], blob.labels), 255, 0).astype(np.uint8)


def segment_photo(gray: np.ndarray, exclude: frozenset[int] = frozenset(),
                  ink_stage: PhotoInk | None = None, keep_border: bool = False,
                  line_through: tuple[int, int, int, int] | None = None) -> Segmentation:
    """Find and normalise every digit in a grayscale photo.

    Args:
        gray: uint8 (H, W), any polarity, as from :func:`decode_image`.
        exclude: strokes to leave out, by the :attr:`Segmentation.anchor` of earlier runs on
            the same photo whose line recognition rejected.
        ink_stage: :func:`photo_ink` of ``gray``, when the caller has it (computed otherwise).
        keep_border: keep the marks touching the photo's border that are otherwise removed as
            a table, a finger, a page edge or a rule's cut-off end (:func:`remove_border_regions`
            and the border tests of :func:`_digit_groups`): the hypothesis that one of them is
            a digit the crop cut into, for recognition to confirm or reject.
        line_through: a working box ``(x, y, w, h)``, one of :attr:`Segmentation.other_lines`
            of an earlier run on the same photo: the text line is found from the tallest mark
            whose centre lies in it instead of the photo's tallest mark (the hypothesis that
            the number is on that line, for recognition to weigh).

    Returns:
        A :class:`Segmentation` with at least one digit image.

    Raises:
        ImageTooSmallError: a side under :data:`MIN_SIDE`.
        NoDigitFoundError: blank, noise, or nothing digit-like; with ``line_through``, also
            when no digit candidate's centre lies in the box.
    """
    stage = ink_stage if ink_stage is not None else photo_ink(gray)
    whole, components = stage.whole, stage.components
    ink, mask, scale, inverted, shown = whole.ink, whole.mask, whole.scale, whole.inverted, whole.gray
    if not mask.any():
        raise NoDigitFoundError(detail="blank: no ink above threshold", reason="blank")
    without_border = mask if keep_border else remove_border_regions(mask, components)
    mask = remove_lines(without_border, _faint_ink(components, mask, without_border), ink)
    if not mask.any():
        raise NoDigitFoundError(detail="only a region along the border (a table or a finger)",
                                reason="border")
    if stage.mask_components is not None and not cv2.countNonZero(cv2.bitwise_xor(mask, whole.mask)):
        # No border, line or speck was removed: the threshold's components are the mask's
        # (found again, they cost 0.85 ms of a 640x480 photo).
        components = stage.mask_components
    else:
        components = cv2.connectedComponentsWithStats(mask, connectivity=8)
    sharpened = sharpen_thick_marks(mask, ink, components)
    blobs, labels, kept, leftover_blobs, border_blobs, other_lines, lone_marks = _digit_groups(
        sharpened, ink, shown, components if sharpened is mask else None, exclude=exclude,
        keep_border=keep_border, line_through=line_through)
    images, boxes, working_boxes, pen_like, crops = [], [], [], [], []
    tilt = text_line_tilt(blobs)
    for blob in blobs:
        # Only the digit's own strokes: a neighbour's may reach into its box (a tilted line).
        crop = _own_strokes(labels, blob)
        crops.append(crop)
        images.append(normalize_digit(rotate_mask(crop, tilt) if tilt else crop))
        pen_like.append(looks_like_pen_strokes(crop))
        working_boxes.append((blob.x, blob.y, blob.w, blob.h))
        boxes.append(photo_box((blob.x, blob.y, blob.w, blob.h), scale))
    return Segmentation(
        gray=shown, ink=ink, mask=kept, boxes=boxes, working_boxes=working_boxes,
        digit_images=np.stack(images).astype(np.float32), scale=scale, inverted=inverted, pen_like=pen_like,
        tilt=tilt, crops=crops, anchor=_anchor(blobs, labels),
        leftovers=tuple(((blob.x, blob.y, blob.w, blob.h), _own_strokes(labels, blob)) for blob in leftover_blobs),
        border_marks=tuple((blob.x, blob.y, blob.w, blob.h) for blob in border_blobs),
        other_lines=tuple((blob.x, blob.y, blob.w, blob.h) for blob in other_lines),
        lone_marks=tuple((blob.x, blob.y, blob.w, blob.h) for blob in lone_marks),
        strokes=frozenset(int(label) for blob in blobs for label in blob.labels),
    )


def preprocess_bytes(data: bytes) -> Segmentation:
    """Decode and segment photo bytes: :func:`decode_image` then :func:`segment_photo`."""
    return segment_photo(decode_image(data))
