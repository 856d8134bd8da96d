"""Digits drawn from handwriting fonts: ways of writing each digit that MNIST's writers did not use.

MNIST's digits come from about 500 American writers of 1990 (LeCun et al. 1998). Real
numbers from elsewhere are written in other school hands: 9s drawn as a ring on a stem
or with a tail that curls, 1s with a long flag, crossed 7s, open 4s, looped 2s. Fonts
that imitate handwriting (the school handwriting models of many countries, such as the
Playwrite family of Google Fonts, and casual hands such as Caveat or Kalam) draw those
styles; rendered with random pen widths, slants, rotations, squeezes and elastic
distortions (Simard, Steinkraus & Platt 2003) and framed as MNIST frames its digits,
they add styles to the training digits of both models without touching any real photo.

The fonts are not part of the project. Any folder of ``.ttf``, ``.otf``, ``.woff`` or
``.woff2`` files works (looked for recursively); the fonts tried so far
are listed in ``training/fonts.txt`` and fetched by :mod:`training.fetch_fonts`. A
font is skipped when one of its digits is missing (blank, or drawn as the font's box
for unknown characters) or when two digits are drawn alike.

Usage (a contact sheet of what the training sees)::

    python -m training.font_digits FONT_DIR [--copies 3] [--sheet fonts.png]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import numpy as np

from core.preprocessing.normalisation import _stroke_width

#: File name endings of the fonts looked for.
FONT_SUFFIXES = (".ttf", ".otf", ".woff", ".woff2")
#: Size in pixels at which glyphs are rendered (before framing into 28x28).
RENDER_SIZE = 96
#: Pen width in the 28x28 frame, drawn uniformly per copy: MNIST's strokes are about 2.6 px
#: wide in its 20-px box (``core.preprocessing.normalisation.TARGET_STROKE``); thinner and
#: bolder pens around it, as real pens and markers are.
PEN_WIDTH_RANGE = (1.8, 3.6)
#: Largest slant (shear of x by y), rotation in degrees and relative squeeze of the width.
MAX_SLANT, MAX_ROTATION, MAX_SQUEEZE = 0.35, 10.0, 0.25
#: Elastic distortion of each copy (Simard et al. 2003; their MNIST values: alpha 34, sigma 4),
#: drawn at the 28x28 frame's scale: alpha uniformly in this range, sigma 4.
ELASTIC_ALPHA_RANGE = (0.0, 30.0)


def find_fonts(folder: str | Path) -> list[Path]:
    """The font files under ``folder`` (recursively), sorted by path.

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no font folder at {folder}")
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in FONT_SUFFIXES and path.is_file())


def _render(font, text: str) -> np.ndarray:
    """uint8 (h, w), white on black, the text drawn with a Pillow font, cropped to its ink
    (an empty array when nothing was drawn)."""
    from PIL import Image, ImageDraw

    left, top, right, bottom = font.getbbox(text)
    width, height = max(1, right - left + 8), max(1, bottom - top + 8)
    image = Image.new("L", (width, height), 0)
    ImageDraw.Draw(image).text((4 - left, 4 - top), text, font=font, fill=255)
    pixels = np.asarray(image)
    rows, columns = np.nonzero(pixels > 127)
    if len(rows) == 0:
        return np.zeros((0, 0), np.uint8)
    return pixels[rows.min():rows.max() + 1, columns.min():columns.max() + 1].copy()


def _alike(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two glyph images are the same drawing (same size, nearly the same pixels)."""
    if first.shape != second.shape or first.size == 0:
        return False
    return float(np.mean((first > 127) != (second > 127))) < 0.02


def font_glyphs(path: str | Path, size: int = RENDER_SIZE) -> list[np.ndarray] | None:
    """The ten digits of a font, rendered white on black and cropped to their ink.

    Args:
        path: a ``.ttf``, ``.otf``, ``.woff`` or ``.woff2`` file.
        size: the font size in pixels.

    Returns:
        A list of 10 uint8 (h, w) arrays, digit 0 to 9; None when the font cannot be
        read, lacks a digit (blank, or drawn as its glyph for an unknown character) or
        draws two digits alike.
    """
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(str(path), size)
    except OSError:
        return None
    glyphs = [_render(font, str(digit)) for digit in range(10)]
    unknown = _render(font, "\ue000")  # a private-use character: the font's "missing" box
    for index, glyph in enumerate(glyphs):
        if glyph.size == 0 or glyph.shape[0] < size // 8 or _alike(glyph, unknown):
            return None
        if any(_alike(glyph, other) for other in glyphs[:index]):
            return None
    return glyphs


def _with_pen_width(glyph: np.ndarray, width: float) -> np.ndarray:
    """The glyph redrawn with strokes about ``width`` px wide (eroded or dilated with a disc);
    the glyph itself when erosion would break it up."""
    mask = (glyph > 127).astype(np.uint8)
    change = int(round((width - _stroke_width(mask)) / 2))
    if change == 0:
        return glyph
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(change) + 1, 2 * abs(change) + 1))
    if change > 0:
        return cv2.dilate(glyph, kernel)
    thinner = cv2.erode(glyph, kernel)
    pieces = cv2.connectedComponents((thinner > 127).astype(np.uint8))[0] - 1
    whole = cv2.connectedComponents(mask)[0] - 1
    return thinner if pieces == whole and np.count_nonzero(thinner > 127) > 0.25 * np.count_nonzero(mask) else glyph


def draw_variant(glyph: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One randomly distorted copy of a glyph, framed as MNIST frames its digits.

    Args:
        glyph: uint8 (h, w), a digit white on black (:func:`font_glyphs`).
        rng: draws the pen width (:data:`PEN_WIDTH_RANGE`), slant, rotation and squeeze
            (:data:`MAX_SLANT`, :data:`MAX_ROTATION`, :data:`MAX_SQUEEZE`) and the elastic
            distortion (:data:`ELASTIC_ALPHA_RANGE`).

    Returns:
        uint8 (28, 28): the ink's bounding box fitted into 20x20, its center of mass at the
        frame's center (LeCun et al. 1998).
    """
    from training.augment import _refit_to_mnist_frame, elastic_distort

    # The pen: the target width is given at the 28x28 scale, where the glyph's long side is 20 px.
    scale = max(glyph.shape) / 20.0
    drawn = _with_pen_width(glyph, rng.uniform(*PEN_WIDTH_RANGE) * scale)
    height, width = drawn.shape
    pad = max(height, width) // 2
    canvas = cv2.copyMakeBorder(drawn, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    center = (canvas.shape[1] / 2.0, canvas.shape[0] / 2.0)
    turn = cv2.getRotationMatrix2D(center, rng.uniform(-MAX_ROTATION, MAX_ROTATION), 1.0)
    squeeze = 1.0 + rng.uniform(-MAX_SQUEEZE, MAX_SQUEEZE)
    slant = rng.uniform(-MAX_SLANT, MAX_SLANT)
    # x' = squeeze * (x - cx) - slant * (y - cy) + cx: taller strokes lean right for slant < 0.
    shape = np.array([[squeeze, -slant, (1 - squeeze) * center[0] + slant * center[1]], [0.0, 1.0, 0.0]])
    matrix = np.vstack([turn, [0, 0, 1]]) @ np.vstack([shape, [0, 0, 1]])
    canvas = cv2.warpAffine(canvas, matrix[:2], (canvas.shape[1], canvas.shape[0]), flags=cv2.INTER_LINEAR)
    if not canvas.any():
        canvas = cv2.copyMakeBorder(drawn, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    framed = _refit_to_mnist_frame(canvas)
    alpha = rng.uniform(*ELASTIC_ALPHA_RANGE)
    if alpha > 0:
        distorted = elastic_distort(framed[np.newaxis], alpha=alpha, sigma=4.0, seed=int(rng.integers(2**31)))[0]
        if distorted.any():
            framed = _refit_to_mnist_frame(distorted)
    return framed


def render_font_digits(fonts: list[Path], copies: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Distorted copies of every digit of every usable font.

    Args:
        fonts: font files (:func:`find_fonts`); unusable ones are skipped (:func:`font_glyphs`).
        copies: copies of each digit of each font, >= 1.
        seed: for the distortions.

    Returns:
        ``(images uint8 (N, 28, 28) white on black, labels uint8 (N,) in 0-9, used)`` where
        ``used`` names the fonts drawn from; N = 10 * copies * len(used).

    Raises:
        ValueError: ``copies`` < 1.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    rng = np.random.default_rng(seed)
    images, labels, used = [], [], []
    for path in fonts:
        glyphs = font_glyphs(path)
        if glyphs is None:
            continue
        used.append(Path(path).name)
        for digit, glyph in enumerate(glyphs):
            for _ in range(copies):
                images.append(draw_variant(glyph, rng))
                labels.append(digit)
    if not images:
        return np.zeros((0, 28, 28), np.uint8), np.zeros((0,), np.uint8), used
    return np.stack(images), np.asarray(labels, np.uint8), used


def _at_least_one(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_font_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--font-dir DIR`` and ``--font-copies N`` (>= 1, default 10) to a training CLI."""
    parser.add_argument("--font-dir", type=Path, default=None, metavar="DIR",
                        help="add digits drawn from the handwriting fonts in this folder (training.font_digits)")
    parser.add_argument("--font-copies", type=_at_least_one, default=10,
                        help="with --font-dir: distorted copies of each digit of each font (>= 1)")


def main(argv: list[str] | None = None) -> int:
    """CLI: render a font folder's digits and write a contact sheet; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fonts", type=Path, help="folder of .ttf/.otf/.woff/.woff2 files")
    parser.add_argument("--copies", type=_at_least_one, default=2, help="copies of each digit of each font")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", type=Path, default=Path("font_digits.png"), help="contact sheet to write")
    args = parser.parse_args(argv)
    fonts = find_fonts(args.fonts)
    images, labels, used = render_font_digits(fonts, args.copies, args.seed)
    print(f"{len(used)} of {len(fonts)} fonts usable; {len(images)} digits")
    if len(images):
        per_row = 10 * args.copies
        rows = math.ceil(len(images) / per_row)
        sheet = np.zeros((rows * 28, per_row * 28), np.uint8)
        for index, image in enumerate(images):
            row, column = divmod(index, per_row)
            sheet[row * 28:(row + 1) * 28, column * 28:(column + 1) * 28] = image
        cv2.imwrite(str(args.sheet), sheet)
        print(f"wrote {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
