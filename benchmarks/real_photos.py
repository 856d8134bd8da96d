"""Accuracy on real photos and scans of handwritten digits, beside the naive pipeline.

Reads ``../shared/data/real_digits_dev/`` (never committed: see its README): the top
folder's crops, ``more/`` phone photos, ``numbers/`` multi-digit photos and ``scans/``
form cells. The naive pipeline is the reference notebooks': grayscale, resize the whole
photo to 28x28, scale to [0, 1], predict (and a variant that also inverts, for fairness).
Beside the per-group table, the pipeline's figures are given per tune/check half
(:mod:`benchmarks.splits`: every source, a repository or a band of scan rows, in one half).
``--json OUT`` writes what the pipeline read from each file, in the layout of
:mod:`benchmarks.real_numbers` (``set_name`` is the group); ``--compare OLD.json`` then ends
the report with the files won and lost since that run, per group and half, each with its
exact McNemar p-value (:func:`benchmarks.real_numbers.print_comparison`).

Usage::

    python -m benchmarks.real_photos [--data DIR] [--model PATH] [--failures] [--show DIR]
        [--only GROUP] [--json OUT] [--compare OLD.json]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path


from benchmarks.photo_robustness import naive_input
from benchmarks.real_numbers import (Result, add_run_arguments, compare_results, error_note, print_comparison,
                                     read_earlier_run, write_run)
from benchmarks.splits import HALVES, real_digits_halves
from core.config import DEFAULT_MODEL_PATH, PROJECT_ROOT
from core.errors import DigitImageError

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real_digits_dev"


def load_items(root: Path) -> list[tuple[str, Path, str]]:
    """``(group, path, expected text)`` for every labelled file under ``root``."""
    items = []
    for group, folder, column in (("crops", root, "label"), ("more", root / "more", "label"),
                                  ("numbers", root / "numbers", "number"), ("scans", root / "scans", "label")):
        labels = folder / "labels.csv"
        if not labels.is_file():
            continue
        with open(labels, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                items.append((group, folder / row["file"], row[column].strip()))
    return items


def naive_read(classifier, data: bytes, invert: bool) -> str:
    """The reference notebooks' pipeline (:func:`benchmarks.photo_robustness.naive_input`): one digit."""
    return str(classifier.predict_image(naive_input(data, invert=invert)).digit)


def print_halves(by_half: dict) -> None:
    """Print the pipeline's right answers per group and tune/check half, and for the singles together.

    Args:
        by_half: ``{(group, half or "all"): [right, count]}``.
    """
    columns = (*HALVES, "all")
    groups = [group for group in ("crops", "more", "numbers", "scans") if (group, "all") in by_half]
    singles = [group for group in ("crops", "more", "scans") if group in groups]
    if singles:
        for half in columns:
            parts = [by_half.get((group, half), (0, 0)) for group in singles]
            by_half["singles", half] = [sum(right for right, _ in parts), sum(count for _, count in parts)]
        groups.append("singles")
    print("\nPipeline by half (benchmarks.splits: every source in one half):")
    print(f"{'set':<10}" + "".join(f"{half:>18}" for half in columns))
    for group in groups:
        cells = []
        for half in columns:
            right, count = by_half.get((group, half), (0, 0))
            cells.append(f"{right:>5}/{count:<5} {right / count:>6.1%}" if count else "-")
        print(f"{group:<10}" + "".join(f"{cell:>18}" for cell in cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--failures", action="store_true", help="list every file the pipeline got wrong")
    parser.add_argument("--show", type=Path, help="write a steps picture for each failure into DIR")
    parser.add_argument("--only", help="only this group (crops, more, numbers, scans)")
    add_run_arguments(parser, "files")
    args = parser.parse_args(argv)
    try:
        old_results = read_earlier_run(args.compare) if args.compare is not None else None
    except ValueError as exc:
        print(f"benchmarks.real_photos: {exc}", file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"SKIP: {args.data} is absent (the real-photo yardstick is not committed)")
        return 0
    from core.classifier import Classifier

    classifier = Classifier.from_path(args.model)
    items = [item for item in load_items(args.data) if not args.only or item[0] == args.only]
    totals = defaultdict(lambda: [0, 0, 0, 0])  # right, naive right, naive-inverted right, count
    halves = real_digits_halves(args.data)[0]
    by_half = defaultdict(lambda: [0, 0])  # (group, half) -> pipeline right, count
    failures, results = [], []
    started = time.perf_counter()
    for group, path, expected in items:
        data = path.read_bytes()
        read_started = time.perf_counter()
        try:
            reading, segmentation = classifier.read_photo_with_steps(data)
            got, note = reading.number, ""
        except DigitImageError as exc:
            got, reading, segmentation = f"<{type(exc).__name__}: {exc.detail}>", None, None
            note = error_note(exc)
        results.append(Result(group, path.name, expected, "", halves.get(path, "?"),
                              reading.number if reading is not None else "", note,
                              time.perf_counter() - read_started, reading.method if reading is not None else "",
                              reading.runner_up if reading is not None else ""))
        row = totals[group]
        row[0] += got == expected
        row[1] += naive_read(classifier, data, invert=False) == expected
        row[2] += naive_read(classifier, data, invert=True) == expected
        row[3] += 1
        for half in (halves.get(path, "?"), "all"):
            by_half[group, half][0] += got == expected
            by_half[group, half][1] += 1
        if got != expected:
            failures.append((group, path, expected, got))
            if args.show and reading is not None:
                from core.visualize import render_steps_png

                args.show.mkdir(parents=True, exist_ok=True)
                (args.show / f"{group}_{path.stem}.png").write_bytes(render_steps_png(reading, segmentation))
    seconds = time.perf_counter() - started
    print(f"Real photos from {args.data} ({len(items)} files, {seconds:.1f} s)")
    print(f"{'set':<10}{'files':>7}{'pipeline':>18}{'naive':>18}{'naive+invert':>18}")
    grand = [0, 0, 0, 0]
    for group in ("crops", "more", "numbers", "scans"):
        if group not in totals:
            continue
        right, naive, naive_inv, count = totals[group]
        grand = [a + b for a, b in zip(grand, totals[group])]
        print(f"{group:<10}{count:>7}{right:>10} {right / count:>6.1%}{naive:>10} {naive / count:>6.1%}"
              f"{naive_inv:>10} {naive_inv / count:>6.1%}")
    singles = [totals[g] for g in ("crops", "more", "scans") if g in totals]
    if singles:
        right, count = sum(r[0] for r in singles), sum(r[3] for r in singles)
        print(f"single digits: {right}/{count} = {right / count:.1%} (target >= 97 %)")
    if "numbers" in totals:
        right, _, _, count = totals["numbers"]
        print(f"numbers read whole: {right}/{count} (target: all)")
    print_halves(by_half)
    if args.failures:
        for group, path, expected, got in failures:
            print(f"  FAIL {group}/{path.name}: expected {expected}, read {got}")
    if args.json_out:
        write_run(args.json_out, results, data=str(args.data), model=str(args.model), wall_seconds=round(seconds, 2))
        print(f"\nwrote {args.json_out}")
    if old_results is not None:
        print_comparison(compare_results(old_results, results), args.compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
