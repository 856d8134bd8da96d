"""The number reader's input preparation and CTC decoding (no model needed), and the shipped reader."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.reader import (
    BLANK,
    DEFAULT_READER_PATH,
    LINE_HEIGHT,
    LINE_WIDTH,
    READER_CLASSES,
    TIME_STEPS,
    NumberReader,
    ReaderLoadError,
    ctc_greedy_decode,
    ctc_log_likelihood,
    line_input,
    line_region,
)


def _probabilities_for(path: list[int], sure: float = 0.9) -> np.ndarray:
    """(T, 11) softmax rows that put ``sure`` on each step's class of ``path``."""
    rows = np.full((len(path), READER_CLASSES), (1 - sure) / (READER_CLASSES - 1), np.float32)
    rows[np.arange(len(path)), path] = sure
    return rows


def test_line_input_keeps_aspect_and_pads_with_no_ink():
    ink = np.zeros((64, 128), np.float32)
    ink[10:50, 10:120] = 0.5
    line, x_scale = line_input(ink)
    assert line.shape == (LINE_HEIGHT, LINE_WIDTH) and line.dtype == np.float32
    assert x_scale == pytest.approx(0.5)
    assert line[:, 64:].max() == 0.0  # right of the scaled crop: padding
    assert line.max() == pytest.approx(1.0)  # ink scaled so its 99.5th percentile is 1


def test_line_input_squeezes_very_wide_crops_and_rejects_empty_ones():
    line, x_scale = line_input(np.ones((10, 1000), np.float32))
    assert line.shape == (LINE_HEIGHT, LINE_WIDTH) and x_scale == pytest.approx(LINE_WIDTH / 1000)
    with pytest.raises(ValueError):
        line_input(np.zeros((0, 5), np.float32))


def test_line_region_adds_margins_and_clips():
    boxes = [(50, 40, 20, 30), (75, 42, 18, 28)]
    x0, y0, x1, y1 = line_region(boxes, (100, 200), margin_x=1.0, margin_y=0.5)
    assert (x0, x1) == (50 - 29, 93 + 29)
    assert (y0, y1) == (25, 85)  # 40 - 14.5 rounded down, 70 + 14.5 rounded up
    assert line_region(boxes, (60, 100), margin_x=5.0, margin_y=5.0) == (0, 0, 100, 60)
    assert line_region([], (100, 200)) == (0, 0, 200, 100)


def test_greedy_decode_collapses_repeats_and_blanks():
    path = [BLANK, 4, 4, BLANK, 4, 8, BLANK, BLANK]  # "3", "3", "7"
    reading = ctc_greedy_decode(_probabilities_for(path))
    assert reading.text == "337"
    assert reading.spans == ((1, 2), (4, 4), (5, 5))
    assert reading.confidence == pytest.approx(0.9 ** len(path), rel=1e-4)
    assert all(confidence == pytest.approx(0.9) for confidence in reading.digit_confidences)


def test_greedy_decode_of_blanks_reads_nothing():
    reading = ctc_greedy_decode(_probabilities_for([BLANK] * 6))
    assert reading.text == "" and reading.spans == ()


def _brute_force_likelihood(probabilities: np.ndarray, text: str) -> float:
    total = 0.0
    steps = len(probabilities)
    for path in itertools.product(range(READER_CLASSES), repeat=steps):
        collapsed = "".join(str(label - 1) for index, label in enumerate(path)
                            if label != BLANK and (index == 0 or path[index - 1] != label))
        if collapsed == text:
            total += float(np.prod(probabilities[np.arange(steps), path]))
    return total


@pytest.mark.parametrize("text", ["", "5", "11", "12"])
def test_ctc_log_likelihood_sums_every_alignment(text):
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, READER_CLASSES))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = _brute_force_likelihood(probabilities, text)
    assert np.exp(ctc_log_likelihood(probabilities, text)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("text", ["", "7", "33", "4071"])
def test_ctc_log_likelihood_of_a_batch_is_each_line_s(text):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(3, 12, READER_CLASSES))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    batch = ctc_log_likelihood(probabilities, text)
    assert batch.shape == (3,)
    assert batch == pytest.approx([ctc_log_likelihood(line, text) for line in probabilities], rel=1e-12)
    assert isinstance(ctc_log_likelihood(probabilities[0], text), float)


def test_ctc_log_likelihood_of_an_impossible_text_is_minus_infinity():
    probabilities = _probabilities_for([BLANK, 2, BLANK])
    assert ctc_log_likelihood(probabilities, "1111") == -np.inf


def test_missing_reader_file_is_a_clear_error(tmp_path):
    with pytest.raises(ReaderLoadError, match="cannot read"):
        NumberReader.from_path(tmp_path / "nope.tflite")
    (tmp_path / "bad.tflite").write_bytes(b"not a model")
    with pytest.raises(ReaderLoadError):
        NumberReader.from_path(tmp_path / "bad.tflite")


@pytest.mark.skipif(not DEFAULT_READER_PATH.is_file(), reason="no shipped number reader in models/")
def test_shipped_reader_reads_a_drawn_number():
    import cv2

    ink = np.zeros((64, 200), np.float32)
    for index, text in enumerate("307"):
        cv2.putText(ink, text, (10 + 60 * index, 52), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.8, 1.0, 4, cv2.LINE_AA)
    reader = NumberReader.from_path()
    reading, probabilities, _ = reader.read_ink(ink)
    assert probabilities.shape == (TIME_STEPS, READER_CLASSES)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert reading.text == "307"
    # lines made once by line_input read the same as the crops they were made from
    (from_lines,) = reader.read_lines([line_input(ink)])
    assert from_lines[0] == reading and np.array_equal(from_lines[1], probabilities)
