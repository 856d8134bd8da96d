"""Photos with no digit, only something along the border: how many are wrongly read as a digit?

A user's photo often has more than the paper in it: the table it lies on, the finger that holds
it, the page's edge, a pen. Segmentation removes what runs along the border, and a photo with
nothing else in it should get "no digit". This draws such photos on blank paper (the paper of
``tests/photos.py``'s kind, drawn here: a lighting gradient and grain), four kinds in turn:

- ``table``: a dark, grainy band filling 5-30 % of the photo along one side;
- ``finger``: a blurred dark ellipse reaching in from the bottom edge (a fingertip);
- ``page edge``: the dark background beyond a slanted edge of the sheet, on the left;
- ``pen``: a thick straight dark line from the top edge to the right edge (a pen across a corner).

Each is read through the whole pipeline (:meth:`core.classifier.Classifier.read_photo`, JPEG
quality 85) and counted as right when the answer is "no digit"
(:class:`core.errors.NoDigitFoundError`). Fixed seeds: the same photos every run.

Usage::

    python -m benchmarks.border_negatives [--count 240] [--seed 0] [--model models/digit_cnn.keras]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from core.config import DEFAULT_MODEL_PATH
from core.errors import NoDigitFoundError

#: The kinds drawn, in turn (photo ``i`` is of kind ``KINDS[i % 4]``).
KINDS = ("table", "finger", "page edge", "pen")


def _paper(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """float32 (H, W) in [0, 1]: light paper with a lighting gradient and a little grain."""
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    columns = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    light = 0.93 - 0.12 * rows * columns
    return np.clip(light + rng.normal(0, 0.01, (height, width)).astype(np.float32), 0, 1)


def border_photo(index: int, seed: int = 0) -> tuple[str, np.ndarray]:
    """Photo ``index`` of the set: ``(kind, uint8 (H, W) grayscale)``, 640x480 or 480x640.

    Raises:
        ValueError: ``index`` is negative.
    """
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    rng = np.random.default_rng([seed, index])
    height, width = (480, 640) if index % 2 else (640, 480)
    page = _paper(height, width, rng)
    kind = KINDS[index % len(KINDS)]
    if kind == "table":
        band = int(rng.uniform(0.05, 0.3) * height)
        page[height - band:] = np.clip(0.15 + rng.normal(0, 0.12, page[height - band:].shape), 0, 1)
        if rng.random() < 0.5:
            page = np.ascontiguousarray(np.rot90(page))
    elif kind == "finger":
        centre = int(rng.uniform(0.2, 0.8) * width)
        axes = (int(rng.uniform(0.06, 0.15) * width), int(rng.uniform(0.2, 0.45) * height))
        cv2.ellipse(page, (centre, height), axes, float(rng.uniform(-30, 30)), 0, 360, float(rng.uniform(0.3, 0.6)), -1)
        page = cv2.GaussianBlur(page, (0, 0), 2)
    elif kind == "page edge":
        top = int(rng.uniform(0.05, 0.25) * width)
        bottom = top + int(rng.uniform(-0.1, 0.1) * width)
        corners = np.array([[0, 0], [top, 0], [bottom, height], [0, height]], np.int32)
        cv2.fillPoly(page, [corners], float(rng.uniform(0.1, 0.4)))
    else:
        start = (int(rng.uniform(0, 0.5) * width), 0)
        end = (width, int(rng.uniform(0.3, 1.0) * height))
        cv2.line(page, start, end, float(rng.uniform(0.1, 0.3)), int(rng.uniform(6, 20)))
    return kind, np.round(page * 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; prints per kind how many photos were answered "no digit". Returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=240, help="photos (a quarter of each kind)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    args = parser.parse_args(argv)

    from core.classifier import Classifier

    classifier = Classifier.from_path(args.model)
    started = time.perf_counter()
    total, right = Counter(), Counter()
    read: list[tuple[int, str, str, str]] = []
    for index in range(args.count):
        kind, photo = border_photo(index, args.seed)
        ok, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 85])
        total[kind] += 1
        try:
            reading = classifier.read_photo(encoded.tobytes())
        except NoDigitFoundError:
            right[kind] += 1
        else:
            read.append((index, kind, reading.number, reading.method))
    print(f"Photos with only a table, finger, page edge or pen along the border ({args.count}, seed {args.seed}, "
          f"model {args.model}, {time.perf_counter() - started:.1f} s)")
    print(f"{'kind':<12}{'photos':>8}{'no digit':>12}")
    for kind in KINDS:
        if total[kind]:
            print(f"{kind:<12}{total[kind]:>8}{right[kind]:>7} {100 * right[kind] / total[kind]:5.1f}%")
    print(f"{'all':<12}{sum(total.values()):>8}{sum(right.values()):>7} "
          f"{100 * sum(right.values()) / max(1, sum(total.values())):5.1f}%")
    if read:
        print("read as a digit (photo, kind, reading, method):")
        for index, kind, number, method in read:
            print(f"  {index:4d}  {kind:<10}  {number:<8}  {method}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
