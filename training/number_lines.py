"""Synthetic lines of handwritten digits, for training the number reader (:mod:`core.reader`).

Each line is a number of 1 to 12 MNIST *training* digits (the test set stays unseen) drawn
as an ink map, the representation :func:`core.preprocessing.ink_map` makes of a photo
(ink strength in [0, 1] on 0), and then passed through :func:`core.reader.line_input`,
the same step that serves photos. What varies, per line and per digit:

- length (1-12, most often 2-8) and spacing: overlapping (two boxes by at most half the
  narrower one, :data:`MAX_OVERLAP`), touching, tight, normal, wide;
- digit height, width, baseline, slant (shear), tilt (rotation), stroke width (dilation,
  erosion) and ink strength;
- 0s written like "o"s, low and wide, in some lines (an option, ``round_zero_rate``);
- separators that are not part of the number: ".", ",", "-", "/", "'" between groups,
  and a short trailing dash, slash, dot or comma;
- in some lines (an option, ``end_mark_rate``), the end mark cheque amounts and prices
  are closed with so that nothing can be added: a long dash, "=", ".-" (also written in
  one stroke, "/‾"), ".=", a wavy dash or a crossed dash, at any height across the digits;
  a third written on from the last digit without lifting the pen (above its base), the
  rest well apart from it;
- clutter: an underline (straight or wavy, sometimes touching the digits), a
  strike-through (with the option ``clear_single_digits``, neither touches a lone digit),
  ruled lines, squared paper, a cell border or a book's binding edge at a side, ticks,
  crosses and dots beside the number, and cut-off strokes of neighbouring writing at the
  top and bottom;
- paper texture (smooth noise), speckle, uneven ink, blur and JPEG compression.

Usage (a preview sheet)::

    python -m training.number_lines --mnist ../shared/data/mnist.npz --preview lines.png
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.reader import LINE_HEIGHT, LINE_WIDTH, MAX_LENGTH, line_input

#: Canvas height the lines are drawn at before :func:`core.reader.line_input` scales them.
CANVAS_HEIGHT = 64
#: Probability of each length 1..12 (numbers people photograph: mostly 2-8 digits).
LENGTH_WEIGHTS = np.array([6, 9, 9, 9, 9, 9, 8, 8, 6, 5, 4, 4], dtype=np.float64)
#: Gap between a lone digit's foot and its underline with ``clear_single_digits``, in digit heights
#: (the least is about two pixels at the smallest digit height).
SINGLE_UNDERLINE_GAP = (0.08, 0.2)


@dataclass(frozen=True)
class LineOptions:
    """Optional kinds of writing in the synthetic lines. The defaults draw no random number
    for any of them, so lines come out exactly as before the options existed.

    Attributes:
        round_zero_rate: share of the lines, in [0, 1], whose 0s are written like "o"s
            (:data:`ROUND_ZERO_HEIGHT`, :data:`ROUND_ZERO_WIDEN`), as the thousands of cheque
            amounts often are ("15.ooo").
        end_mark_rate: share of the lines, in [0, 1], closed with an end mark
            (:func:`end_mark`) instead of perhaps a short trailing one.
        clear_single_digits: on a line of one digit, draw no strike-through and keep the
            underline :data:`SINGLE_UNDERLINE_GAP` below the digit's foot. On one digit such a
            bar makes another digit while the label says otherwise: a 7 with a bar at its
            foot is a Z-shaped 2, a 1 struck through is a 4. Along a longer number the bar
            runs past the digits and reads as a line.
    """

    round_zero_rate: float = 0.0
    end_mark_rate: float = 0.0
    clear_single_digits: bool = False


@dataclass
class DigitBank:
    """MNIST training digits cropped to their bounding boxes, grouped by label.

    Attributes:
        by_label: for each digit 0-9, a list of float32 (h, w) crops in [0, 1].
    """

    by_label: list[list[np.ndarray]]

    @classmethod
    def from_images(cls, images: np.ndarray, labels: np.ndarray) -> "DigitBank":
        """Build from uint8 (N, 28, 28) images (ink 255 on 0) and labels (N,) in 0-9."""
        by_label: list[list[np.ndarray]] = [[] for _ in range(10)]
        for image, label in zip(images, labels):
            rows = np.flatnonzero(image.max(axis=1) > 40)
            cols = np.flatnonzero(image.max(axis=0) > 40)
            if len(rows) == 0 or len(cols) == 0:
                continue
            crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32) / 255.0
            by_label[int(label)].append(crop)
        return cls(by_label)


def _scaled_digit(rng: np.random.Generator, crop: np.ndarray, height: float) -> np.ndarray:
    """A digit crop resized to ``height`` px (its width follows, with a random squeeze)."""
    h, w = crop.shape
    aspect = w / h * rng.uniform(0.8, 1.25)
    new_h = max(4, int(round(height)))
    new_w = max(2, int(round(new_h * aspect)))
    return cv2.resize(crop, (new_w, new_h), interpolation=cv2.INTER_LINEAR)


def _draw_line(canvas: np.ndarray, points: np.ndarray, thickness: int, strength: float) -> None:
    layer = np.zeros_like(canvas)
    cv2.polylines(layer, [np.round(points).astype(np.int32)], False, float(strength), thickness, cv2.LINE_AA)
    np.maximum(canvas, layer, out=canvas)


def _separator(rng: np.random.Generator, height: float, stroke: int) -> np.ndarray:
    """A small mark between digit groups: ".", ",", "-", "/" or "'", as an ink patch (height x w)."""
    kind = rng.choice(["dot", "comma", "dash", "slash", "apostrophe"], p=[0.4, 0.3, 0.12, 0.1, 0.08])
    h = int(round(height))
    w = max(3, int(round(height * (0.25 if kind in ("dot", "comma", "apostrophe") else 0.45))))
    patch = np.zeros((h, w), np.float32)
    r = max(1, stroke)
    if kind == "dot":
        cv2.circle(patch, (w // 2, h - 2 - r), r, 1.0, -1, cv2.LINE_AA)
    elif kind == "comma":
        _draw_line(patch, np.array([[w * 0.6, h - 3 - r * 2], [w * 0.5, h - 1], [w * 0.2, h + r]]), r, 1.0)
    elif kind == "apostrophe":
        _draw_line(patch, np.array([[w * 0.6, 1], [w * 0.4, h * 0.25]]), r, 1.0)
    elif kind == "dash":
        y = h * rng.uniform(0.45, 0.65)
        _draw_line(patch, np.array([[0, y], [w - 1, y + rng.uniform(-2, 2)]]), r, 1.0)
    else:
        _draw_line(patch, np.array([[w - 1, h * 0.15], [0, h * 0.95]]), r, 1.0)
    return patch


#: The end marks :func:`end_mark` draws, and how often each.
#: No "/-": a slash standing beside the last digit is a 1 to the reader, and a reader taught
#: to skip it drops real 1s (as with the "/" between groups, docs/benchmarks.md).
END_MARKS = ("dash", "equals", "dot dash", "dot equals", "hooked", "wavy", "crossed")
END_MARK_WEIGHTS = np.array([0.25, 0.18, 0.13, 0.08, 0.18, 0.1, 0.08])
#: Length of an end mark's dash, in digit heights (range).
END_MARK_LENGTH = (0.45, 1.6)
#: Share of the end marks joined to the last digit (the pen went on from it), and their gap
#: to it in digit heights (range; below 0 the mark starts on the digit). A joined mark is
#: only a dash that leaves the digit above its base (:data:`JOINED_END_MARKS`,
#: :data:`JOINED_END_MARK_ROWS`): a stroke run on from a digit's foot along the baseline
#: makes another digit of it (a 7 with a base is a 2: a reader trained with such lines read a
#: plain 2 as 7).
END_MARK_JOINED_SHARE = 0.35
END_MARK_JOINED_GAP = (-0.12, 0.03)
#: Gap, in digit heights (range), of the other end marks: clearly apart, for a dash that
#: comes close to a digit's foot after blur and a thicker pen is again a base (a reader
#: trained with gaps from 0.05 read a Z-shaped 2 as 7).
END_MARK_GAP = (0.2, 0.45)
#: The end marks that may be joined to the last digit: none that starts at the baseline.
JOINED_END_MARKS = ("dash", "equals", "wavy", "crossed")
#: Rows (shares of the digit height from the top) where a joined end mark's dash lies; an "="
#: has its first dash in the upper half of that band.
JOINED_END_MARK_ROWS = (0.25, 0.7)


def end_mark(rng: np.random.Generator, height: float, stroke: int, kind: str | None = None,
             joined: bool = False) -> np.ndarray:
    """The mark that closes a cheque amount or a price ("1.000.-", "280.000=", "50.-").

    Its dashes lie between 25 % and 95 % of the digit's height from the top (the middle of
    the digits or down on the baseline), level or a little slanted, and are
    :data:`END_MARK_LENGTH` long. A mark ``joined`` to the last digit is one of
    :data:`JOINED_END_MARKS`, its dash within :data:`JOINED_END_MARK_ROWS`.

    Args:
        rng: the random generator.
        height: the line's digit height in pixels, >= 4.
        stroke: pen width in pixels, >= 1.
        kind: one of :data:`END_MARKS` (of :data:`JOINED_END_MARKS` when ``joined``); None
            draws one by :data:`END_MARK_WEIGHTS`.
        joined: the mark starts on the last digit (see :data:`END_MARK_JOINED_SHARE`).

    Returns:
        float32 (round(height), w) ink patch in [0, 1], to stand on the line's baseline.

    Raises:
        ValueError: ``kind`` is not one of the marks allowed.
    """
    kinds = JOINED_END_MARKS if joined else END_MARKS
    if kind is None:
        weights = np.array([weight for name, weight in zip(END_MARKS, END_MARK_WEIGHTS) if name in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
    elif kind not in kinds:
        raise ValueError(f"unknown end mark {kind!r}{' joined to a digit' if joined else ''}; expected one of {kinds}")
    h = max(4, int(round(height)))
    r = max(1, stroke)
    lead = int(round(height * rng.uniform(0.2, 0.4))) if kind in ("dot dash", "dot equals") else 0
    length = height * rng.uniform(*END_MARK_LENGTH)
    w = int(round(lead + length)) + 2 * r + 2
    patch = np.zeros((h, w), np.float32)
    if joined:
        low, high = JOINED_END_MARK_ROWS
        y = h * rng.uniform(low, (low + high) / 2 if kind == "equals" else high)
    else:
        y = h * rng.uniform(0.25, 0.95)
    if kind in ("equals", "dot equals"):
        y = min(y, h * 0.95 - height * 0.25)
    x0, x1 = lead + r, w - 1 - r
    rise = height * rng.uniform(-0.12, 0.12)
    if kind == "hooked":
        # ".-" written in one stroke: up from the baseline, then the dash ("/‾").
        y = h * rng.uniform(0.3, 0.65)
        x_turn = x0 + height * rng.uniform(0.08, 0.25)
        _draw_line(patch, np.array([[x0, h * rng.uniform(0.85, 0.97)], [x_turn, y]]), r, 1.0)
        x0 = int(round(x_turn))

    def dash(y_start: float, x_start: float = x0) -> None:
        if kind == "wavy":
            xs = np.linspace(x_start, x1, 16)
            ys = y_start + np.linspace(0, rise, 16) + height * rng.uniform(0.04, 0.1) * np.sin(
                np.linspace(0, rng.uniform(1.5, 3.5) * np.pi, 16))
            _draw_line(patch, np.stack([xs, ys], axis=1), r, 1.0)
        else:
            _draw_line(patch, np.array([[x_start, y_start], [x1, y_start + rise]]), r, 1.0)

    dash(y)
    if kind in ("equals", "dot equals"):
        dash(y + height * rng.uniform(0.15, 0.25), x0 + rng.uniform(-0.1, 0.2) * length)
    if kind in ("dot dash", "dot equals"):
        cv2.circle(patch, (max(r, int(lead * 0.35)), int(min(h - 1 - r, h * rng.uniform(0.85, 0.97)))), r, 1.0, -1, cv2.LINE_AA)
    elif kind == "crossed":
        for _ in range(int(rng.integers(1, 3))):
            x = x0 + rng.uniform(0.3, 0.8) * (x1 - x0)
            _draw_line(patch, np.array([[x + height * 0.08, y - height * 0.25], [x - height * 0.08, y + height * 0.25]]), r, 1.0)
    return patch


#: Height (range, times the line's digit height) of the 0s of a line written with round zeros.
ROUND_ZERO_HEIGHT = (0.5, 0.8)
#: Width (range, times the 0's own width at the line's height) of those round zeros.
ROUND_ZERO_WIDEN = (0.9, 1.4)

def round_zero(rng: np.random.Generator, patch: np.ndarray) -> np.ndarray:
    """A 0 written like a lower-case "o": the float32 (h, w) crop resized to
    :data:`ROUND_ZERO_HEIGHT` times its height and :data:`ROUND_ZERO_WIDEN` times its width
    (at least 4 x 2 px); placed on the baseline like any digit, it stands low and wide."""
    size = (max(2, int(round(patch.shape[1] * rng.uniform(*ROUND_ZERO_WIDEN)))),
            max(4, int(round(patch.shape[0] * rng.uniform(*ROUND_ZERO_HEIGHT)))))
    return cv2.resize(patch, size, interpolation=cv2.INTER_AREA)


#: Most two neighbouring digits' boxes overlap, as a share of the narrower box's width.
MAX_OVERLAP = 0.5


def make_line(rng: np.random.Generator, bank: DigitBank, length: int | None = None,
              length_weights: np.ndarray = LENGTH_WEIGHTS,
              options: LineOptions = LineOptions()) -> tuple[np.ndarray, str]:
    """Draw one synthetic number line as an ink map.

    Args:
        rng: the random generator (all randomness comes from it).
        bank: the digits to draw from.
        length: digits in the number (default: drawn from ``length_weights``).
        length_weights: float (12,), relative weights of lengths 1..12, >= 0, not all 0.
        options: the optional kinds of writing (:class:`LineOptions`).

    Returns:
        ``(ink, text)``: float32 (64, w) ink map in [0, 1] and the number's digits.
    """
    if length is None:
        length = int(rng.choice(np.arange(1, MAX_LENGTH + 1), p=length_weights / length_weights.sum()))
    labels = rng.integers(0, 10, size=length)
    digit_height = rng.uniform(0.42, 0.78) * CANVAS_HEIGHT
    spacing_kind = rng.choice(["overlap", "touch", "tight", "normal", "wide"], p=[0.15, 0.25, 0.2, 0.3, 0.1])
    gap_range = {"overlap": (-0.3, -0.05), "touch": (-0.12, 0.02), "tight": (0.0, 0.1),
                 "normal": (0.05, 0.3), "wide": (0.25, 0.8)}[spacing_kind]
    stroke = int(rng.choice([1, 1, 2, 2, 3]))
    separators = rng.random() < 0.35
    baseline = rng.uniform(0.6, 0.85) * CANVAS_HEIGHT
    round_zeros = options.round_zero_rate > 0 and rng.random() < options.round_zero_rate
    pieces: list[tuple[int, int, np.ndarray]] = []  # (x, y, patch)
    x = rng.uniform(0.05, 1.2) * digit_height
    patches = []
    for label in labels:
        choices = bank.by_label[int(label)]
        crop = choices[int(rng.integers(len(choices)))]
        height = digit_height * rng.uniform(0.88, 1.12)
        patch = _scaled_digit(rng, crop, height)
        if round_zeros and label == 0:
            patch = round_zero(rng, patch)
        patches.append(patch * rng.uniform(0.75, 1.0))
    for index, patch in enumerate(patches):
        y = baseline - patch.shape[0] + rng.normal(0, 0.04 * digit_height)
        pieces.append((int(round(x)), int(round(y)), patch))
        gap = rng.uniform(*gap_range) * digit_height
        if index < length - 1:
            # Neighbours' boxes overlap by at most MAX_OVERLAP of the narrower: a wider
            # overlap would hide a 1 under the next digit (drawn, yet labelled, unseen).
            gap = max(gap, -MAX_OVERLAP * min(patch.shape[1], patches[index + 1].shape[1]))
        x += patch.shape[1] + gap
        if separators and index < length - 1 and rng.random() < 0.3:
            mark = _separator(rng, digit_height, stroke)
            x = _place_mark(pieces, mark, x, baseline, before=0.05 * digit_height, after=0.1 * digit_height)
    if options.end_mark_rate > 0 and rng.random() < options.end_mark_rate:  # "-", "=", ".-": no more digits
        joined = rng.random() < END_MARK_JOINED_SHARE
        gap = rng.uniform(*(END_MARK_JOINED_GAP if joined else END_MARK_GAP))
        mark = end_mark(rng, digit_height, stroke, joined=joined) * rng.uniform(0.75, 1.0)
        x = _place_mark(pieces, mark, x, baseline, before=gap * digit_height)
    elif rng.random() < 0.12:  # a short trailing mark: "-", "/", ".", ","
        mark = _separator(rng, digit_height, stroke)
        x = _place_mark(pieces, mark, x, baseline, before=0.1 * digit_height)
    width = int(x + rng.uniform(0.05, 1.2) * digit_height)
    pad = CANVAS_HEIGHT  # room for shear and rotation, cropped off afterwards
    canvas = np.zeros((CANVAS_HEIGHT + 2 * pad, width + 2 * pad), np.float32)
    for px, py, patch in pieces:
        y0, x0 = py + pad, px + pad
        y0 = int(np.clip(y0, 0, canvas.shape[0] - patch.shape[0]))
        region = canvas[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]]
        np.maximum(region, patch[:region.shape[0], :region.shape[1]], out=region)
    first_x = pieces[0][0] + pad
    last_x = max(px + patch.shape[1] for px, _, patch in pieces) + pad
    top, bottom = pad + baseline - digit_height, pad + baseline
    lone = options.clear_single_digits and length == 1
    # Underline / strike-through (drawn before the geometric distortions, as part of the writing).
    if rng.random() < 0.25:
        if lone:  # below the digit's own foot, which may hang under the baseline
            foot = max(bottom, pieces[0][1] + pieces[0][2].shape[0] + pad)
            y = foot + rng.uniform(*SINGLE_UNDERLINE_GAP) * digit_height
        else:
            y = bottom + rng.uniform(-0.05, 0.2) * digit_height
        xs = np.linspace(first_x - rng.uniform(0, 0.5) * digit_height, last_x + rng.uniform(0, 0.8) * digit_height, 12)
        wave = rng.uniform(0, 0.05) * digit_height * np.sin(np.linspace(0, rng.uniform(2, 8), 12))
        ys = y + wave + np.linspace(0, rng.uniform(-0.1, 0.1) * digit_height, 12)
        if lone:  # its highest point too
            ys += y - ys.min()
        _draw_line(canvas, np.stack([xs, ys], axis=1), int(rng.integers(1, 4)), rng.uniform(0.6, 1.0))
        if rng.random() < 0.2:  # a double underline
            _draw_line(canvas, np.stack([xs, ys + rng.uniform(0.1, 0.2) * digit_height], axis=1),
                       int(rng.integers(1, 3)), rng.uniform(0.6, 1.0))
    if rng.random() < 0.04 and not lone:
        y = top + rng.uniform(0.35, 0.65) * digit_height
        _draw_line(canvas, np.array([[first_x - 3, y], [last_x + 3, y + rng.uniform(-3, 3)]]), stroke, 0.9)
    # Slant (shear about the baseline) and tilt (rotation).
    shear = rng.uniform(-0.35, 0.35)
    angle = rng.normal(0, 2.5)
    center = (canvas.shape[1] / 2, pad + baseline)
    rotation = cv2.getRotationMatrix2D(center, angle, 1.0)
    affine = rotation @ np.array([[1, shear, -shear * center[1]], [0, 1, 0], [0, 0, 1]], dtype=np.float64)
    canvas = cv2.warpAffine(canvas, affine, (canvas.shape[1], canvas.shape[0]), flags=cv2.INTER_LINEAR)
    # Stroke width.
    roll = rng.random()
    kernel = np.ones((2, 2), np.uint8) if rng.random() < 0.6 else np.ones((3, 3), np.uint8)
    if roll < 0.25:
        canvas = cv2.dilate(canvas, kernel)
    elif roll < 0.35:
        canvas = cv2.erode(canvas, np.ones((2, 2), np.uint8))
    canvas = canvas[pad:pad + CANVAS_HEIGHT, pad:pad + width]
    # Vertical placement: the band around the number is not always centred or tight.
    canvas = _reframe(rng, canvas, top - pad, bottom - pad)
    _add_clutter(rng, canvas, stroke, bank)
    return _add_paper(rng, canvas), "".join(str(int(label)) for label in labels)


def _place_mark(pieces: list[tuple[int, int, np.ndarray]], mark: np.ndarray, x: float, baseline: float,
                before: float, after: float = 0.0) -> float:
    """Place a separator or end mark on the baseline, ``before`` pixels right of ``x``: adds
    ``(x, y, patch)`` to ``pieces`` (its foot on ``baseline``) and returns the x after it and
    ``after`` more pixels."""
    x += before
    pieces.append((int(round(x)), int(round(baseline - mark.shape[0])), mark))
    return x + (mark.shape[1] + after)


def _reframe(rng: np.random.Generator, canvas: np.ndarray, top: float, bottom: float) -> np.ndarray:
    """Crop or pad the canvas vertically so the digits fill 40-95 % of its height."""
    height = bottom - top
    wanted = height / rng.uniform(0.4, 0.95)
    above = rng.uniform(0.1, 0.9) * (wanted - height)
    y0 = int(round(top - above))
    y1 = int(round(y0 + wanted))
    padded = np.pad(canvas, ((max(0, -y0), max(0, y1 - canvas.shape[0])), (0, 0)))
    y0 += max(0, -y0)
    return padded[y0:y0 + int(round(wanted))].copy()


def _add_clutter(rng: np.random.Generator, canvas: np.ndarray, stroke: int, bank: DigitBank) -> None:
    """Ruled lines, grids, borders, ticks, crosses, dots and cut-off neighbours, in place."""
    h, w = canvas.shape
    if rng.random() < 0.25:  # ruled lines
        for y in rng.uniform(0, h, size=int(rng.integers(1, 3))):
            slope = rng.normal(0, 0.01) * w
            _draw_line(canvas, np.array([[0, y], [w - 1, y + slope]]), int(rng.integers(1, 3)), rng.uniform(0.2, 0.9))
    if rng.random() < 0.08:  # squared paper
        step = rng.uniform(0.3, 0.6) * h
        strength = rng.uniform(0.15, 0.5)
        for y in np.arange(rng.uniform(0, step), h, step):
            _draw_line(canvas, np.array([[0, y], [w - 1, y]]), 1, strength)
        for x in np.arange(rng.uniform(0, step), w, step):
            _draw_line(canvas, np.array([[x, 0], [x, h - 1]]), 1, strength)
    if rng.random() < 0.2:  # a cell border or a binding edge at a side
        thickness = int(rng.choice([1, 2, 3, 6, 12]))
        x = rng.uniform(0, 0.06) * w if rng.random() < 0.5 else w - 1 - rng.uniform(0, 0.06) * w
        _draw_line(canvas, np.array([[x, 0], [x + rng.normal(0, 2), h - 1]]), thickness, rng.uniform(0.4, 1.0))
    for _ in range(int(rng.poisson(0.35))):  # ticks, crosses and dots near the ends
        x = rng.uniform(0, 0.12) * w if rng.random() < 0.5 else rng.uniform(0.88, 1.0) * w
        y = rng.uniform(0.2, 0.8) * h
        size = rng.uniform(0.1, 0.3) * h
        kind = rng.integers(3)
        if kind == 0:
            _draw_line(canvas, np.array([[x - size, y], [x - size / 3, y + size * 0.6], [x + size, y - size]]), stroke, 1.0)
        elif kind == 1:
            _draw_line(canvas, np.array([[x - size / 2, y - size / 2], [x + size / 2, y + size / 2]]), stroke, 1.0)
            _draw_line(canvas, np.array([[x - size / 2, y + size / 2], [x + size / 2, y - size / 2]]), stroke, 1.0)
        else:
            cv2.circle(canvas, (int(x), int(y)), max(1, stroke), 1.0, -1, cv2.LINE_AA)
    if rng.random() < 0.15:  # the cut-off bottom or top of a neighbouring line's writing
        label = int(rng.integers(10))
        crop = bank.by_label[label][int(rng.integers(len(bank.by_label[label])))]
        patch = _scaled_digit(rng, crop, h * rng.uniform(0.5, 0.8))
        keep = int(patch.shape[0] * rng.uniform(0.1, 0.3))
        x = int(rng.uniform(0, max(1, w - patch.shape[1])))
        if rng.random() < 0.5:  # the bottom of a digit above, at the top edge
            piece, region = patch[-keep:], canvas[:keep, x:x + patch.shape[1]]
        else:  # the top of a digit below, at the bottom edge
            piece, region = patch[:keep], canvas[h - keep:, x:x + patch.shape[1]]
        np.maximum(region, piece[:region.shape[0], :region.shape[1]], out=region)


def _add_paper(rng: np.random.Generator, canvas: np.ndarray) -> np.ndarray:
    """Paper texture, speckle, uneven ink, blur and JPEG: float32 in [0, 1]."""
    h, w = canvas.shape
    strength = rng.uniform(0.35, 1.0)
    ink = canvas * strength
    if rng.random() < 0.5:  # uneven ink along the line
        ramp = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0), w, dtype=np.float32)
        ink *= ramp[np.newaxis, :]
    if rng.random() < 0.6:  # smooth paper texture
        small = rng.random((max(2, h // 6), max(2, w // 6))).astype(np.float32)
        texture = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        ink = np.maximum(ink, np.clip(texture, 0, 1) * strength * rng.uniform(0.0, 0.45))
    if rng.random() < 0.4:  # fine grain
        ink = ink + rng.normal(0, strength * rng.uniform(0.01, 0.08), size=ink.shape).astype(np.float32)
    if rng.random() < 0.2:  # speckle
        count = int(rng.integers(1, 30))
        ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
        ink[ys, xs] = np.maximum(ink[ys, xs], rng.uniform(0.3, 1.0, count))
    sigma = rng.choice([0.0, 0.0, rng.uniform(0.4, 1.0), rng.uniform(1.0, 1.8)])
    if sigma > 0:
        ink = cv2.GaussianBlur(ink, (0, 0), sigma)
    ink = np.clip(ink, 0.0, 1.0)
    if rng.random() < 0.3:
        quality = int(rng.integers(25, 90))
        ok, encoded = cv2.imencode(".jpg", (ink * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            ink = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
    return ink.astype(np.float32)


def make_lines(bank: DigitBank, count: int, seed: int, length_weights: np.ndarray = LENGTH_WEIGHTS,
               options: LineOptions = LineOptions()) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``count`` reader inputs, their lengths drawn from ``length_weights``, with the
    optional kinds of writing in ``options`` (as :func:`make_line`).

    Returns:
        ``(lines, targets, texts)``: uint8 (count, 32, 256) (ink * 255), int32 targets
        (count, 12) holding each digit + 1 and 0 after the number's end (the CTC blank
        index doubles as padding), and the numbers as text.
    """
    rng = np.random.default_rng(seed)
    lines = np.zeros((count, LINE_HEIGHT, LINE_WIDTH), np.uint8)
    targets = np.zeros((count, MAX_LENGTH), np.int32)
    texts = []
    for index in range(count):
        ink, text = make_line(rng, bank, length_weights=length_weights, options=options)
        line, _ = line_input(ink)
        lines[index] = np.round(line * 255).astype(np.uint8)
        targets[index, :len(text)] = [int(character) + 1 for character in text]
        texts.append(text)
    return lines, targets, texts


def _preview(bank: DigitBank, path: Path, count: int = 24, seed: int = 0,
             options: LineOptions = LineOptions()) -> None:
    lines, _, texts = make_lines(bank, count, seed, options=options)
    sheet = np.vstack([np.pad(line, ((2, 2), (0, 0)), constant_values=90) for line in lines])
    cv2.imwrite(str(path), cv2.resize(sheet, (sheet.shape[1] * 2, sheet.shape[0] * 2), interpolation=cv2.INTER_NEAREST))
    print("\n".join(texts))


def main(argv: list[str] | None = None) -> int:
    from training.augment import share
    from training.data import load_mnist

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=None, help="MNIST .npz (default: $DIGITBOT_MNIST or keras' download)")
    parser.add_argument("--preview", type=Path, required=True, help="write a PNG sheet of synthetic lines here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--end-mark-rate", type=share, default=0.0, metavar="SHARE",
                        help="share of the lines closed with an end mark, 0-1")
    parser.add_argument("--clear-single-digits", action="store_true",
                        help="no strike-through on a line of one digit, and its underline clear of the digit")
    args = parser.parse_args(argv)
    data = load_mnist(args.mnist)
    _preview(DigitBank.from_images(data.x_train, data.y_train), args.preview, seed=args.seed,
             options=LineOptions(end_mark_rate=args.end_mark_rate,
                                 clear_single_digits=args.clear_single_digits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
