"""Inference: load the LiteRT model once and turn digit images or photo bytes into predictions."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from pathlib import Path
from typing import Iterator

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
    TFLITE_SUFFIX,
)
from core.errors import NoDigitFoundError
from core.results import DigitPrediction, PhotoReading


#: Confidence above which a mark is read as a digit even when it is not shaped like pen
#: strokes (:func:`core.preprocessing.looks_like_pen_strokes`): a marker's blotted digit.
SURE_OF_A_SHAPE = 0.99


class ModelLoadError(RuntimeError):
    """The model file is missing, unreadable, or does not match its model card."""


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis: float32, same shape, rows sum to 1.

    This is the only place in the project that turns logits into probabilities.
    """
    logits = np.asarray(logits, dtype=np.float32)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def read_model_card(model_path: Path) -> dict:
    """The JSON card written beside the model (``digit_cnn.json`` or ``<stem>.json``), or {}."""
    for candidate in (model_path.with_suffix(".json"), model_path.parent / MODEL_CARD_FILENAME):
        if candidate.is_file():
            try:
                return json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelLoadError(f"{candidate}: unreadable model card ({exc})") from exc
    return {}


_delegate_announced = False


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block, the first time in the process:
    LiteRT's C++ runtime prints an "INFO: Created TensorFlow Lite XNNPACK delegate" line
    once, when its first interpreter runs, and no Python logging setting reaches it. Later
    loads (a hot swap on a worker thread while others log) leave stderr alone."""
    global _delegate_announced
    if _delegate_announced:
        yield
        return
    _delegate_announced = True
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


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
    """A loaded digit model, run by LiteRT. Thread-safe: calls from several threads are serialised.

    Build it with :meth:`from_path`, which loads the ``.tflite`` export of a model version
    (written beside its ``.keras`` by training) with ``ai_edge_litert``; TensorFlow is never
    imported here. The model emits logits for the ten digits and, in current models, an
    eleventh "not a digit" output (:data:`core.config.NOT_A_DIGIT`); probabilities are
    ``softmax(logits / temperature)`` with the temperature fitted on held-out real digits
    and recorded in the model card (1.0 when the card names none).

    Attributes:
        path: the ``.tflite`` file.
        card: the model card (input shape, labels, test accuracy, temperature, ...), {} if none.
        num_outputs: logits per image, 10 or 11.
        temperature: divides the logits before the softmax, > 0.
    """

    def __init__(self, model_content: bytes, path: Path | None = None, card: dict | None = None,
                 batch_size: int = 256, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = path
        self.card = card or {}
        self.batch_size = batch_size
        self._lock = threading.Lock()
        threads = num_threads or min(2, os.cpu_count() or 1)
        try:
            with _native_stderr_silenced():
                self._interpreter = Interpreter(model_content=model_content, num_threads=threads)
                self._interpreter.allocate_tensors()
                # The first run creates the XNNPACK delegate (which announces itself), so the
                # first user does not pay for its set-up.
                self._interpreter.invoke()
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"{path or 'model'}: LiteRT cannot load it ({exc})") from exc
        (input_detail,) = self._interpreter.get_input_details()
        (output_detail,) = self._interpreter.get_output_details()
        self._input_index, self._output_index = input_detail["index"], output_detail["index"]
        input_shape = tuple(int(size) for size in input_detail["shape"][1:])
        self.num_outputs = int(output_detail["shape"][-1])
        if input_shape != (IMAGE_SIZE, IMAGE_SIZE, 1) or self.num_outputs not in (NUM_CLASSES, NUM_OUTPUTS):
            raise ModelLoadError(f"{path or 'model'}: model maps {input_shape} to ({self.num_outputs},); "
                                 f"expected (28, 28, 1) to (10,) or (11,)")
        self.temperature = float(self.card.get("temperature", 1.0))
        self._batch = 1

    @classmethod
    def from_path(cls, path: str | Path = DEFAULT_MODEL_PATH, num_threads: int | None = None) -> "Classifier":
        """Load a model version's ``.tflite`` and check it against its model card.

        Args:
            path: the ``.tflite`` file, or the ``.keras`` file it was exported from (its
                ``.tflite`` sibling is loaded; the ``.keras`` file itself is not read).
            num_threads: LiteRT's CPU threads (default: up to 2).

        Raises:
            ModelLoadError: the file is missing or unreadable, or its input/output shape,
                class labels or temperature differ from what ``core`` serves.
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
        classifier = cls(content, path=path, card=card, num_threads=num_threads)
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

    def read_photo_with_steps(self, data: bytes):
        """Decode, segment and classify a photo; also return the preprocessing steps.

        Marks the model judges "not a digit" (that output above every digit's probability)
        are re-cut by recognition (:func:`core.preprocessing.hypotheses.recut`: two touching
        digits are read as two); marks it still judges so are left out of the reading and
        of the returned segmentation.

        Returns:
            ``(PhotoReading, core.preprocessing.Segmentation)``.

        Raises:
            core.errors.UnreadableImageError, ImageTooLargeError, ImageTooSmallError,
            NoDigitFoundError: see :func:`core.preprocessing.segment_photo`; also
            NoDigitFoundError when every mark is judged not a digit.
        """
        from core.preprocessing import decode_image, segment_photo
        from core.preprocessing.hypotheses import recut

        photo = decode_image(data)
        segmentation = segment_photo(photo)
        predictions = self.predict_images(segmentation.digit_images, boxes=list(segmentation.boxes))
        # Only marks the model calls "not a digit" are re-cut: re-cutting wide or unsure marks
        # too read fewer real numbers whole (benchmarks.real_numbers, both halves).
        rejected = [index for index, prediction in enumerate(predictions) if not prediction.is_digit]
        recut_segmentation = recut(segmentation, rejected, self._log_best_digit)
        if recut_segmentation is not segmentation:
            segmentation = recut_segmentation
            predictions = self.predict_images(segmentation.digit_images, boxes=list(segmentation.boxes))
        if not any(pen or prediction.confidence >= SURE_OF_A_SHAPE
                   for pen, prediction in zip(segmentation.pen_like, predictions)):
            # Every mark is shaped unlike pen strokes (a wedge, a filled patch, a texture) and
            # the model is unsure of each: shapes and textures, not digits.
            raise NoDigitFoundError(detail="marks are not pen strokes and read unsure")
        keep = [index for index, prediction in enumerate(predictions) if prediction.is_digit]
        if not keep:
            raise NoDigitFoundError(detail="every mark reads as not a digit")
        if len(keep) < len(predictions):
            segmentation = _keep_marks(segmentation, keep)
            predictions = [predictions[index] for index in keep]
        reading = PhotoReading(digits=tuple(predictions), width=photo.shape[1], height=photo.shape[0])
        return reading, segmentation

    def read_photo(self, data: bytes) -> PhotoReading:
        """Read the digits in a photo's bytes (JPEG, PNG, WebP, BMP, TIFF, GIF, HEIF/HEIC), left to right.

        Raises:
            core.errors.DigitImageError subclasses, as :meth:`read_photo_with_steps`.
        """
        return self.read_photo_with_steps(data)[0]
