"""Recognition-verified segmentation: candidate cuts, the best path, and re-cut segmentations."""

from __future__ import annotations

import numpy as np

from core.preprocessing import Segmentation
from core.preprocessing.hypotheses import best_split, candidate_cuts, recut


def two_bars_joined(height: int = 60, bar: int = 8, gap: int = 22) -> np.ndarray:
    """Two upright bars (two 1s) joined by a thin bridge half-way up: one mark, two digits."""
    width = 2 * bar + gap
    crop = np.zeros((height, width), np.uint8)
    crop[:, :bar] = 255
    crop[:, bar + gap:] = 255
    crop[height // 2 - 1:height // 2 + 2, bar:bar + gap] = 255
    return crop


def one_bar_scores(images: np.ndarray) -> np.ndarray:
    """A stand-in classifier: sure of a digit when the image holds one upright bar, else not."""
    scores = []
    for image in images:
        columns = np.flatnonzero((image > 0.5).any(axis=0))
        narrow = columns.size and columns[-1] - columns[0] < 10
        scores.append(np.log(0.99) if narrow else np.log(0.05))
    return np.array(scores)


def test_cuts_fall_in_the_bridge_not_in_the_bars():
    crop = two_bars_joined()
    cuts = candidate_cuts(crop)
    assert cuts and all(8 <= cut < 30 for cut in cuts)
    assert candidate_cuts(np.full((60, 10), 255, np.uint8)) == []  # too narrow for two digits


def test_the_best_path_reads_two_digits_where_the_classifier_says_so():
    pieces = best_split(two_bars_joined(), one_bar_scores)
    assert len(pieces) == 2
    assert pieces[0].x0 == 0 and pieces[-1].x1 == two_bars_joined().shape[1]
    assert pieces[0].x1 == pieces[1].x0
    assert all(piece.image.shape == (28, 28) and piece.image.dtype == np.float32 for piece in pieces)
    assert all(piece.score == np.log(0.99) for piece in pieces)


def test_the_whole_mark_wins_when_no_cut_reads_better():
    def whole_is_best(images):
        widths = [np.ptp(np.flatnonzero((image > 0.5).any(axis=0))) for image in images]
        return np.where(np.array(widths) >= max(widths), np.log(0.99), np.log(0.2))

    pieces = best_split(two_bars_joined(), whole_is_best)
    assert [(piece.x0, piece.x1) for piece in pieces] == [(0, two_bars_joined().shape[1])]


def test_recut_replaces_a_mark_by_its_pieces_and_keeps_the_lists_aligned():
    crop = two_bars_joined()
    lone = np.full((60, 8), 255, np.uint8)
    segmentation = Segmentation(
        gray=np.zeros((200, 300), np.uint8), ink=np.zeros((200, 300), np.float32), mask=np.zeros((200, 300), np.uint8),
        boxes=[(50, 40, 19, 30), (100, 40, 4, 30)], working_boxes=[(100, 80, crop.shape[1], 60), (200, 80, 8, 60)],
        digit_images=np.zeros((2, 28, 28), np.float32), scale=2.0, pen_like=[True, False], crops=[crop, lone],
    )
    result = recut(segmentation, [0, 1], one_bar_scores)
    assert len(result.working_boxes) == len(result.boxes) == len(result.digit_images) == len(result.crops) == 3
    assert result.pen_like == [True, True, False]
    first, second = result.working_boxes[:2]
    assert first[0] == 100 and second[0] > first[0] + first[2] - 1 and second[0] + second[2] == 100 + crop.shape[1]
    assert result.boxes[0] == (50, 40, 4, 30)  # working pixels at scale 2 -> photo pixels
    assert result.working_boxes[2] == (200, 80, 8, 60) and result.crops[2] is lone
    assert result.notes == ("a mark cut into 2 digits by recognition",)
    assert recut(segmentation, [], one_bar_scores) is segmentation


def ring_over_underline(touching: bool = False, slope: float = 0.15) -> np.ndarray:
    """A "0" (a ring) above a slanted underline as wide as the mark, apart or touching it."""
    import cv2

    crop = np.zeros((70, 50), np.uint8)
    cv2.ellipse(crop, (25, 26), (14, 22), 0, 0, 360, 255, 4)
    y0 = 52 if touching else 60
    cv2.line(crop, (1, y0 + int(slope * 48)), (48, y0), 255, 4)
    if touching:
        cv2.line(crop, (25, 47), (25, y0 + 4), 255, 4)
    return crop


def ring_scores(images: np.ndarray) -> np.ndarray:
    """A stand-in classifier: sure of a digit unless a row in the bottom fifth of the ink runs
    across most of its width (an underline), then calling it "not a digit"."""
    scores = []
    for image in images:
        ink = image > 0.5
        rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        bottom = ink[rows[-1] - max(1, rows.size // 5):rows[-1] + 1]
        underlined = bottom.sum(axis=1).max() >= 0.8 * columns.size
        scores.append(np.log(0.05) if underlined else np.log(0.98))
    return np.array(scores)


def test_an_underline_apart_from_the_digits_is_erased_as_a_hypothesis():
    from core.preprocessing.hypotheses import erase_straight_strokes

    crop = ring_over_underline()
    erased = erase_straight_strokes(crop)
    assert erased is not None and erased.shape == crop.shape and erased.dtype == np.uint8
    assert not erased[55:].any() and (erased[:50] == crop[:50]).all()  # the line went, the ring stayed
    assert erase_straight_strokes(ring_over_underline(touching=True)) is None  # joined to a digit: kept
    assert erase_straight_strokes(np.full((6, 60), 255, np.uint8)) is None  # the mark is only the line
    ring = crop.copy()
    ring[55:] = 0
    assert erase_straight_strokes(ring) is None  # no straight stroke


def test_the_underline_goes_only_when_the_digit_reads_better_without_it():
    crop = ring_over_underline()
    pieces = best_split(crop, ring_scores)
    assert len(pieces) == 1 and pieces[0].erased and pieces[0].score == np.log(0.98)
    x, y, w, h = pieces[0].box
    assert y + h <= 52 and pieces[0].strokes.shape == (h, w)  # the ring's box, without the line

    def sure_of_everything(images):
        return np.zeros(len(images))

    kept = best_split(crop, sure_of_everything)
    assert not any(piece.erased for piece in kept)  # nothing reads better: the mark stays whole


def test_recut_notes_an_erased_stroke_and_shrinks_the_mark_to_its_digit():
    crop = ring_over_underline()
    segmentation = Segmentation(
        gray=np.zeros((200, 300), np.uint8), ink=np.zeros((200, 300), np.float32), mask=np.zeros((200, 300), np.uint8),
        boxes=[(50, 40, 25, 35)], working_boxes=[(100, 80, 50, 70)], digit_images=np.zeros((1, 28, 28), np.float32),
        scale=2.0, pen_like=[True], crops=[crop],
    )
    result = recut(segmentation, [0], ring_scores)
    assert result.notes == ("a straight stroke erased from a mark by recognition",)
    (x, y, w, h), = result.working_boxes
    assert x >= 100 and 80 <= y < 80 + 10 and y + h <= 80 + 52 and result.crops[0].shape == (h, w)


def five_without_its_bar() -> tuple[np.ndarray, np.ndarray]:
    """The body of a 5 (a stem and a bowl, 60 px tall) and its bar, drawn apart: lifted and
    off to the right, overlapping the body's columns by less than half the bar's width."""
    import cv2

    body = np.zeros((60, 40), np.uint8)
    cv2.line(body, (8, 0), (8, 24), 255, 4)
    cv2.ellipse(body, (18, 40), (16, 16), 0, -150, 150, 255, 4)
    bar = np.zeros((6, 36), np.uint8)
    bar[1:5] = 255
    return body, bar


def bar_scores(images: np.ndarray) -> np.ndarray:
    """A stand-in classifier: sure of a digit when the image has ink along its top rows across
    over half its width (the 5's bar), unsure otherwise."""
    scores = []
    for image in images:
        ink = image > 0.5
        rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        top = ink[rows[0]:rows[0] + 3].any(axis=0).sum()
        scores.append(np.log(0.97) if top >= 0.5 * columns.size else np.log(0.6))
    return np.array(scores)


def five_segmentation() -> Segmentation:
    from core.preprocessing import normalize_digit

    body, bar = five_without_its_bar()
    return Segmentation(
        gray=np.zeros((200, 300), np.uint8), ink=np.zeros((200, 300), np.float32), mask=np.zeros((200, 300), np.uint8),
        boxes=[(50, 45, 20, 30), (120, 45, 20, 30)], working_boxes=[(100, 90, 40, 60), (240, 90, 40, 60)],
        digit_images=np.stack([normalize_digit(body)] * 2), scale=2.0, pen_like=[True, True], crops=[body, body.copy()],
        leftovers=(((124, 82, 36, 6), bar),),
    )


def test_a_lifted_bar_joins_the_digit_it_belongs_to_when_the_digit_reads_better_with_it():
    from core.preprocessing.hypotheses import join_leftovers

    segmentation = five_segmentation()
    result = join_leftovers(segmentation, bar_scores)
    assert result.working_boxes[0] == (100, 82, 60, 68)  # the body's box and the bar's together
    assert result.boxes[0] == (50, 41, 30, 34) and result.crops[0].shape == (68, 60)
    assert result.working_boxes[1] == segmentation.working_boxes[1]  # the other digit is untouched
    assert result.mask[82:88, 124:160].any() and not segmentation.mask.any()  # shown as kept ink
    assert result.leftovers == () and result.notes == ("1 stroke beside a digit joined to it by recognition",)
    assert result.digit_images.shape == (2, 28, 28) and result.digit_images.dtype == np.float32
    assert bar_scores(result.digit_images[:1])[0] == np.log(0.97)


def test_a_stroke_stays_out_when_the_digit_reads_no_better_with_it():
    from core.preprocessing.hypotheses import join_leftovers

    segmentation = five_segmentation()
    assert join_leftovers(segmentation, lambda images: np.full(len(images), np.log(0.6))) is segmentation
    far = Segmentation(**{**segmentation.__dict__, "leftovers": (((124, 20, 36, 6), five_without_its_bar()[1]),)})
    assert join_leftovers(far, bar_scores) is far  # too far above any digit to be offered


def test_strokes_beside_a_digit_are_those_just_above_or_below_it_and_not_wider_than_it():
    from core.preprocessing.segmentation import stroke_beside_digit

    digit = (100, 90, 40, 60)
    assert stroke_beside_digit(digit, (124, 82, 36, 6))  # a lifted bar, 2 px above
    assert stroke_beside_digit(digit, (110, 152, 20, 8))  # a stroke just below
    assert not stroke_beside_digit(digit, (150, 82, 36, 6))  # beside it, sharing no column
    assert not stroke_beside_digit(digit, (124, 60, 36, 6))  # 24 px above: more than a quarter of its height
    assert not stroke_beside_digit(digit, (90, 152, 120, 6))  # an underline, three times as wide
    assert not stroke_beside_digit(digit, (124, 20, 20, 70))  # taller than the digit
