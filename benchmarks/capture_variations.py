"""The real photos as a phone might deliver them: smaller, larger, tilted, blurred, unevenly
lit, noisy, compressed harder.

A photo nobody here took differs from the yardstick's copy in ways a person never thinks
about: the hand is a few degrees off level, the camera is farther away, the chat app
recompresses it. This benchmark changes each labelled file of ``../shared/data/
real_digits_dev/`` (see :mod:`benchmarks.real_photos`; never committed) in one such way
at a time and reads it again, so a pipeline that is right only on the exact pixels it was
tuned on shows it. Scans are sampled (``--scans``, fixed seed) to keep the run short.

Variations (each applied alone, then JPEG quality 92 unless stated):

- ``as-is``: re-encoded only (the baseline for the rest);
- ``as sent by Telegram``: downscaled to 1280 px on the long side (Telegram's largest
  photo size; a photo sent as a photo reaches the bot no larger) and saved at JPEG quality
  85, about what the app delivers;
- ``long side 640`` / ``long side 320``: downscaled (INTER_AREA) to that long side when
  larger (a photo taken from farther away, or sent small); smaller files stay as they are;
- ``double``: upscaled (bicubic);
- ``tilt+4`` / ``tilt-4`` / ``tilt+8`` / ``tilt-8``: rotated by that many degrees
  (counter-clockwise positive) on a canvas grown to hold the whole photo, its edges
  extended outwards (``BORDER_REPLICATE``), as a phone held off level would see the page;
- ``blur``: Gaussian blur of sigma 0.4 % of the long side (1.5 px at 375 px, 5 px at
  1280 px; at least 0.5 px): out of focus, or hand shake, which scale with the frame;
- ``uneven light``: brightness falling linearly to 45 % across the width;
- ``noise``: Gaussian noise, sigma 10 grey levels (a dim room);
- ``jpeg 40``: recompressed at JPEG quality 40;
- ``ruled paper`` / ``squared paper``: printed lines multiplied in (at 80 % of the paper's
  brightness, 4 % of their spacing thick, at least 1 px): horizontal ones 0.9 times the
  digits' height apart, or a grid of squares 0.6 times it (a digit about two squares tall,
  as written in a squared notebook), the height being the pipeline's own on the unchanged
  file. Not camera effects, but the commonest papers there are.
- ``pencil``: every stroke redrawn grey, as light as graphite (its darkness at the strokes'
  core 45 % of the paper's brightness) and grainy (:func:`pencil`): numbers are written in
  pencil too, and no other set here has any;
- ``light pencil``: the same at 25 % (a hard lead, or a light hand).

Usage::

    python -m benchmarks.capture_variations [--data DIR] [--model PATH] [--scans N]
        [--only NAME[,NAME...]] [--failures]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from benchmarks.real_photos import DEFAULT_DATA, load_items
from core.config import DEFAULT_MODEL_PATH
from core.errors import DigitImageError

#: JPEG quality every variation is saved at (a phone camera's or a chat app's).
JPEG_QUALITY = 92


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate ``image`` (uint8 (H, W, 3)) by ``degrees`` counter-clockwise on a canvas grown to
    hold all of it; the new corners repeat the edge pixels outwards."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = int(width * cos + height * sin), int(width * sin + height * cos)
    matrix[0, 2] += (new_width - width) / 2
    matrix[1, 2] += (new_height - height) / 2
    return cv2.warpAffine(image, matrix, (new_width, new_height), borderMode=cv2.BORDER_REPLICATE)


def uneven_light(image: np.ndarray) -> np.ndarray:
    """Brightness falling linearly from 100 % at the right edge to 45 % at the left."""
    gain = np.linspace(0.45, 1.0, image.shape[1], dtype=np.float32)[None, :, None]
    return np.clip(image * gain, 0, 255).astype(np.uint8)


def noise(image: np.ndarray) -> np.ndarray:
    """Gaussian noise of sigma 10 grey levels (fixed seed)."""
    noisy = image + np.random.default_rng(1).normal(0.0, 10.0, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def shrink_to(long_side: int) -> Callable[[np.ndarray], np.ndarray]:
    """A change that downscales an image whose long side exceeds ``long_side`` px to it."""
    def change(image: np.ndarray) -> np.ndarray:
        factor = long_side / max(image.shape[:2])
        if factor >= 1:
            return image
        return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return change


def double(image: np.ndarray) -> np.ndarray:
    """Twice the size each way (bicubic)."""
    return cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)


def blur(image: np.ndarray) -> np.ndarray:
    """Gaussian blur of sigma 0.4 % of the long side, at least 0.5 px."""
    return cv2.GaussianBlur(image, (0, 0), max(0.5, 0.004 * max(image.shape[:2])))


def printed_lines(image: np.ndarray, spacing: float, vertical: bool) -> np.ndarray:
    """The image multiplied by light printed lines ``spacing`` px apart (80 % of the paper's
    brightness, 4 % of the spacing thick, at least 1 px): horizontal ones, and vertical ones
    too when ``vertical`` (a grid)."""
    height, width = image.shape[:2]
    side = max(4, int(round(spacing)))
    thickness = max(1, int(round(0.04 * side)))
    shade = np.ones((height, width), np.float32)
    if vertical:
        for x in range(side // 2, width, side):
            cv2.line(shade, (x, 0), (x, height - 1), 0.8, thickness, cv2.LINE_AA)
    for y in range(side // 3, height, side):
        cv2.line(shade, (0, y), (width - 1, y), 0.8, thickness, cv2.LINE_AA)
    return np.clip(image * shade[:, :, None], 0, 255).astype(np.uint8)


def pencil(image: np.ndarray, digit_height: float, strength: float = 0.45) -> np.ndarray:
    """The strokes redrawn as if in pencil: grey whatever their colour, their darkness
    ``strength`` of the paper's brightness at their core (graphite reflects about half the
    light paper does), and grainy (the paper's tooth shows through: each pixel's darkness
    times a random 0.4-1.2, lightly blurred; fixed seed).

    The paper under the strokes is estimated by a grey closing (a maximum then minimum filter
    wider than any stroke: 0.3 times ``digit_height``, the digits' height in px, at least 3
    px; on a copy scaled so that it is at most 15 px), then blurred; a pixel's darkness is the paper's brightness minus the photo's, taken
    relative to the strokes' core (the 98th percentile of the darkness of the pixels darker
    than a tenth of the paper). Everything dark on the page changes alike, a table's edge as a
    digit's stroke."""
    side = max(3.0, 0.3 * digit_height)
    # the closing on a copy where the filter is at most 15 px wide (a full-size phone photo's
    # would be hundreds of pixels wide, and slow), scaled back up
    factor = min(1.0, 15.0 / side)
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else image
    width = max(3, int(round(side * factor)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    paper_level = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), (0, 0), width / 4)
    if factor < 1:
        paper_level = cv2.resize(paper_level, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    paper_level = paper_level.astype(np.float32)
    brightness = paper_level.mean(axis=2)
    darkness = np.clip(brightness - image.astype(np.float32).mean(axis=2), 0, 255)
    marked = darkness[darkness > 0.1 * brightness]
    core = float(np.percentile(marked, 98)) if marked.size else 1.0
    relative = np.clip(darkness / max(core, 1.0), 0, 1)
    grain = cv2.GaussianBlur(np.random.default_rng(2).uniform(0.4, 1.2, darkness.shape).astype(np.float32),
                             (0, 0), 0.6)
    drawn = paper_level * (1.0 - strength * relative * grain)[:, :, None]
    return np.clip(drawn, 0, 255).astype(np.uint8)


def paper(spacing: float, vertical: bool) -> Callable[[np.ndarray, float], np.ndarray]:
    """A change printing lines ``spacing`` times the digits' height apart (see :func:`printed_lines`)."""
    return lambda image, digit_height: printed_lines(image, spacing * digit_height, vertical)


def plain(change: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray, float], np.ndarray]:
    """A change that does not depend on the digits' height."""
    return lambda image, digit_height: change(image)


#: name -> (change to the decoded BGR image given the digits' height in px, JPEG quality to save it at)
VARIATIONS: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], int]] = {
    "as-is": (plain(lambda image: image), JPEG_QUALITY),
    "as sent by Telegram": (plain(shrink_to(1280)), 85),
    "long side 640": (plain(shrink_to(640)), JPEG_QUALITY),
    "long side 320": (plain(shrink_to(320)), JPEG_QUALITY),
    "double": (plain(double), JPEG_QUALITY),
    "tilt+4": (plain(lambda image: rotate(image, 4)), JPEG_QUALITY),
    "tilt-4": (plain(lambda image: rotate(image, -4)), JPEG_QUALITY),
    "tilt+8": (plain(lambda image: rotate(image, 8)), JPEG_QUALITY),
    "tilt-8": (plain(lambda image: rotate(image, -8)), JPEG_QUALITY),
    "blur": (plain(blur), JPEG_QUALITY),
    "uneven light": (plain(uneven_light), JPEG_QUALITY),
    "noise": (plain(noise), JPEG_QUALITY),
    "jpeg 40": (plain(lambda image: image), 40),
    "ruled paper": (paper(0.9, vertical=False), JPEG_QUALITY),
    "squared paper": (paper(0.6, vertical=True), JPEG_QUALITY),
    "pencil": (pencil, JPEG_QUALITY),
    "light pencil": (lambda image, digit_height: pencil(image, digit_height, strength=0.25), JPEG_QUALITY),
}
#: The variations that need the digits' height (measured on the unchanged file).
PAPERS = ("ruled paper", "squared paper", "pencil", "light pencil")


def vary(image: np.ndarray, name: str, digit_height: float | None = None) -> bytes:
    """JPEG bytes of ``image`` (uint8 (H, W, 3), BGR) changed by the variation ``name``.

    ``digit_height`` (px in ``image``) sets the line spacing of the papers; when None, a
    third of the image's short side."""
    change, quality = VARIATIONS[name]
    changed = change(image, digit_height or min(image.shape[:2]) / 3)
    ok, encoded = cv2.imencode(".jpg", changed, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"could not encode the {name!r} variation")
    return encoded.tobytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--scans", type=int, default=300, help="scans to sample (fixed seed); 0 for none")
    parser.add_argument("--only", help="comma-separated variation names")
    parser.add_argument("--failures", action="store_true", help="list the files each variation got wrong")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"SKIP: {args.data} is absent (the real-photo yardstick is not committed)")
        return 0
    names = [name.strip() for name in args.only.split(",")] if args.only else list(VARIATIONS)
    unknown = [name for name in names if name not in VARIATIONS]
    if unknown:
        parser.error(f"unknown variation(s) {unknown}; choose from {list(VARIATIONS)}")
    from core.classifier import Classifier

    classifier = Classifier.from_path(args.model)
    items = load_items(args.data)
    scans = [item for item in items if item[0] == "scans"]
    picked = np.random.default_rng(0).choice(len(scans), min(args.scans, len(scans)), replace=False)
    items = [item for item in items if item[0] != "scans"] + [scans[index] for index in sorted(picked)]
    images = [(group, path, expected, cv2.imread(str(path), cv2.IMREAD_COLOR))
              for group, path, expected in items]
    images = [entry for entry in images if entry[3] is not None]
    heights = {}
    if any(name in PAPERS for name in names):
        from core.preprocessing import preprocess_bytes

        for _, path, _, image in images:
            try:
                heights[path] = float(np.median([box[3] for box in preprocess_bytes(path.read_bytes()).boxes]))
            except DigitImageError:
                heights[path] = None

    started = time.perf_counter()
    print(f"Real photos changed as a phone might deliver them ({len(images)} files: "
          f"{sum(1 for entry in images if entry[0] == 'numbers')} numbers, the rest single digits; "
          f"{len(picked)} of {len(scans)} scans)")
    print(f"{'variation':<20}{'single digits':>21}{'numbers read whole':>22}")
    failures: dict[str, list[str]] = defaultdict(list)
    for name in names:
        right = {"single": 0, "numbers": 0}
        count = {"single": 0, "numbers": 0}
        for group, path, expected, image in images:
            try:
                got = classifier.read_photo(vary(image, name, heights.get(path))).number
            except DigitImageError as exc:
                got = f"<{type(exc).__name__}>"
            kind = "numbers" if group == "numbers" else "single"
            count[kind] += 1
            right[kind] += got == expected
            if got != expected:
                failures[name].append(f"{group}/{path.name}: expected {expected}, read {got}")
        single = f"{right['single']}/{count['single']} {right['single'] / max(1, count['single']):6.1%}"
        print(f"{name:<20}{single:>21}{right['numbers']:>17}/{count['numbers']}", flush=True)
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.failures:
        for name in names:
            for line in failures[name]:
                print(f"  FAIL [{name}] {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
