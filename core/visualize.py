"""Picture of the preprocessing steps ("What I saw"): photo, threshold, boxes, model inputs;
or, when no digit was found, the photo, its ink and why nothing was read."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import NoDigitFoundError
from core.preprocessing import Segmentation
from core.results import PhotoReading

#: Longest side of the photo panels, in pixels, before matplotlib lays them out.
PANEL_SIZE = 480


@dataclass(frozen=True)
class StepsTexts:
    """The words and number formats of "What I saw" (:func:`render_steps_png`); English by default.

    ``core`` knows no languages: a caller that speaks another (``bot.pictures``) passes its
    own. A text with values in it is a function that fills them in, so the caller formats
    numbers its own way. The layout, which notes are shown when, and the colours stay in
    :func:`render_steps_png`.

    Attributes:
        title: the figure's title.
        photo: the first panel's title.
        ink: the second panel's title.
        digits_found: the number read (``"42"``) -> the third panel's title.
        tilt: degrees the text line was tilted, > 0 -> the note that each digit was turned upright.
        segmentation_note: one of ``Segmentation.notes`` (English) -> the note shown for it.
        line_same: the number reader's reading -> the note when both readers read the same.
        line_given: the number reader's reading, the digit-by-digit one (``"-"`` if none) ->
            the note when the number reader's reading is given.
        digits_given: the number reader's reading (``"-"`` if none), the digit-by-digit one ->
            the note when the digit-by-digit reading is given.
        confidence: a digit's probability in [0, 1] -> as shown after the digit (``"99.2%"``).
        runner_up: a runner-up digit 0-9 and its probability in [0, 1] -> as listed under
            the digit (``"9:1%"``).
        no_digit_title: the figure's title when no digit was found
            (:func:`render_no_digit_png`).
        ink_found: the second panel's title then (every stroke above the threshold).
        no_digit: the third panel's title then.
        no_digit_reason: a ``NoDigitFoundError.reason`` code -> the sentence saying why
            (``""`` for an unknown code or none).
    """

    title: str = "What I saw: the 28x28 images are exactly what the model read"
    photo: str = "1. photo (grayscale)"
    ink: str = "2. ink kept (lines, specks removed)"
    digits_found: Callable[[str], str] = "3. digits found: {}".format
    tilt: Callable[[float], str] = "line tilted {:.0f}°: each digit turned upright".format
    segmentation_note: Callable[[str], str] = str
    line_same: Callable[[str], str] = "read as a whole line too: {}, the same".format
    line_given: Callable[[str, str], str] = "read as a whole line: {}, given; digit by digit: {}".format
    digits_given: Callable[[str, str], str] = "read as a whole line: {}; digit by digit: {}, given".format
    confidence: Callable[[float], str] = "{:.1%}".format
    runner_up: Callable[[int, float], str] = "{}:{:.0%}".format
    no_digit_title: str = "What I saw: no handwritten digit"
    ink_found: str = "2. ink found (every stroke darker than the paper)"
    no_digit: str = "3. why no digit was read"
    no_digit_reason: Callable[[str], str] = lambda reason: NoDigitFoundError.REASONS.get(reason, "")


#: The texts of "What I saw" in English, as the command line and the benchmarks show it.
ENGLISH = StepsTexts()


def _fit(image: np.ndarray, size: int = PANEL_SIZE) -> np.ndarray:
    scale = size / max(image.shape[:2])
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA)


def steps_notes(reading: PhotoReading, segmentation: Segmentation, texts: StepsTexts = ENGLISH) -> list[str]:
    """The notes "What I saw" writes under the boxes: the line's tilt, what recognition
    decided (``segmentation.notes``) and what the number reader read and which reading won.

    Args:
        reading: the classifier's result for the photo.
        segmentation: the preprocessing result of the same photo.
        texts: the words and number formats (English by default).

    Returns:
        The notes, one line each, in that order; empty when there is nothing to note.
    """
    notes = [texts.tilt(abs(segmentation.tilt))] if segmentation.tilt else []
    notes += [texts.segmentation_note(note) for note in segmentation.notes]
    if reading.line_text is not None:
        # The number reader (core.reader) read the whole line too.
        if reading.method == "both":
            notes.append(texts.line_same(reading.line_text))
        elif reading.method == "line":
            notes.append(texts.line_given(reading.line_text, reading.runner_up or "-"))
        else:
            notes.append(texts.digits_given(reading.line_text or "-", reading.number))
    return notes


def render_steps_png(reading: PhotoReading, segmentation: Segmentation, texts: StepsTexts = ENGLISH) -> bytes:
    """Render the steps as a PNG: the photo (grayscale, polarity fixed), the ink mask kept,
    the photo with a box and the predicted digit per digit (and :func:`steps_notes` under
    it), and each 28x28 model input with its top-3.

    Uses matplotlib's object-oriented API (no pyplot state), so it is safe to call from
    worker threads.

    Args:
        reading: the classifier's result for the photo.
        segmentation: the preprocessing result of the same photo.
        texts: the words and number formats of the labels; the default is English
            (``bot.pictures`` passes the user's language).

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
        (_fit(gray), texts.photo),
        (_fit(segmentation.mask), texts.ink),
        (_fit(boxed), texts.digits_found(reading.number)),
    ]
    axes = _photo_panels(top.subplots(1, 3), panels)[-1]
    notes = steps_notes(reading, segmentation, texts)
    if notes:
        # Under the boxes (a second title line would run into the figure's title).
        axes.text(0.5, -0.03, "\n".join(notes), transform=axes.transAxes, ha="center", va="top", fontsize=8)
    digit_axes = np.atleast_1d(bottom.subplots(rows_of_digits, columns)).ravel()
    for axes in digit_axes:
        axes.axis("off")
    for axes, prediction in zip(digit_axes, reading.digits):
        axes.imshow(prediction.image, cmap="gray", vmin=0, vmax=1)
        runners = ", ".join(texts.runner_up(digit, probability) for digit, probability in prediction.top3[1:])
        caption = f"{prediction.digit} ({texts.confidence(prediction.confidence)})\n{runners}"
        axes.set_title(caption, fontsize=8, color="#b06000" if prediction.low_confidence else "#006030")
    figure.suptitle(texts.title, fontsize=10)
    return _png(figure)


def _photo_panels(all_axes, panels: list[tuple[np.ndarray, str]]):
    """Draw each ``(uint8 image, title)`` panel in the axes of ``all_axes`` at its place;
    returns ``all_axes``."""
    for axes, (image, title) in zip(all_axes, panels):
        axes.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
        axes.set_title(textwrap.fill(title, 42), fontsize=9)  # translations run longer
        axes.axis("off")
    return all_axes


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def render_no_digit_png(data: bytes, error: NoDigitFoundError, texts: StepsTexts = ENGLISH) -> bytes:
    """"What I saw" for a photo in which no digit was read: the photo (grayscale, polarity
    fixed, at working size), every stroke above the ink threshold before lines, borders and
    specks are removed (:func:`core.preprocessing.photo_ink`), and why nothing was read
    (``error.reason``, through ``texts.no_digit_reason``). A blank panel 2 says "no ink"; a
    panel full of marks says "texture"; a small mark says "too small" better than words do.

    Uses matplotlib's object-oriented API (no pyplot state), so it is safe to call from
    worker threads.

    Args:
        data: the photo's encoded bytes, as read (``Classifier.read_photo_with_steps`` raised
            ``error`` for them).
        error: why no digit was read.
        texts: the words of the labels; the default is English.

    Returns:
        PNG bytes, 1100 x 440 px.

    Raises:
        core.errors.UnreadableImageError, ImageTooLargeError, ImageTooSmallError: as
            :func:`core.preprocessing.decode_image` and ``photo_ink``, for bytes that never
            reached segmentation.
    """
    from matplotlib.figure import Figure

    from core.preprocessing import decode_image, photo_ink

    whole = photo_ink(decode_image(data)).whole
    figure = Figure(figsize=(11, 4.4), dpi=100)
    panels = [(_fit(whole.gray), texts.photo), (_fit(whole.mask), texts.ink_found)]
    why = _photo_panels(figure.subplots(1, 3), panels)[-1]
    why.set_box_aspect(whole.gray.shape[0] / whole.gray.shape[1])  # its title in line with the photos'
    why.axis("off")
    why.set_title(textwrap.fill(texts.no_digit, 42), fontsize=9)
    reason = texts.no_digit_reason(error.reason)
    if reason:
        why.text(0.5, 0.5, textwrap.fill(reason, 34), transform=why.transAxes, ha="center", va="center",
                 fontsize=11, color="#b06000")
    figure.suptitle(texts.no_digit_title, fontsize=10)
    figure.subplots_adjust(top=0.84)  # room for panel titles of two lines under the title
    return _png(figure)


def render_confusion_matrix_png(matrix, title: str = "Confusion matrix") -> bytes:
    """Render a confusion matrix as a seaborn heat map of counts, as PNG bytes.

    Colours follow log(1 + count), so the few errors off the diagonal stay visible next to
    the thousands on it; every cell is annotated with its count. Uses matplotlib's
    object-oriented API (no pyplot state), so it is safe in worker threads.

    Args:
        matrix: integer counts, shape (K, K) or (K, K + 1), rows the true digit and columns
            the prediction (a nested list or an array); an extra last column counts the
            digits the model called "not a digit".
        title: the first part of the title; the accuracy and image count are appended.

    Returns:
        PNG bytes, about 825 x 715 pixels.
    """
    import seaborn as sns
    from matplotlib.figure import Figure

    counts = np.asarray(matrix, dtype=np.int64)
    figure = Figure(figsize=(7.5, 6.5), dpi=110)
    axes = figure.add_subplot()
    sns.heatmap(
        np.log1p(counts.astype(np.float64)), annot=counts, fmt="d", cmap="Blues", cbar=False,
        square=True, linewidths=0.5, linecolor="#dddddd", ax=axes, annot_kws={"size": 9},
    )
    accuracy = np.trace(counts) / max(1, counts.sum())
    if counts.shape[1] > counts.shape[0]:
        axes.set_xticklabels([*map(str, range(counts.shape[0])), "none"])
    axes.set_title(f"{title} — accuracy {accuracy:.2%} on {counts.sum():,} images")
    axes.set_xlabel("Predicted digit")
    axes.set_ylabel("True digit")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
