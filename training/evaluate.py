"""Evaluation: accuracy, per-class precision/recall/F1, confusion matrix, and the report plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.config import NUM_CLASSES


@dataclass(frozen=True)
class Evaluation:
    """Scores of a classifier on a labelled set.

    Attributes:
        accuracy: fraction correct, in [0, 1].
        loss: mean cross-entropy in nats.
        confusion_matrix: int64 (10, K); rows are true digits, columns predictions (K = 11
            for a model with the "not a digit" output, its last column).
        precision, recall, f1: float64 (10,), per digit, in [0, 1] (0 where undefined).
        support: int64 (10,), test images per digit.
        predictions: int64 (N,), the predicted digits.
        confidences: float32 (N,), the softmax probability of the predicted digit.
    """

    accuracy: float
    loss: float
    confusion_matrix: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    predictions: np.ndarray
    confidences: np.ndarray

    def per_class(self) -> dict[str, dict[str, float]]:
        """Per-digit scores as a JSON-ready mapping ``{"0": {"precision": ...}, ...}``."""
        return {
            str(digit): {
                "precision": round(float(self.precision[digit]), 6),
                "recall": round(float(self.recall[digit]), 6),
                "f1": round(float(self.f1[digit]), 6),
                "support": int(self.support[digit]),
            }
            for digit in range(len(self.support))
        }


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int = NUM_CLASSES,
                     num_predicted: int | None = None) -> np.ndarray:
    """Count (true, predicted) pairs: int64 (num_classes, num_predicted), rows = true labels.

    ``num_predicted`` (default ``num_classes``) may be larger: a model with the "not a
    digit" output has an eleventh column for the digits it rejected.
    """
    matrix = np.zeros((num_classes, num_predicted or num_classes), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return matrix


def evaluate_probabilities(probabilities: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Score softmax outputs against labels.

    A model with the "not a digit" output (11 columns) is scored on the digits: a digit it
    calls "not a digit" is an error, counted in the confusion matrix's eleventh column.

    Args:
        probabilities: float (N, 10) or (N, 11), rows summing to 1.
        labels: integer (N,), values 0-9.
    """
    labels = labels.astype(np.int64)
    predictions = probabilities.argmax(axis=1)
    picked = probabilities[np.arange(len(labels)), labels]
    loss = float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))
    matrix = confusion_matrix(labels, predictions, NUM_CLASSES, probabilities.shape[1])
    true_positive = np.diag(matrix).astype(np.float64)
    predicted = matrix[:, :NUM_CLASSES].sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
    recall = np.divide(true_positive, support, out=np.zeros_like(true_positive), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0)
    return Evaluation(
        accuracy=float((predictions == labels).mean()),
        loss=loss,
        confusion_matrix=matrix,
        precision=precision,
        recall=recall,
        f1=f1,
        support=support,
        predictions=predictions,
        confidences=probabilities.max(axis=1).astype(np.float32),
    )


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(matrix: np.ndarray, path: Path, title: str = "Confusion matrix") -> None:
    """Write the heat map of :func:`core.visualize.render_confusion_matrix_png` to ``path``, atomically."""
    from core.visualize import render_confusion_matrix_png

    png = render_confusion_matrix_png(matrix, title)
    with atomic_path(path) as temporary:
        temporary.write_bytes(png)


def plot_training_curves(history: dict[str, list[float]], path: Path, heading: str | None = None) -> None:
    """Write train/validation accuracy and loss per epoch as a PNG, atomically.

    Args:
        history: Keras ``History.history``: per-epoch lists under ``accuracy``, ``loss`` and,
            when validated, ``val_accuracy`` and ``val_loss`` (accuracy in [0, 1]).
        path: the PNG to write.
        heading: a line above both panels saying whose curves these are (e.g. one member of
            an ensemble), or None.
    """
    from matplotlib.ticker import MaxNLocator

    plt = _figure()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for axes, key, label in ((left, "accuracy", "Accuracy"), (right, "loss", "Loss (cross-entropy)")):
        axes.plot(epochs, history.get(key, []), marker="o", ms=3, label="training (augmented)")
        if f"val_{key}" in history:
            axes.plot(epochs, history[f"val_{key}"], marker="o", ms=3, label="validation")
        axes.set_xlabel("Epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs, also on short runs
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend()
    if "val_accuracy" in history and history["val_accuracy"]:
        best = int(np.argmax(history["val_accuracy"]))
        left.set_title(f"best validation accuracy {history['val_accuracy'][best]:.2%} (epoch {best + 1})")
        lowest = min(history["val_accuracy"] + list(history.get("accuracy", [])))
        left.set_ylim(max(0.9, lowest - 0.005), 1.0)  # zoomed in, but both curves in view
    if heading:
        figure.suptitle(heading)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)


def plot_misclassified(
    images: np.ndarray,
    labels: np.ndarray,
    evaluation: Evaluation,
    path: Path,
    limit: int = 60,
) -> None:
    """Write a grid of misclassified images, titled "true → predicted (confidence)", as a PNG.

    Args:
        images: (N, 28, 28) or (N, 28, 28, 1), ink bright on dark.
        labels: integer (N,), the true digits.
        evaluation: the scores of the same images.
        limit: at most this many errors, most confident first.
    """
    plt = _figure()
    wrong = np.flatnonzero(evaluation.predictions != labels)
    wrong = wrong[np.argsort(-evaluation.confidences[wrong])][:limit]
    columns = 10
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    figure, axes_grid = plt.subplots(rows, columns, figsize=(columns * 1.25, rows * 1.45 + 0.6), dpi=100)
    axes_list = np.atleast_1d(axes_grid).ravel()
    for axes in axes_list:
        axes.axis("off")
    for axes, index in zip(axes_list, wrong):
        axes.imshow(images[index].reshape(images.shape[1], images.shape[2]), cmap="gray_r", vmin=0, vmax=images.max() or 1)
        axes.set_title(
            f"{labels[index]}→{evaluation.predictions[index]} ({evaluation.confidences[index]:.0%})",
            fontsize=8, color="#b00020",
        )
    figure.suptitle(
        f"{len(np.flatnonzero(evaluation.predictions != labels))} test errors "
        f"(true→predicted, confidence; {len(wrong)} most confident shown)",
        fontsize=10,
    )
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
