"""Tune and check halves of the real yardsticks, split by source so one writer never lands in both.

A pipeline change tuned while looking at the real photos fits those photos; to see whether
it generalises, tune on one half and judge on the other, untouched one. Splitting item by
item would put one person's other digits (same pen, same hand, same paper) in the check
half, so items are grouped by their *source* first and whole sources go to one half.

What the source is, per set (:func:`real_digits_sources`, :func:`cheque_source`,
:func:`ledger_source`):

- ``real_digits_dev/`` top folder (crops): the ``source`` column, the repository the strip
  photos or form scans came from (2 sources: kristijan6/my-photomath, anzemur/Digit-recognition).
- ``more/`` and ``numbers/``: the repository part of the ``source`` column (before ``:``;
  the rest is a file path and commit): one repository is one person's photos, often of one
  sheet. ``more/`` has 17, ``numbers/`` 5; harkib/digit-recognition-CNN is in both and
  lands in one half for both.
- ``scans/``: the writers are not recorded. The cells were cut (minichazer/mnist-cnn-lab,
  ``get_digitimgs.py``) from one scanned sheet per digit, a grid of 46 rows by 25
  columns; the file names number the cells 0-1149, read here as ``row * 25 + column``.
  Splitting by sheet would split by class (no 1s to tune on), and pen and hand visibly
  change in bands of grid rows, so the source is a band of :data:`SCAN_BAND_ROWS` grid
  rows, the same band on every sheet (``"scans rows 8-11"``): writers who filled a few
  neighbouring rows, or the same rows of every sheet, stay in one half. Writers whose rows
  straddle a band edge can still leak.
- ``real_numbers_dev/cheques``: the cheque image id in the ``source`` column
  (``train2017/a_car_000720_png.rf...`` -> ``a_car_000720``). The 1,208 rows hold 1,208
  distinct ids, so every cheque is its own source (the writers are not recorded).
- ``real_numbers_dev/ledger``: the parish-register page, the file name before ``_row_id_``
  (``died_K2709_0099a-DM``): 716 pages. Pages of one book (K2709, K2710, ...) may share a
  clerk's hand, so the halves are page-disjoint, not writer-disjoint.

How a source picks its half (:func:`assign_halves`): with :data:`MANY_SOURCES` or more new
sources in a set, by :func:`half_of` alone (parity of the first byte of the source's
sha256), so a source's half never depends on which other sources exist. With fewer, a hash
alone can put most items in one half (2 sources: a coin toss whether both go to "tune"), so
the sources are sorted by their item count, largest first (ties by sha256), and each goes
to the half holding fewer items so far (ties to "tune"): deterministic and balanced by
items, but adding a source to such a small set can move the ones placed after it. A source
already placed (in an earlier group of the same data set) keeps its half. A set of few
sources stays lumpy all the same (the crops: 40 items against 30), and a plain hash over
hundreds of sources is balanced only to a few per cent (the ledger: 47 % against 53 %).

Usage::

    python -m benchmarks.splits    # print items and sources per half for every real set
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Iterable, Literal, Mapping

from core.config import PROJECT_ROOT

Half = Literal["tune", "check"]
HALVES: tuple[Half, Half] = ("tune", "check")
#: A set with at least this many new sources is split by :func:`half_of` alone.
MANY_SOURCES = 40
#: Grid rows of a scanned sheet that form one source of ``scans/``.
SCAN_BAND_ROWS = 4
#: Cells per grid row of the scanned sheets of ``scans/``.
SCAN_COLUMNS = 25
DATA_ROOT = PROJECT_ROOT.parent / "shared" / "data"
DIGITS_DATA = DATA_ROOT / "real_digits_dev"
NUMBERS_DATA = DATA_ROOT / "real_numbers_dev"
#: real_digits_dev groups: (name, folder below the root), in placing order.
DIGIT_GROUPS = (("crops", ""), ("more", "more"), ("numbers", "numbers"), ("scans", "scans"))

#: The sets of ``real_numbers_dev``.
NUMBER_SETS = ("cheques", "ledger")
PLAIN_NUMBER = re.compile(r"[0-9]+")

_CHEQUE_ID = re.compile(r"(a_car_\d+)")


def source_hash(source: str) -> bytes:
    """sha256 of the source's UTF-8 text: stable across runs, machines and Python versions."""
    return hashlib.sha256(source.encode("utf-8")).digest()


def half_of(source: str) -> Half:
    """``"tune"`` when the first byte of the source's sha256 is even, else ``"check"``."""
    return HALVES[source_hash(source)[0] % 2]


def assign_halves(sources: Iterable[str], placed: Mapping[str, Half] | None = None) -> dict[str, Half]:
    """The half of every source of one set (see the module docstring for the rule).

    Args:
        sources: the source of each item, repeated once per item (counts weigh the balance).
        placed: sources already given a half (by an earlier group); they keep it.

    Returns:
        ``{source: half}`` for the given sources and the ``placed`` ones.
    """
    placed = dict(placed or {})
    counts = Counter(sources)
    new = sorted((source for source in counts if source not in placed),
                 key=lambda source: (-counts[source], source_hash(source)))
    if len(new) >= MANY_SOURCES:
        return {**placed, **{source: half_of(source) for source in new}}
    items = Counter({half: 0 for half in HALVES})
    for source, count in counts.items():
        if source in placed:
            items[placed[source]] += count
    for source in new:
        half = "tune" if items["tune"] <= items["check"] else "check"
        placed[source] = half
        items[half] += counts[source]
    return placed


def repository_of(source: str) -> str:
    """``"owner/name"`` of a ``"owner/name:path@commit"`` source; other text unchanged."""
    return source.split(":", 1)[0].strip()


def scan_source(file_name: str) -> str:
    """The band of grid rows a ``scans/`` cell came from: ``"3_512.png"`` -> ``"scans rows 20-23"``."""
    match = re.search(r"_(\d+)\.", file_name)
    if not match:
        return f"scans file {file_name}"
    band = int(match.group(1)) // SCAN_COLUMNS // SCAN_BAND_ROWS
    return f"scans rows {band * SCAN_BAND_ROWS}-{band * SCAN_BAND_ROWS + SCAN_BAND_ROWS - 1}"


def cheque_source(source: str, file_name: str = "") -> str:
    """The cheque image id (``"a_car_000720"``) in a cheques ``source`` cell; else the file name."""
    match = _CHEQUE_ID.search(source)
    return match.group(1) if match else (file_name or source)


def ledger_source(file_name: str) -> str:
    """The register page of a ledger cell's file name.

    ``"died_K2709_0099a-DM_row_id_2.Jpg"`` -> ``"died_K2709_0099a-DM"``; a name without
    ``_row_id_`` is its own page.
    """
    return file_name.split("_row_id_", 1)[0] if "_row_id_" in file_name else Path(file_name).stem


def read_rows(labels: Path) -> list[dict]:
    """The rows of a ``labels.csv`` as dicts ([] when the file is absent)."""
    if not labels.is_file():
        return []
    with open(labels, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def real_digits_sources(root: Path = DIGITS_DATA) -> dict[str, list[tuple[Path, str]]]:
    """``{group: [(path, source), ...]}`` for the groups of ``real_digits_dev`` present under ``root``."""
    groups = {}
    for group, folder in DIGIT_GROUPS:
        rows = read_rows(root / folder / "labels.csv")
        if not rows:
            continue
        items = []
        for row in rows:
            if group == "scans":
                source = scan_source(row["file"])
            elif group == "crops":
                source = row.get("source", "").strip() or row["file"]
            else:
                source = repository_of(row.get("source", "")) or row["file"]
            items.append((root / folder / row["file"], source))
        groups[group] = items
    return groups


def real_numbers_sources(root: Path = NUMBERS_DATA) -> dict[str, list[tuple[Path, str, str]]]:
    """``{set: [(path, number, source), ...]}`` for ``cheques`` and ``ledger`` present under ``root``.

    Every row is listed, letters and all (``"4a"``); the caller decides what it measures.
    """
    sets = {}
    for name in NUMBER_SETS:
        rows = read_rows(root / name / "labels.csv")
        if not rows:
            continue
        items = []
        for row in rows:
            if name == "cheques":
                source = cheque_source(row.get("source", ""), row["file"])
            else:
                source = ledger_source(row["file"])
            items.append((root / name / row["file"], row["number"].strip(), source))
        sets[name] = items
    return sets


def is_plain_number(label: str) -> bool:
    """True when ``label`` is one or more ASCII digits (``"042"``), not ``"4a"`` or ``"(23k)"``."""
    return PLAIN_NUMBER.fullmatch(label) is not None


def real_digits_halves(root: Path = DIGITS_DATA) -> tuple[dict[Path, Half], dict[str, dict[str, Half]]]:
    """Each file's half, and each group's ``{source: half}``, for ``real_digits_dev`` under ``root``.

    Groups are placed in :data:`DIGIT_GROUPS` order, each balanced on its own items; a
    source met again in a later group keeps its first half.
    """
    by_path: dict[Path, Half] = {}
    by_group: dict[str, dict[str, Half]] = {}
    placed: dict[str, Half] = {}
    for group, items in real_digits_sources(root).items():
        placed = assign_halves([source for _, source in items], placed)
        by_group[group] = {source: placed[source] for _, source in items}
        by_path.update((path, placed[source]) for path, source in items)
    return by_path, by_group


def split_summary(sources: list[str], halves: Mapping[str, Half]) -> dict[Half, tuple[int, int]]:
    """``{half: (items, distinct sources)}`` for a set's per-item ``sources``."""
    summary = {}
    for half in HALVES:
        mine = [source for source in sources if halves[source] == half]
        summary[half] = (len(mine), len(set(mine)))
    return summary


def format_split(name: str, sources: list[str], halves: Mapping[str, Half]) -> str:
    """One line: ``name: tune 604 items / 358 sources (50.0 %), check ...``."""
    summary = split_summary(sources, halves)
    total = max(1, len(sources))
    parts = [f"{half} {items:>5} items / {count:>4} sources ({items / total:5.1%})"
             for half, (items, count) in summary.items()]
    return f"{name:<18}" + ",  ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Print the halves of every real set that is present; skip with a reason otherwise."""
    del argv
    if DIGITS_DATA.is_dir():
        _, by_group = real_digits_halves(DIGITS_DATA)
        for group, items in real_digits_sources(DIGITS_DATA).items():
            print(format_split(f"digits/{group}", [source for _, source in items], by_group[group]))
    else:
        print(f"SKIP: {DIGITS_DATA} is absent (the real-photo yardstick is not committed)")
    if NUMBERS_DATA.is_dir():
        for name, items in real_numbers_sources(NUMBERS_DATA).items():
            halves = assign_halves([source for _, _, source in items])
            kept = [source for _, label, source in items if is_plain_number(label)]
            letters = len(items) - len(kept)
            note = f" ({letters} labels with letters left out)" if letters else ""
            print(format_split(f"numbers/{name}", kept, halves) + note)
    else:
        print(f"SKIP: {NUMBERS_DATA} is absent (the real-number yardstick is not committed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
