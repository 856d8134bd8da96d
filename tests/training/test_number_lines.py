"""Synthetic number lines for the number reader: shapes, labels, variety, determinism."""

from __future__ import annotations

import numpy as np

from core.reader import LINE_HEIGHT, LINE_WIDTH, MAX_LENGTH
from training.number_lines import CANVAS_HEIGHT, DigitBank, LineOptions, make_line, make_lines


def _bank(mnist_sample) -> DigitBank:
    images, labels = mnist_sample
    return DigitBank.from_images(images, labels)


def test_bank_groups_cropped_digits_by_label(mnist_sample):
    bank = _bank(mnist_sample)
    assert [len(crops) > 0 for crops in bank.by_label] == [True] * 10
    crop = bank.by_label[1][0]
    assert crop.dtype == np.float32 and crop.max() <= 1.0
    # cropped to the bounding box: ink touches every side
    assert crop[0].max() > 0 and crop[-1].max() > 0 and crop[:, 0].max() > 0 and crop[:, -1].max() > 0


def test_make_line_draws_the_number_it_names(mnist_sample):
    bank = _bank(mnist_sample)
    rng = np.random.default_rng(0)
    for length in (1, 5, MAX_LENGTH):
        ink, text = make_line(rng, bank, length=length)
        assert len(text) == length and text.isdigit()
        assert ink.dtype == np.float32 and ink.ndim == 2
        assert 0.0 <= ink.min() and ink.max() <= 1.0 and ink.max() > 0.2
        # the digits take a good share of the band's height; the line is wider the longer the number
        assert ink.shape[0] >= CANVAS_HEIGHT * 0.3 and ink.shape[1] > ink.shape[0] * 0.3 * length


def test_make_lines_targets_hold_digit_plus_one_then_blank_padding(mnist_sample):
    lines, targets, texts = make_lines(_bank(mnist_sample), 40, seed=5)
    assert lines.shape == (40, LINE_HEIGHT, LINE_WIDTH) and lines.dtype == np.uint8
    assert targets.shape == (40, MAX_LENGTH)
    for target, text in zip(targets, texts):
        assert list(target[:len(text)]) == [int(c) + 1 for c in text]
        assert not target[len(text):].any()
    assert len({len(text) for text in texts}) >= 5  # lengths vary
    again, _, texts_again = make_lines(_bank(mnist_sample), 40, seed=5)
    assert np.array_equal(lines, again) and texts == texts_again  # deterministic per seed


def test_length_weights_choose_how_long_the_numbers_are(mnist_sample):
    from training.number_lines import LENGTH_WEIGHTS

    only_ones_and_twos = np.zeros(MAX_LENGTH)
    only_ones_and_twos[:2] = 1.0
    _, targets, texts = make_lines(_bank(mnist_sample), 60, seed=5, length_weights=only_ones_and_twos)
    assert {len(text) for text in texts} == {1, 2}
    assert not targets[:, 2:].any()
    # the usual weights: mostly 2-8 digits, some single digits
    _, _, texts = make_lines(_bank(mnist_sample), 60, seed=5, length_weights=LENGTH_WEIGHTS)
    assert max(len(text) for text in texts) > 4


def test_round_zeros_are_low_and_wide_and_change_nothing_when_off(mnist_sample):
    from training.number_lines import ROUND_ZERO_HEIGHT, ROUND_ZERO_WIDEN, round_zero

    bank = _bank(mnist_sample)
    rng = np.random.default_rng(3)
    for crop in bank.by_label[0][:20]:
        patch = round_zero(rng, crop)
        assert patch.dtype == np.float32
        assert ROUND_ZERO_HEIGHT[0] - 0.1 <= patch.shape[0] / crop.shape[0] <= ROUND_ZERO_HEIGHT[1] + 0.1
        assert ROUND_ZERO_WIDEN[0] - 0.1 <= patch.shape[1] / crop.shape[1] <= ROUND_ZERO_WIDEN[1] + 0.1
    plain, _, texts = make_lines(bank, 30, seed=5)
    same, _, same_texts = make_lines(bank, 30, seed=5, options=LineOptions(round_zero_rate=0.0))
    assert np.array_equal(plain, same) and texts == same_texts  # off: the random stream is untouched
    rounded, _, _ = make_lines(bank, 30, seed=5, options=LineOptions(round_zero_rate=1.0))
    assert not np.array_equal(plain, rounded)


def test_end_marks_are_dashes_across_the_digits_band_and_change_nothing_when_off(mnist_sample):
    import cv2
    import pytest

    from training.number_lines import END_MARK_LENGTH, END_MARKS, end_mark

    rng = np.random.default_rng(7)
    height = 30.0
    pieces = {"dash": 1, "wavy": 1, "equals": 2, "dot dash": 2, "dot equals": 3}
    for kind in END_MARKS:
        for _ in range(10):
            patch = end_mark(rng, height, 2, kind)
            assert patch.dtype == np.float32 and patch.shape[0] == 30 and 0.0 <= patch.min() and patch.max() <= 1.0
            assert patch.shape[1] >= END_MARK_LENGTH[0] * height
            rows = np.flatnonzero(patch.max(axis=1) > 0.5)
            assert rows.size and rows[-1] >= 0.2 * height  # across the digits, not above them
            count = cv2.connectedComponents((patch > 0.5).astype(np.uint8))[0] - 1
            assert count >= pieces.get(kind, 1), kind  # "=" is two strokes, ".-" a dot and a dash
    with pytest.raises(ValueError):
        end_mark(rng, height, 2, "slash")
    # Joined to the last digit, a mark leaves it above its base: a dash along the baseline
    # run on from a 7 would make a 2 of it.
    from training.number_lines import JOINED_END_MARKS

    for kind in JOINED_END_MARKS:
        for _ in range(10):
            patch = end_mark(rng, height, 2, kind, joined=True)
            first_column = np.flatnonzero(patch.max(axis=0) > 0.5)[0]
            assert np.flatnonzero(patch[:, first_column] > 0.5).max() <= 0.8 * height, kind
    for kind in set(END_MARKS) - set(JOINED_END_MARKS):
        with pytest.raises(ValueError):
            end_mark(rng, height, 2, kind, joined=True)
    bank = _bank(mnist_sample)
    plain, _, texts = make_lines(bank, 30, seed=5)
    same, _, same_texts = make_lines(bank, 30, seed=5, options=LineOptions(end_mark_rate=0.0))
    assert np.array_equal(plain, same) and texts == same_texts  # off: the random stream is untouched
    marked, _, marked_texts = make_lines(bank, 30, seed=5, options=LineOptions(end_mark_rate=1.0))
    assert not np.array_equal(plain, marked) and all(text.isdigit() for text in marked_texts)


def _bars_on_lone_digits(bank: DigitBank, options: LineOptions, monkeypatch) -> tuple[int, int, int]:
    """Underlines and strike-throughs drawn on 300 lines of one digit, as (underlines, of which
    within two pixels of the digit's lowest ink, strike-throughs)."""
    import training.number_lines as number_lines

    seen = {"underlines": 0, "touching": 0, "strikes": 0}
    draw = number_lines._draw_line

    def spy(canvas, points, thickness, strength):
        # The writing's canvas (with its padding for the distortions) holds only the digit and
        # its marks when the bars are drawn; clutter comes later, on the cropped canvas.
        if canvas.shape[0] == 3 * CANVAS_HEIGHT:
            rows = np.flatnonzero(canvas.max(axis=1) > 0)
            if len(points) > 2:  # an underline: 12 points along the number
                if not seen["underlined"]:  # (a second one may follow under it)
                    seen["underlines"] += 1
                    seen["touching"] += int(points[:, 1].min() - rows.max() < 2)
                seen["underlined"] = True
            else:  # a strike-through: 2 points, across the middle of the digit
                seen["strikes"] += 1
        draw(canvas, points, thickness, strength)

    monkeypatch.setattr(number_lines, "_draw_line", spy)
    rng = np.random.default_rng(11)
    for _ in range(300):
        seen["underlined"] = False
        make_line(rng, bank, length=1, options=options)
    return seen["underlines"], seen["touching"], seen["strikes"]


def test_clear_single_digits_keeps_bars_off_a_lone_digit_and_changes_nothing_else(mnist_sample, monkeypatch):
    bank = _bank(mnist_sample)
    # Off, a lone digit is sometimes underlined through its foot (a 7 so becomes a Z-shaped
    # 2, still labelled 7) or struck through (a 1 so becomes a 4).
    underlines, touching, strikes = _bars_on_lone_digits(bank, LineOptions(), monkeypatch)
    assert underlines > 30 and touching > 3 and strikes > 3
    clear = LineOptions(clear_single_digits=True)
    underlines, touching, strikes = _bars_on_lone_digits(bank, clear, monkeypatch)
    assert underlines > 30 and touching == 0 and strikes == 0
    monkeypatch.undo()
    # Numbers of two or more digits are drawn exactly as without the option.
    lengths = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], dtype=np.float64)
    plain, _, texts = make_lines(bank, 30, seed=5, length_weights=lengths)
    clear, _, clear_texts = make_lines(bank, 30, seed=5, length_weights=lengths,
                                       options=LineOptions(clear_single_digits=True))
    assert np.array_equal(plain, clear) and texts == clear_texts
