"""The active model's report card for /stats: metrics read from disk and the confusion matrix picture."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from core.config import METRICS_FILENAME
from core.registry import parse_utc_time

from bot import i18n
from bot.i18n import Language

logger = logging.getLogger(__name__)

CONFUSION_MATRIX_FILENAME = "confusion_matrix.png"


@dataclass(frozen=True)
class ModelReport:
    """What /stats tells about a model. Every field may be missing from older artifacts.

    Attributes:
        test_accuracy: accuracy on the MNIST test set, in [0, 1], or None.
        test_images: how many test images that was measured on, or None.
        recall: per-digit recall in [0, 1], keyed by digit 0-9.
        confusion_matrix: 10x10 counts, rows true digit, columns prediction; None if absent.
        created_at: when the model was trained (UTC), or None.
        parameters: number of weights, or None.
        size_bytes: size of the model file, or None.
        sure_right: how often answers said >= 90 % sure were right on real handwritten digits
            held out from all tuning (``metrics.json`` "calibration": the check half of
            ``benchmarks.calibration`` at the served temperature), in [0, 1], or None.
        sure_count: how many such answers that was measured on, or None.
    """

    test_accuracy: float | None = None
    test_images: int | None = None
    recall: dict[int, float] = field(default_factory=dict)
    confusion_matrix: list[list[int]] | None = None
    created_at: datetime | None = None
    parameters: int | None = None
    size_bytes: int | None = None
    sure_right: float | None = None
    sure_count: int | None = None


def load_model_report(model_path: Path, card: dict | None = None) -> ModelReport | None:
    """Read ``metrics.json`` next to ``model_path``, falling back on the model card.

    Args:
        model_path: the served ``.keras`` file.
        card: the classifier's model card (``Classifier.card``), used for missing fields.

    Returns:
        The report, or None when neither the metrics nor the card say anything useful.
        A malformed metrics file is logged and treated as absent, never raised.
    """
    card = card or {}
    metrics: dict = {}
    metrics_path = model_path.parent / METRICS_FILENAME
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.warning("Cannot read %s; /stats falls back on the model card", metrics_path, exc_info=True)
    if not metrics and not card:
        return None
    per_class = metrics.get("per_class") or {}
    recall = {
        int(digit): float(values["recall"])
        for digit, values in per_class.items()
        if isinstance(values, dict) and "recall" in values
    }
    accuracy = metrics.get("test_accuracy", card.get("test_accuracy"))
    calibrated = (metrics.get("calibration") or {}).get("check_served") or {}
    sure_right, sure_count = calibrated.get("said_90_right"), calibrated.get("said_90_count")
    size = metrics.get("model_size_bytes")
    if size is None and model_path.is_file():
        size = model_path.stat().st_size
    return ModelReport(
        test_accuracy=None if accuracy is None else float(accuracy),
        test_images=metrics.get("test_images"),
        recall=recall,
        confusion_matrix=metrics.get("confusion_matrix"),
        created_at=parse_utc_time(metrics.get("created_at") or card.get("created_at")),
        parameters=metrics.get("parameters", card.get("parameters")),
        size_bytes=size,
        sure_right=float(sure_right) if isinstance(sure_right, (int, float)) else None,
        sure_count=int(sure_count) if isinstance(sure_count, int) else None,
    )


def confusion_matrix_png(model_path: Path, report: ModelReport | None, lang: Language | None = None) -> bytes | None:
    """The confusion matrix picture for the model, labelled in ``lang`` (default English).

    Drawn from the metrics' matrix (once per matrix and language; later calls are served from
    memory); without a matrix, or when it cannot be drawn (logged), the picture shipped beside
    the model (``confusion_matrix.png``, English). Blocking (file I/O, maybe Matplotlib): call
    it off the event loop.

    Returns:
        PNG bytes, or None when there is neither a matrix nor a picture.
    """
    if report is not None and report.confusion_matrix:
        try:
            matrix = tuple(tuple(int(count) for count in row) for row in report.confusion_matrix)
            return _rendered_confusion_matrix(matrix, (lang or i18n.english()).code)
        except Exception:  # a malformed matrix in metrics.json: fall back on the shipped picture
            logger.warning("Cannot draw the confusion matrix of %s", model_path, exc_info=True)
    shipped = model_path.parent / CONFUSION_MATRIX_FILENAME
    if shipped.is_file():
        return shipped.read_bytes()
    return None


@functools.lru_cache(maxsize=16)
def _rendered_confusion_matrix(matrix: tuple[tuple[int, ...], ...], code: str) -> bytes:
    """The confusion matrix picture in language ``code``, drawn once per matrix and language."""
    from bot.pictures import render_confusion_matrix_png  # matplotlib only when needed

    return render_confusion_matrix_png(matrix, i18n.get(code))
