"""Recognition-verified segmentation: where a mark may hold several touching digits, propose
cuts and let the classifier's scores choose the reading (a best-path search over the cuts).

Rules alone cannot tell two touching digits from one wide digit; the classifier can, once
it has a "not a digit" output trained on touching pairs and fragments. A mark is cut at
*candidate cuts*, columns where a vertical line crosses little ink (minima of the column ink
profile, as in the over-segmentation step of segmentation-by-recognition digit-string
readers; see Fujisawa, Nakano & Kurino, "Segmentation methods for character recognition",
Proc. IEEE 80(7), 1992, and Oliveira et al., "Automatic recognition of handwritten numerical
strings", IEEE TPAMI 24(11), 2002). The pieces between cuts are the *primitives*; every run
of consecutive primitives is a candidate digit. The reading is the left-to-right path of
candidates whose digits are most probable together: the path maximising the sum of
``log P(best digit)`` less a penalty for each digit beyond what the mark's width can hold
(:data:`COUNT_PENALTY`), found exactly by dynamic programming over the cut
positions and the digit count (the whole mark is one of the paths, so a cut is only made
when the pieces read better).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import cv2
import numpy as np

from core.preprocessing.normalisation import crop_to_bounding_box, normalize_digit
from core.preprocessing.segmentation import Segmentation, photo_box, rotate_mask

#: At most this many candidate cuts per mark (so at most 38 candidate digits to score).
MAX_CUTS = 10
#: Cuts are at least this fraction of the mark's height apart and from its sides.
MIN_PIECE_WIDTH = 0.12
#: A candidate digit must hold at least this share of the mark's ink (a 1 holds about 10 %
#: of a pair's ink; a sliver cut off a stroke much less).
MIN_INK_SHARE = 0.05
#: A column whose ink count is above this share of the mark's height is no candidate cut
#: (it crosses the middle of a digit, not the join between two).
MAX_CUT_INK = 0.45
#: Longest run of primitives one digit may span.
MAX_SPAN = 4
#: Typical width of a handwritten digit over its height (MNIST's digits, 1s aside, measure
#: about 0.6 in their 20-px box): a mark of width w and height h holds at most about
#: ``ceil(w / (DIGIT_ASPECT * h))`` digits.
DIGIT_ASPECT = 0.6
#: Log-probability taken from a path per digit beyond what the mark's width can hold:
#: vertical slices of one slanted stroke read as 1s, and this keeps them from winning.
#: Fewer digits are not penalised (a wide 0 is one digit, however wide).
COUNT_PENALTY = 0.5


@dataclass(frozen=True)
class Piece:
    """One digit of a chosen path.

    Attributes:
        x0, x1: its column range in the mark's crop, ``0 <= x0 < x1 <= width``.
        box: ``(x, y, w, h)`` of its ink inside the crop, in pixels.
        image: float32 (28, 28) in [0, 1]: the normalised digit, what the model reads.
        score: ``log P(best digit)`` of the image, <= 0.
    """

    x0: int
    x1: int
    box: tuple[int, int, int, int]
    image: np.ndarray
    score: float


def candidate_cuts(crop: np.ndarray, max_cuts: int = MAX_CUTS) -> list[int]:
    """Columns where a vertical cut crosses little ink, lowest ink first, then left to right.

    Args:
        crop: uint8 (h, w) in {0, 255}, one mark's strokes.
        max_cuts: how many to return at most.

    Returns:
        Sorted column indices in ``(0, w)``; [] for a mark too narrow to hold two digits.
    """
    height, width = crop.shape
    margin = max(2, int(round(MIN_PIECE_WIDTH * height)))
    if width < 2 * margin + 1:
        return []
    profile = (crop > 0).sum(axis=0).astype(np.float32)
    smooth = cv2.blur(profile[np.newaxis, :], (3, 1), borderType=cv2.BORDER_REPLICATE)[0]
    columns = np.arange(margin, width - margin)
    is_minimum = (smooth[columns] <= smooth[columns - 1]) & (smooth[columns] <= smooth[columns + 1])
    candidates = [int(c) for c in columns[is_minimum] if smooth[c] <= MAX_CUT_INK * height]
    chosen: list[int] = []
    for column in sorted(candidates, key=lambda c: (smooth[c], c)):
        if all(abs(column - other) >= margin for other in chosen):
            chosen.append(column)
        if len(chosen) == max_cuts:
            break
    return sorted(chosen)


def _piece(crop: np.ndarray, x0: int, x1: int, tilt: float) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """The normalised image and ink box of the columns ``x0:x1`` of a crop, or None if empty."""
    part = np.zeros_like(crop)
    part[:, x0:x1] = crop[:, x0:x1]
    rows = np.flatnonzero(part.any(axis=1))
    columns = np.flatnonzero(part.any(axis=0))
    if rows.size == 0:
        return None
    box = (int(columns[0]), int(rows[0]), int(columns[-1] - columns[0] + 1), int(rows[-1] - rows[0] + 1))
    tight = crop_to_bounding_box(part)
    return normalize_digit(rotate_mask(tight, tilt) if tilt else tight), box


def best_split(crop: np.ndarray, score: Callable[[np.ndarray], np.ndarray], tilt: float = 0.0) -> list[Piece]:
    """Read a mark as one digit or as several, whichever the classifier scores higher.

    Args:
        crop: uint8 (h, w) in {0, 255}, the mark's own strokes.
        score: float32 (K, 28, 28) images -> float (K,) ``log P(best digit)``, each <= 0
            (one batched call per mark).
        tilt: degrees to turn each piece upright (the text line's tilt), as segmentation does.

    Returns:
        The pieces of the best path, left to right: one piece (the whole mark) when no cut
        reads better.
    """
    cuts = candidate_cuts(crop)
    bounds = [0, *cuts, crop.shape[1]]
    total_ink = max(1, int(np.count_nonzero(crop)))
    spans, images, boxes = [], [], []
    for start in range(len(bounds) - 1):
        for end in range(start + 1, min(len(bounds), start + 1 + MAX_SPAN)):
            x0, x1 = bounds[start], bounds[end]
            if np.count_nonzero(crop[:, x0:x1]) < MIN_INK_SHARE * total_ink:
                continue
            made = _piece(crop, x0, x1, tilt)
            if made is None:
                continue
            spans.append((start, end))
            images.append(made[0])
            boxes.append(made[1])
    whole = (0, len(bounds) - 1)
    if whole not in spans:  # the whole mark is always a candidate
        image, box = _piece(crop, 0, crop.shape[1], tilt) or (normalize_digit(crop), (0, 0, *crop.shape[::-1]))
        spans.append(whole)
        images.append(image)
        boxes.append(box)
    scores = np.asarray(score(np.stack(images)), dtype=np.float64)
    # Best path with k digits over the boundaries 0..n: best[j, k] = max over spans (i, j)
    # of best[i, k - 1] + score. The count prior is applied once the paths are complete.
    count = len(bounds) - 1
    best = np.full((count + 1, count + 1), -np.inf)
    best[0, 0] = 0.0
    back = np.full((count + 1, count + 1), -1, dtype=np.int64)
    for end in range(1, count + 1):
        for index, (start, stop) in enumerate(spans):
            if stop != end:
                continue
            candidates = best[start, :count] + scores[index]
            better = candidates > best[end, 1:]
            best[end, 1:][better] = candidates[better]
            back[end, 1:][better] = index
    allowed = max(1, int(np.ceil(crop.shape[1] / (DIGIT_ASPECT * crop.shape[0]))))
    totals = best[count] - COUNT_PENALTY * np.maximum(0, np.arange(count + 1) - allowed)
    digits = int(np.argmax(totals))
    path: list[int] = []
    end = count
    while digits > 0 and back[end, digits] >= 0:
        index = int(back[end, digits])
        path.append(index)
        end, digits = spans[index][0], digits - 1
    if end != 0 or not path:  # cannot happen: the whole mark is a path of one digit
        path = [spans.index(whole)]
    pieces = []
    for index in reversed(path):
        start, stop = spans[index]
        pieces.append(Piece(bounds[start], bounds[stop], boxes[index], images[index], float(scores[index])))
    return pieces


def recut(segmentation: Segmentation, marks: list[int], score: Callable[[np.ndarray], np.ndarray]) -> Segmentation:
    """Re-cut the given marks by recognition (:func:`best_split`); the others stay as they are.

    Args:
        segmentation: from :func:`core.preprocessing.segment_photo` (with its ``crops``).
        marks: indices of the marks worth re-cutting (those read "not a digit").
        score: as for :func:`best_split`.

    Returns:
        A segmentation whose per-mark lists (boxes, working boxes, images, pen-likeness,
        crops) hold each split mark's pieces in its place, left to right; the same object
        when nothing was split.
    """
    if not marks or len(segmentation.crops) != len(segmentation.working_boxes):
        return segmentation
    chosen = set(marks)
    boxes, working_boxes, images, pen_like, crops = [], [], [], [], []
    notes = []
    for index, (x, y, w, h) in enumerate(segmentation.working_boxes):
        crop = segmentation.crops[index]
        pieces = best_split(crop, score, segmentation.tilt) if index in chosen else []
        if len(pieces) <= 1:
            boxes.append(segmentation.boxes[index])
            working_boxes.append((x, y, w, h))
            images.append(segmentation.digit_images[index])
            pen_like.append(segmentation.pen_like[index])
            crops.append(crop)
            continue
        notes.append(f"a mark cut into {len(pieces)} digits by recognition")
        for piece in pieces:
            px, py, pw, ph = piece.box
            working = (x + px, y + py, pw, ph)
            working_boxes.append(working)
            boxes.append(photo_box(working, segmentation.scale))
            images.append(piece.image)
            pen_like.append(segmentation.pen_like[index])
            part = np.zeros_like(crop)
            part[:, piece.x0:piece.x1] = crop[:, piece.x0:piece.x1]
            crops.append(part[py:py + ph, px:px + pw])
    if not notes:
        return segmentation
    return replace(segmentation, boxes=boxes, working_boxes=working_boxes,
                   digit_images=np.stack(images).astype(np.float32), pen_like=pen_like, crops=crops,
                   notes=segmentation.notes + tuple(notes))
