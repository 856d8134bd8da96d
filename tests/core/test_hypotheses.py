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
