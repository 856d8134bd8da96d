"""The pictures the bot sends, labelled in the user's language: "What I saw" and the confusion matrix.

They are drawn as ``core.visualize`` draws them for the command line and the training reports
(same layout, colours and sizes), with every word and number in the user's language.
``core`` knows no languages, so the drawing is repeated here rather than imported.
"""

from __future__ import annotations

import io
import re

import cv2
import numpy as np

from core.preprocessing import Segmentation
from core.results import PhotoReading
from core.visualize import PANEL_SIZE

from bot.i18n import Language

#: A note of ``core.preprocessing.hypotheses`` about a mark re-cut by recognition.
_CUT_NOTE = re.compile(r"a mark cut into (\d+) digits by recognition")


def _fit(image: np.ndarray, size: int = PANEL_SIZE) -> np.ndarray:
    scale = size / max(image.shape[:2])
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA)


def segmentation_note(lang: Language, note: str) -> str:
    """A note of the segmentation (``Segmentation.notes``, English) in ``lang``; one it does not know stays as is."""
    cut = _CUT_NOTE.fullmatch(note)
    if cut:
        return lang.ngettext("a mark cut into {count} digit by recognition",
                             "a mark cut into {count} digits by recognition", int(cut.group(1)))
    return note


def reader_notes(lang: Language, reading: PhotoReading) -> list[str]:
    """What the number reader (which reads the whole line at once) read, and which reading won, in ``lang``."""
    if reading.line_text is None:
        return []
    if reading.method == "both":
        return [lang.gettext("read as a whole line too: {number}, the same", number=reading.line_text)]
    if reading.method == "line":
        return [lang.gettext("read as a whole line: {number}, given; digit by digit: {other}",
                             number=reading.line_text, other=reading.runner_up or "-")]
    return [lang.gettext("read as a whole line: {number}; digit by digit: {other}, given",
                         number=reading.line_text or "-", other=reading.number)]


def render_steps_png(reading: PhotoReading, segmentation: Segmentation, lang: Language) -> bytes:
    """Render "What I saw" as a PNG, labelled in ``lang``: the photo (grayscale, polarity fixed),
    the ink mask kept, the photo with a box and the predicted digit per digit, and each 28x28
    model input with its top-3.

    Uses matplotlib's object-oriented API (no pyplot state), so it is safe to call from
    worker threads.

    Args:
        reading: the classifier's result for the photo.
        segmentation: the preprocessing result of the same photo.
        lang: the language of the labels and numbers.

    Returns:
        PNG bytes, about 1100 px wide.
    """
    from matplotlib.figure import Figure

    gray = segmentation.gray
    boxed = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    thickness = max(2, round(max(gray.shape) / 300))
    for prediction, (x, y, w, h) in zip(reading.digits, segmentation.working_boxes):
        color = (220, 140, 0) if prediction.low_confidence else (0, 160, 60)
        cv2.rectangle(boxed, (x, y), (x + w, y + h), color, thickness)
        cv2.putText(boxed, str(prediction.digit), (x, max(0, y - 2 * thickness)), cv2.FONT_HERSHEY_SIMPLEX,
                    max(0.6, h / 60), color, thickness, cv2.LINE_AA)

    digits = len(reading.digits)
    columns = max(3, min(digits, 8))
    rows_of_digits = int(np.ceil(digits / columns))
    figure = Figure(figsize=(11, 4.4 + 1.9 * rows_of_digits), dpi=100)
    # Two independent grids: three equal photo panels on top, the 28x28 inputs below.
    top, bottom = figure.subfigures(2, 1, height_ratios=[3.2, 1.7 * rows_of_digits])
    panels = [
        (_fit(gray), lang.gettext("1. photo (grayscale)")),
        (_fit(segmentation.mask), lang.gettext("2. ink kept (lines, specks removed)")),
        (_fit(boxed), lang.gettext("3. digits found: {number}", number=reading.number)),
    ]
    for axes, (image, title) in zip(top.subplots(1, 3), panels):
        axes.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
        axes.set_title(title, fontsize=9)
        axes.axis("off")
    notes = []
    if segmentation.tilt:
        notes.append(lang.gettext("line tilted {degrees}°: each digit turned upright",
                                  degrees=lang.number(abs(segmentation.tilt))))
    notes += [segmentation_note(lang, note) for note in segmentation.notes]
    notes += reader_notes(lang, reading)
    if notes:
        # Under the boxes (a second title line would run into the figure's title).
        axes.text(0.5, -0.03, "\n".join(notes), transform=axes.transAxes, ha="center", va="top", fontsize=8)
    digit_axes = np.atleast_1d(bottom.subplots(rows_of_digits, columns)).ravel()
    for axes in digit_axes:
        axes.axis("off")
    for axes, prediction in zip(digit_axes, reading.digits):
        axes.imshow(prediction.image, cmap="gray", vmin=0, vmax=1)
        runners = ", ".join(f"{digit}: {lang.percent(probability, 0)}" for digit, probability in prediction.top3[1:])
        axes.set_title(f"{prediction.digit} ({lang.percent(prediction.confidence)})\n{runners}", fontsize=8,
                       color="#b06000" if prediction.low_confidence else "#006030")
    figure.suptitle(lang.gettext("What I saw: the 28x28 images are exactly what the model read"), fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def render_confusion_matrix_png(matrix, lang: Language) -> bytes:
    """Render a confusion matrix as a heat map of counts, labelled in ``lang``, as PNG bytes.

    It looks like the training report's (``core.visualize.render_confusion_matrix_png``, a
    seaborn heat map) but needs Matplotlib alone: seaborn would bring pandas into the bot's
    process (about 40 MB) for one picture. Colours follow log(1 + count), so the few errors
    off the diagonal stay visible next to the thousands on it; every cell is annotated with
    its count, dark on light cells and white on dark ones. Uses matplotlib's object-oriented
    API (no pyplot state), so it is safe in worker threads.

    Args:
        matrix: integer counts, shape (K, K) or (K, K + 1), rows the true digit and columns
            the prediction (a nested list or an array); an extra last column counts the
            digits the model called "not a digit".
        lang: the language of the title, the axes and the numbers.

    Returns:
        PNG bytes, about 825 x 715 pixels.

    Raises:
        ValueError: ``matrix`` is not a 2-D table of counts.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    counts = np.asarray(matrix, dtype=np.int64)
    if counts.ndim != 2 or not counts.size:
        raise ValueError(f"a confusion matrix is a 2-D table of counts, got shape {counts.shape}")
    rows, columns = counts.shape
    shades = np.log1p(counts.astype(np.float64))
    figure = Figure(figsize=(7.5, 6.5), dpi=110)
    axes = figure.add_subplot()
    cmap = colormaps["Blues"]
    mesh = axes.pcolormesh(shades, cmap=cmap, edgecolors="#dddddd", linewidth=0.5)
    axes.set_xlim(0, columns)
    axes.set_ylim(rows, 0)
    axes.set_aspect("equal")
    for spine in axes.spines.values():
        spine.set_visible(False)
    colours = cmap(mesh.norm(shades))
    for row in range(rows):
        for column in range(columns):
            axes.text(column + 0.5, row + 0.5, str(counts[row, column]), ha="center", va="center", fontsize=9,
                      color="0.15" if _luminance(colours[row, column]) > 0.408 else "white")
    axes.set_xticks(np.arange(columns) + 0.5)
    axes.set_yticks(np.arange(rows) + 0.5)
    labels = [str(digit) for digit in range(rows)]
    if columns > rows:
        # Translators: the column of the confusion matrix for marks the model called "not a digit".
        labels.append(lang.gettext("none"))
    axes.set_xticklabels(labels[:columns])
    axes.set_yticklabels(labels[:rows], rotation=0)
    axes.tick_params(length=0)
    accuracy = np.trace(counts) / max(1, counts.sum())
    axes.set_title(lang.ngettext("Confusion matrix — accuracy {accuracy} on {count} image",
                                 "Confusion matrix — accuracy {accuracy} on {count} images", int(counts.sum()),
                                 accuracy=lang.percent(float(accuracy), 2)))
    axes.set_xlabel(lang.gettext("Predicted digit"))
    axes.set_ylabel(lang.gettext("True digit"))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _luminance(rgba: np.ndarray) -> float:
    """Relative luminance (WCAG) of an RGBA colour in [0, 1], to pick a readable text colour."""
    rgb = np.asarray(rgba[:3], dtype=np.float64)
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))
