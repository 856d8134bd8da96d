"""Numbers read whole on real handwritten numbers (cheque amounts, register row numbers), per tune/check half.

Reads ``../shared/data/real_numbers_dev/`` (never committed: see its README): ``cheques/``,
scanned courtesy amounts of bank cheques, and ``ledger/``, row-number cells of Danish
parish registers. Ledger labels holding anything but digits (``"4a"``, ``"(23k)"``) are
left out. Each file's bytes go through ``Classifier.read_photo``; its ``number`` (the
digits left to right) must equal the label exactly for the number to count as read whole.
A ``DigitImageError`` is the answer "" (a miss), and so is any other exception, named in
the failure list: one bad file never stops the run.

Figures per set and per half (:mod:`benchmarks.splits`: tune on one half, judge on the
other; whole cheques and whole register pages go to one half):

- read whole: the digit string equals the label;
- digit count right: as many digits read as the label has;
- digits right: among the numbers whose count is right, the share of digits right
  position by position;
- failure kinds: lost digits (fewer read; "nothing read" among them), extra digits (more
  read), same length but wrong digits.

With ``--compare OLD.json`` (the ``--json`` of an earlier run on the same data), the report
ends with what changed number by number, per set and half: how many are now read whole that
were not (won), how many the other way (lost), and a few of each, with the same for all
sets pooled per half. Two runs with the same share can have moved many numbers both ways; a
change that wins on the tune half by losing as many elsewhere is churn, not progress. Each
row also gives the exact McNemar p-value of its won and lost (:func:`mcnemar_exact_p`): how
likely so lopsided a split would be if the two runs were equally good and only churned. A
fine-tune of the number reader moves some 20-40 numbers per half either way, so a net of a
few numbers on one half (p near 1) says nothing by itself about which run is better.

The classifier is documented thread-safe (model calls are serialised under a lock; the
preprocessing is pure functions), so two worker threads read files at once; seconds per
image are given both as the median time of one reading (which the other thread slows) and
as wall-clock time over images.

Usage::

    python -m benchmarks.real_numbers [--data DIR] [--model PATH] [--only cheques|ledger]
        [--limit N] [--failures] [--json OUT] [--compare OLD.json] [--workers N] [--no-reader]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.splits import HALVES, NUMBER_SETS, assign_halves, is_plain_number, real_numbers_sources
from core.config import DEFAULT_MODEL_PATH, PROJECT_ROOT
from core.errors import DigitImageError

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real_numbers_dev"
#: Failure kinds, in the order they are printed.
FAILURE_KINDS = ("lost digits", "extra digits", "wrong digits")


@dataclass(frozen=True)
class Item:
    """One labelled file: its set (``cheques``, ``ledger``), path, number, source and half."""

    set_name: str
    path: Path
    label: str
    source: str
    half: str


@dataclass(frozen=True)
class Result:
    """What the pipeline read from one item.

    Attributes:
        read: the digits read, left to right ("" when nothing was read).
        note: the exception's name (and detail) when there was one, else "".
        seconds: time of this one reading (file read included).
        method: ``PhotoReading.method`` ("both", "digits", "line"; "" when nothing was read).
        runner_up: the other reader's reading when the two readers disagreed, else "".
    """

    set_name: str
    file: str
    label: str
    source: str
    half: str
    read: str
    note: str
    seconds: float
    method: str = ""
    runner_up: str = ""

    @property
    def whole(self) -> bool:
        """True when the digit string equals the label."""
        return self.read == self.label

    @property
    def kind(self) -> str:
        """``""`` when read whole, else one of :data:`FAILURE_KINDS`."""
        if self.whole:
            return ""
        if len(self.read) < len(self.label):
            return "lost digits"
        return "extra digits" if len(self.read) > len(self.label) else "wrong digits"


def load_items(root: Path, only: str | None = None, limit: int | None = None) -> tuple[list[Item], Counter]:
    """The plain-number items of each set under ``root`` (the first ``limit`` of each), and the
    count of labels with letters left out, per set."""
    items, skipped = [], Counter()
    for name, rows in real_numbers_sources(root).items():
        if only and name != only:
            continue
        halves = assign_halves([source for _, _, source in rows])
        kept = [Item(name, path, label, source, halves[source]) for path, label, source in rows
                if is_plain_number(label)]
        skipped[name] = len(rows) - len(kept)
        items.extend(kept[:limit] if limit is not None else kept)
    return items, skipped


def read_number(classifier, data: bytes) -> tuple[str, str]:
    """``(digits read, note)`` for a photo's bytes; never raises.

    A ``DigitImageError`` reads ``""`` with its class name as the note, and the reason in
    brackets when it gives one (``"NoDigitFoundError (small)"``: ``NoDigitFoundError.reason``);
    any other exception (a bug, a file the decoder chokes on) reads ``""`` with a
    ``"crash ..."`` note.
    """
    reading, note = read_photo_safely(classifier, data)
    return (reading.number if reading is not None else ""), note


def error_note(error: DigitImageError) -> str:
    """A result's note for a photo read as nothing: the error's class name, and the reason in
    brackets when it gives one (``"NoDigitFoundError (small)"``)."""
    reason = getattr(error, "reason", "")
    return type(error).__name__ + (f" ({reason})" if reason else "")


def read_photo_safely(classifier, data: bytes):
    """``(PhotoReading or None, note)`` for a photo's bytes; never raises (see :func:`read_number`)."""
    try:
        return classifier.read_photo(data), ""
    except DigitImageError as exc:
        return None, error_note(exc)
    except Exception as exc:  # a report must survive a bug (or a bad file) and name it
        return None, f"crash {type(exc).__name__}: {exc}"


def read_item(classifier, item: Item) -> Result:
    """Read one item's file; never raises (an unreadable file is a crash note too)."""
    started = time.perf_counter()
    try:
        reading, note = read_photo_safely(classifier, item.path.read_bytes())
    except OSError as exc:
        reading, note = None, f"crash {type(exc).__name__}: {exc}"
    read = reading.number if reading is not None else ""
    return Result(item.set_name, item.path.name, item.label, item.source, item.half, read, note,
                  time.perf_counter() - started, reading.method if reading is not None else "",
                  reading.runner_up if reading is not None else "")


def read_all(classifier, items: list[Item], workers: int) -> list[Result]:
    """Read every item, ``workers`` threads at a time; results in the items' order."""
    if workers <= 1:
        return [read_item(classifier, item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda item: read_item(classifier, item), items))


def tally(results: list[Result]) -> dict:
    """Counts of a group of results.

    Returns:
        ``{"count", "whole", "count_right", "digits", "digits_right", "nothing_read",
        "nothing_read_reasons", "crashes", "lost digits", "extra digits", "wrong digits",
        "median_seconds"}``; ``digits``/``digits_right`` are over the numbers whose digit
        count is right; ``nothing_read_reasons`` counts the numbers read as nothing by the
        reason in their note (:func:`read_number`), commonest first.
    """
    counts = {"count": len(results), "whole": 0, "count_right": 0, "digits": 0, "digits_right": 0,
              "nothing_read": 0, "crashes": 0, **dict.fromkeys(FAILURE_KINDS, 0)}
    reasons: Counter = Counter()
    for result in results:
        counts["whole"] += result.whole
        counts["nothing_read"] += result.read == ""
        if result.read == "" and result.note.endswith(")") and " (" in result.note:
            reasons[result.note.rsplit(" (", 1)[1][:-1]] += 1
        counts["crashes"] += result.note.startswith("crash")
        if result.kind:
            counts[result.kind] += 1
        if len(result.read) == len(result.label):
            counts["count_right"] += 1
            counts["digits"] += len(result.label)
            counts["digits_right"] += sum(a == b for a, b in zip(result.read, result.label))
    counts["nothing_read_reasons"] = dict(reasons.most_common())
    counts["median_seconds"] = round(statistics.median(r.seconds for r in results), 4) if results else 0.0
    return counts


def summarize(results: list[Result]) -> dict:
    """``{set or "both sets": {half or "all": tally}}`` for the sets present."""
    names = [name for name in NUMBER_SETS if any(r.set_name == name for r in results)]
    groups = {name: [r for r in results if r.set_name == name] for name in names}
    if len(names) > 1:
        groups["both sets"] = results
    return {name: {**{half: tally([r for r in group if r.half == half]) for half in HALVES},
                   "all": tally(group)}
            for name, group in groups.items()}


def format_share(part: int, whole: int) -> str:
    """``"  350  29.0%"``: a count and its share of ``whole`` (``"-"`` when ``whole`` is 0)."""
    return f"{part:>5} {part / whole:6.1%}" if whole else f"{'-':>12}"


def print_report(results: list[Result], summary: dict, skipped: Counter, data: Path, model: str,
                 workers: int, wall: float) -> None:
    """Print the per-set, per-half table, failure kinds and speed."""
    left_out = ", ".join(f"{count} {name}" for name, count in skipped.items() if count)
    print(f"Real numbers from {data} ({len(results)} images; "
          f"labels with letters left out: {left_out or 'none'})")
    print(f"model {model}, {workers} worker thread(s), {wall:.1f} s wall")
    header = (f"{'set':<11}{'half':<7}{'count':>6}{'read whole':>14}{'count right':>14}"
              f"{'digits right':>16}{'ms/image':>10}")
    print(header)
    print("-" * len(header))
    for name, halves in summary.items():
        for half, counts in halves.items():
            digits = f"{counts['digits_right'] / counts['digits']:.1%}" if counts["digits"] else "-"
            whole = format_share(counts["whole"], counts["count"])
            count_right = format_share(counts["count_right"], counts["count"])
            print(f"{name:<11}{half:<7}{counts['count']:>6}{whole:>14}{count_right:>14}{digits:>16}"
                  f"{counts['median_seconds'] * 1000:>10.1f}")
    print("(digits right: among numbers with the right digit count; ms/image: median of one reading)")
    print(f"wall-clock: {wall / max(1, len(results)) * 1000:.1f} ms per image over {workers} thread(s)")
    print("\nFailure kinds (all halves):")
    for name, halves in summary.items():
        print(format_failure_kinds(f"{name:<11} ", halves["all"], 5))
    if any(result.method for result in results):
        print("\nThe two readers (per-digit path and number reader), all halves:")
        for name in summary:
            group = [r for r in results if name == "both sets" or r.set_name == name]
            print(format_agreement(f"{name:<11} ", group))


def format_agreement(name: str, results: list[Result]) -> str:
    """One line: how often the two readers agreed, and how often each kind of answer was right.

    ``"  cheques     agreed 412 (97.3 % right) | gave the line's 300 (71.0 %) | kept the digits' 88
    (40.9 %) | runner-up right 9.1 %"``.
    """
    def share(group: list[Result]) -> str:
        return f"{len(group)} ({sum(r.whole for r in group) / len(group):.1%} right)" if group else "0"

    agreed = [r for r in results if r.method == "both"]
    line = [r for r in results if r.method == "line"]
    digits = [r for r in results if r.method == "digits" and r.runner_up]
    disagreed = line + digits
    runner_up = sum(r.runner_up == r.label for r in disagreed) / len(disagreed) if disagreed else 0.0
    return (f"  {name}agreed {share(agreed)} | gave the reader's {share(line)} | kept the digits' "
            f"{share(digits)} | runner-up right {runner_up:.1%}")


def format_failure_kinds(name: str, counts: dict, width: int) -> str:
    """One line: ``"  cheques     740 misses: lost digits 241 (nothing read 23: small 9,
    texture 8, ...), ..."``.

    Args:
        name: the row's label, already padded.
        counts: a :func:`tally` of the row's results.
        width: columns for the number of misses.
    """
    parts = [f"{kind} {counts[kind]}" for kind in FAILURE_KINDS]
    reasons = ", ".join(f"{reason} {count}" for reason, count in counts.get("nothing_read_reasons", {}).items())
    parts[0] += f" (nothing read {counts['nothing_read']}" + (f": {reasons})" if reasons else ")")
    crashes = f"; crashes {counts['crashes']}" if counts["crashes"] else ""
    return f"  {name}{counts['count'] - counts['whole']:>{width}} misses: " + ", ".join(parts) + crashes


def compare_results(old: list[dict], new: list[Result]) -> dict[tuple[str, str], dict[str, list[str]]]:
    """Numbers won and lost between two runs, per (set, half).

    Args:
        old: the ``results`` of an earlier run's ``--json`` (dicts with ``set_name``,
            ``file``, ``label`` and ``read``).
        new: this run's results.

    Returns:
        ``{(set_name, half): {"won": [...], "lost": [...]}}``, the files (``set/file``) now
        read whole that were not, and the other way, in ``new``'s order; every (set, half)
        with files that both runs read (files only one run read are left out).

    Raises:
        KeyError: an ``old`` result without those keys (not a ``--json`` of this benchmark).
    """
    before = {(result["set_name"], result["file"]): result["read"] == result["label"] for result in old}
    changes: dict[tuple[str, str], dict[str, list[str]]] = {}
    for result in new:
        was_whole = before.get((result.set_name, result.file))
        if was_whole is None:
            continue
        change = changes.setdefault((result.set_name, result.half), {"won": [], "lost": []})
        if result.whole and not was_whole:
            change["won"].append(f"{result.set_name}/{result.file}")
        elif was_whole and not result.whole:
            change["lost"].append(f"{result.set_name}/{result.file}")
    return changes


def add_run_arguments(parser: argparse.ArgumentParser, items: str) -> None:
    """Add ``--json OUT`` (:func:`write_run`; ``args.json_out``) and ``--compare OLD.json``
    (:func:`read_earlier_run`, :func:`print_comparison`) to a benchmark's parser; ``items``
    names what it reads ("numbers", "files") in the help."""
    parser.add_argument("--json", type=Path, dest="json_out", metavar="OUT",
                        help=f"also write what was read from each of the {items} as JSON to OUT")
    parser.add_argument("--compare", type=Path, metavar="OLD.json",
                        help=f"also print the {items} won and lost since an earlier run's --json")


def read_earlier_run(path: Path) -> list[dict]:
    """The ``results`` of an earlier run's ``--json`` (this benchmark's or
    :mod:`benchmarks.real_photos`'), for :func:`compare_results`.

    Raises:
        ValueError: ``path`` cannot be read or is not such a file (the message says which, for
            the user).
    """
    try:
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
        if not all({"set_name", "file", "label", "read"} <= set(result) for result in results):
            raise ValueError("its results lack set_name, file, label or read")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"--compare needs an earlier run's --json: cannot use {path} ({exc})") from exc
    return results


def write_run(path: Path, results: list[Result], **fields) -> None:
    """Write a run's ``--json``: ``fields`` (data, model, ...) and its ``results``, each
    :class:`Result` as a dict with ``seconds`` rounded and its failure ``kind``."""
    document = {**fields, "results": [{**asdict(r), "seconds": round(r.seconds, 4), "kind": r.kind}
                                      for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def mcnemar_exact_p(won: int, lost: int) -> float:
    """Two-sided exact McNemar p-value of ``won`` and ``lost`` paired changes (McNemar 1947,
    "Note on the sampling error of the difference between correlated proportions"; the exact
    form is the binomial sign test on the discordant pairs): the probability, if each changed
    number were equally likely to go either way, of a split at least as lopsided.

    Args:
        won, lost: numbers read whole only by the new run, and only by the old one; >= 0.

    Returns:
        p in (0, 1]; 1.0 when nothing changed.

    Raises:
        ValueError: a negative count.
    """
    if won < 0 or lost < 0:
        raise ValueError(f"counts must be >= 0, got won={won}, lost={lost}")
    changed = won + lost
    tail = sum(math.comb(changed, k) for k in range(min(won, lost) + 1))
    return min(1.0, 2.0 * tail / 2.0 ** changed)


def print_comparison(changes: dict[tuple[str, str], dict[str, list[str]]], old_path: Path, shown: int = 3) -> None:
    """Print :func:`compare_results` as a table: won, lost, net and :func:`mcnemar_exact_p` per
    set and half, with up to ``shown`` files of each, then every set pooled per half."""
    print(f"\nChanged since {old_path} (read whole now and not then: won; the other way: lost;"
          " p: exact McNemar test):")
    print(f"{'set':<10} {'half':<6} {'won':>5} {'lost':>5} {'net':>5} {'p':>6}  examples")
    half_order = {half: index for index, half in enumerate(HALVES)}
    pooled: dict[str, list[int]] = {}
    for set_name, half in sorted(changes, key=lambda key: (key[0], half_order.get(key[1], len(HALVES)))):
        won, lost = changes[(set_name, half)]["won"], changes[(set_name, half)]["lost"]
        totals = pooled.setdefault(half, [0, 0])
        totals[0] += len(won)
        totals[1] += len(lost)
        examples = [f"+{name}" for name in won[:shown]] + [f"-{name}" for name in lost[:shown]]
        print(f"{set_name:<10} {half:<6} {len(won):>5} {len(lost):>5} {len(won) - len(lost):>+5} "
              f"{mcnemar_exact_p(len(won), len(lost)):>6.3f}  {' '.join(examples)}")
    for half in sorted(pooled, key=lambda name: half_order.get(name, len(HALVES))):
        won, lost = pooled[half]
        print(f"{'all sets':<10} {half:<6} {won:>5} {lost:>5} {won - lost:>+5} {mcnemar_exact_p(won, lost):>6.3f}")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns 0 (a report, not a test), or 2 when ``--compare`` names no
    earlier run's JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding cheques/ and ledger/")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--only", choices=NUMBER_SETS, help="only this set")
    parser.add_argument("--limit", type=int, default=None, help="only the first N items of each set")
    parser.add_argument("--failures", action="store_true", help="list every number not read whole")
    add_run_arguments(parser, "numbers")
    parser.add_argument("--workers", type=int, default=2, help="reader threads (default 2; 1 for serial)")
    parser.add_argument("--no-reader", action="store_true",
                        help="the per-digit path alone, without the number reader (core.reader)")
    args = parser.parse_args(argv)
    try:
        old_results = read_earlier_run(args.compare) if args.compare is not None else None
    except ValueError as exc:
        print(f"benchmarks.real_numbers: {exc}", file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"SKIP: {args.data} is absent (the real-number yardstick is not committed)")
        return 0
    items, skipped = load_items(args.data, args.only, args.limit)
    if not items:
        print(f"SKIP: no labelled numbers under {args.data} (expected cheques/ and ledger/ with labels.csv)")
        return 0
    from core.classifier import Classifier

    classifier = Classifier.from_path(args.model, reader_paths=None) if args.no_reader else Classifier.from_path(args.model)
    started = time.perf_counter()
    results = read_all(classifier, items, args.workers)
    wall = time.perf_counter() - started
    summary = summarize(results)
    print_report(results, summary, skipped, args.data, str(args.model), args.workers, wall)
    if args.failures:
        print("\nNot read whole:")
        for result in results:
            if not result.whole:
                note = f" [{result.note}]" if result.note else ""
                other = f", runner-up {result.runner_up}" if result.runner_up else ""
                print(f"  {result.set_name}/{result.file} ({result.half}): label {result.label}, "
                      f"read {result.read or '-'} ({result.kind}{other}){note}")
    if args.json_out:
        write_run(args.json_out, results, data=str(args.data), model=str(args.model), workers=args.workers,
                  wall_seconds=round(wall, 2), skipped=dict(skipped), summary=summary)
        print(f"\nwrote {args.json_out}")
    if old_results is not None:
        print_comparison(compare_results(old_results, results), args.compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
