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

A rejected mark is also read with its long straight strokes erased (:func:`erase_straight_strokes`):
an underline or a rule's piece that segmentation grouped with the digits above it makes the
whole mark read "not a digit", and no vertical cut takes it off. Both
hypotheses (strokes kept, strokes erased) are searched the same way and the better-scored
path wins, so the strokes go only when the digits read better without them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import cv2
import numpy as np

from core.preprocessing.normalisation import crop_to_bounding_box, normalize_digit
from core.preprocessing.segmentation import (Segmentation, looks_like_pen_strokes, photo_box, rotate_mask,
                                             stroke_beside_digit)

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
#: A straight run of ink (level or slanted, :data:`STRAIGHT_STROKE_ANGLES`) at least this
#: share of the mark's long side is a straight stroke (an underline spans the digits above
#: it; a 7's bar or a 2's base spans one digit, about 0.6 of its height).
STRAIGHT_STROKE_LENGTH = 0.7
#: A piece of a mark is a straight stroke when the line openings hold this share of it.
STRAIGHT_SHARE = 0.6
#: Slopes, in degrees from level, at which straight strokes are looked for (hand-drawn
#: underlines slant; ruled lines in a tilted photo do too).
STRAIGHT_STROKE_ANGLES = (-15, -10, -5, 0, 5, 10, 15)


def _line_kernel(length: int, degrees: float) -> np.ndarray:
    """uint8 structuring element: a 1-px digital line ``length`` px long at ``degrees`` from level."""
    radians = np.deg2rad(degrees)
    half_height = int(np.ceil(abs(np.sin(radians)) * (length - 1) / 2))
    kernel = np.zeros((2 * half_height + 1, length), np.uint8)
    dy = np.tan(radians) * (length - 1) / 2
    cv2.line(kernel, (0, int(round(half_height + dy))), (length - 1, int(round(half_height - dy))), 1, 1)
    return kernel


@dataclass(frozen=True)
class Piece:
    """One digit of a chosen path.

    Attributes:
        x0, x1: its column range in the mark's crop, ``0 <= x0 < x1 <= width``.
        box: ``(x, y, w, h)`` of its ink inside the crop, in pixels.
        image: float32 (28, 28) in [0, 1]: the normalised digit, what the model reads.
        score: ``log P(best digit)`` of the image, <= 0.
        strokes: uint8 (box h, box w) in {0, 255}: the piece's own strokes inside ``box``
            (without any straight stroke its hypothesis erased).
        erased: whether its hypothesis erased the mark's straight strokes.
    """

    x0: int
    x1: int
    box: tuple[int, int, int, int]
    image: np.ndarray
    score: float
    strokes: np.ndarray
    erased: bool = False


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


def erase_straight_strokes(crop: np.ndarray) -> np.ndarray | None:
    """The mark without its straight strokes that stand apart from the digits (an underline,
    a rule's piece that segmentation grouped with the digits above it).

    Straight runs of ink at least :data:`STRAIGHT_STROKE_LENGTH` of the mark's long side,
    level or slanted by up to 15 degrees, are found by morphological openings with 1-px line
    kernels (:data:`STRAIGHT_STROKE_ANGLES`); a connected piece of the mark that they make up
    for at least :data:`STRAIGHT_SHARE` of its pixels is erased whole. Strokes that touch a
    digit stay: erasing those too (the runs alone) read 7 more register cells whole but 5
    fewer cheque amounts (``benchmarks.real_numbers``, 2026-12-05), the digits cut from
    their flourish read confidently as others (a 3 with its tail as a 2).

    Args:
        crop: uint8 (h, w) in {0, 255}, one mark's strokes.

    Returns:
        uint8 (h, w) in {0, 255}, or None when there is no such stroke or nothing but it.
    """
    height, width = crop.shape
    length = int(round(STRAIGHT_STROKE_LENGTH * max(height, width)))
    if length < 8 or length > width:
        return None
    straight = np.zeros_like(crop)
    for degrees in STRAIGHT_STROKE_ANGLES:
        straight |= cv2.morphologyEx(crop, cv2.MORPH_OPEN, _line_kernel(length, degrees))
    if not straight.any():
        return None
    # Only strokes apart from the digits go (an underline that segmentation grouped with
    # them): a stroke that touches a digit may be its own (a 7's bar, a 2's base, a 3's
    # flourish), and cut from it the digit reads as another.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(crop, connectivity=8)
    straight_area = np.bincount(labels[straight > 0], minlength=count)
    lines = np.flatnonzero(straight_area >= STRAIGHT_SHARE * stats[:, cv2.CC_STAT_AREA])
    lines = lines[lines > 0]
    if lines.size == 0:
        return None
    erased = np.where(np.isin(labels, lines), 0, crop).astype(np.uint8)
    if np.count_nonzero(erased) < 0.2 * np.count_nonzero(crop):
        return None  # the mark is the stroke
    return erased


def _best_path(crop: np.ndarray, score: Callable[[np.ndarray], np.ndarray], tilt: float) -> tuple[list[Piece], float]:
    """The best-scored left-to-right reading of one mark and its total (see :func:`best_split`)."""
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
    total = float(totals[digits])
    path: list[int] = []
    end = count
    while digits > 0 and back[end, digits] >= 0:
        index = int(back[end, digits])
        path.append(index)
        end, digits = spans[index][0], digits - 1
    if end != 0 or not path:  # cannot happen: the whole mark is a path of one digit
        path = [spans.index(whole)]
        total = float(scores[path[0]])
    pieces = []
    for index in reversed(path):
        start, stop = spans[index]
        x0, x1 = bounds[start], bounds[stop]
        px, py, pw, ph = boxes[index]
        part = np.zeros_like(crop)
        part[:, x0:x1] = crop[:, x0:x1]
        pieces.append(Piece(x0, x1, boxes[index], images[index], float(scores[index]),
                            part[py:py + ph, px:px + pw]))
    return pieces, total


def best_split(crop: np.ndarray, score: Callable[[np.ndarray], np.ndarray], tilt: float = 0.0) -> list[Piece]:
    """Read a mark as one digit or as several, with or without its long straight strokes,
    whichever the classifier scores higher.

    Args:
        crop: uint8 (h, w) in {0, 255}, the mark's own strokes.
        score: float32 (K, 28, 28) images -> float (K,) ``log P(best digit)``, each <= 0
            (one batched call per hypothesis).
        tilt: degrees to turn each piece upright (the text line's tilt), as segmentation does.

    Returns:
        The pieces of the best path, left to right: one piece (the whole mark, strokes kept)
        when nothing reads better.
    """
    pieces, total = _best_path(crop, score, tilt)
    erased = erase_straight_strokes(crop)
    if erased is not None:
        without, without_total = _best_path(erased, score, tilt)
        if without_total > total:
            return [replace(piece, erased=True) for piece in without]
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
        if len(pieces) <= 1 and not (pieces and pieces[0].erased):
            boxes.append(segmentation.boxes[index])
            working_boxes.append((x, y, w, h))
            images.append(segmentation.digit_images[index])
            pen_like.append(segmentation.pen_like[index])
            crops.append(crop)
            continue
        notes.append(f"a mark cut into {len(pieces)} digits by recognition" if len(pieces) > 1
                     else "a straight stroke erased from a mark by recognition")
        for piece in pieces:
            px, py, pw, ph = piece.box
            working = (x + px, y + py, pw, ph)
            working_boxes.append(working)
            boxes.append(photo_box(working, segmentation.scale))
            images.append(piece.image)
            pen_like.append(segmentation.pen_like[index])
            crops.append(piece.strokes)
    if not notes:
        return segmentation
    return replace(segmentation, boxes=boxes, working_boxes=working_boxes,
                   digit_images=np.stack(images).astype(np.float32), pen_like=pen_like, crops=crops,
                   notes=segmentation.notes + tuple(notes))


def _joined_crop(box: tuple[int, int, int, int], crop: np.ndarray, other_box: tuple[int, int, int, int],
                 other: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """Two masks (each uint8 in {0, 255} inside its working box ``(x, y, w, h)``) drawn into
    one: the union box and uint8 mask."""
    x0, y0 = min(box[0], other_box[0]), min(box[1], other_box[1])
    x1 = max(box[0] + box[2], other_box[0] + other_box[2])
    y1 = max(box[1] + box[3], other_box[1] + other_box[3])
    joined = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for (x, y, w, h), part in ((box, crop), (other_box, other)):
        joined[y - y0:y - y0 + h, x - x0:x - x0 + w] |= part
    return (x0, y0, x1 - x0, y1 - y0), joined


def join_leftovers(segmentation: Segmentation, score: Callable[[np.ndarray], np.ndarray]) -> Segmentation:
    """Join a stroke that segmentation left off the line to the digit beside it when the
    classifier reads the two together as a digit more surely than the digit alone.

    Strokes are grouped into digits by rules (they must overlap in x by half the narrower
    one's width), and a 5 whose bar the writer lifted and drew off to the right, or a 7's
    crossbar, falls outside them: the bar is dropped as a speck and the 5 reads 3 or 6.
    Each of :attr:`Segmentation.leftovers` is offered to the digits it lies just above or
    below (:func:`core.preprocessing.segmentation.stroke_beside_digit`, as the leftovers
    were found); it joins the one whose
    ``log P(best digit)`` it raises most, if any (a tick, a dot or a neighbour's fragment
    lowers it, and stays out).

    Args:
        segmentation: from :func:`core.preprocessing.segment_photo` (with its ``crops``).
        score: float32 (K, 28, 28) images -> float (K,) ``log P(best digit)``, each <= 0
            (called once).

    Returns:
        The segmentation with the joined digits' boxes, images, crops and pen-likeness
        replaced, the joined strokes added to its ``mask`` and taken out of its
        ``leftovers``, and a note; the same object when nothing was joined.
    """
    marks = segmentation.working_boxes
    if not segmentation.leftovers or len(segmentation.crops) != len(marks):
        return segmentation
    offers = []  # (leftover index, mark index, joined box, joined crop, image)
    for index, (box, crop) in enumerate(segmentation.leftovers):
        for mark, mark_box in enumerate(marks):
            if stroke_beside_digit(mark_box, box):
                joined_box, joined = _joined_crop(mark_box, segmentation.crops[mark], box, crop)
                tilted = rotate_mask(joined, segmentation.tilt) if segmentation.tilt else joined
                offers.append((index, mark, joined_box, joined, normalize_digit(tilted)))
    if not offers:
        return segmentation
    offered = sorted({offer[1] for offer in offers})
    scores = np.asarray(score(np.concatenate([segmentation.digit_images[offered],
                                              np.stack([offer[4] for offer in offers])])), np.float64)
    alone = dict(zip(offered, scores[:len(offered)]))
    gains = scores[len(offered):] - np.array([alone[offer[1]] for offer in offers])
    # Each leftover goes to the digit it helps most, and each digit takes the leftover that
    # helps it most (largest gain first; ties to the earlier offer).
    by_gain = [number for number in np.argsort(-gains, kind="stable") if gains[number] > 0]
    best: dict[int, int] = {}  # leftover -> offer index
    for number in by_gain:
        best.setdefault(offers[number][0], number)
    taken: dict[int, int] = {}  # mark -> offer index
    for number in sorted(best.values(), key=lambda number: -gains[number]):
        taken.setdefault(offers[number][1], number)
    if not taken:
        return segmentation
    boxes, working_boxes = list(segmentation.boxes), list(marks)
    images, crops, pen_like = segmentation.digit_images.copy(), list(segmentation.crops), list(segmentation.pen_like)
    mask = segmentation.mask.copy()
    for mark, number in taken.items():
        leftover, _, joined_box, joined, image = offers[number]
        working_boxes[mark] = joined_box
        boxes[mark] = photo_box(joined_box, segmentation.scale)
        images[mark] = image
        crops[mark] = joined
        pen_like[mark] = looks_like_pen_strokes(joined)
        (x, y, w, h), stroke = segmentation.leftovers[leftover]
        mask[y:y + h, x:x + w] |= stroke
    used = {offers[number][0] for number in taken.values()}
    joined_count = len(taken)
    note = ("1 stroke beside a digit joined to it by recognition" if joined_count == 1
            else f"{joined_count} strokes beside digits joined to them by recognition")
    return replace(segmentation, boxes=boxes, working_boxes=working_boxes, digit_images=images.astype(np.float32),
                   crops=crops, pen_like=pen_like, mask=mask,
                   leftovers=tuple(item for index, item in enumerate(segmentation.leftovers) if index not in used),
                   notes=segmentation.notes + (note,))
