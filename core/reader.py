"""The number reader: a small CRNN that reads a whole line of digits at once (CTC), run by LiteRT.

The per-digit path (segmentation, then the digit classifier on each mark) fails where
segmentation cannot find the digits: two digits touching, a digit crossed by an underline,
a small digit dropped as a speck. The number reader needs no segmentation: it reads the
ink of the number's line, left to right, and emits one symbol per 4-pixel column strip,
decoded with connectionist temporal classification (Graves et al., "Connectionist Temporal
Classification", ICML 2006). Its structure, convolutions that squeeze the height away
followed by a sequence model and a CTC output, is the CRNN of Shi, Bai and Yao ("An
End-to-End Trainable Neural Network for Image-based Sequence Recognition", 2015), here with
1-D convolutions instead of an LSTM so it converts to LiteRT plainly and runs in about a
millisecond. It is trained only on synthetic lines made of MNIST *training* digits
(:mod:`training.number_lines`, :mod:`training.reader`).

Input: :func:`line_input` turns a float32 ink map (ink strength in [0, 1], 1 = full ink, as
:func:`core.preprocessing.ink_map` makes it) into the (32, 256) float32 line the network
reads. Output: logits (T=64, 11) per line: class 0 is the CTC blank, classes 1-10 the
digits 0-9.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.config import MODELS_DIR
from core.litert import load_interpreter, softmax

#: Height and width of the line the reader reads, in pixels.
LINE_HEIGHT = 32
LINE_WIDTH = 256
#: Columns of the input per output time step (the network pools the width by 4).
STEP_WIDTH = 4
#: Output time steps per line.
TIME_STEPS = LINE_WIDTH // STEP_WIDTH
#: Output classes: the CTC blank (0), then the digits 0-9 (1-10).
BLANK = 0
READER_CLASSES = 11
#: Longest number the reader is trained for.
MAX_LENGTH = 12
READER_FILENAME = "number_reader.tflite"
DEFAULT_READER_PATH = MODELS_DIR / READER_FILENAME  # the first of core.config.DEFAULT_READER_PATHS


class ReaderLoadError(RuntimeError):
    """The number reader's file is missing, unreadable, or has another input/output shape."""


def line_input(ink: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale an ink crop to the reader's input line.

    The crop is resized to :data:`LINE_HEIGHT` rows keeping its aspect ratio (area
    interpolation), squeezed horizontally only when it would be wider than
    :data:`LINE_WIDTH`, and placed at the left of a black (no ink) line. Ink is scaled so
    the crop's 99.5th percentile is 1 (never dividing by less than 0.05), then clipped.

    Args:
        ink: float32 (h, w) ink strength in [0, 1], h and w >= 1.

    Returns:
        ``(line, x_scale)``: float32 (32, 256) in [0, 1], and input columns per crop column
        (to map output time steps back to crop x coordinates).

    Raises:
        ValueError: ``ink`` is not a non-empty 2-D array.
    """
    ink = np.asarray(ink, dtype=np.float32)
    if ink.ndim != 2 or ink.size == 0:
        raise ValueError(f"expected a non-empty 2-D ink crop, got shape {ink.shape}")
    height, width = ink.shape
    new_width = max(1, min(LINE_WIDTH, int(round(width * LINE_HEIGHT / height))))
    resized = cv2.resize(ink, (new_width, LINE_HEIGHT), interpolation=cv2.INTER_AREA)
    level = max(float(np.percentile(resized, 99.5)), 0.05)
    line = np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32)
    line[:, :new_width] = np.clip(resized / level, 0.0, 1.0)
    return line, new_width / width


@dataclass(frozen=True)
class LineReading:
    """What the number reader read in one line.

    Attributes:
        text: the digits read, left to right ("" when none).
        confidence: probability of this exact reading under the best-path approximation
            (product over time steps of the best class's softmax), in [0, 1].
        digit_confidences: per digit, the highest softmax probability it reached, in [0, 1].
        spans: per digit, the (first, last) time step it was emitted at.

    Other readings are scored with :func:`ctc_log_likelihood` (the classifier compares the
    per-digit reading and every view's reading that way).
    """

    text: str
    confidence: float
    digit_confidences: tuple[float, ...]
    spans: tuple[tuple[int, int], ...]


def _collapse(path: np.ndarray) -> tuple[str, list[tuple[int, int]]]:
    """A CTC path (T,) of classes to its text and each digit's (first, last) step."""
    text, spans = [], []
    previous = BLANK
    for step, label in enumerate(path.tolist()):
        if label != BLANK and label != previous:
            text.append(str(label - 1))
            spans.append((step, step))
        elif label != BLANK and label == previous:
            spans[-1] = (spans[-1][0], step)
        previous = label
    return "".join(text), spans


def ctc_greedy_decode(probabilities: np.ndarray) -> LineReading:
    """Best-path CTC decoding of one line (Graves et al. 2006).

    Args:
        probabilities: float (T, 11) softmax per time step; class 0 is the blank.

    Returns:
        A :class:`LineReading`: the most probable class at each step, repeats then blanks
        removed.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    path = probabilities.argmax(axis=1)
    best = probabilities[np.arange(len(path)), path]
    text, spans = _collapse(path)
    digit_confidences = tuple(float(probabilities[first:last + 1, int(text[i]) + 1].max())
                              for i, (first, last) in enumerate(spans))
    return LineReading(
        text=text,
        confidence=float(np.exp(np.log(np.clip(best, 1e-12, 1.0)).sum())),
        digit_confidences=digit_confidences,
        spans=tuple(spans),
    )


def ctc_log_likelihood(probabilities: np.ndarray, text: str) -> float | np.ndarray:
    """log P(text | line) summed over every CTC alignment (the forward algorithm, Graves et al. 2006).

    Args:
        probabilities: float (T, 11) softmax per time step, or (N, T, 11) for N lines read at
            once (the recursion runs over all of them together); class 0 is the blank.
        text: digits only, possibly "".

    Returns:
        The natural log of the probability, <= 0 (-inf when the text cannot be aligned,
        e.g. longer than T allows): a float for one line, float64 (N,) for N.
    """
    log_p = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-30, 1.0))
    single = log_p.ndim == 2
    if single:
        log_p = log_p[np.newaxis]
    labels = [int(character) + 1 for character in text]
    extended = [BLANK]
    for label in labels:
        extended += [label, BLANK]
    states = len(extended)
    alpha = np.full((len(log_p), states), -np.inf)
    alpha[:, 0] = log_p[:, 0, BLANK]
    if states > 1:
        alpha[:, 1] = log_p[:, 0, extended[1]]
    # A skip over a blank is allowed only between two different labels.
    allowed = np.array([s >= 2 and extended[s] != BLANK and extended[s] != extended[s - 2]
                        for s in range(states)])
    emissions = log_p[:, :, extended]
    padding = np.full((len(log_p), 2), -np.inf)
    for step in range(1, log_p.shape[1]):
        padded = np.concatenate((padding, alpha), axis=1)
        merged = np.logaddexp(alpha, padded[:, 1:states + 1])
        merged = np.where(allowed, np.logaddexp(merged, padded[:, :states]), merged)
        alpha = merged + emissions[:, step]
    result = np.logaddexp(alpha[:, -1], alpha[:, -2]) if states > 1 else alpha[:, -1]
    return float(result[0]) if single else result


class NumberReader:
    """The number reader loaded with LiteRT. Thread-safe: calls are serialised under a lock.

    Build it with :meth:`from_path`. TensorFlow is never imported here.
    """

    def __init__(self, model_content: bytes, path: Path | None = None, num_threads: int | None = None):
        self.path = path
        self._lock = threading.Lock()
        try:
            loaded = load_interpreter(model_content, num_threads)
        except (ValueError, RuntimeError) as exc:
            raise ReaderLoadError(f"{path or 'reader'}: LiteRT cannot load it ({exc})") from exc
        self._interpreter, self._input_index, self._output_index = (
            loaded.interpreter, loaded.input_index, loaded.output_index)
        if loaded.input_shape != (LINE_HEIGHT, LINE_WIDTH, 1) or loaded.output_shape != (TIME_STEPS, READER_CLASSES):
            raise ReaderLoadError(f"{path or 'reader'}: maps {loaded.input_shape} to {loaded.output_shape}; "
                                  f"expected ({LINE_HEIGHT}, {LINE_WIDTH}, 1) to ({TIME_STEPS}, {READER_CLASSES})")
        self._batch = 1

    @classmethod
    def from_path(cls, path: str | Path = DEFAULT_READER_PATH, num_threads: int | None = None) -> "NumberReader":
        """Load the reader's ``.tflite`` file (``num_threads``: LiteRT's CPU threads; None:
        :func:`core.litert.default_num_threads`).

        Raises:
            ReaderLoadError: the file is missing or unreadable, or has another shape.
        """
        path = Path(path)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ReaderLoadError(f"{path}: cannot read the number reader ({exc})") from exc
        return cls(content, path=path, num_threads=num_threads)

    def probabilities(self, lines: np.ndarray) -> np.ndarray:
        """Softmax per time step, float32 (N, 64, 11), for lines float32 (N, 32, 256) in [0, 1].

        Raises:
            ValueError: the lines have another shape.
        """
        lines = np.asarray(lines, dtype=np.float32)
        if lines.ndim == 3:
            lines = lines[..., np.newaxis]
        if lines.shape[1:] != (LINE_HEIGHT, LINE_WIDTH, 1):
            raise ValueError(f"expected lines of shape (N, {LINE_HEIGHT}, {LINE_WIDTH}), got {lines.shape}")
        if len(lines) == 0:
            return np.zeros((0, TIME_STEPS, READER_CLASSES), np.float32)
        with self._lock:
            if len(lines) != self._batch:
                self._interpreter.resize_tensor_input(self._input_index, lines.shape)
                self._interpreter.allocate_tensors()
                self._batch = len(lines)
            self._interpreter.set_tensor(self._input_index, np.ascontiguousarray(lines))
            self._interpreter.invoke()
            logits = self._interpreter.get_tensor(self._output_index).copy()
        return softmax(logits)

    def read_crops(self, crops: list[np.ndarray]) -> list[tuple[LineReading, np.ndarray, float]]:
        """Read ink crops (each float32 (h, w) in [0, 1], any size) in one batch.

        Returns:
            Per crop, ``(reading, probabilities (64, 11), x_scale)``; ``x_scale`` as
            :func:`line_input`.

        Raises:
            ValueError: no crops.
        """
        return self.read_lines([line_input(crop) for crop in crops])

    def read_lines(self, inputs: list[tuple[np.ndarray, float]]) -> list[tuple[LineReading, np.ndarray, float]]:
        """Read lines already made by :func:`line_input` (its ``(line, x_scale)`` results), in
        one batch: several readers can read the same lines without making them again.

        Returns:
            As :meth:`read_crops`.

        Raises:
            ValueError: no lines, or a line of another shape.
        """
        probabilities = self.probabilities(np.stack([line for line, _ in inputs]))
        return [(ctc_greedy_decode(line_probabilities), line_probabilities, x_scale)
                for line_probabilities, (_, x_scale) in zip(probabilities, inputs)]

    def read_ink(self, ink: np.ndarray) -> tuple[LineReading, np.ndarray, float]:
        """Read one ink crop (float32 (h, w) in [0, 1]), as :meth:`read_crops`."""
        return self.read_crops([ink])[0]


#: Margins of the line region around the digits segmentation found, in median digit heights.
REGION_MARGIN_X = 0.75
REGION_MARGIN_Y = 0.3


def line_region(boxes: list[tuple[int, int, int, int]], shape: tuple[int, int],
                margin_x: float = REGION_MARGIN_X, margin_y: float = REGION_MARGIN_Y) -> tuple[int, int, int, int]:
    """The region the number reader reads: the digits' bounding boxes with a margin.

    Args:
        boxes: ``(x, y, width, height)`` of each digit found, in the image's pixels; when
            empty the whole image is the region.
        shape: ``(height, width)`` of the image.
        margin_x, margin_y: margins in median digit heights (a digit that segmentation
            dropped beside the others is still inside).

    Returns:
        ``(x0, y0, x1, y1)``, clipped to the image, x1 > x0 and y1 > y0.
    """
    height, width = shape
    if not boxes:
        return 0, 0, width, height
    digit_height = float(np.median([box[3] for box in boxes]))
    x0 = min(box[0] for box in boxes) - margin_x * digit_height
    x1 = max(box[0] + box[2] for box in boxes) + margin_x * digit_height
    y0 = min(box[1] for box in boxes) - margin_y * digit_height
    y1 = max(box[1] + box[3] for box in boxes) + margin_y * digit_height
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)
