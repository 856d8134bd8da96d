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
from core.preprocessing import Segmentation, enclosing_box
from core.results import PhotoReading

#: Longest side of the photo panels, in pixels, before matplotlib lays them out.
PANEL_SIZE = 480

#: Width of "What I saw", in inches at 100 dpi.
FIGURE_WIDTH = 11.0
#: A photo at least this many times wider than tall (a cropped number strip, a cheque amount)
#: gets its three panels stacked at full width; narrower ones get them side by side.
STACK_ASPECT = 3.0
#: Inches per row of 28x28 inputs, caption included.
DIGIT_ROW_HEIGHT = 2.0
_TITLE_HEIGHT = 0.5  # inches for the figure's title
_LINE_HEIGHT = 0.19  # inches per line of a 9-point panel title or an 8-point note
#: Characters per line of a note under the last of three panels side by side (8-point text in a
#: third of :data:`FIGURE_WIDTH`); longer notes are wrapped.
_NOTE_CHARACTERS = 55


@dataclass(frozen=True)
class StepsTexts:
    """The words and number formats of "What I saw" (:func:`render_steps_png`); English by default.

    ``core`` knows no languages: a caller that speaks another (``bot.pictures``) passes its
    own. A text with values in it is a function that fills them in, so the caller formats
    numbers its own way. The layout, which notes are shown when, and the colours stay in
    :func:`render_steps_png`.

    Attributes:
        title: the figure's title (the 28x28 images are the digit classifier's inputs).
        line_title: the figure's title when the number reader's reading is given
            (``PhotoReading.method == "line"``): it read the photo's line, not the 28x28 images.
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
        other_lines: how many further lines of writing were not read, >= 1
            (``Segmentation.other_lines``) -> the note saying so; they are outlined in grey on
            the photo.
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
    line_title: str = "What I saw: the number reader read the whole line; below, each digit's ink"
    photo: str = "1. photo (grayscale)"
    ink: str = "2. ink kept (lines, specks removed)"
    digits_found: Callable[[str], str] = "3. digits found: {}".format
    tilt: Callable[[float], str] = "line tilted {:.0f}°: each digit turned upright".format
    segmentation_note: Callable[[str], str] = str
    line_same: Callable[[str], str] = "read as a whole line too: {}, the same".format
    line_given: Callable[[str, str], str] = "read as a whole line: {}, given; digit by digit: {}".format
    digits_given: Callable[[str, str], str] = "read as a whole line: {}; digit by digit: {}, given".format
    other_lines: Callable[[int], str] = (
        lambda count: f"{count} more line{'' if count == 1 else 's'} of writing, not read "
                      "(grey on the photo)")
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
    decided (``segmentation.notes``), what the number reader read and which reading won, and
    how many further lines of writing were not read (``segmentation.other_lines``).

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
    if segmentation.other_lines:
        notes.append(texts.other_lines(len(segmentation.other_lines)))
    return notes


def render_steps_png(reading: PhotoReading, segmentation: Segmentation, texts: StepsTexts = ENGLISH) -> bytes:
    """Render the steps as a PNG: the photo (grayscale, polarity fixed), the ink mask kept,
    the digits' part of the photo with a box and the predicted digit per digit (and
    :func:`steps_notes` under it), and each 28x28 model input with its top-3. Further lines
    of writing that were not read are outlined in grey on the photo.

    The third panel is zoomed on the digits (:func:`digits_region`), so the boxes stay
    readable when the number is small in a phone photo; the first panel then outlines that
    region. The panels sit side by side, or stacked at full width for a photo at least
    :data:`STACK_ASPECT` times wider than tall (a number strip), and the figure is as tall
    as its contents.

    Uses matplotlib's object-oriented API (no pyplot state), so it is safe to call from
    worker threads.

    Args:
        reading: the classifier's result for the photo.
        segmentation: the preprocessing result of the same photo.
        texts: the words and number formats of the labels; the default is English
            (``bot.pictures`` passes the user's language).

    Returns:
        PNG bytes, 1100 px wide (:data:`FIGURE_WIDTH` at 100 dpi), about 500 to 1,100 px tall.
    """
    gray = segmentation.gray
    x0, y0, x1, y1 = digits_region(segmentation.working_boxes, gray.shape)
    zoomed = (x1 - x0) * (y1 - y0) < 0.6 * gray.shape[0] * gray.shape[1]
    # The region at PANEL_SIZE, boxes drawn after scaling so they stay thin and crisp.
    scale = PANEL_SIZE / max(x1 - x0, y1 - y0)
    boxed = cv2.resize(gray[y0:y1, x0:x1], (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    label_room = 34  # a band of white paper above the region for the labels of boxes at its top
    boxed = cv2.cvtColor(cv2.copyMakeBorder(boxed, label_room, 0, 0, 0, cv2.BORDER_CONSTANT, value=255),
                         cv2.COLOR_GRAY2RGB)
    for prediction, box in zip(reading.digits, segmentation.working_boxes):
        x, y, w, h = (round(value * scale) for value in (box[0] - x0, box[1] - y0, box[2], box[3]))
        y += label_room
        color = (220, 140, 0) if prediction.low_confidence else (0, 160, 60)
        cv2.rectangle(boxed, (x, y), (x + w, y + h), color, 2)
        cv2.putText(boxed, str(prediction.digit), (x + 2, max(28, y - 5)), cv2.FONT_HERSHEY_SIMPLEX,
                    min(1.0, max(0.6, h / 80)), color, 2, cv2.LINE_AA)
    photo = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    thickness = max(2, round(max(gray.shape) / 250))
    for x, y, w, h in segmentation.other_lines:  # writing that was not read
        cv2.rectangle(photo, (x, y), (x + w - 1, y + h - 1), (150, 150, 150), thickness)
    if zoomed:
        cv2.rectangle(photo, (x0, y0), (x1 - 1, y1 - 1), (0, 110, 220), thickness)
    panels = [
        (_fit(photo), texts.photo),
        (_fit(segmentation.mask), texts.ink),
        (_fit(boxed), texts.digits_found(reading.number)),
    ]
    notes = steps_notes(reading, segmentation, texts)
    digits = len(reading.digits)
    columns = max(3, min(digits, 8))
    rows_of_digits = int(np.ceil(digits / columns))
    title = texts.line_title if reading.method == "line" else texts.title
    figure, below = _figure_with_panels(panels, title, notes, rows_of_digits * DIGIT_ROW_HEIGHT)
    cell = FIGURE_WIDTH / columns
    side = min(1.45, cell - 0.2)  # inches of one 28x28 input
    for index, prediction in enumerate(reading.digits):
        row, column = divmod(index, columns)
        top = below + row * DIGIT_ROW_HEIGHT + 0.45  # under its two-line caption
        axes = _add_axes(figure, column * cell + (cell - side) / 2, top, side, side)
        axes.imshow(prediction.image, cmap="gray", vmin=0, vmax=1)
        axes.axis("off")
        runners = ", ".join(texts.runner_up(digit, probability) for digit, probability in prediction.top3[1:])
        caption = f"{prediction.digit} ({texts.confidence(prediction.confidence)})\n{runners}"
        axes.set_title(caption, fontsize=8, color="#b06000" if prediction.low_confidence else "#006030")
    return _png(figure)


def digits_region(boxes, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The part of the photo the third panel of "What I saw" shows: the digits' boxes with a
    margin of half the tallest box (at least 12 px) on every side, widened to at least
    3:4 (w:h) so a lone "1" keeps some paper around it, clipped to the photo.

    Args:
        boxes: ``(x, y, w, h)`` per digit in pixels of an image of ``shape``; none -> the
            whole image.
        shape: the image's ``(height, width, ...)``.

    Returns:
        ``(x0, y0, x1, y1)``, pixels, 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height.
    """
    height, width = shape[:2]
    if not boxes:
        return 0, 0, width, height
    x0, y0, box_width, box_height = enclosing_box(boxes)
    x1, y1 = x0 + box_width, y0 + box_height
    margin = max(12, max(h for _, _, _, h in boxes) // 2)
    x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
    widen = max(0, (3 * (y1 - y0)) // 4 - (x1 - x0))
    x0, x1 = x0 - widen // 2, x1 + widen - widen // 2
    return max(0, x0), max(0, y0), min(width, max(x1, x0 + 1)), min(height, max(y1, y0 + 1))


def _add_axes(figure, left: float, top: float, width: float, height: float):
    """Axes at a place given in inches from the figure's top-left corner."""
    figure_width, figure_height = figure.get_size_inches()
    return figure.add_axes((left / figure_width, 1 - (top + height) / figure_height,
                            width / figure_width, height / figure_height))


def _is_strip(image: np.ndarray) -> bool:
    """True for an image at least :data:`STACK_ASPECT` times wider than tall (a number strip),
    whose panels are stacked at full width."""
    return image.shape[1] >= STACK_ASPECT * image.shape[0]


def _panel_sizes(images: list[np.ndarray | None], stacked: bool) -> list[tuple[float, float]]:
    """(width, height) in inches of each panel's image: side by side, 3.4 in squares at most;
    stacked, 2.2 in tall at most and 10.6 in wide. A panel without an image (a text) is the
    size of the first image's panel, or a 10.6 x 0.8 in band when stacked."""
    sizes = []
    for image in images:
        if image is None:
            sizes.append((10.6, 0.8) if stacked else sizes[0])
            continue
        aspect = image.shape[1] / image.shape[0]
        if stacked:
            width = min(10.6, 2.2 * aspect)
        else:
            width = min(3.4, 3.4 * aspect)
        sizes.append((width, width / aspect))
    return sizes


def _figure_with_panels(panels: list[tuple[np.ndarray, str]], title: str, notes: list[str], extra_height: float):
    """A figure of :data:`FIGURE_WIDTH` with ``title``, the ``(image, title)`` panels (side by
    side, or stacked when the first is wide, see :data:`STACK_ASPECT`), ``notes`` under the
    last panel, and ``extra_height`` inches left free below them.

    A panel whose image is None is left empty for a text the caller draws (the first panel
    must have an image); see :func:`_panel_sizes`.

    Returns:
        ``(figure, top of the free space in inches)``; the last panel's axes are
        ``figure.axes[len(panels) - 1]``.
    """
    from matplotlib.figure import Figure

    stacked = _is_strip(panels[0][0])
    sizes = _panel_sizes([image for image, _ in panels], stacked)
    titles = [textwrap.fill(text, 110 if stacked else 42) for _, text in panels]  # translations run longer
    title_heights = [_LINE_HEIGHT * (text.count("\n") + 1) + 0.1 for text in titles]
    # Notes are centred under the last panel: side by side, its slot is all the width they have.
    notes = [textwrap.fill(note, 140 if stacked else _NOTE_CHARACTERS) for note in notes]
    notes_height = _LINE_HEIGHT * sum(note.count("\n") + 1 for note in notes) + 0.15 if notes else 0.0
    if stacked:
        places, top = [], _TITLE_HEIGHT
        for (width, height), title_height in zip(sizes, title_heights):
            places.append(((FIGURE_WIDTH - width) / 2, top + title_height, width, height))
            top += title_height + height + 0.1
        below = top + notes_height
    else:
        title_height = max(title_heights)
        row_height = max(height for _, height in sizes)
        slot = FIGURE_WIDTH / len(panels)
        places = [(index * slot + (slot - width) / 2, _TITLE_HEIGHT + title_height, width, height)
                  for index, (width, height) in enumerate(sizes)]
        below = _TITLE_HEIGHT + title_height + row_height + notes_height + 0.1
    figure = Figure(figsize=(FIGURE_WIDTH, below + extra_height + 0.1), dpi=100)
    for (image, _), text, place in zip(panels, titles, places):
        axes = _add_axes(figure, *place)
        if image is not None:
            axes.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255, aspect="auto")
        axes.set_title(text, fontsize=9)
        axes.axis("off")
    if notes:
        # Under the last panel, centred on it.
        left, top, width, height = places[-1]
        figure.text((left + width / 2) / FIGURE_WIDTH, 1 - (top + height + 0.08) / figure.get_figheight(),
                    "\n".join(notes), ha="center", va="top", fontsize=8)
    figure.suptitle(title, fontsize=10, y=1 - 0.15 / figure.get_figheight(), va="top")
    return figure, below


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
    The panels are laid out as in :func:`render_steps_png`.

    Uses matplotlib's object-oriented API (no pyplot state), so it is safe to call from
    worker threads.

    Args:
        data: the photo's encoded bytes, as read (``Classifier.read_photo_with_steps`` raised
            ``error`` for them).
        error: why no digit was read.
        texts: the words of the labels; the default is English.

    Returns:
        PNG bytes, 1100 px wide, about 450 to 900 px tall.

    Raises:
        core.errors.UnreadableImageError, ImageTooLargeError, ImageTooSmallError: as
            :func:`core.preprocessing.decode_image` and ``photo_ink``, for bytes that never
            reached segmentation.
    """
    from core.preprocessing import decode_image, photo_ink

    whole = photo_ink(decode_image(data)).whole
    panels = [(_fit(whole.gray), texts.photo), (_fit(whole.mask), texts.ink_found), (None, texts.no_digit)]
    figure, _ = _figure_with_panels(panels, texts.no_digit_title, [], 0.0)
    reason = texts.no_digit_reason(error.reason)
    if reason:
        why = figure.axes[-1]
        why.text(0.5, 0.5, textwrap.fill(reason, 90 if _is_strip(whole.gray) else 34), transform=why.transAxes,
                 ha="center", va="center", fontsize=11, color="#b06000")
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
