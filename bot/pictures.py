"""The pictures the bot sends, labelled in the user's language: "What I saw" and the confusion matrix.

"What I saw" is drawn by ``core.visualize`` (which knows no languages) with the texts built
here; the confusion matrix is drawn here, like the training report's but without seaborn.
"""

from __future__ import annotations

import io
import re

import numpy as np

from core import visualize
from core.classifier import FAINT_NOTE, SILENT_LINE_NOTE
from core.errors import NoDigitFoundError
from core.preprocessing import Segmentation
from core.results import PhotoReading

from bot.i18n import Language
from bot.messages import no_digit_reason

#: The notes of ``core.preprocessing.hypotheses`` and ``core.classifier`` (``Segmentation.notes``).
_CUT_NOTE = re.compile(r"a mark cut into (\d+) digits by recognition")
_ERASED_NOTE = "a straight stroke erased from a mark by recognition"
_LEFT_OUT_NOTE = re.compile(r"(\d+) marks? read as not a digit, left out")
_JOINED_NOTE = re.compile(r"(\d+) strokes? beside (?:a digit|digits) joined to (?:it|them) by recognition")
_READER_ALONE_NOTE = re.compile(r"no mark read as a digit; the number reader read (\d+)")
_WHOLE_PHOTO_NOTE = re.compile(r"segmentation found no digit; the number reader read (\d+) in the whole photo")
_OTHER_LINE_NOTE = re.compile(r"(\d+) lines of writing: this one read more surely; the tallest read (\d+)")


def segmentation_note(lang: Language, note: str) -> str:
    """A note of the segmentation (``Segmentation.notes``, English) in ``lang``; one it does not know stays as is."""
    if cut := _CUT_NOTE.fullmatch(note):
        return lang.ngettext("a mark cut into {count} digit by recognition",
                             "a mark cut into {count} digits by recognition", int(cut.group(1)))
    if note == _ERASED_NOTE:
        return lang.gettext("a straight stroke erased from a mark by recognition")
    if note == SILENT_LINE_NOTE:
        # Translators: the tallest line of writing held no digit for the number readers (a
        # cell's border, say); other marks, off that line, were read instead.
        return lang.gettext("the number readers read nothing on the tallest line; other marks read instead")
    if note == FAINT_NOTE:
        # Translators: the strokes were too light for the usual ink threshold (a hard pencil or a
        # light hand); a lower one was used because both readers then read the same digits.
        return lang.gettext(
            "faint strokes (a light pencil?) read with a lower ink threshold, both readers agreeing")
    if joined := _JOINED_NOTE.fullmatch(note):
        return lang.ngettext("{count} stroke beside a digit joined to it by recognition",
                             "{count} strokes beside digits joined to them by recognition", int(joined.group(1)))
    if left_out := _LEFT_OUT_NOTE.fullmatch(note):
        return lang.ngettext("{count} mark read as not a digit, left out",
                             "{count} marks read as not a digit, left out", int(left_out.group(1)))
    if alone := _READER_ALONE_NOTE.fullmatch(note):
        # Translators: {number} is what the number reader (which reads the whole line at once) read, e.g. "47".
        return lang.gettext("no mark read as a digit; the number reader read {number}", number=alone.group(1))
    if whole := _WHOLE_PHOTO_NOTE.fullmatch(note):
        return lang.gettext("segmentation found no digit; the number reader read {number} in the whole photo",
                            number=whole.group(1))
    if other := _OTHER_LINE_NOTE.fullmatch(note):
        # Translators: the photo holds {count} (2 or more) lines of writing; the one read is not the
        # tallest, which read as {number} less surely.
        return lang.ngettext("{count} line of writing: this one read more surely; the tallest read {number}",
                             "{count} lines of writing: this one read more surely; the tallest read {number}",
                             int(other.group(1)), number=other.group(2))
    return note


def steps_texts(lang: Language) -> visualize.StepsTexts:
    """The words and number formats of "What I saw" in ``lang`` (numbers with its separators)."""
    return visualize.StepsTexts(
        title=lang.gettext("What I saw: the 28x28 images are exactly what the model read"),
        line_title=lang.gettext("What I saw: the number reader read the whole line; below, each digit's ink"),
        photo=lang.gettext("1. photo (grayscale)"),
        ink=lang.gettext("2. ink kept (lines, specks removed)"),
        digits_found=lambda number: lang.gettext("3. digits found: {number}", number=number),
        tilt=lambda degrees: lang.gettext("line tilted {degrees}°: each digit turned upright",
                                          degrees=lang.number(degrees)),
        segmentation_note=lambda note: segmentation_note(lang, note),
        # What the number reader (which reads the whole line at once) read, and which reading won.
        line_same=lambda line: lang.gettext("read as a whole line too: {number}, the same", number=line),
        line_given=lambda line, digits: lang.gettext(
            "read as a whole line: {number}, given; digit by digit: {other}", number=line, other=digits),
        digits_given=lambda line, digits: lang.gettext(
            "read as a whole line: {number}; digit by digit: {other}, given", number=line, other=digits),
        # Translators: the photo holds {count} more lines of writing that were not read; they are
        # outlined in grey on the photo's panel.
        other_lines=lambda count: lang.ngettext(
            "{count} more line of writing, not read (grey on the photo)",
            "{count} more lines of writing, not read (grey on the photo)", count),
        confidence=lang.percent,
        runner_up=lambda digit, probability: f"{digit}: {lang.percent(probability, 0)}",
        no_digit_title=lang.gettext("What I saw: no handwritten digit"),
        ink_found=lang.gettext("2. ink found (every stroke darker than the paper)"),
        no_digit=lang.gettext("3. why no digit was read"),
        no_digit_reason=lambda reason: no_digit_reason(lang, reason),
    )


def render_steps_png(reading: PhotoReading, segmentation: Segmentation, lang: Language) -> bytes:
    """Render "What I saw" as a PNG, labelled in ``lang``: ``core.visualize.render_steps_png``
    (the photo, the ink mask kept, the boxes with their notes, each 28x28 model input with its
    top-3) with :func:`steps_texts`. Safe to call from worker threads.

    Args:
        reading: the classifier's result for the photo.
        segmentation: the preprocessing result of the same photo.
        lang: the language of the labels and numbers.

    Returns:
        PNG bytes, about 1100 px wide.
    """
    return visualize.render_steps_png(reading, segmentation, steps_texts(lang))


def render_no_digit_png(data: bytes, error: NoDigitFoundError, lang: Language) -> bytes:
    """Render "What I saw" for a photo in which no digit was read, labelled in ``lang``:
    ``core.visualize.render_no_digit_png`` (the photo, the ink found, why nothing was read)
    with :func:`steps_texts`. Safe to call from worker threads.

    Returns:
        PNG bytes, 1100 px wide (the layout of ``core.visualize.render_no_digit_png``).

    Raises:
        DigitImageError: as ``core.preprocessing.decode_image`` for bytes that never reached
            segmentation.
    """
    return visualize.render_no_digit_png(data, error, steps_texts(lang))


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
