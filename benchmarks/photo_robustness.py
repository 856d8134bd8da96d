"""Photo-robustness benchmark (issue 3): the project's pipeline beside the naive one on synthetic photos.

Reads a fixed-seed set made by :mod:`benchmarks.synth_photos` (default
``benchmarks/data/synth_v1``: single digits, multi-digit numbers and photos with no
digit) and reads every JPEG twice:

- pipeline: ``Classifier.read_photo(jpeg_bytes).number``; a ``DigitImageError``
  (``NoDigitFoundError`` above all) is the answer "no digit";
- naive (the reference notebooks): grayscale, resize the whole photo to 28x28 with
  INTER_AREA, scale to [0, 1], ``predict_image``. It has no notion of "no digit", so it
  fails every negative, and it reads one digit, so it fails every number. A "naive +
  inverted" variant (1 - x, white ink on black as MNIST) is shown for fairness.

Targets: >= 98 % single digits, >= 95 % numbers read exactly, >= 95 % negatives
answered "no digit". The exit code is always 0: this is a report.

The negatives are also read cut into wide strips (:data:`STRIP_ASPECTS`, from the top,
middle and bottom of each): photos shaped like a line of writing, which the number reader
reads whole when segmentation finds no digit (``core.classifier.WHOLE_PHOTO_MIN_ASPECT``).
The report gives the share answered "no digit" per shape and how many readings came from
that whole-photo path (no target: the set was made as 4:3 and 3:4 photos).

Usage::

    python -m benchmarks.photo_robustness [--set DIR] [--model PATH] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = PROJECT_ROOT / "benchmarks" / "data" / "synth_v1"
NO_DIGIT = "none"
#: kind -> (row title, target fraction)
TARGETS = {
    "single": ("single digit", 0.98),
    "multi": ("multi (exact number)", 0.95),
    "none": ("negatives ('no digit')", 0.95),
}
READERS = ("pipeline", "naive", "naive_inverted")
#: Width-to-height ratios of the strips cut from each negative.
STRIP_ASPECTS = (2.0, 3.0, 5.0)


def load_set(set_dir: Path, limit: int | None = None) -> list[dict]:
    """The rows of ``set_dir/labels.csv`` (file, kind, label, seed, ...), at most ``limit`` per kind."""
    with open(set_dir / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if limit is not None:
        taken: Counter = Counter()
        kept = []
        for row in rows:
            if taken[row["kind"]] < limit:
                kept.append(row)
                taken[row["kind"]] += 1
        rows = kept
    return rows


def naive_input(data: bytes, invert: bool = False) -> np.ndarray:
    """The reference notebooks' model input: the whole photo in grey, shrunk to 28x28.

    Args:
        data: encoded image bytes (JPEG, PNG, ...).
        invert: also map x to 1 - x (not in the notebooks; shown for fairness).

    Returns:
        float32 (28, 28) in [0, 1]; all zeros when the bytes do not decode.
    """
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        return np.zeros((28, 28), np.float32)
    small = cv2.resize(gray, (28, 28), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return 1.0 - small if invert else small


def pipeline_read(classifier, data: bytes) -> tuple[str, str]:
    """``(answer, note)`` of the project's pipeline: the number, or ``"none"`` for no digit.

    ``note`` names the exception when there was one (``NoDigitFoundError``, ...); any
    exception that is not a ``DigitImageError`` is a bug and reads ``"crash"``.
    """
    from core.errors import DigitImageError

    try:
        return classifier.read_photo(data).number, ""
    except DigitImageError as exc:
        return NO_DIGIT, type(exc).__name__
    except Exception as exc:  # a report must survive a bug and name it
        return "crash", f"{type(exc).__name__}: {exc}"


def evaluate(classifier, set_dir: Path, rows: list[dict]) -> list[dict]:
    """Read every photo with each reader; one result dict per row (truth, answers, seconds)."""
    results = []
    for row in rows:
        data = (set_dir / row["file"]).read_bytes()
        started = time.perf_counter()
        answer, note = pipeline_read(classifier, data)
        seconds = time.perf_counter() - started
        naive = str(classifier.predict_image(naive_input(data)).digit)
        inverted = str(classifier.predict_image(naive_input(data, invert=True)).digit)
        results.append({
            **{key: row.get(key, "") for key in ("file", "kind", "label", "seed", "width", "height", "variant",
                                                 "ink", "ruled", "digit_height_frac")},
            "pipeline": answer, "pipeline_note": note, "pipeline_seconds": round(seconds, 4),
            "naive": naive, "naive_inverted": inverted,
        })
    return results


def summarize(results: list[dict]) -> dict:
    """Counts per kind and reader, per-digit counts for singles, and whether targets are met.

    Returns:
        ``{"kinds": {kind: {"count": n, reader: right, ...}}, "per_digit": {digit: {...}},
        "targets": {kind: {"target": t, "rate": r, "met": bool}}}``.
    """
    kinds: dict = defaultdict(lambda: dict.fromkeys(("count", *READERS), 0))
    per_digit: dict = defaultdict(lambda: dict.fromkeys(("count", *READERS), 0))
    for result in results:
        for table, key in ((kinds, result["kind"]), (per_digit, result["label"])):
            if table is per_digit and result["kind"] != "single":
                continue
            table[key]["count"] += 1
            for reader in READERS:
                table[key][reader] += result[reader] == result["label"]
    targets = {}
    for kind, (_, target) in TARGETS.items():
        if kinds[kind]["count"]:
            rate = kinds[kind]["pipeline"] / kinds[kind]["count"]
            targets[kind] = {"target": target, "rate": round(rate, 4), "met": rate >= target}
    return {"kinds": {k: kinds[k] for k in TARGETS if kinds[k]["count"]},
            "per_digit": dict(sorted(per_digit.items())), "targets": targets}


def negative_strips(image: np.ndarray) -> list[tuple[float, str, np.ndarray]]:
    """``(aspect, where, strip)`` for each of :data:`STRIP_ASPECTS` and each of the top, middle
    and bottom of ``image`` (uint8 (H, W) or (H, W, 3)): full-width strips ``aspect`` times as
    wide as tall (none when the image is already that wide)."""
    height, width = image.shape[:2]
    strips = []
    for aspect in STRIP_ASPECTS:
        rows = int(width / aspect)
        if not 0 < rows < height:
            continue
        for where, top in (("top", 0), ("middle", (height - rows) // 2), ("bottom", height - rows)):
            strips.append((aspect, where, image[top:top + rows]))
    return strips


def read_strips(classifier, set_dir: Path, rows: list[dict]) -> dict:
    """The pipeline on the wide strips of every negative (:func:`negative_strips`, JPEG quality 90).

    Returns:
        ``{aspect: {"count": n, "none": answered "no digit", "whole_photo": readings the number
        reader gave from the whole strip, "read": ["file:where -> number", ...]}}``.
    """
    from core.errors import DigitImageError

    report = {aspect: {"count": 0, "none": 0, "whole_photo": 0, "read": []} for aspect in STRIP_ASPECTS}
    for row in rows:
        if row["kind"] != NO_DIGIT:
            continue
        image = cv2.imread(str(set_dir / row["file"]), cv2.IMREAD_COLOR)
        if image is None:
            continue
        for aspect, where, strip in negative_strips(image):
            counts = report[aspect]
            counts["count"] += 1
            data = cv2.imencode(".jpg", strip, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
            try:
                reading, segmentation = classifier.read_photo_with_steps(data)
            except DigitImageError:
                counts["none"] += 1
                continue
            whole = any("whole photo" in note for note in segmentation.notes)
            counts["whole_photo"] += whole
            counts["read"].append(f"{row['file']}:{where} -> {reading.number}" + (" (whole photo)" if whole else ""))
    return report


def _cell(right: int, count: int) -> str:
    return f"{right:>4}/{count:<4} {right / count:>6.1%}" if count else " " * 16


def print_report(results: list[dict], summary: dict, set_dir: Path, model: str, seconds: float,
                 strips: dict | None = None) -> None:
    """Print the side-by-side table, per-digit accuracy, targets, the wide strips of the
    negatives (:func:`read_strips`) and the pipeline's failures."""
    print(f"Photo robustness on {set_dir} ({len(results)} images, model {model}, {seconds:.1f} s)")
    header = f"{'':<26}{'pipeline':>18}{'naive':>18}{'naive+inverted':>18}"
    print(header)
    print("-" * len(header))
    for kind, counts in summary["kinds"].items():
        print(f"{TARGETS[kind][0]:<26}" + "".join(f"{_cell(counts[r], counts['count']):>18}" for r in READERS))
    print("\nSingle digits by digit:")
    print(f"{'digit':<26}{'pipeline':>18}{'naive':>18}{'naive+inverted':>18}")
    for digit, counts in summary["per_digit"].items():
        print(f"{digit:<26}" + "".join(f"{_cell(counts[r], counts['count']):>18}" for r in READERS))
    print("\nTargets (pipeline):")
    for kind, verdict in summary["targets"].items():
        mark = "MET" if verdict["met"] else "NOT MET"
        print(f"  {TARGETS[kind][0]:<26} {verdict['rate']:>7.1%} (target >= {verdict['target']:.0%}): {mark}")
    notes = Counter(r["pipeline_note"].split(":")[0] for r in results if r["pipeline_note"])
    if notes:
        print("Pipeline exceptions: " + ", ".join(f"{name} x{count}" for name, count in notes.most_common()))
    times = sorted(r["pipeline_seconds"] for r in results)
    print(f"Pipeline time per photo: median {times[len(times) // 2] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
    if strips:
        print("\nNegatives cut into wide strips (top, middle, bottom), answered 'no digit':")
        for aspect, counts in strips.items():
            if counts["count"]:
                print(f"  {aspect:g}:1{'':<21}{_cell(counts['none'], counts['count'])}   "
                      f"read from the whole photo: {counts['whole_photo']}")
    failures = [r for r in results if r["pipeline"] != r["label"]]
    print(f"\nPipeline failures ({len(failures)}):")
    for r in failures:
        detail = f"{r['variant']} {r['ink']} ruled={r['ruled']} h={r['digit_height_frac']} {r['width']}x{r['height']}"
        note = f" [{r['pipeline_note']}]" if r["pipeline_note"] else ""
        print(f"  {r['file']:<18} truth {r['label']:<6} read {r['pipeline']:<8} ({detail}){note}")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; always returns 0 (a report, not a test)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="set_dir", type=Path, default=DEFAULT_SET, help="folder with labels.csv")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: models/digit_cnn.keras)")
    parser.add_argument("--limit", type=int, default=None, help="at most N images of each kind")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of the tables")
    args = parser.parse_args(argv)
    if not (args.set_dir / "labels.csv").is_file():
        print(f"SKIP: no labels.csv in {args.set_dir} (make one with python -m benchmarks.synth_photos --out DIR)")
        return 0
    from core.classifier import Classifier

    classifier = Classifier.from_path(args.model) if args.model else Classifier.from_path()
    rows = load_set(args.set_dir, args.limit)
    started = time.perf_counter()
    results = evaluate(classifier, args.set_dir, rows)
    strips = read_strips(classifier, args.set_dir, rows)
    seconds = time.perf_counter() - started
    summary = summarize(results)
    if args.json:
        json.dump({"set": str(args.set_dir), "model": str(classifier.path), "seconds": round(seconds, 1),
                   **summary, "negative_strips": {f"{aspect:g}:1": counts for aspect, counts in strips.items()},
                   "results": results}, sys.stdout, indent=1)
        print()
    else:
        print_report(results, summary, args.set_dir, str(classifier.path), seconds, strips)
    return 0


if __name__ == "__main__":
    sys.exit(main())
