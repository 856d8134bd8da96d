"""Inference: load the LiteRT model once and turn digit images or photo bytes into predictions."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from core.config import (
    CLASS_LABELS,
    DEFAULT_MODEL_PATH,
    IMAGE_SIZE,
    MODEL_CARD_FILENAME,
    NOT_A_DIGIT,
    NOT_A_DIGIT_LABEL,
    NUM_CLASSES,
    NUM_OUTPUTS,
    READER_ENV,
    TFLITE_SUFFIX,
    reader_paths_from_env,
)
from core.errors import NoDigitFoundError
from core.litert import load_interpreter, softmax
from core.reader import (
    REGION_MARGIN_X,
    REGION_MARGIN_Y,
    STEP_WIDTH,
    LineReading,
    NumberReader,
    ReaderLoadError,
    ctc_log_likelihood,
    line_input,
    line_region,
)
from core.results import LOW_CONFIDENCE, DigitPrediction, PhotoReading

logger = logging.getLogger(__name__)


#: Confidence above which a mark is read as a digit even when it is not shaped like pen
#: strokes (:func:`core.preprocessing.looks_like_pen_strokes`): a marker's blotted digit.
SURE_OF_A_SHAPE = 0.99


#: The crops of the number's line the number reader reads, as ``(margin_x, margin_y)`` around
#: the digits' boxes in median digit heights (:func:`core.reader.line_region`): the line
#: region, then tighter ones that leave out more of what lies around the digits (ruling, a
#: binding edge, a neighbouring cell's marks). Each candidate reading is scored over all of
#: them (test-time augmentation). On the tune halves of benchmarks.real_numbers with the
#: shipped number reader, margin 2 per view: the line region alone 56.8 / 65.0 % read whole
#: (cheques / ledger), with the three tighter views 58.5 / 69.7 %.
READING_VIEWS = ((REGION_MARGIN_X, REGION_MARGIN_Y), (0.4, 0.15), (0.75, 0.15), (0.4, 0.3))


#: The per-digit reading stands against a different reading of the number reader when the
#: reader itself finds it nearly as likely: its CTC log-likelihood (natural log, summed over
#: every alignment), summed over the views read (:data:`READING_VIEWS`, by each reader of the
#: ensemble that read the line), is at most this far per view below the reader's reading's.
#: Chosen on the tune halves (benchmarks.real_photos single digits / benchmarks.real_numbers
#: cheques / ledger, read whole): 2 -> 96.6 / 58.5 / 69.7 %, 2.5 ->
#: 97.1 / 57.8 / 69.6, 3 -> 97.6 / 58.0 / 69.4, 3.5 -> 97.9 / 58.6 / 68.6, 4 -> 98.0 / 59.0 /
#: 67.4; 2 also lost a dev number (286 read 886). Check halves with 3: 97.9 / 60.9 / 70.0 %
#: (one view, margin 2: 97.7 / 61.1 / 66.9; the per-digit path alone: 98.2 / 39.4 / 50.9).
LIKELIHOOD_MARGIN = 3.0


#: The first reader's first view (the line region) decides alone when it reads the per-digit
#: reading at least this sure per digit: its best-path confidence
#: (:attr:`core.reader.LineReading.confidence`) to the power 1 / number of digits, a geometric
#: mean that does not fall with the number's length. The other views are read only otherwise.
#: A speed gate, not a reading rule: on benchmarks.real_numbers and benchmarks.real_photos (5,347
#: real images), benchmarks.synth_numbers and benchmarks.photo_robustness, reading the other
#: views anyway changed no reading, while with no confidence asked three register cells were
#: lost (their first views 0.85 and 0.80 sure per digit on the tune half, 0.73 on the check
#: half). It saves three of the four views, about 4 ms, on most photos (benchmarks.speed).
FIRST_VIEW_SURE = 0.9


#: When segmentation found pen-stroke marks but the digit classifier judges every one "not a
#: digit", the number reader reads their line and its reading is given when its best-path
#: confidence (:attr:`core.reader.LineReading.confidence`) is at least this. Such marks are
#: mostly numbers whose digits touch or sit on a rule, which the classifier sees as one odd
#: mark. Chosen on the tune halves of benchmarks.real_numbers (items that answered "no digit";
#: right / wrong readings given): 0.5 -> 42 / 12, 0.7 -> 31 / 2, 0.9 -> 18 / 1. None of the 60
#: negatives of benchmarks/data/synth_v1 reaches this step. Check halves with 0.7: 28 right,
#: 8 wrong; ledger read whole: tune 69.4 -> 71.7 %, check 70.0 -> 72.0 %.
READER_ALONE_MIN_CONFIDENCE = 0.7

#: When segmentation finds no digit, the number reader reads the whole photo only if the photo
#: is at least this many times as wide as tall: a crop of a number's line (a cheque's amount
#: box), as the reader was trained on. A photo of a page (4:3 or 3:4) is not: the reader would
#: see its digits under a fifth of its 32 rows, and reads large drawn shapes as digits (3 of
#: the 60 negatives of benchmarks/data/synth_v1, all 4:3 or 3:4, read 2, 4 and 1 at 81-92 %).
WHOLE_PHOTO_MIN_ASPECT = 1.5


#: How many text lines recognition may reject in one photo before it answers "no digit"
#: (each rejection leaves out the stroke the line was found from and segments again). On
#: the real register cells the tallest mark is often a column's border or the binding
#: edge, beside a smaller number. benchmarks.real_numbers ledger read whole, tune / check:
#: 0 -> 73.7 / 74.5 %, 1 -> 75.0 / 75.5, 2 -> 75.0 / 75.5 (one more on tune), 4 -> as 2. Asking
#: the number reader alone (:data:`READER_ALONE_MIN_CONFIDENCE`) only after every line was
#: rejected, instead of on each line, read 74.3 / 74.9 %. Looking again also when the number
#: reader reads nothing in the line (keeping the first reading unless the next line is read
#: and lies apart from it): ledger 77.2 / 78.5 -> 79.4 / 81.0 %; real singles, cheques and the
#: synthetic sets unchanged (without the "lies apart" check: 79.5 / 81.4 %, but a 4 written
#: in two strokes read 2).
MAX_LINES_REJECTED = 2
#: Photos with at most this many lines of writing have each line read and the surest given
#: (:meth:`Classifier._surest_line`); more lines make a page of writing, whose first line (through
#: the tallest mark) stands, the others counted, each still read on request (``line``). Each
#: further line read costs about one more reading: 23 ms for one line of 5 digits on this
#: project's slower machine, 45 ms for two, 98 ms for four, 376 ms for eight.
MAX_LINES_COMPARED = 4


#: ``Classifier.from_path``'s default: the number reader named by the environment.
READER_FROM_ENVIRONMENT = object()


class ModelLoadError(RuntimeError):
    """The model file is missing, unreadable, or does not match its model card."""


def read_model_card(model_path: Path) -> dict:
    """The JSON card written beside the model (``digit_cnn.json`` or ``<stem>.json``), or {}."""
    for candidate in (model_path.with_suffix(".json"), model_path.parent / MODEL_CARD_FILENAME):
        if candidate.is_file():
            try:
                return json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelLoadError(f"{candidate}: unreadable model card ({exc})") from exc
    return {}


def tflite_path(model_path: Path) -> Path:
    """The ``.tflite`` file served for a model path (``digit_cnn.keras`` -> ``digit_cnn.tflite``)."""
    return model_path if model_path.suffix == TFLITE_SUFFIX else model_path.with_suffix(TFLITE_SUFFIX)


def _predictions_from_probabilities(probabilities: np.ndarray, images: np.ndarray,
                                    boxes: list | None = None) -> list[DigitPrediction]:
    """One prediction per row of probabilities (N, 10 or 11): digits ranked, "not a digit" apart."""
    results = []
    digits = probabilities[:, :NUM_CLASSES]
    order = np.argsort(-digits, axis=1)[:, :3]
    for index, row in enumerate(digits):
        top3 = tuple((int(digit), float(row[digit])) for digit in order[index])
        results.append(
            DigitPrediction(
                digit=top3[0][0],
                confidence=top3[0][1],
                top3=top3,
                probabilities=row,
                image=images[index],
                bounding_box=None if boxes is None else boxes[index],
                not_a_digit=float(probabilities[index, NOT_A_DIGIT]) if probabilities.shape[1] > NUM_CLASSES else 0.0,
            )
        )
    return results


def _line_digit_boxes(reading: LineReading, region: tuple[int, int, int, int], x_scale: float,
                      mask: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """Working-image boxes ``(x, y, w, h)`` of the digits a line reading emitted: each digit
    spans from midway to its left neighbour's time step to midway to its right one's.

    CTC emits a digit at a time step that often lies right of its middle, so with ``mask``
    (uint8 (H, W), the ink kept, working size) the first box reaches left and the last one
    right to the ink there, by at most a quarter of the digits' spacing, and every box is trimmed top
    and bottom to the ink between its sides (the region's rows when it holds none).
    """
    x0, y0, x1, y1 = region
    centers = [((first + last + 1) / 2) * STEP_WIDTH / x_scale + x0 for first, last in reading.spans]
    if len(centers) > 1:
        half = float(np.median(np.diff(centers))) / 2
    else:
        half = 0.35 * (y1 - y0)
    edges = [max(x0, centers[0] - half)]
    edges += [(left + right) / 2 for left, right in zip(centers, centers[1:])]
    edges.append(min(x1, centers[-1] + half))
    left0, top0 = max(0, x0), max(0, y0)  # the band's origin in the working image
    band = mask[top0:y1, left0:x1] if mask is not None else None
    if band is not None and band.size:
        columns = np.flatnonzero(band.any(axis=0)) + left0
        outer_left = columns[columns >= edges[0] - half / 2]
        if outer_left.size and outer_left[0] < edges[0]:
            edges[0] = float(outer_left[0])
        outer_right = columns[columns <= edges[-1] + half / 2]
        if outer_right.size and outer_right[-1] + 1 > edges[-1]:
            edges[-1] = float(outer_right[-1] + 1)
    boxes = []
    for left, right in zip(edges, edges[1:]):
        left, right = int(left), max(int(left) + 1, int(np.ceil(right)))
        top, bottom = y0, y1
        if band is not None and band.size:
            rows = np.flatnonzero(band[:, max(0, left - left0):max(0, right - left0)].any(axis=1))
            if rows.size:
                top, bottom = top0 + int(rows[0]), top0 + int(rows[-1]) + 1
        boxes.append((left, top, right - left, bottom - top))
    return boxes


def softened(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities at a temperature: ``softmax(logits / T)`` computed from ``softmax(logits)``
    as ``p ** (1 / T)``, rescaled to the input's own total (so digit probabilities that leave
    room for "not a digit" keep leaving it).

    Args:
        probabilities: float (K,), >= 0, total in (0, 1].
        temperature: > 0; above 1 softens, 1 returns the input's values.

    Returns:
        float32 (K,), same order; the argmax is unchanged.
    """
    probabilities = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)
    powered = np.power(probabilities, 1.0 / temperature)
    return (powered * (probabilities.sum() / powered.sum())).astype(np.float32)


def _softened_prediction(prediction: DigitPrediction, temperature: float) -> DigitPrediction:
    """The prediction with its digit probabilities :func:`softened` (digit and box unchanged)."""
    digits = softened(prediction.probabilities, temperature)
    order = np.argsort(-digits)[:3]
    return dataclasses.replace(prediction, confidence=float(digits[order[0]]), probabilities=digits,
                               top3=tuple((int(digit), float(digits[digit])) for digit in order))


def _scaled_prediction(prediction: DigitPrediction, scale: float) -> DigitPrediction:
    """The prediction with every digit's probability times ``scale`` (in (0, 1]) and the rest
    given to "not a digit": evidence that the mark may be no digit at all. Digit, order of the
    runners-up and box unchanged."""
    digits = (np.asarray(prediction.probabilities, np.float64) * scale).astype(np.float32)
    return dataclasses.replace(prediction, confidence=prediction.confidence * scale, probabilities=digits,
                               top3=tuple((digit, probability * scale) for digit, probability in prediction.top3),
                               not_a_digit=max(0.0, 1.0 - float(digits.sum())))


def _line_predictions(reading: LineReading, probabilities: np.ndarray, segmentation, boxes: list) -> list[DigitPrediction]:
    """DigitPredictions for the digits of a line reading: each digit's probabilities are the
    reader's softmax over the ten digits (the blank left out) at the time step where that
    digit peaks, softened by :data:`READER_DIGIT_TEMPERATURE`; its image is the ink kept
    inside its box, normalised as MNIST, or, when segmentation kept none there (strokes too
    faint for its threshold that the reader still read), the box's ink strength split at
    Otsu's threshold (Otsu 1979), so "What I saw" shows what was read rather than a black square."""
    from core.preprocessing import normalize_digit
    from core.preprocessing.segmentation import photo_box

    predictions = []
    for index, ((first, last), box) in enumerate(zip(reading.spans, boxes)):
        digit_class = int(reading.text[index]) + 1
        peak = first + int(np.argmax(probabilities[first:last + 1, digit_class]))
        digits = softened(probabilities[peak, 1:], READER_DIGIT_TEMPERATURE)
        digits = digits / digits.sum()  # over the ten digits, the blank left out
        order = np.argsort(-digits)[:3]
        x, y, w, h = box
        crop = segmentation.mask[y:y + h, x:x + w]
        if crop.size and not crop.any():
            strength = np.clip(segmentation.ink[y:y + h, x:x + w] * 255, 0, 255).astype(np.uint8)
            crop = cv2.threshold(strength, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1] if strength.any() else crop
        image = normalize_digit(crop) if crop.size and crop.any() else np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
        predictions.append(DigitPrediction(
            digit=int(order[0]),
            confidence=float(digits[order[0]]),
            top3=tuple((int(digit), float(digits[digit])) for digit in order),
            probabilities=digits,
            image=image.astype(np.float32),
            bounding_box=photo_box(box, segmentation.scale),
        ))
    return predictions


def _segmentation_of_line(line: LineReading, probabilities: np.ndarray, x_scale: float,
                          region: tuple[int, int, int, int], segmentation, fit_to_ink: bool = True):
    """The digits of a line reading and the segmentation that shows them (one box per digit,
    placed by the time steps that emitted it, :func:`_line_digit_boxes`).

    Args:
        line: the reading; ``probabilities`` float32 (64, 11) its view's softmax; ``x_scale``
            and ``region`` that view's, as :meth:`core.reader.NumberReader.read_lines` and
            :func:`core.reader.line_region` give them.
        fit_to_ink: fit the boxes to ``segmentation.mask`` (:func:`_line_digit_boxes`). Off for
            a reading of the whole photo, whose digits are then checked to look like digits:
            there the ink near them may be a frame or a page edge, not their strokes.

    Returns:
        ``(predictions, segmentation)``.
    """
    boxes = _line_digit_boxes(line, region, x_scale, segmentation.mask if fit_to_ink else None)
    predictions = _line_predictions(line, probabilities, segmentation, boxes)
    segmentation = dataclasses.replace(
        segmentation, boxes=[p.bounding_box for p in predictions], working_boxes=boxes,
        digit_images=np.stack([p.image for p in predictions]), pen_like=[True] * len(predictions), crops=[],
    )
    return predictions, segmentation


#: How sure to be of each reading when the two readers disagree: logistic regressions (Platt
#: scaling: Platt 1999, "Probabilistic outputs for support vector machines") of whether the
#: given reading, and whether the runner-up, is right, on :func:`disagreement_features`. Fitted
#: on the tune halves of benchmarks.real_numbers by ``python -m benchmarks.disagreement``, which
#: also checks them on the check halves. The given reading's was refit on 2026-12-07 for the
#: ensemble of number readers v8 and u6 (669 tune disagreements); the runner-up's is the fit of
#: 2026-12-05 (709), which checked better than its refits. With the shipped models (665 check
#: disagreements) the given reading, right 61.4 % of the time, is said 59.8 % likely on average
#: (expected calibration error 6.9 points; the fit for v8 alone 7.2; the readers' own shares
#: 11.5), the runner-up, right 8.7 %, 8.6 % (1.7 points; refit 1.8). Intercept first, then one
#: weight per feature. Refit them (the script prints them) when either model changes, and keep
#: each only if its check half does not get worse.
DISAGREEMENT_GIVEN = (0.434, 1.250, 0.008, 0.451, 1.341)
DISAGREEMENT_RUNNER_UP = (-1.263, -0.260, -0.211, -0.046, -0.172)


#: Temperature of the number reader's probabilities for each digit of a reading it gives (the
#: reply's per-digit confidences; readings and their likelihoods are left as they are). Fitted by
#: ``python -m benchmarks.disagreement`` on the tune halves of benchmarks.real_numbers (least
#: negative log-likelihood over the digits of its readings with the right digit count), for v8
#: on 2026-12-06. With the shipped models (the v8 and u6 ensemble, 2026-12-07), on the check
#: halves' 1,689 such digits, right 90.6 % of the time, they were said 94.3 % sure on average
#: (expected calibration error 4.1 points; "90 % sure" right 95.8 %), and with it 88.1 % (2.7
#: points; 98.1 %; a refit, 1.62, 2.9 points).
READER_DIGIT_TEMPERATURE = 1.60


#: Temperature of the classifier's digit probabilities in a per-digit reading given over a
#: different reading of the number reader (the reply's per-digit confidences; the reading is
#: unchanged). Fitted like :data:`READER_DIGIT_TEMPERATURE` by ``python -m
#: benchmarks.disagreement`` on the tune halves' 341 such digits (readings with the right count)
#: with the shipped models on 2026-12-06. With the v8 and u6 ensemble (2026-12-07), on the check
#: halves' 292, right 81.8 % of the time, they were said 90.5 % sure (ECE 10.2 points; "90 %
#: sure" right 91.5 %), and with it 80.8 % (4.9 points; 97.3 %; a refit, 1.83, 5.1 points).
DISAGREEMENT_DIGIT_TEMPERATURE = 1.87


#: "What I saw"'s note on a reading made with :func:`core.preprocessing.faint_photo_ink`.
FAINT_NOTE = "faint strokes (a light pencil?) read with a lower ink threshold, both readers agreeing"

#: "What I saw"'s note on a reading of marks off the line the number readers read nothing in,
#: given by :meth:`Classifier._lone_mark` or :meth:`Classifier._past_the_line`.
SILENT_LINE_NOTE = "the number readers read nothing on the tallest line; other marks read instead"

#: How much of each digit's probability stands in a reading in which the number readers found
#: no digit (every view of both read nothing: :func:`_reader_read_nothing`), given because no
#: other line was read; the rest goes to "not a digit". Such a reading is mostly a stroke that
#: is no digit, a cell's border or a binding edge that the classifier calls a 1, said 99.99 %
#: sure (benchmarks.real_numbers, 2026-12-08: 6 of 36 register cells right over both halves,
#: said 86 % sure on average; no cheque). A temperature cannot bring 99.99 % down to a fifth, so
#: the probabilities are scaled. Fitted by ``python -m benchmarks.disagreement`` on the tune
#: halves' 17 such readings (3 right; each reading's confidence the product of its scaled
#: digits, least binary negative log-likelihood of it being right). On the check halves' 19 (3
#: right): said 83.8 -> 13.6 % sure on average, expected calibration error 68.0 -> 13.5 points.
#: The reading itself is unchanged. Since :meth:`Classifier._lone_mark` and
#: :meth:`Classifier._past_the_line` read other marks instead in 14 such cells, 11 / 11 remain
#: (3 / 3 right, tune / check), and the refit is 0.34 (check ECE 55.7 -> 14.9 points, said 20.6 %
#: sure against 27.3 % right; the scale fitted before them, 0.26, 15.8 points).
SILENT_READER_DIGIT_SCALE = 0.34


def disagreement_features(line_given: bool, advantage: float, digits_confidence: float,
                          line_confidence: float) -> np.ndarray:
    """What :data:`DISAGREEMENT_GIVEN` and :data:`DISAGREEMENT_RUNNER_UP` weigh, float64 (4,).

    Args:
        line_given: True when the number reader's reading is given, False when the per-digit one is.
        advantage: the number reader's CTC log-likelihood of the given reading less that of the
            runner-up, summed over its views and divided by their number (nats; below
            :data:`LIKELIHOOD_MARGIN` when the per-digit reading is given, often negative).
        digits_confidence: the per-digit reading's confidence (the product of its digits'), in [0, 1].
        line_confidence: the number reader's best-path probability of its own reading, in [0, 1].

    Returns:
        ``[line_given, advantage, log digits_confidence, log line_confidence]`` (logs floored at 1e-6).
    """
    return np.array([float(line_given), advantage, np.log(max(digits_confidence, 1e-6)),
                     np.log(max(line_confidence, 1e-6))])


def disagreement_confidences(features: np.ndarray) -> tuple[float, float]:
    """``(given, runner_up)``: the probabilities, each in (0, 1), that the given reading and that
    the runner-up is right, from :func:`disagreement_features` (they need not sum to 1: both
    readings can be wrong, as most runners-up are)."""
    def logistic(weights) -> float:
        return float(1.0 / (1.0 + np.exp(-(weights[0] + float(np.dot(weights[1:], features))))))

    return logistic(DISAGREEMENT_GIVEN), logistic(DISAGREEMENT_RUNNER_UP)


def _joined(*results):
    """Several :meth:`Classifier._read_inputs` results ``(regions, views, probabilities)`` as one."""
    regions = [region for result in results for region in result[0]]
    views = [view for result in results for view in result[1]]
    return regions, views, np.concatenate([result[2] for result in results])


def _line_inputs(ink: np.ndarray, regions: list[tuple[int, int, int, int]]) -> list[tuple[np.ndarray, float]]:
    """:func:`core.reader.line_input` of each ``(x0, y0, x1, y1)`` region of ``ink``
    (float32 (H, W) working-image ink strength in [0, 1])."""
    return [line_input(ink[y0:y1, x0:x1]) for x0, y0, x1, y1 in regions]


#: The note "What I saw" gives when a line other than the tallest was read (:meth:`Classifier._surest_line`).
OTHER_LINE_NOTE = "{count} lines of writing: this one read more surely; the tallest read {number}"


def line_rank(reading: PhotoReading) -> tuple[bool, float]:
    """How a line's reading ranks against another line's of the same photo, higher first:
    read alike by both readers (``method="both"``) before not, then by the confidence per
    digit (the geometric mean, :attr:`PhotoReading.confidence` to the power 1 / digits, in
    [0, 1], so that a short line does not win for being short). Two readers that agree
    are seldom both wrong (benchmarks.real_numbers: 95 % of the numbers they agree on are
    right); a line of words or a neighbour's cut digit read as digits rarely reads alike."""
    return reading.method == "both", reading.confidence ** (1 / max(1, len(reading.digits)))


def _lines_besides(segmentation, box: tuple[int, int, int, int]) -> tuple[tuple[int, int, int, int], ...]:
    """The photo's lines of writing other than ``box`` (one of ``segmentation.other_lines``),
    top to bottom: the line ``segmentation`` read (the box around its marks) and its other
    further lines; each a working box ``(x, y, w, h)``."""
    from core.preprocessing import enclosing_box

    lines = [enclosing_box(segmentation.working_boxes),
             *(other for other in segmentation.other_lines if other != box)]
    return tuple(sorted(lines, key=lambda line: line[1]))


def _reader_read_nothing(reading: PhotoReading) -> bool:
    """True when the number reader read the line and found no digit in any view."""
    return reading.method == "digits" and not reading.line_text


def _with_note(segmentation, note: str):
    """``segmentation`` (a :class:`core.preprocessing.Segmentation`) with ``note`` added to its
    notes, for "What I saw"."""
    return dataclasses.replace(segmentation, notes=segmentation.notes + (note,))


def _touches_border(boxes, shape: tuple[int, ...]) -> bool:
    """True when any of ``boxes`` (``(x, y, w, h)``, working-size px) reaches the edge of an
    image of ``shape`` ``(H, W)``: a mark the frame cuts, such as the edge of a coloured
    shape that the lower floor of :meth:`Classifier._read_faint` finds as a faint arc."""
    height, width = shape[:2]
    return any(x <= 0 or y <= 0 or x + w >= width or y + h >= height for x, y, w, h in boxes)


def _overlapping(first: PhotoReading, second: PhotoReading) -> bool:
    """True when a digit box of one reading overlaps a digit box of the other."""
    for a in first.digits:
        for b in second.digits:
            if a.bounding_box is None or b.bounding_box is None:
                continue
            (ax, ay, aw, ah), (bx, by, bw, bh) = a.bounding_box, b.bounding_box
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                return True
    return False


def _keep_marks(segmentation, keep: list[int]):
    """The segmentation with only the marks at ``keep`` (its per-mark lists stay aligned)."""
    dropped = len(segmentation.working_boxes) - len(keep)
    note = f"{dropped} mark{'s' if dropped > 1 else ''} read as not a digit, left out"
    return dataclasses.replace(
        segmentation,
        boxes=[segmentation.boxes[i] for i in keep],
        working_boxes=[segmentation.working_boxes[i] for i in keep],
        digit_images=segmentation.digit_images[keep],
        pen_like=[segmentation.pen_like[i] for i in keep],
        crops=[segmentation.crops[i] for i in keep] if segmentation.crops else [],
        notes=segmentation.notes + (note,),
    )


class Classifier:
    """A loaded digit model, run by LiteRT, with the number readers that read photos' lines.
    Thread-safe: calls from several threads are serialised.

    Build it with :meth:`from_path`, which loads the ``.tflite`` export of a model version
    (written beside its ``.keras`` by training) with ``ai_edge_litert``; TensorFlow is never
    imported here. The model emits logits for the ten digits and, in current models, an
    eleventh "not a digit" output (:data:`core.config.NOT_A_DIGIT`); probabilities are
    ``softmax(logits / temperature)`` with the temperature fitted on held-out real digits
    and recorded in the model card (1.0 when the card names none).

    The number readers (:mod:`core.reader`) are an ensemble read in order, each only as far as
    needed (:meth:`_read_line`): the first reads the line's first view, and every one of
    :data:`READING_VIEWS` unless that view reads the per-digit reading surely
    (:data:`FIRST_VIEW_SURE`); the others read every view only when one of the first's views
    reads another number than the per-digit path. Each candidate reading is then scored by its
    CTC log-likelihood summed over every view read (a sum of log-likelihoods: the product of the
    members' probabilities, as a product of experts, Hinton 2002). The others are read only on
    disagreement because they seldom change a reading the first and the per-digit path agree on
    (benchmarks.real_numbers: 3 of the 116 real numbers the shipped second reader changed; with
    the gate, every reading is as with both always read).

    Attributes:
        path: the ``.tflite`` file.
        card: the model card (input shape, labels, test accuracy, temperature, ...), {} if none.
        num_outputs: logits per image, 10 or 11.
        temperature: divides the logits before the softmax, > 0.
        readers: the number readers, in the order they are read; empty: digit by digit only.
    """

    def __init__(self, model_content: bytes, path: Path | None = None, card: dict | None = None,
                 batch_size: int = 256, num_threads: int | None = None, readers: Sequence[NumberReader] = ()):
        self.path = path
        self.readers = tuple(readers)
        self.card = card or {}
        self.batch_size = batch_size
        self._lock = threading.Lock()
        try:
            loaded = load_interpreter(model_content, num_threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"{path or 'model'}: LiteRT cannot load it ({exc})") from exc
        self._interpreter, self._input_index, self._output_index = (
            loaded.interpreter, loaded.input_index, loaded.output_index)
        self.num_outputs = loaded.output_shape[-1]
        if loaded.input_shape != (IMAGE_SIZE, IMAGE_SIZE, 1) or self.num_outputs not in (NUM_CLASSES, NUM_OUTPUTS):
            raise ModelLoadError(f"{path or 'model'}: model maps {loaded.input_shape} to ({self.num_outputs},); "
                                 f"expected (28, 28, 1) to (10,) or (11,)")
        self.temperature = float(self.card.get("temperature", 1.0))
        self._batch = 1

    @property
    def reader(self) -> NumberReader | None:
        """The first number reader, None when photos are read digit by digit only."""
        return self.readers[0] if self.readers else None

    @classmethod
    def from_path(cls, path: str | Path = DEFAULT_MODEL_PATH, num_threads: int | None = None,
                  reader_paths: str | Path | Sequence[str | Path] | None | object = READER_FROM_ENVIRONMENT,
                  ) -> "Classifier":
        """Load a model version's ``.tflite`` and check it against its model card.

        Args:
            path: the ``.tflite`` file, or the ``.keras`` file it was exported from (its
                ``.tflite`` sibling is loaded; the ``.keras`` file itself is not read).
            num_threads: LiteRT's CPU threads for the classifier and the number reader
                (default: :func:`core.litert.default_num_threads`).
            reader_paths: the number reader (:mod:`core.reader`), or the ensemble of them in
                the order they are read, that reads photos' lines beside the per-digit path;
                None or () reads without one; default: ``DIGITBOT_NUMBER_READER``
                (:func:`core.config.reader_paths_from_env`), else the shipped
                :data:`core.config.DEFAULT_READER_PATHS`. When a shipped reader is missing, a
                warning is logged and photos are read without it (without any when the
                first is missing).

        Raises:
            ModelLoadError: the file is missing or unreadable, or its input/output shape,
                class labels or temperature differ from what ``core`` serves; or a number
                reader named (by argument or environment) is missing, or any is unreadable.
        """
        path = tflite_path(Path(path))
        if not path.is_file():
            raise ModelLoadError(f"{path}: no model file here (train one with `digitbot train`, or export a "
                                 f".keras model with `python -m training.export MODEL.keras`)")
        card = read_model_card(path)
        if card:
            if list(card.get("input_shape", [])) != [IMAGE_SIZE, IMAGE_SIZE, 1]:
                raise ModelLoadError(f"{path}: model card input_shape {card.get('input_shape')} is not [28, 28, 1]")
            labels = list(card.get("class_labels", []))
            if labels not in (list(CLASS_LABELS), [*CLASS_LABELS, NOT_A_DIGIT_LABEL]):
                raise ModelLoadError(f"{path}: model card class_labels {labels} are not 0-9 (and 'not a digit')")
            if card.get("output", "logits") != "logits":
                raise ModelLoadError(f"{path}: model card says the model outputs {card.get('output')}, not logits")
            temperature = card.get("temperature", 1.0)
            if not isinstance(temperature, (int, float)) or not 0.05 <= temperature <= 20:
                raise ModelLoadError(f"{path}: model card temperature {temperature!r} is not in [0.05, 20]")
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ModelLoadError(f"{path}: cannot read the model ({exc})") from exc
        if reader_paths is READER_FROM_ENVIRONMENT:
            named = bool(os.environ.get(READER_ENV, "").strip())
            reader_paths = reader_paths_from_env()
        else:
            named = True
            reader_paths = (() if reader_paths is None else (reader_paths,) if isinstance(reader_paths, (str, Path))
                            else tuple(reader_paths))
        readers = []
        for reader_path in map(Path, reader_paths):
            if reader_path.is_file():
                try:
                    readers.append(NumberReader.from_path(reader_path, num_threads=num_threads))
                except ReaderLoadError as exc:
                    raise ModelLoadError(str(exc)) from exc
            elif named:
                raise ModelLoadError(f"{reader_path}: no number reader there (set {READER_ENV}=off to read digit by digit)")
            elif readers:
                logger.warning("No number reader at %s: photos' lines are read by %s alone", reader_path,
                               ", ".join(reader.path.name for reader in readers))
            else:
                logger.warning("No number reader at %s: photos are read digit by digit only", reader_path)
                break
        classifier = cls(content, path=path, card=card, num_threads=num_threads, readers=readers)
        if card and len(card.get("class_labels", [])) != classifier.num_outputs:
            raise ModelLoadError(f"{path}: the model has {classifier.num_outputs} outputs but its card names "
                                 f"{len(card['class_labels'])} classes")
        return classifier

    @property
    def version(self) -> str:
        """A short identifier of the loaded model (its card's creation time, or the file name)."""
        return str(self.card.get("version") or self.card.get("created_at") or (self.path.name if self.path else "in-memory"))

    def predict_logits(self, images: np.ndarray) -> np.ndarray:
        """Logits float32 (N, K) for images float32 (N, 28, 28) or (N, 28, 28, 1) in [0, 1].

        K is :attr:`num_outputs`: the ten digits, then "not a digit" when the model has it.

        Raises:
            ValueError: the images have another shape.
        """
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3:
            images = images[..., np.newaxis]
        if images.ndim != 4 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 1):
            raise ValueError(f"expected images of shape (N, 28, 28[, 1]), got {images.shape}")
        if len(images) == 0:
            return np.zeros((0, self.num_outputs), np.float32)
        chunks = []
        with self._lock:
            for start in range(0, len(images), self.batch_size):
                chunk = np.ascontiguousarray(images[start : start + self.batch_size])
                if len(chunk) != self._batch:
                    # Resizing the input and re-planning the arena costs about 20 us.
                    self._interpreter.resize_tensor_input(self._input_index, chunk.shape)
                    self._interpreter.allocate_tensors()
                    self._batch = len(chunk)
                self._interpreter.set_tensor(self._input_index, chunk)
                self._interpreter.invoke()
                chunks.append(self._interpreter.get_tensor(self._output_index).copy())
        return np.concatenate(chunks).astype(np.float32)

    def predict_probabilities(self, images: np.ndarray) -> np.ndarray:
        """Calibrated probabilities float32 (N, K), rows summing to 1: ``softmax(logits / temperature)``.

        Same input as :meth:`predict_logits`; column 10, when present, is "not a digit".
        """
        return softmax(self.predict_logits(images) / self.temperature)

    def predict_images(self, images: np.ndarray, boxes: list | None = None) -> list[DigitPrediction]:
        """One :class:`DigitPrediction` per image of float32 (N, 28, 28) in [0, 1], white on black."""
        images = np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
        return _predictions_from_probabilities(self.predict_probabilities(images), images, boxes)

    def predict_image(self, image: np.ndarray) -> DigitPrediction:
        """Classify one float32 (28, 28) image in [0, 1], white digit on black."""
        return self.predict_images(np.asarray(image, dtype=np.float32)[np.newaxis])[0]

    def _log_best_digit(self, images: np.ndarray) -> np.ndarray:
        """float64 (N,): log of each image's most probable digit's probability (the hypotheses' score)."""
        digits = self.predict_probabilities(images)[:, :NUM_CLASSES]
        return np.log(np.clip(digits.max(axis=1), 1e-12, 1.0))

    def read_photo_with_steps(self, data: bytes, line: int = 0):
        """Decode, segment and classify a photo; also return the preprocessing steps.

        Marks the model judges "not a digit" (that output above every digit's probability)
        are re-cut by recognition (:func:`core.preprocessing.hypotheses.recut`: two touching
        digits are read as two); marks it still judges so are left out of the reading and
        of the returned segmentation. When no mark of the line segmentation found is read as
        a digit, the stroke that line was found from is left out and segmentation looks
        again, up to :data:`MAX_LINES_REJECTED` times. When the number reader reads no
        digit at all in the line (a sliver of a binding edge the classifier calls a 1, beside
        a small number), segmentation looks again the same way; the next line's reading is
        given if the number reader reads it and none of its digits' boxes overlaps the first
        reading's (else it would be a piece of the digits just read, such as a 4's other
        stroke), and the first reading stands otherwise. When segmentation finds no digit at
        all in a photo that has ink and is shaped like a line of writing (see
        :data:`WHOLE_PHOTO_MIN_ASPECT`), the number reader reads the whole photo, and its
        reading is given if it is sure (:meth:`_reader_alone`) and its digits pass
        :meth:`_looks_like_digits`: digits joined to a ruled box's frame are removed with it as
        a border region, but the reader reads them. When segmentation finds only marks along
        the border, it looks again with them kept (``keep_border``), and that reading is given
        if both readers agree on it (``method="both"``) and its digits pass
        :meth:`_looks_like_digits`: a digit the crop cut into. When the photo holds further
        lines of writing above or below that line (:attr:`core.preprocessing.Segmentation.other_lines`),
        each is read too and recognition chooses the line given (:meth:`_surest_line`); the
        others are counted (:attr:`PhotoReading.other_lines`). When all that reads nothing, or
        its reading is unsure (the readers disagree, or the confidence per digit is under
        :data:`core.results.LOW_CONFIDENCE`), the photo is read again with its faint strokes
        too (:meth:`_read_faint`: a light pencil), and that reading is given if recognition
        confirms it and it ranks higher by :func:`line_rank`. When the number readers read
        nothing in the line given, the marks alone off it are read (:meth:`_lone_mark`), then
        the photo without that line's strokes (:meth:`_past_the_line`), each given only if both
        readers read it alike.

        Args:
            data: the photo's encoded bytes.
            line: 0 for the line chosen as above; ``k`` from 1 to :attr:`PhotoReading.other_lines`
                of that reading for the k-th of the lines not read, top to bottom (the
                segmentation's ``other_lines``), read as a line of its own. Its reading counts
                the other lines as the first does, and its segmentation's ``other_lines`` are
                the photo's other lines, the chosen one among them.

        Returns:
            ``(PhotoReading, core.preprocessing.Segmentation)``.

        Raises:
            core.errors.UnreadableImageError, ImageTooLargeError, ImageTooSmallError,
            NoDigitFoundError: see :func:`core.preprocessing.segment_photo`; also
            NoDigitFoundError when every mark is judged not a digit, and when ``line`` is not
            a line of the photo or nothing is read on it.
            ValueError: ``line`` is negative.
        """
        from core.preprocessing import decode_image, photo_ink

        if line < 0:
            raise ValueError(f"line must be >= 0, got {line}")
        photo = decode_image(data)
        ink = photo_ink(photo)  # once: every segmentation of this photo starts from it
        try:
            reading, segmentation = self._read_photo_with_steps(photo, ink)
        except NoDigitFoundError:
            faint = self._read_faint(photo, ink)
            if faint is None:
                raise
            ink, reading, segmentation = faint
        else:
            method_agreed, per_digit = line_rank(reading)
            if not method_agreed or per_digit < LOW_CONFIDENCE:
                # Unsure: perhaps the threshold kept only the darkest grains of pencil strokes.
                faint = self._read_faint(photo, ink)
                if faint is not None and line_rank(faint[1]) > (method_agreed, per_digit):
                    ink, reading, segmentation = faint
        if segmentation.other_lines:
            reading, segmentation = self._surest_line(photo, ink, reading, segmentation)
            reading = dataclasses.replace(reading, other_lines=len(segmentation.other_lines))
        if reading.line_reader_read_nothing and segmentation.lone_marks:
            reading, segmentation = self._lone_mark(photo, ink, reading, segmentation)
        if reading.line_reader_read_nothing and segmentation.strokes:
            reading, segmentation = self._past_the_line(photo, ink, reading, segmentation)
        if not line:
            return self._with_honest_confidence(reading), segmentation
        if line > len(segmentation.other_lines) or not segmentation.working_boxes:
            raise NoDigitFoundError(detail=f"no line {line}: the photo has {len(segmentation.other_lines)} "
                                           "more")
        box = segmentation.other_lines[line - 1]
        other, other_segmentation = self._read_line_through(photo, ink, box)
        unread = _lines_besides(segmentation, box)
        return (self._with_honest_confidence(dataclasses.replace(other, other_lines=len(unread))),
                dataclasses.replace(other_segmentation, other_lines=unread))

    def _read_faint(self, photo: np.ndarray, ink):
        """The reading of a photo whose strokes are taken to be fainter than the threshold's
        floor allows (a light pencil): :meth:`_read_photo_with_steps` of
        :func:`core.preprocessing.faint_photo_ink`, if both readers read it alike
        (``method="both"``), no mark reaches the photo's edge (:func:`_touches_border`) and its
        marks pass :meth:`_looks_like_digits`.

        Returns:
            ``(PhotoInk, PhotoReading, Segmentation)`` (the faint ink stage, for the photo's
            other lines to be read from), or None when there is no reader or no lower floor,
            nothing is read, or recognition does not confirm the reading.
        """
        from core.preprocessing import faint_photo_ink

        faint = faint_photo_ink(ink) if self.reader is not None else None
        if faint is None:
            return None
        try:
            reading, segmentation = self._read_photo_with_steps(photo, faint)
        except NoDigitFoundError:
            return None
        if (reading.method != "both" or _touches_border(segmentation.working_boxes, segmentation.mask.shape)
                or not self._looks_like_digits(segmentation)):
            return None
        return faint, reading, _with_note(segmentation, FAINT_NOTE)

    def _lone_mark(self, photo: np.ndarray, ink, reading: PhotoReading, segmentation):
        """The reading to give when the number readers read nothing in the line given
        (``reading``, ``segmentation``: mostly a cell's border or a binding edge the classifier
        calls a 1): of the lines read through each of ``segmentation.lone_marks`` (as
        :meth:`_read_line_through`), the best by :func:`line_rank` that both readers read alike
        (``method="both"``); ``reading`` itself when there is none. In scanned register cells
        the number is then often a mark off that line, alone on its own (benchmarks.real_numbers,
        2026-12-08: register cells 1,071 -> 1,072 of 1,266 on the tune half and 1,222 -> 1,227
        of 1,431 on the check half, none lost; no other real number or photo read otherwise).
        Lone marks are not read otherwise: as often a doodle, a tick or a letter as a digit
        (read as lines of their own for every photo, they cost 3 tune-half register cells).

        Returns:
            ``(PhotoReading, Segmentation)``, as :meth:`read_photo_with_steps`; a lone mark's
            segmentation has ``segmentation``'s ``other_lines`` and a note (:data:`SILENT_LINE_NOTE`).
        """
        best = None
        for box in segmentation.lone_marks:
            try:
                other, other_segmentation = self._read_line_through(photo, ink, box)
            except NoDigitFoundError:
                continue
            if other.method == "both" and (best is None or line_rank(other) > line_rank(best[0])):
                best = other, other_segmentation
        if best is None:
            return reading, segmentation
        other, other_segmentation = best
        return (dataclasses.replace(other, other_lines=len(segmentation.other_lines)),
                _with_note(dataclasses.replace(other_segmentation, other_lines=segmentation.other_lines),
                           SILENT_LINE_NOTE))

    def _past_the_line(self, photo: np.ndarray, ink, reading: PhotoReading, segmentation):
        """The reading to give when the number readers read nothing in the line given, nor in
        a lone mark (:meth:`_lone_mark`): the photo segmented again with every stroke of that
        line left out (``exclude`` of its :attr:`core.preprocessing.Segmentation.strokes`), its
        line given if both readers read it alike (``method="both"``), else its lone marks read
        as :meth:`_lone_mark` does; failing both, every stroke of that line is left out too,
        up to :data:`MAX_LINES_REJECTED` lines in all. ``reading`` itself when none reads so.

        A cell's border drawn in dashes is many strokes, and leaving out only the tallest (as
        the rejected-line loop of :meth:`_read_photo_with_steps` does) finds the next dash,
        never the small digit beside it (benchmarks.real_numbers, 2026-12-08: register cells
        1,072 -> 1,076 of 1,266 on the tune half and 1,227 -> 1,230 of 1,431 on the check half,
        none lost; one cell misread 6 now misread 1; no cheque or real photo read otherwise).

        Returns:
            ``(PhotoReading, Segmentation)``, as :meth:`read_photo_with_steps`, with a note
            (:data:`SILENT_LINE_NOTE`) when the line was passed over.
        """
        from core.preprocessing import segment_photo

        excluded = segmentation.strokes
        for _ in range(MAX_LINES_REJECTED):
            try:
                again = segment_photo(photo, exclude=excluded, ink_stage=ink)
            except NoDigitFoundError:
                break
            try:
                other, other_segmentation = self._read_segmentation(photo, again)
            except NoDigitFoundError:
                other = None
            if other is not None and other.method == "both":
                return (dataclasses.replace(other, other_lines=len(other_segmentation.other_lines)),
                        _with_note(other_segmentation, SILENT_LINE_NOTE))
            lone = self._lone_mark(photo, ink, reading, again)
            if lone[0] is not reading:
                return lone
            excluded |= again.strokes
        return reading, segmentation

    def _read_line_through(self, photo: np.ndarray, ink, box: tuple[int, int, int, int]):
        """The reading of the line of writing through ``box`` (one of a segmentation's
        ``other_lines``) of the decoded photo and its :func:`core.preprocessing.photo_ink`:
        :meth:`_read_segmentation` of :func:`core.preprocessing.segment_photo` with
        ``line_through``. Raises NoDigitFoundError as they do."""
        from core.preprocessing import segment_photo

        return self._read_segmentation(photo, segment_photo(photo, ink_stage=ink, line_through=box))

    def _with_honest_confidence(self, reading: PhotoReading) -> PhotoReading:
        """``reading`` with its digits' probabilities scaled by :data:`SILENT_READER_DIGIT_SCALE`
        (:func:`_scaled_prediction`) when the number readers read the line and found no digit
        in it (:attr:`PhotoReading.line_reader_read_nothing`); else ``reading`` itself. The
        digits and the reading's method stay; only how sure it is said to be changes."""
        if not self.readers or not reading.line_reader_read_nothing:
            return reading
        return dataclasses.replace(reading, digits=tuple(_scaled_prediction(prediction, SILENT_READER_DIGIT_SCALE)
                                                         for prediction in reading.digits))

    def _surest_line(self, photo: np.ndarray, ink, reading: PhotoReading, segmentation):
        """The line of writing to give when a photo holds several: of the line read
        (``reading``, ``segmentation``) and each of ``segmentation.other_lines``, read as a
        line of its own (:func:`core.preprocessing.segment_photo` with ``line_through``), the
        one whose reading ranks highest by :func:`line_rank`; the line read first on a tie, and
        when the photo has more than :data:`MAX_LINES_COMPARED` lines in all. A
        further line in which nothing is read, or the number reader reads no digit, is passed
        over (as a line found after a rejected one must be read by the reader).

        The line read first is the one through the photo's tallest mark. In scanned register
        cells that is often not the number: a year in brackets above it, a neighbour's digit
        the crop cut, a word, a tick (benchmarks.real_numbers: register cells 1,063 -> 1,071
        of 1,266 on the tune half and 1,218 -> 1,222 of 1,431 on the check half; no other
        number or photo read otherwise). The ranking has no fitted constant; it was written
        after looking at the flagged cells of both halves, so the check half is not unseen.

        When another line is given, the returned segmentation's ``other_lines`` holds the
        first line's box in its place, and its notes say so (:data:`OTHER_LINE_NOTE`).

        Returns:
            ``(PhotoReading, Segmentation)``, as :meth:`read_photo_with_steps`.
        """
        if not segmentation.working_boxes or len(segmentation.other_lines) + 1 > MAX_LINES_COMPARED:
            return reading, segmentation
        best, best_segmentation, best_box = reading, segmentation, None
        for box in segmentation.other_lines:
            try:
                other, other_segmentation = self._read_line_through(photo, ink, box)
            except NoDigitFoundError:
                continue
            if _reader_read_nothing(other):
                continue  # as for a line found after a rejected one: the reader must read it
            if line_rank(other) > line_rank(best):
                best, best_segmentation, best_box = other, other_segmentation, box
        if best_box is None:
            return reading, segmentation
        unread = _lines_besides(segmentation, best_box)
        note = OTHER_LINE_NOTE.format(count=len(unread) + 1, number=reading.number)
        return best, dataclasses.replace(best_segmentation, other_lines=unread,
                                         notes=best_segmentation.notes + (note,))

    def _read_photo_with_steps(self, photo: np.ndarray, ink):
        """:meth:`read_photo_with_steps` of the decoded photo (uint8 (H, W)) and its
        :func:`core.preprocessing.photo_ink`, without reading its further lines of writing."""
        from core.preprocessing import segment_photo

        try:
            segmentation = segment_photo(photo, ink_stage=ink)
        except NoDigitFoundError as nothing:
            if nothing.reason == "border" and self.reader is not None:
                # Only marks along the border: perhaps a digit the crop cut into (a 3 whose
                # foot runs out along the cell's bottom edge). Read with them kept, the
                # reading is given only when both readers read it alike and its marks look
                # like digits (pen strokes the classifier takes for digits). Real form scans
                # 605 -> 606 of 617 on the check half, nothing else changed; it reads none of
                # benchmarks.border_negatives' photos (only a table, a finger, a page edge or a
                # pen along the border).
                try:
                    kept = segment_photo(photo, ink_stage=ink, keep_border=True)
                    result = self._read_segmentation(photo, kept)
                except NoDigitFoundError:
                    pass
                else:
                    if result[0].method == "both" and self._looks_like_digits(result[1]):
                        return result
            if photo.shape[1] < WHOLE_PHOTO_MIN_ASPECT * photo.shape[0] or not ink.whole.mask.any():
                raise
            # Segmentation found no digit: the number reader reads the whole photo, and its
            # digits must look like digits to the classifier and like pen strokes.
            reading, found = self._reader_alone(photo, ink.whole, nothing)
            if not self._looks_like_digits(found):
                raise
            return reading, found
        excluded: frozenset[int] = frozenset()
        unconfirmed = None  # a line's reading in which the number reader read no digit
        while True:
            try:
                result = self._read_segmentation(photo, segmentation)
            except NoDigitFoundError as rejected:
                if unconfirmed is not None:
                    return unconfirmed
                failure = rejected
            else:
                if unconfirmed is None and not _reader_read_nothing(result[0]):
                    return result
                if unconfirmed is not None:
                    # The next line is given only when the reader reads it and it lies apart
                    # from the first: not a piece of the digits just read (a 4's other stroke).
                    confirmed = not _reader_read_nothing(result[0]) and not _overlapping(result[0], unconfirmed[0])
                    return result if confirmed else unconfirmed
                unconfirmed, failure = result, None
            # Recognition rejected the line segmentation found (a ruled border or a binding
            # edge taken for the tallest mark, say), or the number reader read nothing in it:
            # look for the next line.
            if segmentation.anchor in excluded or len(excluded) >= MAX_LINES_REJECTED:
                if unconfirmed is not None:
                    return unconfirmed
                raise failure
            excluded |= {segmentation.anchor}
            try:
                segmentation = segment_photo(photo, exclude=excluded, ink_stage=ink)
            except NoDigitFoundError:
                if unconfirmed is not None:
                    return unconfirmed
                raise failure from None

    def _read_segmentation(self, photo: np.ndarray, segmentation):
        """Classify the marks of one segmentation (see :meth:`read_photo_with_steps`).

        Raises:
            NoDigitFoundError: every mark is judged not a digit, or a shape (and the number
                reader is not sure of them).
        """
        from core.preprocessing.hypotheses import join_leftovers, recut

        # A stroke segmentation left off the line beside a digit (a 5's lifted bar) joins it
        # when the two read more surely together (register cells 1,217 -> 1,218 on the check
        # half, nothing lost; lifted-bar 5s photographed alone 163 -> 173 of 200).
        segmentation = join_leftovers(segmentation, self._log_best_digit)
        predictions = self.predict_images(segmentation.digit_images, boxes=list(segmentation.boxes))
        # Only marks the model calls "not a digit" are re-cut: re-cutting wide or unsure marks
        # too read fewer real numbers whole (benchmarks.real_numbers, both halves).
        rejected = [index for index, prediction in enumerate(predictions) if not prediction.is_digit]
        recut_segmentation = recut(segmentation, rejected, self._log_best_digit)
        if recut_segmentation is not segmentation:
            segmentation = recut_segmentation
            predictions = self.predict_images(segmentation.digit_images, boxes=list(segmentation.boxes))
        # Every mark shaped unlike pen strokes (a wedge, a filled patch, a texture, or a
        # hairline too thin to measure) with the model unsure of each: shapes and textures,
        # not digits, unless most of the number reader's views read the very same digits
        # (:data:`READING_VIEWS`; a real register's faint 3 or 0 in a cell). The reader alone
        # is not enough: it never saw such shapes in training and reads a digit into some (an
        # arc ending in a wedge read 2); taken alone here, it read one of
        # benchmarks/data/synth_v1's negatives. Asking for the reader's agreement read 25 more
        # ledger cells whole (13 / 12, tune / check) and lost none; with half of the views
        # instead of most, 3 more wide strips of those negatives were read as a digit.
        shapes_only = not any(pen or prediction.confidence >= SURE_OF_A_SHAPE
                              for pen, prediction in zip(segmentation.pen_like, predictions))
        keep = [index for index, prediction in enumerate(predictions) if prediction.is_digit]
        if shapes_only and (self.reader is None or not keep):
            raise NoDigitFoundError(detail="marks are not pen strokes and read unsure", reason="shapes")
        if not keep:
            return self._reader_alone(photo, segmentation,
                                      NoDigitFoundError(detail="every mark reads as not a digit", reason="not_digits"))
        # The number reader reads around every mark of the line, those left out here too: it
        # was trained on lines with separators, ticks and underlines and judges them itself,
        # and a mark the classifier rejects is often two digits it could not cut apart.
        # And over the marks on the line left out for touching the border (digits joined to
        # the box's frame or to the background's texture): cheques 416 / 434 -> 421 / 436,
        # tune / check, nothing lost anywhere.
        line_boxes = list(segmentation.working_boxes) + list(segmentation.border_marks)
        if len(keep) < len(predictions):
            segmentation = _keep_marks(segmentation, keep)
            predictions = [predictions[index] for index in keep]
        reading = PhotoReading(digits=tuple(predictions), width=photo.shape[1], height=photo.shape[0])
        if self.reader is None:
            return reading, segmentation
        read_views = self._read_line(segmentation, line_boxes, reading.number, every_view=shapes_only)
        reading, segmentation = self._with_line_reading(reading, segmentation, line_boxes, read_views)
        views = read_views[1]
        # "both": the combined reading is the per-digit one; most views must have read it too.
        if shapes_only and (reading.method != "both"
                            or 2 * sum(line.text == reading.number for line, _, _ in views) <= len(views)):
            raise NoDigitFoundError(detail="marks are not pen strokes, read unsure, and the number reader reads otherwise",
                                    reason="shapes")
        return reading, segmentation

    def _with_line_reading(self, reading: PhotoReading, segmentation, line_boxes: list, read_views=None):
        """Read the number's line with the number reader and combine the two readings.

        The readers read the line in the views :meth:`_read_line` asks for (each of
        :data:`READING_VIEWS` is a region around ``line_boxes``: the working-image boxes
        ``(x, y, w, h)`` of all the line's marks, also those the classifier left out as "not
        a digit"). On the real dev
        numbers (benchmarks.real_numbers, read whole, tune / check) this read cheques 391 /
        403 -> 399 / 409 and ledger cells 1030 / 1177 -> 1032 / 1176 of 607 / 601 and 1266 /
        1431, against regions around the kept digits only; benchmarks.synth_numbers went
        from 87 / 54 / 71 / 44 to 87 / 55 / 75 / 47 (spaced / touching / underlined / both).
        The candidates are the per-digit reading and each view's own (greedy) reading; each is
        scored by its CTC log-likelihood summed over the views read, and the reader's reading is
        the best-scored of its own. Same text as the per-digit reading: it stands,
        ``method="both"``. Different: the per-digit reading is given when its score is within
        :data:`LIKELIHOOD_MARGIN` per view of the reader's, else the reader's reading is (its
        digits placed by the view that read it). The other is the runner-up. How sure each is
        comes from :func:`disagreement_confidences`, fitted on how often each was right on real
        numbers (two readers that disagree make neither sure, and the runner-up is seldom right).
        ``read_views``: :meth:`_read_line` of ``segmentation`` and ``line_boxes``, when the
        caller has it (read here otherwise).
        """
        regions, views, probabilities = (self._read_line(segmentation, line_boxes, reading.number)
                                         if read_views is None else read_views)
        lines = [line for line, _, _ in views]
        digits_text, digits_confidence = reading.number, reading.confidence
        read = [line.text for line in lines if line.text]
        if not read:
            return dataclasses.replace(reading, method="digits", line_text=""), segmentation
        if set(read) == {digits_text}:
            return dataclasses.replace(reading, method="both", line_text=digits_text), segmentation
        scores = {text: float(ctc_log_likelihood(probabilities, text).sum()) for text in {digits_text, *read}}
        line_text = max(read, key=lambda text: scores[text])
        if line_text == digits_text:
            return dataclasses.replace(reading, method="both", line_text=line_text), segmentation
        view = next(index for index, line in enumerate(lines) if line.text == line_text)
        line = lines[view]
        use_line = scores[digits_text] < scores[line_text] - LIKELIHOOD_MARGIN * len(views)
        given, runner_up = (line_text, digits_text) if use_line else (digits_text, line_text)
        given_confidence, runner_up_confidence = disagreement_confidences(disagreement_features(
            use_line, (scores[given] - scores[runner_up]) / len(views), digits_confidence, line.confidence))
        if not use_line:
            # Digits the classifier reads where the number reader reads otherwise are less sure
            # than the classifier alone says (DISAGREEMENT_DIGIT_TEMPERATURE).
            digits = tuple(_softened_prediction(prediction, DISAGREEMENT_DIGIT_TEMPERATURE)
                           for prediction in reading.digits)
            return dataclasses.replace(
                reading, digits=digits, method="digits", line_text=line_text, runner_up=line_text,
                runner_up_confidence=runner_up_confidence, number_confidence=given_confidence,
            ), segmentation
        _, view_probabilities, x_scale = views[view]
        predictions, segmentation = _segmentation_of_line(line, view_probabilities, x_scale, regions[view], segmentation)
        return dataclasses.replace(
            reading, digits=tuple(predictions), method="line", line_text=line_text, runner_up=digits_text,
            runner_up_confidence=runner_up_confidence, number_confidence=given_confidence,
        ), segmentation

    def _view_regions(self, segmentation, line_boxes: list | None = None) -> list[tuple[int, int, int, int]]:
        """The ``(x0, y0, x1, y1)`` region of each of :data:`READING_VIEWS` around ``line_boxes``
        (working-image ``(x, y, w, h)``; None: the segmentation's marks). With no boxes at all,
        the one view is the whole image."""
        boxes = segmentation.working_boxes if line_boxes is None else line_boxes
        shape = segmentation.ink.shape
        return [line_region(boxes, shape, margin_x, margin_y)
                for margin_x, margin_y in (READING_VIEWS if boxes else READING_VIEWS[:1])]

    @staticmethod
    def _read_inputs(regions: list, inputs: list, readers: Sequence[NumberReader]):
        """Each of ``readers`` on the lines ``inputs`` (:func:`core.reader.line_input` results) of
        ``regions``.

        Returns:
            ``(regions, views, probabilities)``: per view (reader by reader, each in the order of
            ``regions``) its ``(x0, y0, x1, y1)`` region and
            :meth:`core.reader.NumberReader.read_lines` result, and float32 (views, 64, 11).
        """
        views = [view for reader in readers for view in reader.read_lines(inputs)]
        return list(regions) * len(readers), views, np.stack([view_probabilities for _, view_probabilities, _ in views])

    def _read_views(self, segmentation, line_boxes: list | None = None):
        """Every reader on every view of :meth:`_view_regions`, as :meth:`_read_inputs` returns them."""
        regions = self._view_regions(segmentation, line_boxes)
        return self._read_inputs(regions, _line_inputs(segmentation.ink, regions), self.readers)

    def _read_line(self, segmentation, line_boxes: list, digits_text: str, every_view: bool = False):
        """The number readers on the line, as far as they are needed, for :meth:`_with_line_reading`.

        The first reader reads the first of :data:`READING_VIEWS`; when that reads
        ``digits_text`` (the per-digit reading) at least :data:`FIRST_VIEW_SURE` sure per digit
        and ``every_view`` is False, that one view is the result. Otherwise it reads the other
        views too (one at a time: its LiteRT interpreter keeps a batch of one here, and changing
        the batch size would reallocate its tensors), and the other readers read every view
        (each line made once for all readers) unless all of the first's views read ``digits_text``.

        Returns:
            As :meth:`_read_inputs`: ``(regions, views, probabilities)``, reader by reader.
        """
        regions = self._view_regions(segmentation, line_boxes)
        inputs = _line_inputs(segmentation.ink, regions[:1])
        first = self._read_inputs(regions[:1], inputs, self.readers[:1])
        line = first[1][0][0]
        sure = line.confidence ** (1 / max(1, len(line.text))) >= FIRST_VIEW_SURE
        if not every_view and line.text == digits_text and sure:
            return first
        inputs += _line_inputs(segmentation.ink, regions[1:])
        first = _joined(first, *(self._read_inputs([region], [line_made], self.readers[:1])
                                 for region, line_made in zip(regions[1:], inputs[1:])))
        if len(self.readers) == 1 or all(line.text == digits_text for line, _, _ in first[1]):
            return first
        return _joined(first, self._read_inputs(regions, inputs, self.readers[1:]))

    def _looks_like_digits(self, segmentation) -> bool:
        """True when every box of a reading's segmentation holds pen strokes
        (:func:`core.preprocessing.looks_like_pen_strokes` of its mask) and the classifier takes
        at least half of them for digits: the checks a reading of the whole photo must pass.
        On wide strips cut from benchmarks/data/synth_v1's 60 negatives (2:1, 3:1 and 5:1, three
        each), the whole-photo readings went from 11 of 540 to 4 with them; the cheques read
        from the whole photo passed (benchmarks.real_numbers)."""
        from core.preprocessing import looks_like_pen_strokes

        if not all(looks_like_pen_strokes(segmentation.mask[y:y + h, x:x + w])
                   for x, y, w, h in segmentation.working_boxes):
            return False
        predictions = self.predict_images(segmentation.digit_images)
        return 2 * sum(prediction.is_digit for prediction in predictions) >= len(predictions)

    def _reader_alone(self, photo: np.ndarray, segmentation, failure: NoDigitFoundError):
        """The reading when the classifier took no mark for a digit, or segmentation found none
        (``segmentation`` then has no boxes, :attr:`core.preprocessing.PhotoInk.whole`): the
        number reader's, if sure.

        The reader reads the marks' line in every view (the whole image, once, when there are
        no marks); its best-scored greedy reading (CTC log-likelihood summed over the views) is
        given, ``method="line"`` with no runner-up, when its best-path confidence is at least
        :data:`READER_ALONE_MIN_CONFIDENCE`.

        Raises:
            NoDigitFoundError: ``failure`` (why segmentation or the classifier read nothing) when
                there is no reader or it reads nothing; one with its detail and reason when the
                reader is not that sure.
        """
        if self.reader is None:
            raise failure
        regions, views, probabilities = self._read_views(segmentation)
        read = [line.text for line, _, _ in views if line.text]
        if not read:
            raise failure
        scores = {text: float(ctc_log_likelihood(probabilities, text).sum()) for text in set(read)}
        line_text = max(read, key=lambda text: scores[text])
        view = max((index for index, (line, _, _) in enumerate(views) if line.text == line_text),
                   key=lambda index: views[index][0].confidence)
        line, view_probabilities, x_scale = views[view]
        if line.confidence < READER_ALONE_MIN_CONFIDENCE:
            raise NoDigitFoundError(detail=f"{failure.detail}; the number reader is unsure "
                                           f"({line_text}, {line.confidence:.0%})", reason=failure.reason)
        if segmentation.working_boxes:
            note = f"no mark read as a digit; the number reader read {line_text}"
        else:
            note = f"segmentation found no digit; the number reader read {line_text} in the whole photo"
        predictions, segmentation = _segmentation_of_line(line, view_probabilities, x_scale, regions[view], segmentation,
                                                          fit_to_ink=bool(segmentation.working_boxes))
        segmentation = _with_note(segmentation, note)
        reading = PhotoReading(digits=tuple(predictions), width=photo.shape[1], height=photo.shape[0],
                               method="line", line_text=line_text, number_confidence=line.confidence)
        return reading, segmentation

    def read_photo(self, data: bytes, line: int = 0) -> PhotoReading:
        """Read the digits in a photo's bytes (JPEG, PNG, WebP, BMP, TIFF, GIF, HEIF/HEIC), left to right.

        ``line``: which line of writing, as for :meth:`read_photo_with_steps`.

        Raises:
            core.errors.DigitImageError subclasses, as :meth:`read_photo_with_steps`.
        """
        return self.read_photo_with_steps(data, line)[0]
