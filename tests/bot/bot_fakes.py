"""Test doubles and inputs for the bot tests: a fake classifier, fake updates, digit photos."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import AsyncMock, MagicMock

import cv2
import numpy as np
from photos import number_photo
from telegram import Update

from core.errors import DigitImageError
from core.preprocessing import decode_image
from core.results import DigitPrediction, PhotoReading

TOKEN = "123456:TEST-secret-token-abcdefghijklmnop"

def make_prediction(digit: int, confidence: float = 0.987, runner_up: int | None = None) -> DigitPrediction:
    """A prediction for ``digit``; the rest of the probability goes mostly to ``runner_up``."""
    runner_up = (digit + 1) % 10 if runner_up is None else runner_up
    probabilities = np.full(10, (1 - confidence) * 0.1 / 8, np.float32)
    probabilities[digit] = confidence
    probabilities[runner_up] = (1 - confidence) * 0.9
    third = next(d for d in range(10) if d not in (digit, runner_up))
    top3 = ((digit, confidence), (runner_up, float(probabilities[runner_up])), (third, float(probabilities[third])))
    return DigitPrediction(digit=digit, confidence=confidence, top3=top3, probabilities=probabilities,
                           image=np.zeros((28, 28), np.float32))


def make_reading(number: str, confidence: float = 0.987) -> PhotoReading:
    """A reading of ``number`` with every digit at ``confidence``."""
    return PhotoReading(digits=tuple(make_prediction(int(ch), confidence) for ch in number), width=1280, height=960)


class FakeClassifier:
    """Stands in for ``core.classifier.Classifier``: answers from a table instead of a network.

    Photos registered with :meth:`expect` read as their number (or raise the registered
    error); anything else goes through the real ``core.preprocessing.decode_image`` (so bad
    bytes raise what production raises) and then reads as ``default``.
    """

    def __init__(self, default: str = "7", model_dir: Path | None = None) -> None:
        self.default = default
        self.answers: dict[str, str | DigitImageError] = {}
        self.calls = 0
        self.path = (model_dir or Path("no-such-model-dir")) / "digit_cnn.keras"
        self.card = {"test_accuracy": 0.99, "created_at": "2026-01-02T03:04:05+00:00", "parameters": 1234}
        self.version = "fake"

    @staticmethod
    def _key(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def expect(self, data: bytes, answer: str | DigitImageError) -> None:
        """Make ``data`` read as ``answer`` (a number) or raise it (an error)."""
        self.answers[self._key(data)] = answer

    def read_photo(self, data: bytes, line: int = 0) -> PhotoReading:
        """As the real one: a reading, or a ``DigitImageError`` (every line reads the same)."""
        self.calls += 1
        answer = self.answers.get(self._key(data))
        if answer is None:
            decode_image(data)  # the real decoder: corrupt, empty or huge input fails as in production
            answer = self.default
        if isinstance(answer, DigitImageError):
            raise answer
        return make_reading(answer)

    def read_photo_with_steps(self, data: bytes, line: int = 0):
        """As :meth:`read_photo`, plus a stand-in segmentation."""
        return self.read_photo(data, line), SimpleNamespace(fake=True)


def expect(classifier, data: bytes, answer) -> bytes:
    """Tell a fake classifier what ``data`` shows (the real one finds out itself). Returns ``data``."""
    if isinstance(classifier, FakeClassifier):
        classifier.expect(data, answer)
    return data


def write_metrics(model_dir: Path, accuracy: float = 0.99) -> Path:
    """Write a small but complete ``metrics.json`` into ``model_dir``; returns the model path beside it."""
    matrix = [[90 if row == column else 1 for column in range(10)] for row in range(10)]
    metrics = {
        "test_accuracy": accuracy,
        "test_images": 10000,
        "per_class": {str(d): {"precision": 0.9, "recall": 0.9 + d / 100, "f1": 0.9, "support": 99} for d in range(10)},
        "confusion_matrix": matrix,
        "created_at": "2026-01-02T03:04:05+00:00",
        "parameters": 141098,
        "model_size_bytes": 1700000,
    }
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "metrics.json").write_text(json.dumps(metrics))
    return model_dir / "digit_cnn.keras"


def digit_photo(text: str, *, size: tuple[int, int] = (1280, 960), quality: int = 90) -> bytes:
    """A JPEG photo of ``text`` handwritten (real MNIST test digits as dark ink on paper).

    Args:
        text: digits to draw, e.g. ``"7"`` or ``"42"``.
        size: ``(width, height)`` of the photo.
    """
    return number_photo(text, size=size, quality=quality)


def blank_photo(size: tuple[int, int] = (1280, 960)) -> bytes:
    """A JPEG of an empty sheet of paper."""
    paper = np.full((size[1], size[0], 3), 240, np.uint8)
    return cv2.imencode(".jpg", paper)[1].tobytes()


def png_of(jpeg: bytes) -> bytes:
    """Re-encode a JPEG as PNG (for image-as-document tests)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buffer, format="PNG")
    return buffer.getvalue()


TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def make_message_update(*, text: str | None = None, photo_sizes: list[int] | None = None,
                        document: dict | None = None, update_id: int = 1) -> MagicMock:
    """A fake ``Update`` whose message's ``reply_text``/``reply_photo`` are ``AsyncMock``s.

    Args:
        text: message text.
        photo_sizes: file sizes of the photo's sizes, smallest first (ids ``"p0"``, ``"p1"``...).
        document: ``{"file_id", "file_size", "mime_type"}`` of a document.
    """
    update = MagicMock(spec=Update)
    update.update_id = update_id
    update.callback_query = None
    message = update.effective_message
    message.text = text
    message.photo = [SimpleNamespace(file_id=f"p{i}", file_size=size) for i, size in enumerate(photo_sizes or [])]
    message.document = SimpleNamespace(**document) if document else None
    message.reply_text = AsyncMock()
    message.reply_photo = AsyncMock()
    update.effective_chat.send_message = AsyncMock()
    update.effective_chat.send_photo = AsyncMock()
    update.effective_chat.id = 42
    update.effective_user.id = 42
    update.message = message
    message.chat = update.effective_chat
    message.chat.type = "private"
    message.reply_to_message = None
    return update


make_photo_update = make_message_update


def make_callback_update(data: str, update_id: int = 2, *, text: str = "", reply_markup=None,
                         user_id: int = 42) -> MagicMock:
    """A fake button press by ``user_id`` on a message showing ``text`` and ``reply_markup``.

    ``update.callback_query.answer`` and ``edit_message_text`` and the chat's send methods
    are ``AsyncMock``s.
    """
    update = make_message_update(update_id=update_id)
    update.effective_user.id = user_id
    update.message = None
    update.callback_query = MagicMock()
    update.callback_query.data = data
    update.callback_query.answer = AsyncMock()
    update.callback_query.edit_message_text = AsyncMock()
    update.callback_query.message.text = text
    update.callback_query.message.reply_markup = reply_markup
    return update
