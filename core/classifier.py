"""Inference: load the Keras model once and turn digit images or photo bytes into predictions."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from core.config import DEFAULT_MODEL_PATH, IMAGE_SIZE, MODEL_CARD_FILENAME, NUM_CLASSES
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


def _predictions_from_probabilities(probabilities: np.ndarray, images: np.ndarray,
                                    boxes: list | None = None) -> list[DigitPrediction]:
    results = []
    order = np.argsort(-probabilities, axis=1)[:, :3]
    for index, row in enumerate(probabilities):
        top3 = tuple((int(digit), float(row[digit])) for digit in order[index])
        results.append(
            DigitPrediction(
                digit=top3[0][0],
                confidence=top3[0][1],
                top3=top3,
                probabilities=row,
                image=images[index],
                bounding_box=None if boxes is None else boxes[index],
            )
        )
    return results


class Classifier:
    """A loaded digit model. Thread-safe: calls from several threads are serialised.

    Build it with :meth:`from_path` (loads the ``.keras`` file once). Single images skip
    Keras' ``predict()`` machinery (which costs milliseconds per call) and go through
    one traced concrete function; batches are split into chunks of ``batch_size``.

    Attributes:
        path: the model file.
        card: the model card (input shape, labels, test accuracy, ...), {} if none.
    """

    def __init__(self, model, path: Path | None = None, card: dict | None = None, batch_size: int = 256):
        import tensorflow as tf

        self.model = model
        self.path = path
        self.card = card or {}
        self.batch_size = batch_size
        self._lock = threading.Lock()
        # Trace once for any batch size and keep the concrete function: calling it skips
        # tf.function's argument matching (about 0.25 ms per call on this CPU).
        self._call = tf.function(
            lambda images: model(images, training=False),
            input_signature=[tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)],
        ).get_concrete_function()
        self._to_tensor = tf.convert_to_tensor
        # Trace once now, so the first user does not pay for it.
        self.predict_logits(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE), np.float32))

    @classmethod
    def from_path(cls, path: str | Path = DEFAULT_MODEL_PATH) -> "Classifier":
        """Load a ``.keras`` model and check it against its model card.

        Raises:
            ModelLoadError: the file is missing or unreadable, or its input/output shape or
                class labels differ from what ``core`` serves.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"{path}: no model file here (train one with `digitbot train`)")
        card = read_model_card(path)
        import keras

        try:
            model = keras.models.load_model(path, compile=False)
        except Exception as exc:  # Keras raises many types for a bad archive
            raise ModelLoadError(f"{path}: cannot load the model ({type(exc).__name__}: {exc})") from exc
        input_shape = tuple(model.input_shape[1:])
        output_shape = tuple(model.output_shape[1:])
        if input_shape != (IMAGE_SIZE, IMAGE_SIZE, 1) or output_shape != (NUM_CLASSES,):
            raise ModelLoadError(
                f"{path}: model maps {input_shape} to {output_shape}; expected (28, 28, 1) to (10,)"
            )
        if card:
            if list(card.get("input_shape", [])) != [IMAGE_SIZE, IMAGE_SIZE, 1]:
                raise ModelLoadError(f"{path}: model card input_shape {card.get('input_shape')} is not [28, 28, 1]")
            if list(card.get("class_labels", [])) != list(range(NUM_CLASSES)):
                raise ModelLoadError(f"{path}: model card class_labels {card.get('class_labels')} are not 0-9")
            if card.get("output", "logits") != "logits":
                raise ModelLoadError(f"{path}: model card says the model outputs {card.get('output')}, not logits")
        return cls(model, path=path, card=card)

    @property
    def version(self) -> str:
        """A short identifier of the loaded model (its card's creation time, or the file name)."""
        return str(self.card.get("version") or self.card.get("created_at") or (self.path.name if self.path else "in-memory"))

    def predict_logits(self, images: np.ndarray) -> np.ndarray:
        """Logits float32 (N, 10) for images float32 (N, 28, 28) or (N, 28, 28, 1) in [0, 1].

        Raises:
            ValueError: the images have another shape.
        """
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3:
            images = images[..., np.newaxis]
        if images.ndim != 4 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 1):
            raise ValueError(f"expected images of shape (N, 28, 28[, 1]), got {images.shape}")
        if len(images) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        chunks = []
        with self._lock:
            for start in range(0, len(images), self.batch_size):
                chunks.append(self._call(self._to_tensor(images[start : start + self.batch_size])).numpy())
        return np.concatenate(chunks).astype(np.float32)

    def predict_probabilities(self, images: np.ndarray) -> np.ndarray:
        """Softmax probabilities float32 (N, 10), rows summing to 1; same input as :meth:`predict_logits`."""
        return softmax(self.predict_logits(images))

    def predict_images(self, images: np.ndarray, boxes: list | None = None) -> list[DigitPrediction]:
        """One :class:`DigitPrediction` per image of float32 (N, 28, 28) in [0, 1], white on black."""
        images = np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
        return _predictions_from_probabilities(self.predict_probabilities(images), images, boxes)

    def predict_image(self, image: np.ndarray) -> DigitPrediction:
        """Classify one float32 (28, 28) image in [0, 1], white digit on black."""
        return self.predict_images(np.asarray(image, dtype=np.float32)[np.newaxis])[0]

    def read_photo_with_steps(self, data: bytes):
        """Decode, segment and classify a photo; also return the preprocessing steps.

        Returns:
            ``(PhotoReading, core.preprocessing.Segmentation)``.

        Raises:
            core.errors.UnreadableImageError, ImageTooLargeError, ImageTooSmallError,
            NoDigitFoundError: see :func:`core.preprocessing.segment_photo`.
        """
        from core.preprocessing import decode_image, segment_photo

        photo = decode_image(data)
        segmentation = segment_photo(photo)
        predictions = self.predict_images(segmentation.digit_images, boxes=list(segmentation.boxes))
        if not any(pen or prediction.confidence >= SURE_OF_A_SHAPE
                   for pen, prediction in zip(segmentation.pen_like, predictions)):
            # Every mark is shaped unlike pen strokes (a wedge, a filled patch, a texture) and
            # the model is unsure of each: shapes and textures, not digits.
            raise NoDigitFoundError(detail="marks are not pen strokes and read unsure")
        reading = PhotoReading(digits=tuple(predictions), width=photo.shape[1], height=photo.shape[0])
        return reading, segmentation

    def read_photo(self, data: bytes) -> PhotoReading:
        """Read the digits in a photo's bytes (JPEG, PNG, WebP, BMP, TIFF), left to right.

        Raises:
            core.errors.DigitImageError subclasses, as :meth:`read_photo_with_steps`.
        """
        return self.read_photo_with_steps(data)[0]
