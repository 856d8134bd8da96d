"""Synthetic numbers whose digits touch, or that are underlined, read whole from phone-like photos.

Real numbers are written faster than the digits of MNIST: neighbouring digits touch, and a
line is drawn under the number (the cheques and the parish registers of
:mod:`benchmarks.real_numbers` are full of both). This set isolates the two on photos
made by :mod:`benchmarks.synth_photos` (paper, ruling, ink, page warp, uneven light,
shadow, blur, sensor noise, JPEG), from MNIST *test* digits only.

Every seed gives one number of 2-8 digits (the first 1-9), written with one pen, on one
paper, in one frame, rendered in four variants:

- ``spaced``: gaps as in ``synth_photos`` (0.15-0.6 of the mean digit width); the control;
- ``touching``: the gap between neighbouring ink boxes is negative, 0-3 px at MNIST's
  scale (a 20-px-tall digit), so the boxes overlap slightly; but never more than a quarter
  of the narrower digit's width, or a thin 1 would vanish inside its neighbour, as no
  writer would let it. Where the two inks still do not touch, the digit slides further
  left until they do (found row by row), by no more than 30 % of the narrower digit's
  width. The report says how many neighbouring pairs touch in the end;
- ``underlined``: spaced, with a hand-drawn line under the number: slightly tilted and
  bowed, wobbling, tapering, overshooting or falling short of the ends, from touching the
  digits' feet to 0.2 digit heights below them;
- ``touching+underlined``: both.

The variants of one seed share digits, pen strokes, frame, paper, light and camera draws
(when one variant must be shrunk to fit the frame and another need not, where the ink lands
and the later camera draws differ), so the rows compare like with like. Seeds are
``--seed`` + i; the default 100 seeds give 400 photos, 200 of them touching and half of
those underlined.

Usage::

    python -m benchmarks.synth_numbers [--mnist PATH] [--model PATH] [--count N] [--seed S]
        [--failures] [--contact PNG] [--workers N]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from benchmarks.real_numbers import Result, format_failure_kinds, format_share, read_number, tally
from benchmarks.synth_photos import (
    DEFAULT_MNIST,
    DIGIT_HEIGHT_RANGE,
    JPEG_QUALITY_RANGE,
    Mnist,
    choose_tool,
    contact_sheet,
    digit_alpha,
    encode_jpeg,
    load_mnist_test,
    paper_photo,
    smooth_noise,
)
from core.config import DEFAULT_MODEL_PATH

VARIANTS = ("spaced", "touching", "underlined", "touching+underlined")
#: Frame sizes (width, height) and how often each is drawn: landscape, as a number is
#: photographed, and no larger than Telegram delivers (rendering cost grows with the area).
FRAME_SIZES: tuple[tuple[tuple[int, int], float], ...] = (((1280, 960), 0.25), ((1024, 768), 0.5),
                                                           ((800, 600), 0.25))
DIGIT_COUNTS = (2, 8)
#: Overlap of touching digits' ink boxes in pixels at MNIST's scale, drawn uniformly.
OVERLAP_RANGE = (0.0, 3.0)
#: The most the boxes may overlap, as a fraction of the narrower digit's width.
MAX_OVERLAP = 0.25
#: How far a digit may slide past that overlap to touch its neighbour: a fraction of the
#: narrower digit's width.
MAX_SLIDE = 0.3
#: Ink height of an MNIST digit in its 28-px image: sets the scale of the overlap.
MNIST_INK_HEIGHT = 20.0
#: Where the underline runs, in digit heights below the digits' baseline (< 0: through their feet).
UNDERLINE_DROP_RANGE = (-0.04, 0.2)
DEFAULT_SEED = 5000
#: Rows of the length table: (title, shortest, longest).
LENGTH_BANDS = (("2-3 digits", 2, 3), ("4-5 digits", 4, 5), ("6-8 digits", 6, 8))


def touching_column(canvas: np.ndarray, mask: np.ndarray, top: int) -> int | None:
    """The column at which ``mask``'s ink would just touch the ink already on ``canvas``.

    Row by row, the new digit's leftmost ink is compared with the rightmost ink on the
    canvas; the closest row decides: there the new ink starts in the column after the old
    ink's last (so the two touch, without overlapping).

    Args:
        canvas: float32 (H, W) alpha in [0, 1] holding the digits placed so far.
        mask: float32 (h, w) alpha of the next digit, to sit with its top at row ``top``.

    Returns:
        The left column for ``mask``, or None when no row holds ink of both.
    """
    rows = canvas[top : top + mask.shape[0]] > 0.5
    new = mask[: rows.shape[0]] > 0.5
    both = rows.any(axis=1) & new.any(axis=1)
    if not both.any():
        return None
    right_old = rows.shape[1] - 1 - np.argmax(rows[:, ::-1], axis=1)
    left_new = np.argmax(new, axis=1)
    return int(1 + np.max(right_old[both] - left_new[both]))


def draw_underline(canvas: np.ndarray, start: float, end: float, baseline: float, height_px: float,
                   width_px: float, params: dict) -> None:
    """Draw a hand-drawn line from column ``start`` to ``end`` under ``baseline`` onto ``canvas``.

    Args:
        canvas: float32 (H, W) alpha in [0, 1]; ink is combined with ``max``, in place.
        start, end: the number's first and last ink column.
        baseline: the row the digits stand on.
        height_px: the mean digit height in pixels (the line's measures are fractions of it).
        width_px: the pen's stroke width in pixels.
        params: from :func:`underline_params`.
    """
    x0 = start - params["before"] * height_px
    x1 = end + params["after"] * height_px
    t = np.linspace(0.0, 1.0, 48)
    xs = x0 + (x1 - x0) * t
    ys = (baseline + params["drop"] * height_px + params["tilt"] * (xs - x0)
          + params["bow"] * height_px * 4 * t * (1 - t) + params["wobble"] * height_px * params["noise"])
    thickness = width_px * params["weight"] * (1.0 - params["taper"] * np.abs(2 * t - 1) ** 2)
    line = np.zeros_like(canvas)
    shift = 4  # sub-pixel precision for cv2.line
    points = [(int(round(x * (1 << shift))), int(round(y * (1 << shift)))) for x, y in zip(xs, ys)]
    for index in range(len(points) - 1):
        cv2.line(line, points[index], points[index + 1], 1.0, max(2, int(round(thickness[index]))),
                 cv2.LINE_AA, shift)
    np.maximum(canvas, line * params["density"], out=canvas)


def underline_params(rng: np.random.Generator) -> dict:
    """The random shape of an underline (always drawn, so the variants of a seed stay paired)."""
    return {
        "before": rng.uniform(-0.1, 0.35), "after": rng.uniform(-0.1, 0.35),
        "drop": rng.uniform(*UNDERLINE_DROP_RANGE), "tilt": rng.uniform(-0.04, 0.04),
        "bow": rng.uniform(-0.05, 0.05), "wobble": rng.uniform(0.003, 0.012),
        "noise": smooth_noise(rng, 1, 48, 4)[0], "weight": rng.uniform(0.8, 1.5),
        "taper": rng.uniform(0.0, 0.5), "density": rng.uniform(0.8, 0.97),
    }


def number_alpha(digits: list[np.ndarray], height_px: float, rng: np.random.Generator,
                 tool: tuple[str, float], touching: bool, underlined: bool,
                 contacts: list | None = None) -> np.ndarray:
    """Write a number's digits side by side, spaced or touching, optionally underlined.

    Draws the same random numbers whatever ``touching`` and ``underlined`` are, so one
    generator state gives the same digits, heights, baseline jitter and line in all variants.
    Spaced digits follow :func:`benchmarks.synth_photos.number_alpha` (heights within
    +-15 %, gaps 0.15-0.6 of the mean digit width, baseline jitter 5 %).

    Args:
        digits: uint8 (28, 28) MNIST images, white on black, left to right.
        height_px: the mean ink height in pixels.
        tool: the writing tool, from :func:`benchmarks.synth_photos.choose_tool`.
        contacts: if given, receives one bool per neighbouring pair: do their inks touch?

    Returns:
        float32 (h, w) alpha in [0, 1], tightly cropped to the ink.
    """
    masks = [digit_alpha(digit, height_px * rng.uniform(0.87, 1.15), rng, tool) for digit in digits]
    mean_width = float(np.mean([mask.shape[1] for mask in masks]))
    gaps = [int(math.ceil(rng.uniform(0.15, 0.6) * mean_width)) + 1 for _ in masks[1:]]
    overlaps = [rng.uniform(*OVERLAP_RANGE) * height_px / MNIST_INK_HEIGHT for _ in masks[1:]]
    drops = [int(round(rng.uniform(-0.05, 0.05) * height_px)) for _ in masks]
    line = underline_params(rng)
    tallest = max(mask.shape[0] for mask in masks)
    pad = int(0.06 * height_px) + 2
    below = int(0.45 * height_px) + pad  # room for the underline
    margin = int(0.4 * height_px) + 2  # room for an overshooting underline
    width = 2 * margin + sum(mask.shape[1] for mask in masks) + sum(gaps)
    canvas = np.zeros((tallest + pad + below, width), np.float32)
    baseline = pad + tallest
    x = margin
    for index, (mask, drop) in enumerate(zip(masks, drops)):
        top = baseline + drop - mask.shape[0]
        if index and touching:
            narrower = min(mask.shape[1], masks[index - 1].shape[1])
            x -= gaps[index - 1] + int(round(min(overlaps[index - 1], MAX_OVERLAP * narrower)))
            contact = touching_column(canvas, mask, top)
            if contact is not None and contact < x:  # apart at that overlap: slide to touch
                x = max(contact, x - int(MAX_SLIDE * narrower))
            if contacts is not None:
                contacts.append(contact is not None and x <= contact)
        region = canvas[top : top + mask.shape[0], x : x + mask.shape[1]]
        np.maximum(region, mask, out=region)
        if index < len(gaps):
            x += mask.shape[1] + gaps[index]
    if underlined:
        columns = np.flatnonzero((canvas > 0.05).any(axis=0))
        draw_underline(canvas, float(columns[0]), float(columns[-1]), float(baseline), height_px,
                       tool[1] * height_px, line)
    ys, xs = np.nonzero(canvas > 0.05)
    return canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def render_number(seed: int, variant: str, mnist: Mnist) -> tuple[np.ndarray, int, str, list[bool]]:
    """Render one variant of one seed's number as a photo.

    Returns:
        ``(uint8 (H, W, 3) BGR image, JPEG quality, label, contacts)``; ``contacts`` holds,
        for a touching variant, whether each neighbouring pair's inks touch (else it is empty).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    rng = np.random.default_rng(seed)
    weights = np.array([weight for _, weight in FRAME_SIZES])
    width, height = FRAME_SIZES[int(rng.choice(len(FRAME_SIZES), p=weights / weights.sum()))][0]
    quality = int(rng.integers(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1))
    count = int(rng.integers(DIGIT_COUNTS[0], DIGIT_COUNTS[1] + 1))
    digits = [int(rng.integers(1, 10))] + [int(d) for d in rng.integers(0, 10, size=count - 1)]
    images = [mnist.images[mnist.index_of(digit, rng)] for digit in digits]
    tool = choose_tool(rng)
    ink_seed = int(rng.integers(2**32))
    contacts: list[bool] = []

    def ink(height_px: float) -> np.ndarray:
        # its own generator, restarted at every call: the same strokes in every variant and attempt
        contacts.clear()  # paper_photo may shrink the number and call again: keep the last
        return number_alpha(images, height_px, np.random.default_rng(ink_seed), tool,
                            touching="touching" in variant, underlined="underlined" in variant,
                            contacts=contacts)

    # a spaced number is about (0.7 n + 0.26 (n - 1)) digit heights wide: keep it in 85 % of the frame
    widest = 0.85 * width / (height * (0.7 * count + 0.26 * (count - 1)))
    image, _ = paper_photo(rng, width, height, ink, max_fraction=min(DIGIT_HEIGHT_RANGE[1], widest))
    return image, quality, "".join(map(str, digits)), contacts


def read_one(classifier, mnist: Mnist, seed: int, variant: str) -> tuple[Result, list[bool]]:
    """Render and read one photo: its result and its pairs' contacts; never raises (a
    rendering bug is a crash note)."""
    try:
        image, quality, label, contacts = render_number(seed, variant, mnist)
        data = encode_jpeg(image, quality)
    except Exception as exc:  # a report must survive a bug and name it
        return Result(variant, f"seed {seed}", "?", "", "", "", f"crash rendering {exc!r}", 0.0), []
    started = time.perf_counter()
    read, note = read_number(classifier, data)
    return Result(variant, f"seed {seed}", label, "", "", read, note, time.perf_counter() - started), contacts


def print_report(results: list[Result], contacts: list[bool], model: str, seeds: range, wall: float) -> None:
    """Print read-whole and the other figures per variant, by length, and the failure kinds."""
    print(f"Synthetic touching and underlined numbers: seeds {seeds.start}-{seeds.stop - 1}, "
          f"{len(results)} photos, model {model}, {wall:.1f} s")
    if contacts:
        print(f"neighbouring digits whose inks touch in the touching variants: {sum(contacts)} of "
              f"{len(contacts)} pairs ({sum(contacts) / len(contacts):.1%}); the rest overlap only by box")
    header = f"{'variant':<22}{'count':>6}{'read whole':>14}{'count right':>14}{'digits right':>16}"
    print(header)
    print("-" * len(header))
    by_variant = {variant: [r for r in results if r.set_name == variant] for variant in VARIANTS}
    for variant, group in by_variant.items():
        counts = tally(group)
        digits = f"{counts['digits_right'] / counts['digits']:.1%}" if counts["digits"] else "-"
        print(f"{variant:<22}{counts['count']:>6}{format_share(counts['whole'], counts['count']):>14}"
              f"{format_share(counts['count_right'], counts['count']):>14}{digits:>16}")
    print("(digits right: among numbers with the right digit count)")
    print("\nRead whole by length:")
    print(f"{'variant':<22}" + "".join(f"{title:>16}" for title, _, _ in LENGTH_BANDS))
    for variant, group in by_variant.items():
        cells = []
        for _, shortest, longest in LENGTH_BANDS:
            band = [r for r in group if shortest <= len(r.label) <= longest]
            cells.append(format_share(sum(r.whole for r in band), len(band)))
        print(f"{variant:<22}" + "".join(f"{cell:>16}" for cell in cells))
    print("\nFailure kinds:")
    for variant, group in by_variant.items():
        print(format_failure_kinds(f"{variant:<22}", tally(group), 4))


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; always returns 0 (a report, not a test)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=DEFAULT_MNIST, help="Keras-layout mnist.npz")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--count", type=int, default=100, help="numbers (seeds); each is rendered 4 ways")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the first number")
    parser.add_argument("--failures", action="store_true", help="list every number not read whole")
    parser.add_argument("--contact", type=Path, help="write a PNG grid of the first 6 seeds' variants")
    parser.add_argument("--workers", type=int, default=2, help="threads rendering and reading (1: serial)")
    args = parser.parse_args(argv)
    if not args.mnist.is_file():
        print(f"SKIP: {args.mnist} is absent (MNIST is never committed; see ../shared/data/README.md)")
        return 0
    mnist = load_mnist_test(args.mnist)
    seeds = range(args.seed, args.seed + args.count)
    if args.contact:
        picks = [(seed, variant) for seed in list(seeds)[:6] for variant in VARIANTS]
        images = []
        for seed, variant in picks:
            image, quality, _, _ = render_number(seed, variant, mnist)
            jpeg = np.frombuffer(encode_jpeg(image, quality), np.uint8)  # as the reader will see it
            images.append(cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
        args.contact.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.contact), contact_sheet(images, [f"{s} {v}" for s, v in picks], columns=4))
        print(f"wrote {args.contact}")
    from core.classifier import Classifier

    classifier = Classifier.from_path(args.model)
    jobs = [(seed, variant) for seed in seeds for variant in VARIANTS]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        outcomes = list(pool.map(lambda job: read_one(classifier, mnist, *job), jobs))
    results = [result for result, _ in outcomes]
    contacts = [touch for _, pairs in outcomes for touch in pairs]
    print_report(results, contacts, str(args.model), seeds, time.perf_counter() - started)
    if args.failures:
        print("\nNot read whole:")
        for result in results:
            if not result.whole:
                note = f" [{result.note}]" if result.note else ""
                print(f"  {result.file} {result.set_name:<20} label {result.label}, read {result.read or '-'}"
                      f" ({result.kind}){note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
