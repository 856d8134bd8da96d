"""The classifier: softmax, shapes, thread safety, and reading photos with the shipped model."""

from __future__ import annotations

import csv
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from photos import arc_ending_in_a_wedge, handwritten, paper, place_digits, to_jpeg

from core import classifier as classifier_module
from core.classifier import OTHER_LINE_NOTE, Classifier, ModelLoadError, line_rank, softmax
from core.errors import NoDigitFoundError
from core.preprocessing import decode_image, segment_photo
from core.reader import NumberReader
from core.results import DigitPrediction, PhotoReading

PHOTO_FIXTURES = Path(__file__).parent.parent / "fixtures" / "photos"


def test_softmax_rows_sum_to_one():
    probabilities = softmax(np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert probabilities[0, 0] == pytest.approx(1.0)


def test_tiny_model_shapes_and_threads(tiny_model_path):
    classifier = Classifier.from_path(tiny_model_path)
    images = np.random.default_rng(0).random((300, 28, 28), dtype=np.float32)
    batch = classifier.predict_probabilities(images)
    assert batch.shape == (300, 11)
    assert classifier.num_outputs == 11
    with ThreadPoolExecutor(4) as pool:
        singles = list(pool.map(lambda image: classifier.predict_probabilities(image[None])[0], images[:20]))
    np.testing.assert_allclose(np.stack(singles), batch[:20], atol=1e-4)
    prediction = classifier.predict_image(images[0])
    assert len(prediction.top3) == 3 and prediction.top3[0][0] == prediction.digit
    assert prediction.top3[0][1] >= prediction.top3[1][1] >= prediction.top3[2][1]
    with pytest.raises(ValueError):
        classifier.predict_logits(np.zeros((2, 32, 32)))


def test_missing_and_corrupt_model_files(tmp_path):
    with pytest.raises(ModelLoadError, match="no model file"):
        Classifier.from_path(tmp_path / "absent.keras")
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a flatbuffer")
    with pytest.raises(ModelLoadError, match="cannot load"):
        Classifier.from_path(broken)
    (tmp_path / "keras_only.keras").write_bytes(b"PK")
    with pytest.raises(ModelLoadError, match="training.export"):
        Classifier.from_path(tmp_path / "keras_only.keras")


def test_a_named_number_reader_that_is_missing_is_an_error(shipped_classifier, tmp_path, monkeypatch, caplog):
    absent = tmp_path / "absent_reader.tflite"
    with pytest.raises(ModelLoadError, match="no number reader there"):
        Classifier.from_path(shipped_classifier.path, reader_paths=absent)
    monkeypatch.setenv("DIGITBOT_NUMBER_READER", str(absent))
    with pytest.raises(ModelLoadError, match="DIGITBOT_NUMBER_READER=off"):
        Classifier.from_path(shipped_classifier.path)
    monkeypatch.setenv("DIGITBOT_NUMBER_READER", "off")
    assert Classifier.from_path(shipped_classifier.path).reader is None
    # The shipped reader missing (a models/ folder without it): read digit by digit, and say so.
    monkeypatch.delenv("DIGITBOT_NUMBER_READER")
    monkeypatch.setattr("core.classifier.reader_paths_from_env", lambda: (absent,))
    with caplog.at_level("WARNING", logger="core.classifier"):
        assert Classifier.from_path(shipped_classifier.path).reader is None
    assert "No number reader at" in caplog.text and str(absent) in caplog.text


def test_shifted_and_scaled_digit_reads_the_same(shipped_classifier, mnist_sample):
    x, y = mnist_sample
    for index in range(6):
        readings = set()
        for height, left, top in ((120, 100, 80), (300, 500, 300), (520, 260, 120)):
            page = place_digits(paper(), [x[index]], height=height, left=left, top=top)
            readings.add(shipped_classifier.read_photo(to_jpeg(page)).number)
        assert readings == {str(y[index])}, f"MNIST test digit {index} ({y[index]}) read as {readings}"


def test_multi_digit_number(shipped_classifier, mnist_sample):
    x, y = mnist_sample
    picks = [0, 2, 5, 9]
    page = place_digits(paper(600, 1280), [x[i] for i in picks], height=200, left=150, top=180)
    assert shipped_classifier.read_photo(to_jpeg(page)).number == "".join(str(y[i]) for i in picks)


@pytest.mark.parametrize("text", ["5989143896", "80081", "4386", "9871", "70635"])
def test_a_blurred_number_is_read_whole(shipped_classifier, text):
    # Digits 40 px tall blurred with a Gaussian of sigma 2 px: their 8s, 9s and 0s fill in
    # at the low threshold; only the core of each mark is read.
    page = place_digits(paper(340, 700), [handwritten(int(d)) for d in text], height=40, left=40, top=150, gap=1.0)
    page = cv2.GaussianBlur(page, (0, 0), 2.0)
    digit_by_digit = Classifier.from_path(shipped_classifier.path, reader_paths=None)
    assert digit_by_digit.read_photo(to_jpeg(page)).number == text
    # The number reader (trained with looped 9s) reads the blurred 9s of the 10-digit one as 1s
    # and overrules: the digit-by-digit reading is then offered as the runner-up.
    reading = shipped_classifier.read_photo(to_jpeg(page))
    assert text in (reading.number, reading.runner_up)
    if text != "5989143896":
        assert reading.number == text


def test_blank_photo_raises(shipped_classifier):
    with pytest.raises(NoDigitFoundError):
        shipped_classifier.read_photo(to_jpeg(paper(seed=4)))


def test_outline_of_a_shape_is_not_read_as_a_digit(shipped_classifier):
    # A thin arc ending in a filled wedge: the shipped model reads it as a 2 at 87 %, but
    # nothing in it is drawn like pen strokes, so the answer is "no digit".
    with pytest.raises(NoDigitFoundError) as nothing:
        shipped_classifier.read_photo(to_jpeg(arc_ending_in_a_wedge()))
    assert nothing.value.reason == "shapes"


def test_photo_like_fixtures(shipped_classifier):
    """Generated photo-like JPEGs (ruled lines, blue ink, shadows): a broken pipeline fails."""
    labels = PHOTO_FIXTURES / "labels.csv"
    if not labels.is_file():
        pytest.skip("tests/fixtures/photos/ has not been generated")
    right, rows = 0, list(csv.DictReader(labels.open()))
    for row in rows:
        data = (PHOTO_FIXTURES / row["file"]).read_bytes()
        try:
            got = shipped_classifier.read_photo(data).number
        except NoDigitFoundError:
            got = "none"
        right += got == row["label"]
    assert right >= len(rows) - 1, f"only {right} of {len(rows)} photo fixtures read right"


def test_marks_read_as_not_a_digit_are_left_out(tiny_model_path, tmp_path):
    from retrain_data import write_always_model

    from core.config import NOT_A_DIGIT

    photo = to_jpeg(place_digits(paper(), [handwritten(4), handwritten(7)], height=160, left=200, top=200))
    rejecting_path = write_always_model(tiny_model_path, tmp_path / "none.keras", digit=NOT_A_DIGIT)
    with pytest.raises(NoDigitFoundError) as nothing:
        Classifier.from_path(rejecting_path, reader_paths=None).read_photo(photo)
    assert nothing.value.reason == "not_digits"
    threes = Classifier.from_path(write_always_model(tiny_model_path, tmp_path / "threes.keras", digit=3),
                                  reader_paths=None)
    reading, segmentation = threes.read_photo_with_steps(photo)
    assert reading.number == "33" and all(d.not_a_digit < 1e-6 and d.is_digit for d in reading.digits)
    assert reading.to_dict()["digits"][0]["not_a_digit"] == 0.0
    assert len(segmentation.crops) == len(segmentation.working_boxes) == 2


def test_the_number_reader_reads_marks_the_classifier_rejects_only_when_sure(tiny_model_path, tmp_path, photo_47):
    from retrain_data import write_always_model

    from core.classifier import READER_ALONE_MIN_CONFIDENCE
    from core.config import NOT_A_DIGIT

    rejecting = Classifier.from_path(write_always_model(tiny_model_path, tmp_path / "none.keras", digit=NOT_A_DIGIT))
    assert rejecting.reader is not None  # the shipped number reader
    reading, segmentation = rejecting.read_photo_with_steps(photo_47)
    assert (reading.number, reading.method, reading.line_text, reading.runner_up) == ("47", "line", "47", "")
    assert READER_ALONE_MIN_CONFIDENCE <= reading.confidence <= 1.0
    assert len(segmentation.working_boxes) == len(segmentation.boxes) == 2
    assert segmentation.digit_images.shape == (2, 28, 28)
    assert any("number reader read 47" in note for note in segmentation.notes)
    unsure = READER_ALONE_MIN_CONFIDENCE * 0.9
    rejecting.readers = (_FakeReader("47", unsure),)
    with pytest.raises(NoDigitFoundError) as raised:
        rejecting.read_photo(photo_47)
    assert "number reader is unsure" in raised.value.detail and raised.value.reason == "not_digits"
    rejecting.readers = (_FakeReader("47", min(1.0, READER_ALONE_MIN_CONFIDENCE * 1.1)),)
    assert rejecting.read_photo(photo_47).number == "47"


class _FakeReader(NumberReader):
    """A number reader that reads ``text`` with best-path probability ``confidence`` whatever it sees
    (no model: only its softmax is faked)."""

    def __init__(self, text: str, confidence: float, hesitant: int | None = None):
        """``hesitant``: the index of a digit the reader nearly took for a blank (0.5 vs 0.45)."""
        from core.reader import BLANK, READER_CLASSES, TIME_STEPS

        path = [BLANK] * TIME_STEPS
        for index, character in enumerate(text):
            path[8 + index * 6] = int(character) + 1
        sure = confidence ** (1 / TIME_STEPS)
        probabilities = np.full((TIME_STEPS, READER_CLASSES), (1 - sure) / (READER_CLASSES - 1), np.float32)
        probabilities[np.arange(TIME_STEPS), path] = sure
        if hesitant is not None:
            step = 8 + hesitant * 6
            probabilities[step] = 0.05 / (READER_CLASSES - 2)
            probabilities[step, path[step]], probabilities[step, BLANK] = 0.5, 0.45
        self.probabilities_per_line = probabilities
        self.batches = []

    def probabilities(self, lines):
        """The same softmax (64, 11) for every line of the batch (N, 32, 256)."""
        self.batches.append(lines.shape)
        return np.repeat(self.probabilities_per_line[np.newaxis], len(lines), axis=0)


@pytest.fixture(scope="module")
def photo_47():
    return to_jpeg(place_digits(paper(), [handwritten(4), handwritten(7)], height=160, left=200, top=200))


@pytest.fixture
def with_reader(shipped_classifier, monkeypatch):
    """The shipped classifier with another number reader, for one test (a copy would share,
    and desynchronise, its LiteRT interpreter)."""
    def install(reader):
        monkeypatch.setattr(shipped_classifier, "readers", () if reader is None else (reader,))
        return shipped_classifier
    return install


def test_readers_that_agree_give_the_reading_once(shipped_classifier, with_reader, photo_47):
    alone = Classifier.from_path(shipped_classifier.path, reader_paths=None).read_photo(photo_47)
    assert alone.number == "47" and alone.line_text is None and alone.method == "digits"
    reading = with_reader(_FakeReader("47", 0.9)).read_photo(photo_47)
    assert (reading.number, reading.method, reading.line_text, reading.runner_up) == ("47", "both", "47", "")
    assert reading.confidence == pytest.approx(alone.confidence)
    assert reading.to_dict()["runner_up"] is None and reading.to_dict()["line_reader"] == "47"


def test_a_sure_line_reading_is_given_with_the_digits_reading_as_runner_up(shipped_classifier, with_reader, photo_47):
    from core.visualize import render_steps_png

    reading, segmentation = with_reader(_FakeReader("417", 0.9)).read_photo_with_steps(photo_47)
    assert (reading.number, reading.method, reading.runner_up) == ("417", "line", "47")
    # disagreeing readers make neither sure, and a runner-up is seldom right
    assert 0.0 < reading.runner_up_confidence < 0.5 < reading.confidence < 0.9
    assert len(segmentation.working_boxes) == len(segmentation.boxes) == 3
    assert segmentation.digit_images.shape == (3, 28, 28)
    xs = [box[0] for box in segmentation.working_boxes]
    assert xs == sorted(xs)
    # each digit: the reader's softmax at its peak over the ten digits, softened by the temperature
    from core.classifier import READER_DIGIT_TEMPERATURE
    from core.reader import READER_CLASSES, TIME_STEPS

    peak = 0.9 ** (1 / TIME_STEPS)
    other = (1 - peak) / (READER_CLASSES - 1)
    softened = peak ** (1 / READER_DIGIT_TEMPERATURE)
    expected = softened / (softened + 9 * other ** (1 / READER_DIGIT_TEMPERATURE))
    for prediction in reading.digits:
        assert prediction.probabilities.shape == (10,) and prediction.probabilities.sum() == pytest.approx(1.0)
        assert prediction.top3[0] == (prediction.digit, pytest.approx(prediction.confidence))
        assert prediction.confidence == pytest.approx(expected, rel=1e-5) and expected < peak
    assert reading.to_dict()["runner_up"]["number"] == "47"
    assert render_steps_png(reading, segmentation).startswith(b"\x89PNG")


def test_the_digits_reading_stands_when_the_line_reader_finds_it_nearly_as_likely(shipped_classifier, with_reader, photo_47):
    alone = Classifier.from_path(shipped_classifier.path, reader_paths=None).read_photo(photo_47)
    reading = with_reader(_FakeReader("417", 0.6, hesitant=1)).read_photo(photo_47)
    assert (reading.number, reading.method, reading.line_text, reading.runner_up) == ("47", "digits", "417", "417")
    # Each reading's confidence comes from its own regression (DISAGREEMENT_GIVEN and
    # DISAGREEMENT_RUNNER_UP), so they need not come in the readings' order (on the real numbers'
    # check halves the runner-up is said likelier in 58 of 665 disagreements); neither is sure here.
    assert 0.0 < reading.runner_up_confidence < 0.5 and 0.0 < reading.confidence < 0.5
    # the classifier's digits, less sure than it alone would say: the number reader reads otherwise
    for digit, by_itself in zip(reading.digits, alone.digits):
        assert digit.digit == by_itself.digit and digit.confidence < by_itself.confidence
        assert digit.probabilities.sum() == pytest.approx(by_itself.probabilities.sum(), abs=1e-5)
    # the same line reading, sure of its "1", wins
    reading = with_reader(_FakeReader("417", 0.6)).read_photo(photo_47)
    assert (reading.number, reading.method, reading.runner_up) == ("417", "line", "47")


def test_a_reading_the_number_reader_finds_no_digit_in_is_said_less_sure(with_reader, photo_47):
    from core.classifier import SILENT_READER_DIGIT_SCALE

    alone = with_reader(None).read_photo(photo_47)  # no number reader: the classifier's own figures
    agreeing = with_reader(_FakeReader("47", 0.9)).read_photo(photo_47)
    silent = with_reader(_FakeReader("", 0.9)).read_photo(photo_47)
    assert alone.number == agreeing.number == silent.number == "47"
    assert silent.line_reader_read_nothing and not alone.line_reader_read_nothing
    assert not agreeing.line_reader_read_nothing and agreeing.method == "both"
    assert 0.0 < SILENT_READER_DIGIT_SCALE < 0.5
    for by_itself, agreed, doubted in zip(alone.digits, agreeing.digits, silent.digits):
        assert agreed.confidence == pytest.approx(by_itself.confidence)
        assert doubted.digit == by_itself.digit
        assert doubted.confidence == pytest.approx(SILENT_READER_DIGIT_SCALE * by_itself.confidence, rel=1e-5)
        assert doubted.not_a_digit == pytest.approx(1 - SILENT_READER_DIGIT_SCALE * by_itself.probabilities.sum(),
                                                    abs=1e-5)
        assert [digit for digit, _ in doubted.top3] == [digit for digit, _ in by_itself.top3]
    assert silent.low_confidence and silent.confidence < alone.confidence * SILENT_READER_DIGIT_SCALE


def test_softened_probabilities_keep_their_order_and_total():
    from core.classifier import softened

    probabilities = np.array([0.7, 0.2, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # 0.05 left for "not a digit"
    np.testing.assert_allclose(softened(probabilities, 1.0), probabilities, atol=1e-6)
    warmer = softened(probabilities, 2.0)
    assert warmer.sum() == pytest.approx(0.95) and warmer.argmax() == 0 and warmer[0] < 0.7
    np.testing.assert_allclose(warmer[:3] / warmer[:3].sum(), np.sqrt([0.7, 0.2, 0.05]) / np.sqrt([0.7, 0.2, 0.05]).sum(),
                               rtol=1e-4)


def test_disagreement_confidences_follow_the_readers_evidence():
    from core.classifier import disagreement_confidences, disagreement_features

    def given(line_given=True, advantage=6.0, digits=0.9, line=0.6):
        return disagreement_confidences(disagreement_features(line_given, advantage, digits, line))

    for line_given in (True, False):
        sure, runner_up = given(line_given)
        assert 0.0 < runner_up < 0.5 and 0.0 < sure < 1.0
        assert sure + runner_up < 1.0  # both readings can be wrong
    assert given(line=0.95)[0] > given(line=0.3)[0]  # a surer reader: a surer reading
    assert given(advantage=20.0)[1] < given(advantage=3.0)[1]  # a runner-up far behind: less likely
    assert given(line_given=False, advantage=-2.0)[0] < given(line_given=True)[0]


class _ViewsReader(NumberReader):
    """A number reader that reads the i-th line it is given (counting every line of every batch,
    from its creation, modulo the number of its _FakeReaders) as the i-th of those does: each
    view of a line in turn, when all are read."""

    def __init__(self, *readers: _FakeReader):
        self.readers = readers
        self.lines_read = 0

    def probabilities(self, lines):
        first, self.lines_read = self.lines_read, self.lines_read + len(lines)
        return np.stack([self.readers[index % len(self.readers)].probabilities_per_line
                         for index in range(first, self.lines_read)])


@pytest.fixture
def unlike_pen_strokes(shipped_classifier, monkeypatch):
    """Every mark of every segmentation is shaped unlike pen strokes, and the classifier reads
    each at most 60 % sure (under SURE_OF_A_SHAPE): a faint register digit, say."""
    import core.preprocessing
    from core.classifier import SURE_OF_A_SHAPE, _softened_prediction

    segment_photo, predict_images = core.preprocessing.segment_photo, Classifier.predict_images

    def unlike_pen(*args, **kwargs):
        segmentation = segment_photo(*args, **kwargs)
        return dataclasses.replace(segmentation, pen_like=[False] * len(segmentation.pen_like))

    def unsure(self, images, boxes=None):
        predictions = predict_images(self, images, boxes=boxes)
        return [_softened_prediction(prediction, 8.0) for prediction in predictions]

    monkeypatch.setattr(core.preprocessing, "segment_photo", unlike_pen)
    monkeypatch.setattr(Classifier, "predict_images", unsure)
    assert all(prediction.confidence < SURE_OF_A_SHAPE and prediction.is_digit
               for prediction in unsure(shipped_classifier, np.stack([handwritten(4), handwritten(7)]) / 255.0))


def test_marks_unlike_pen_strokes_are_read_when_most_views_of_the_line_agree(
        shipped_classifier, with_reader, photo_47, unlike_pen_strokes):
    from core.classifier import READING_VIEWS

    views = len(READING_VIEWS)
    reading = with_reader(_ViewsReader(_FakeReader("417", 0.9), *[_FakeReader("47", 0.6)] * (views - 1))).read_photo(photo_47)
    assert (reading.number, reading.method, reading.line_text) == ("47", "both", "47")
    # half the views read otherwise: shapes, not digits
    half = views // 2
    with pytest.raises(NoDigitFoundError) as raised:
        with_reader(_ViewsReader(*[_FakeReader("47", 0.9)] * half, *[_FakeReader("417", 0.9)] * (views - half))
                    ).read_photo(photo_47)
    assert "number reader reads otherwise" in raised.value.detail
    # no number reader to ask
    with pytest.raises(NoDigitFoundError):
        with_reader(None).read_photo(photo_47)


@pytest.fixture
def one_threshold(monkeypatch):
    """For tests that count the readings of one photo: no second reading at the lower
    threshold (:meth:`Classifier._read_faint`) when the first is unsure or the readers disagree."""
    monkeypatch.setattr(Classifier, "_read_faint", lambda self, photo, ink: None)


def test_the_other_views_are_read_only_when_the_first_is_unsure_or_reads_otherwise(shipped_classifier, with_reader,
                                                                                  photo_47, one_threshold):
    from core.classifier import FIRST_VIEW_SURE, READING_VIEWS
    from core.reader import LINE_HEIGHT, LINE_WIDTH

    one_line = (1, LINE_HEIGHT, LINE_WIDTH)  # one view at a time: the interpreter keeps its batch size
    # sure per digit: the best path's probability to the power 1 / digits
    sure = _FakeReader("47", (FIRST_VIEW_SURE * 1.02) ** 2)
    assert with_reader(sure).read_photo(photo_47).method == "both"
    assert sure.batches == [one_line]
    for reader in (_FakeReader("47", (FIRST_VIEW_SURE * 0.98) ** 2), _FakeReader("417", 0.99)):
        with_reader(reader).read_photo(photo_47)
        assert reader.batches == [one_line] * len(READING_VIEWS)


def test_the_views_vote_by_summed_likelihood(shipped_classifier, with_reader, photo_47):
    from core.classifier import READING_VIEWS

    others = [_FakeReader("47", 0.9)] * (len(READING_VIEWS) - 1)
    # one view sure of a digit the others do not see: the views' reading is the per-digit one
    reading = with_reader(_ViewsReader(_FakeReader("417", 0.9), *others)).read_photo(photo_47)
    assert (reading.number, reading.method, reading.line_text) == ("47", "both", "47")
    # every view but the first sees a third digit: their reading wins, placed by a view that read it
    reading, segmentation = with_reader(_ViewsReader(
        _FakeReader("47", 0.5), *[_FakeReader("417", 0.9)] * (len(READING_VIEWS) - 1))).read_photo_with_steps(photo_47)
    assert (reading.number, reading.method, reading.line_text, reading.runner_up) == ("417", "line", "417", "47")
    assert len(segmentation.working_boxes) == 3


def test_the_second_reader_is_read_only_where_the_first_reads_otherwise(shipped_classifier, monkeypatch,
                                                                       photo_47, one_threshold):
    from core.classifier import READING_VIEWS
    from core.reader import LINE_HEIGHT, LINE_WIDTH

    # the first reader, unsure, reads every view, and each reads the per-digit reading
    agreeing, second = _FakeReader("47", 0.5), _FakeReader("417", 0.9)
    monkeypatch.setattr(shipped_classifier, "readers", (agreeing, second))
    reading = shipped_classifier.read_photo(photo_47)
    assert (reading.number, reading.method, reading.line_text) == ("47", "both", "47")
    assert len(agreeing.batches) == len(READING_VIEWS) and second.batches == []
    # the first reads otherwise: the second reads every view too (in one batch), and the two agree
    first, second = _FakeReader("417", 0.9), _FakeReader("417", 0.9)
    monkeypatch.setattr(shipped_classifier, "readers", (first, second))
    reading = shipped_classifier.read_photo(photo_47)
    assert (reading.number, reading.method, reading.runner_up) == ("417", "line", "47")
    assert len(first.batches) == len(READING_VIEWS) and second.batches == [(len(READING_VIEWS), LINE_HEIGHT, LINE_WIDTH)]


def test_the_readers_of_the_ensemble_are_scored_together(shipped_classifier, monkeypatch, photo_47):
    # alone, a reader that nearly took its "1" for a blank lets the per-digit reading stand ...
    hesitant = _FakeReader("417", 0.6, hesitant=1)
    monkeypatch.setattr(shipped_classifier, "readers", (hesitant,))
    assert shipped_classifier.read_photo(photo_47).number == "47"
    # ... beside a second reader sure of the "1", their summed likelihood gives the line reading
    monkeypatch.setattr(shipped_classifier, "readers", (hesitant, _FakeReader("417", 0.9)))
    reading = shipped_classifier.read_photo(photo_47)
    assert (reading.number, reading.method, reading.runner_up) == ("417", "line", "47")
    # ... and beside a second reader sure of the per-digit reading, the ensemble's own best-scored
    # reading is the per-digit one: the two paths agree
    monkeypatch.setattr(shipped_classifier, "readers", (hesitant, _FakeReader("47", 0.9)))
    reading = shipped_classifier.read_photo(photo_47)
    assert (reading.number, reading.method, reading.line_text, reading.runner_up) == ("47", "both", "47", "")


def test_the_shipped_ensemble_loads_and_a_missing_second_reader_leaves_the_first(shipped_classifier, tmp_path,
                                                                                monkeypatch, caplog):
    import os

    from core.config import DEFAULT_READER_PATHS

    assert [reader.path for reader in shipped_classifier.readers] == list(DEFAULT_READER_PATHS)
    first = DEFAULT_READER_PATHS[0]
    named = Classifier.from_path(shipped_classifier.path, reader_paths=[first, first])
    assert [reader.path for reader in named.readers] == [first, first]
    monkeypatch.setenv("DIGITBOT_NUMBER_READER", f"{first}{os.pathsep}{first}")
    assert len(Classifier.from_path(shipped_classifier.path).readers) == 2
    monkeypatch.delenv("DIGITBOT_NUMBER_READER")
    absent = tmp_path / "absent_reader.tflite"
    monkeypatch.setattr("core.classifier.reader_paths_from_env", lambda: (first, absent))
    with caplog.at_level("WARNING", logger="core.classifier"):
        assert [reader.path for reader in Classifier.from_path(shipped_classifier.path).readers] == [first]
    assert "No number reader at" in caplog.text and "read by number_reader.tflite alone" in caplog.text


def test_the_number_reader_also_reads_marks_left_out_as_not_a_digit(shipped_classifier, with_reader, monkeypatch):
    import core.classifier

    photo = to_jpeg(place_digits(paper(), [handwritten(4), handwritten(7), handwritten(1)], height=160, left=200, top=200))
    predict_images = Classifier.predict_images

    def rightmost_is_not_a_digit(self, images, boxes=None):
        predictions = predict_images(self, images, boxes)
        if boxes is None or len(predictions) < 2:
            return predictions
        rightmost = max(range(len(boxes)), key=lambda index: boxes[index][0])
        predictions[rightmost] = dataclasses.replace(predictions[rightmost], not_a_digit=1.0)
        return predictions

    regions_around = []
    line_region = core.classifier.line_region

    def recording(boxes, *args):
        regions_around.append(list(boxes))
        return line_region(boxes, *args)

    monkeypatch.setattr(Classifier, "predict_images", rightmost_is_not_a_digit)
    monkeypatch.setattr(core.classifier, "line_region", recording)
    reading, segmentation = with_reader(_FakeReader("47", 0.9)).read_photo_with_steps(photo)
    # the classifier's reading leaves the "1" out; the reader's regions still take it in
    assert reading.number == "47" and len(segmentation.working_boxes) == 2
    assert regions_around and all(len(boxes) == 3 for boxes in regions_around)
    rightmost = max(box[0] + box[2] for box in regions_around[0])
    assert rightmost > max(box[0] + box[2] for box in segmentation.working_boxes)


def _number_across_its_box(digits: str, variant: int) -> bytes:
    """A tight crop of a number written across the frame of its box, as cheque amounts are cut:
    the digits touch the frame, and the frame runs along every edge of the crop."""
    page = place_digits(paper(60, 30 + 50 * len(digits)), [handwritten(int(d), variant) for d in digits],
                        height=80, left=4, top=0, gap=-0.05)
    page[0:3, :] = page[53:56, :] = page[:, 0:3] = page[:, -3:] = 0.3
    return to_jpeg(page)


def test_a_number_joined_to_its_box_is_read_from_the_whole_photo(shipped_classifier):
    from core.preprocessing import decode_image, segment_photo

    photo = _number_across_its_box("305", variant=1)
    with pytest.raises(NoDigitFoundError) as found:
        segment_photo(decode_image(photo))  # the digits go with the frame, as a border region
    assert "border" in found.value.detail
    reading, segmentation = shipped_classifier.read_photo_with_steps(photo)
    assert (reading.number, reading.method) == ("305", "line") and reading.number_confidence >= 0.7
    assert len(segmentation.working_boxes) == 3 and segmentation.digit_images.shape == (3, 28, 28)
    assert any("whole photo" in note for note in segmentation.notes)


def test_digits_joined_to_the_border_are_read_over_by_the_number_reader(shipped_classifier):
    # "65032" in a cheque's amount box: the 6 and the 5 are drawn into the box's frame along
    # the photo's left edge and go with it as one border-touching mark, which no digit is made
    # of. It stands on the text line and is as tall as its digits, so the number reader reads
    # over it too and its "65032" is given over the per-digit "032".
    from core.preprocessing import decode_image, segment_photo

    page = place_digits(paper(100, 400, seed=3), [handwritten(digit, 3) for digit in (6, 5, 0, 3, 2)],
                        height=96, left=10, top=2, gap=-0.08)
    cv2.line(page, (31, 5), (31, 95), 0.2, 3)
    cv2.line(page, (31, 75), (150, 75), 0.2, 3)
    photo = to_jpeg(page[:, 30:])
    segmentation = segment_photo(decode_image(photo))
    assert len(segmentation.working_boxes) == 3
    (x, _, w, _), = segmentation.border_marks
    assert x == 0 and w >= 100  # the 6 and the 5 with the frame
    reading = shipped_classifier.read_photo(photo)
    assert (reading.number, reading.method, reading.runner_up) == ("65032", "line", "032")


@pytest.mark.parametrize(("digit", "variant"), [(2, 0), (5, 2)])
def test_a_digit_the_crop_cut_into_is_read(shipped_classifier, digit, variant):
    # A cell cropped through the digit's foot: its lowest stroke runs out along the bottom
    # edge, so segmentation removes it as a region along the border and finds nothing. Kept,
    # both readers read it alike, and it is given.
    from core.preprocessing import decode_image, segment_photo

    page = place_digits(paper(300, 240, seed=variant), [handwritten(digit, variant)], height=300, left=20, top=10)
    photo = to_jpeg(page[:int(10 + 300 * 23.2 / 28)])
    with pytest.raises(NoDigitFoundError) as found:
        segment_photo(decode_image(photo))
    assert found.value.reason == "border"
    reading = shipped_classifier.read_photo(photo)
    assert (reading.number, reading.method) == (str(digit), "both")


def test_a_digit_in_light_pencil_is_read_with_a_lower_threshold_when_both_readers_agree(shipped_classifier):
    # A 3 so light (15 % of the paper's light at its core) that nothing reaches the usual floor.
    page = place_digits(paper(480, 640), [handwritten(3)], height=160, left=200, top=150, darkness=0.15)
    with pytest.raises(NoDigitFoundError):
        segment_photo(decode_image(to_jpeg(page)))
    reading, segmentation = shipped_classifier.read_photo_with_steps(to_jpeg(page))
    assert (reading.number, reading.method) == ("3", "both") and reading.confidence > 0.95
    assert classifier_module.FAINT_NOTE in segmentation.notes
    # Without a number reader to confirm it, the faint reading is not given.
    digit_by_digit = Classifier.from_path(shipped_classifier.path, reader_paths=None)
    with pytest.raises(NoDigitFoundError):
        digit_by_digit.read_photo(to_jpeg(page))


def test_a_pen_digit_is_not_read_again_with_the_lower_threshold(shipped_classifier, monkeypatch):
    calls = []
    monkeypatch.setattr(Classifier, "_read_faint", lambda self, photo, ink: calls.append(1))
    page = place_digits(paper(480, 640), [handwritten(3)], height=160, left=200, top=150)
    reading = shipped_classifier.read_photo(to_jpeg(page))
    assert (reading.number, reading.method) == ("3", "both") and not reading.low_confidence
    assert not calls  # sure and agreed: the faint hypothesis is not tried


def test_a_faint_reading_replaces_an_unsure_one_only_when_it_ranks_higher(shipped_classifier, monkeypatch):
    # Ranked as lines are (line_rank): both readers agreeing first, then the confidence per digit.
    page = place_digits(paper(480, 640), [handwritten(7)], height=160, left=200, top=150)
    first, segmentation = shipped_classifier.read_photo_with_steps(to_jpeg(page))
    digit = first.digits[0]

    def read(first_reading, faint_reading):
        monkeypatch.setattr(Classifier, "_read_photo_with_steps",
                            lambda self, photo, ink: (first_reading, segmentation))
        monkeypatch.setattr(Classifier, "_read_faint",
                            lambda self, photo, ink: (ink, faint_reading, segmentation))
        return shipped_classifier.read_photo(to_jpeg(page)).number

    faint_1 = dataclasses.replace(first, digits=(dataclasses.replace(digit, digit=1, confidence=0.6),))
    assert read(dataclasses.replace(first, method="digits"), faint_1) == "1"  # the readers disagreed
    unsure_7 = dataclasses.replace(first, digits=(dataclasses.replace(digit, confidence=0.7),))
    assert read(unsure_7, faint_1) == "7"  # both agreed, and the faint reading is less sure
    line_7, line_1 = (dataclasses.replace(reading, method="line") for reading in (unsure_7, faint_1))
    assert read(line_7, line_1) == "7"
    # 10 digits each 0.9 sure (0.35 for the number) are not unsure: no faint reading is tried.
    ten = dataclasses.replace(first, digits=(dataclasses.replace(digit, confidence=0.9),) * 10)
    assert read(ten, dataclasses.replace(faint_1, digits=faint_1.digits * 9)) == "7" * 10


def test_the_faint_edge_of_a_coloured_shape_cut_by_the_frame_is_no_digit(shipped_classifier):
    # The top of benchmarks/data/synth_v1's none_0015.jpg cut 5:1, a magenta disc on blue: at
    # the lower floor its rim is two faint arcs from the top edge to the bottom one, which
    # both readers read as a 1. Marks reaching the photo's edge are no faint digit.
    from benchmarks.photo_robustness import negative_strips

    image = cv2.imread(str(Path(__file__).parents[2] / "benchmarks" / "data" / "synth_v1" / "none_0015.jpg"))
    strip = next(strip for aspect, where, strip in negative_strips(image) if (aspect, where) == (5, "top"))
    photo = cv2.imencode(".jpg", strip, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    with pytest.raises(NoDigitFoundError):
        shipped_classifier.read_photo(photo)
    assert classifier_module._touches_border([(186, 0, 35, 128)], (128, 640))
    assert not classifier_module._touches_border([(186, 1, 35, 126)], (128, 640))


def test_only_a_table_along_the_border_is_still_no_digit(shipped_classifier):
    page = paper(480, 640, seed=3)
    page[380:] = np.clip(0.15 + np.random.default_rng(3).normal(0, 0.12, page[380:].shape), 0, 1)
    with pytest.raises(NoDigitFoundError) as found:
        shipped_classifier.read_photo(to_jpeg(page))
    assert found.value.reason == "border"


@pytest.mark.parametrize(("centre", "axes", "angle"), [(300, (90, 150), 0), (350, (100, 160), 10)])
def test_a_finger_entering_the_photo_is_not_a_digit(shipped_classifier, centre, axes, angle):
    # A finger's blurred tip reaching in from the bottom edge: the local background estimate
    # sees only its rim, an arch open where the finger leaves the photo, which read 9. Closed
    # along the border, the arch has the finger's dark inside for a hole: a filled object.
    page = paper(480, 640, seed=4)
    cv2.ellipse(page, (centre, 480), axes, angle, 0, 360, 0.45, -1)
    with pytest.raises(NoDigitFoundError):
        shipped_classifier.read_photo(to_jpeg(cv2.GaussianBlur(page, (0, 0), 2)))


def test_the_whole_photo_is_read_only_if_shaped_like_a_line_and_read_surely(shipped_classifier, with_reader):
    from core.classifier import READER_ALONE_MIN_CONFIDENCE, WHOLE_PHOTO_MIN_ASPECT

    photo = _number_across_its_box("27", variant=1)
    assert with_reader(_FakeReader("27", 0.9)).read_photo(photo).number == "27"
    with pytest.raises(NoDigitFoundError) as unsure:
        with_reader(_FakeReader("27", READER_ALONE_MIN_CONFIDENCE - 0.1)).read_photo(photo)
    assert "unsure (27" in unsure.value.detail
    # The frame of an empty box: a sure reader's "7" there is no digit to the classifier.
    frame = paper(60, 180)
    frame[0:3, :] = frame[53:56, :] = frame[:, 0:3] = frame[:, -3:] = 0.3
    with pytest.raises(NoDigitFoundError):
        with_reader(_FakeReader("7", 0.99)).read_photo(to_jpeg(frame))
    # A page (4:3) with only a table's edge along its border, and a wide blank one: never read.
    page = paper(480, 640)
    page[:, :40] = 0.2
    blank_strip = paper(60, int(60 * WHOLE_PHOTO_MIN_ASPECT) + 60)
    for nothing in (page, blank_strip):
        reader = _FakeReader("7", 0.99)
        with pytest.raises(NoDigitFoundError):
            with_reader(reader).read_photo(to_jpeg(nothing))
        assert reader.batches == []


def test_a_line_reading_of_nothing_leaves_the_digits_alone(shipped_classifier, with_reader, photo_47):
    reading = with_reader(_FakeReader("", 0.99)).read_photo(photo_47)
    assert (reading.number, reading.method, reading.line_text, reading.runner_up) == ("47", "digits", "", "")


def test_a_line_recognition_rejects_is_left_out_and_the_next_one_read(shipped_classifier, monkeypatch,
                                                                      one_threshold):
    from test_preprocessing import _tall_ring_beside_47

    from core.classifier import MAX_LINES_REJECTED

    seen = []
    read_segmentation = Classifier._read_segmentation

    def rejecting_tall_lines(self, photo, segmentation):
        seen.append(list(segmentation.working_boxes))
        if any(box[3] > 300 for box in segmentation.working_boxes):
            raise NoDigitFoundError(detail="every mark reads as not a digit")
        return read_segmentation(self, photo, segmentation)

    monkeypatch.setattr(Classifier, "_read_segmentation", rejecting_tall_lines)
    reading, segmentation = shipped_classifier.read_photo_with_steps(_tall_ring_beside_47())
    assert reading.number == "47" and len(seen) == 2 and len(segmentation.working_boxes) == 2

    # Recognition that rejects every line gives up after MAX_LINES_REJECTED more tries.
    seen.clear()

    def rejecting_all(self, photo, segmentation):
        seen.append(list(segmentation.working_boxes))
        raise NoDigitFoundError(detail="every mark reads as not a digit")

    monkeypatch.setattr(Classifier, "_read_segmentation", rejecting_all)
    with pytest.raises(NoDigitFoundError):
        shipped_classifier.read_photo(_tall_ring_beside_47())
    assert 2 <= len(seen) <= 1 + MAX_LINES_REJECTED


def test_a_line_the_number_reader_reads_nothing_in_gives_way_to_another_line(shipped_classifier, monkeypatch):
    from test_preprocessing import _tall_ring_beside_47

    seen = []
    read_segmentation = Classifier._read_segmentation

    def ring_unread(self, photo, segmentation):
        # The tall line read as a 0 that the number reader does not see, placed apart from the
        # 47 (the ring's own box holds them); the 47 read by both.
        seen.append(list(segmentation.working_boxes))
        if any(box[3] > 300 for box in segmentation.working_boxes):
            ring = PhotoReading(digits=(_prediction(0, (0, 0, 40, 60)),), width=photo.shape[1],
                                height=photo.shape[0], method="digits", line_text="")
            return ring, segmentation
        return read_segmentation(self, photo, segmentation)

    monkeypatch.setattr(Classifier, "_read_segmentation", ring_unread)
    reading, segmentation = shipped_classifier.read_photo_with_steps(_tall_ring_beside_47())
    assert reading.number == "47" and reading.line_text == "47" and len(seen) == 2
    assert len(segmentation.working_boxes) == 2

    # When the number reader reads nothing in the next line either, the first line's reading stands.
    def nothing_read(self, photo, segmentation):
        reading, segmentation = ring_unread(self, photo, segmentation)
        return dataclasses.replace(reading, method="digits", line_text=""), segmentation

    monkeypatch.setattr(Classifier, "_read_segmentation", nothing_read)
    assert shipped_classifier.read_photo(_tall_ring_beside_47()).number == "0"

    # A next line inside the first one's digits is a piece of them (a 4's other stroke): the first stands.
    def unread_inside(self, photo, segmentation):
        reading, segmentation = ring_unread(self, photo, segmentation)
        if reading.number == "0":
            reading = dataclasses.replace(reading, digits=(_prediction(0, (0, 0, 600, 600)),))
        return reading, segmentation

    monkeypatch.setattr(Classifier, "_read_segmentation", unread_inside)
    assert shipped_classifier.read_photo(_tall_ring_beside_47()).number == "0"


def test_another_line_overlapping_the_first_is_a_piece_of_it():
    from core.classifier import _overlapping

    def reading(*boxes):
        return PhotoReading(digits=tuple(_prediction(4, box) for box in boxes), width=200, height=100)

    four = reading((10, 10, 60, 80))
    assert _overlapping(four, reading((20, 30, 10, 40)))  # its other stroke
    assert not _overlapping(four, reading((120, 10, 30, 50)))  # a number beside it
    assert not _overlapping(four, reading())


def _prediction(digit: int, box: tuple[int, int, int, int]) -> DigitPrediction:
    probabilities = np.full(10, 0.01, np.float32)
    probabilities[digit] = 0.91
    return DigitPrediction(digit=digit, confidence=0.91, top3=((digit, 0.91),), probabilities=probabilities,
                           image=np.zeros((28, 28), np.float32), bounding_box=box)


def test_a_line_digit_segmentation_kept_no_ink_of_shows_the_ink_the_reader_read():
    from core.classifier import _line_predictions
    from core.preprocessing import Segmentation
    from core.reader import LineReading

    # A faint "0" the ink threshold dropped (the mask is empty there) and a kept "1".
    gray = np.full((60, 120), 220, np.uint8)
    ink = np.zeros(gray.shape, np.float32)
    cv2.ellipse(ink, (30, 30), (10, 16), 0, 0, 360, 0.2, 3)
    mask = np.zeros(gray.shape, np.uint8)
    mask[12:48, 88:92] = 255
    segmentation = Segmentation(gray=gray, ink=ink, mask=mask)
    probabilities = np.full((64, 11), 0.01, np.float32)
    probabilities[10, 1] = probabilities[40, 2] = 0.9  # class 0 is CTC's blank: "0" at step 10, "1" at 40
    line = LineReading(text="01", confidence=0.8, digit_confidences=(0.9, 0.9), spans=((10, 10), (40, 40)))
    faint, kept = _line_predictions(line, probabilities, segmentation, [(14, 10, 32, 42), (80, 10, 20, 42)])
    assert (faint.digit, kept.digit) == (0, 1)
    assert faint.image.max() > 0.5 and kept.image.max() > 0.5
    ring = faint.image > 0.5
    assert not ring[14, 14] and ring[:, :14].any() and ring[:, 14:].any()  # a ring around an empty middle


def test_line_digit_boxes_reach_the_ink_the_time_steps_miss():
    from core.classifier import _line_digit_boxes
    from core.reader import STEP_WIDTH, LineReading

    # Two digits 30 px wide at x 20-50 and 60-90, rows 15-45 of a 60-row region; CTC emitted
    # each at a step over its right part (x 44 and 84 at x_scale 1).
    mask = np.zeros((60, 120), np.uint8)
    mask[15:45, 20:50] = mask[15:45, 60:90] = 255
    steps = [round(x / STEP_WIDTH) for x in (44, 84)]
    line = LineReading(text="47", confidence=0.9, digit_confidences=(0.9, 0.9),
                       spans=tuple((step, step) for step in steps))
    region = (0, 0, 120, 60)
    plain = _line_digit_boxes(line, region, 1.0)
    assert plain[0][0] > 20 and all(box[1] == 0 and box[3] == 60 for box in plain)  # misses the 4's left part
    (x, y, w, h), (x2, y2, w2, h2) = _line_digit_boxes(line, region, 1.0, mask)
    assert x <= 20 and x + w == x2 and x2 + w2 >= 90  # the outer edges reach the ink
    assert (y, h) == (y2, h2) == (15, 30)  # trimmed to the ink's rows


def test_a_second_line_of_writing_is_counted_not_read(shipped_classifier):
    # "3572" written above "814": one line is read, and the reply can say that another is there.
    page = paper(960, 1280)
    page = place_digits(page, [handwritten(d, 1) for d in (3, 5, 7, 2)], height=160, left=200, top=150)
    two_lines = place_digits(page, [handwritten(d, 2) for d in (8, 1, 4)], height=150, left=220, top=560)
    reading, segmentation = shipped_classifier.read_photo_with_steps(to_jpeg(two_lines))
    assert reading.number == "3572" and reading.other_lines == 1 and reading.to_dict()["other_lines"] == 1
    (x, y, w, h), = segmentation.other_lines  # working pixels, below the line read
    assert y > max(box_y + box_h for _, box_y, _, box_h in segmentation.working_boxes)
    # One line alone, or with a lone mark (a tick, a letter) under it: nothing more to say.
    one_line = shipped_classifier.read_photo(to_jpeg(page))
    assert one_line.number == "3572" and one_line.other_lines == 0 and one_line.to_dict()["other_lines"] == 0
    with_a_mark = place_digits(page, [handwritten(8, 2)], height=150, left=500, top=560)
    assert shipped_classifier.read_photo(to_jpeg(with_a_mark)).other_lines == 0
    # the other line, asked for by its number: read as a line of its own, the first one counted
    other, other_segmentation = shipped_classifier.read_photo_with_steps(to_jpeg(two_lines), line=1)
    assert other.number == "814" and other.other_lines == 1
    (x, y, w, h), = other_segmentation.other_lines  # the first line, above
    assert y + h <= min(box_y for _, box_y, _, _ in other_segmentation.working_boxes)
    assert shipped_classifier.read_photo(to_jpeg(two_lines), line=0).number == "3572"
    with pytest.raises(NoDigitFoundError):
        shipped_classifier.read_photo(to_jpeg(two_lines), line=2)
    with pytest.raises(ValueError):
        shipped_classifier.read_photo(to_jpeg(two_lines), line=-1)


def test_of_two_lines_the_one_read_more_surely_is_given(shipped_classifier):
    # The tallest marks are a 3 and a 5 turned on their side (as a word or a year in brackets
    # above a register's row number reads): the readers read them unsure and apart. "29"
    # below reads alike and sure, so it is given, and the tall line is the one not read.
    page = paper(960, 1280)
    sideways = [np.ascontiguousarray(np.rot90(handwritten(digit, 1))) for digit in (3, 5)]
    page = place_digits(page, sideways, height=200, left=200, top=120)
    page = place_digits(page, [handwritten(digit, 2) for digit in (2, 9)], height=150, left=220, top=560)
    data = to_jpeg(page)
    reading, segmentation = shipped_classifier.read_photo_with_steps(data)
    assert reading.number == "29" and reading.method == "both" and reading.other_lines == 1
    (x, y, w, h), = segmentation.other_lines  # the tall line, now the one not read, above
    assert y + h <= min(box_y for _, box_y, _, _ in segmentation.working_boxes)
    tall = shipped_classifier._read_segmentation(decode_image(data), segment_photo(decode_image(data)))[0]
    assert tall.number != "29" and line_rank(tall) < line_rank(reading)
    assert segmentation.notes[-1] == OTHER_LINE_NOTE.format(count=2, number=tall.number)
    # segment_photo asked for the line through a box finds that line's marks
    first = segment_photo(decode_image(data))
    assert len(first.working_boxes) == 2 and first.other_lines
    lower = segment_photo(decode_image(data), line_through=first.other_lines[0])
    assert len(lower.working_boxes) == 2
    first_bottom = max(y + h for _, y, _, h in first.working_boxes)
    assert min(box_y for _, box_y, _, _ in lower.working_boxes) > first_bottom
    with pytest.raises(NoDigitFoundError):  # a box holding no mark's centre: no line there
        segment_photo(decode_image(data), line_through=(0, 0, 20, 20))


def test_a_page_of_more_lines_than_are_compared_keeps_the_tallest(shipped_classifier, monkeypatch):
    page = paper(960, 1280)
    sideways = [np.ascontiguousarray(np.rot90(handwritten(digit, 1))) for digit in (3, 5)]
    page = place_digits(page, sideways, height=200, left=200, top=120)
    data = to_jpeg(place_digits(page, [handwritten(digit, 2) for digit in (2, 9)], height=150, left=220,
                                top=560))
    monkeypatch.setattr(classifier_module, "MAX_LINES_COMPARED", 1)
    reading = shipped_classifier.read_photo(data)
    assert reading.number != "29" and reading.other_lines == 1
    assert shipped_classifier.read_photo(data, line=1).number == "29"  # still read on request


def _silent(read):
    """``read`` (a Classifier method returning ``(PhotoReading, Segmentation)``) with its
    reading as if the number readers had read nothing in the line."""
    def silent(self, photo, *args):
        reading, segmentation = read(self, photo, *args)
        return dataclasses.replace(reading, method="digits", line_text="", runner_up=""), segmentation

    return silent


def _unchanged(self, photo, ink, reading, segmentation):
    """In place of :meth:`Classifier._lone_mark` or ``_past_the_line``: ``reading`` as it is."""
    return reading, segmentation


def _number_with_a_lone_mark() -> bytes:
    """47 written on a line, and a 3 alone above it to the right."""
    page = place_digits(paper(720, 960, seed=2), [handwritten(4), handwritten(7)], height=160, left=300,
                        top=400)
    return to_jpeg(place_digits(page, [handwritten(3, 1)], height=140, left=650, top=120))


def test_a_lone_mark_is_read_only_when_the_readers_read_nothing_in_the_line(shipped_classifier, monkeypatch,
                                                                            one_threshold):
    photo = _number_with_a_lone_mark()
    segmentation = segment_photo(decode_image(photo))
    assert len(segmentation.working_boxes) == 2 and not segmentation.other_lines
    (lone,) = segmentation.lone_marks
    read_through = []
    original = Classifier._read_line_through
    def recording(self, photo, ink, box):
        read_through.append(box)
        return original(self, photo, ink, box)

    monkeypatch.setattr(Classifier, "_read_line_through", recording)
    reading, steps = shipped_classifier.read_photo_with_steps(photo)
    assert (reading.number, reading.method) == ("47", "both") and not read_through
    assert classifier_module.SILENT_LINE_NOTE not in steps.notes

    # The readers read nothing in the line (as in a register cell's border read as a 1): the
    # lone mark is read as a line of its own, and given as both readers read it alike.
    read = Classifier._read_photo_with_steps

    monkeypatch.setattr(Classifier, "_read_photo_with_steps", _silent(read))
    reading, steps = shipped_classifier.read_photo_with_steps(photo)
    assert read_through == [lone]
    assert (reading.number, reading.method, reading.other_lines) == ("3", "both", 0)
    assert classifier_module.SILENT_LINE_NOTE in steps.notes
    assert not reading.line_reader_read_nothing


def test_a_lone_mark_the_readers_do_not_agree_on_leaves_the_silent_reading(shipped_classifier, monkeypatch,
                                                                          one_threshold):
    photo = _number_with_a_lone_mark()
    read = Classifier._read_photo_with_steps
    monkeypatch.setattr(Classifier, "_read_photo_with_steps", _silent(read))
    original = Classifier._read_line_through

    def disagreeing(self, photo, ink, box):
        other, other_segmentation = original(self, photo, ink, box)
        return dataclasses.replace(other, method="line"), other_segmentation

    monkeypatch.setattr(Classifier, "_read_line_through", disagreeing)
    monkeypatch.setattr(Classifier, "_past_the_line", _unchanged)
    reading = shipped_classifier.read_photo(photo)
    assert reading.number == "47" and reading.line_reader_read_nothing
    # said as unsure as such readings are
    assert reading.digits[0].confidence <= classifier_module.SILENT_READER_DIGIT_SCALE


def test_past_a_silent_line_the_rest_of_the_photo_is_read_when_both_readers_agree(shipped_classifier,
                                                                                 monkeypatch, one_threshold):
    # No lone mark helps (taken as read nothing here): every stroke of the line the readers read
    # nothing in is left out, and what remains, the 3, is read and given as both read it alike.
    photo = _number_with_a_lone_mark()
    segmentation = segment_photo(decode_image(photo))
    assert len(segmentation.strokes) == 2 and segmentation.anchor in segmentation.strokes
    read = Classifier._read_photo_with_steps
    monkeypatch.setattr(Classifier, "_read_photo_with_steps", _silent(read))
    monkeypatch.setattr(Classifier, "_lone_mark", _unchanged)
    reading, steps = shipped_classifier.read_photo_with_steps(photo)
    assert (reading.number, reading.method) == ("3", "both")
    assert classifier_module.SILENT_LINE_NOTE in steps.notes
    assert not set(steps.strokes) & set(segmentation.strokes)


def test_past_a_silent_line_at_most_max_lines_rejected_more_are_left_out(shipped_classifier, monkeypatch,
                                                                         one_threshold):
    import core.preprocessing

    photo = _number_with_a_lone_mark()
    read = Classifier._read_segmentation
    monkeypatch.setattr(Classifier, "_read_segmentation", _silent(read))  # the readers read nothing anywhere
    excluded = []
    segment = core.preprocessing.segment_photo

    def counting(photo, exclude=frozenset(), **kwargs):
        if exclude:
            excluded.append(frozenset(exclude))
        return segment(photo, exclude=exclude, **kwargs)

    monkeypatch.setattr(core.preprocessing, "segment_photo", counting)
    reading = shipped_classifier.read_photo(photo)
    assert reading.number == "47" and reading.line_reader_read_nothing
    # the rejected-line loop's tries (one anchor each: the 47's 4, the 3), then the lines passed
    # over, MAX_LINES_REJECTED of them, each leaving out every stroke of the lines before it
    line = segment(decode_image(photo)).strokes
    passed = excluded[-classifier_module.MAX_LINES_REJECTED:]
    assert passed[0] == line and passed[0] < passed[1] and len(passed[1]) == 3
    assert all(len(tried) == 1 for tried in excluded[:-classifier_module.MAX_LINES_REJECTED])


def test_line_rank_puts_agreement_first_then_the_confidence_per_digit():
    def reading(method: str, *confidences: float) -> PhotoReading:
        digits = tuple(DigitPrediction(digit=1, confidence=c, top3=(), probabilities=np.zeros(10, np.float32),
                                       image=np.zeros((28, 28), np.float32)) for c in confidences)
        return PhotoReading(digits=digits, method=method)

    assert line_rank(reading("both", 0.6)) > line_rank(reading("line", 0.99))
    assert line_rank(reading("digits", 0.9)) > line_rank(reading("line", 0.8))
    # per digit: four digits at 0.95 each (0.81 in all) rank above one digit at 0.9
    assert line_rank(reading("both", 0.95, 0.95, 0.95, 0.95)) > line_rank(reading("both", 0.9))
