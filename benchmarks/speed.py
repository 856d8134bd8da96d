"""Speed and memory of the reading pipeline on this machine's CPU.

Prints: end-to-end latency (JPEG bytes of a 1280x960 photo to a PhotoReading) p50/p99 for
single digits and for 5-digit numbers, the model alone on one 28x28 image p50/p99,
batch-of-256 throughput in digits per second, the process's peak resident memory after
loading the model and after the runs, whether TensorFlow was imported (it must not be:
serving runs LiteRT), and the cold start of ``digitbot predict one.jpg`` beside a bare
``python -c "import numpy, cv2, PIL.Image"`` (medians of 5 runs each).

With ``--against CHECKOUT`` it prints instead the end-to-end p50 of this checkout and of
another one (a ``git worktree`` of an earlier commit, say), each in a process of its own with
its own code and models, taken in turn for ``--rounds`` rounds on the very same photos. This
machine's speed drifts by 10-20 % from one run to the next, so only runs taken side by side
tell a change of a millisecond or two from the drift.

Usage::

    python -m benchmarks.speed [--model PATH] [--repeats N]
    python -m benchmarks.speed --against ../old-checkout [--rounds 3] [--repeats N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.config import DEFAULT_MODEL_PATH  # noqa: E402

SYNTH = Path(__file__).parent / "data" / "synth_v1"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def photos_1280x960(limit: int) -> list[bytes]:
    """JPEG bytes of 1280x960 single-digit photos from the committed generated set."""
    rows = list(csv.DictReader((SYNTH / "labels.csv").open()))
    chosen = [row for row in rows if row["kind"] == "single" and (row["width"], row["height"]) == ("1280", "960")]
    return [(SYNTH / row["file"]).read_bytes() for row in chosen[:limit]]


def percentiles(samples: list[float]) -> str:
    values = np.array(samples) * 1000.0
    return f"p50 {np.percentile(values, 50):6.2f} ms   p99 {np.percentile(values, 99):6.2f} ms   (n={len(values)})"


def numbers_1280x960(count: int, digits: int = 5) -> list[bytes]:
    """JPEG bytes of 1280x960 photos of ``digits``-digit numbers (benchmarks.synth_photos'
    paper, light, camera and pens, MNIST test digits), or [] without the MNIST file."""
    from benchmarks.synth_photos import DEFAULT_MNIST, encode_jpeg, load_mnist_test, number_alpha, paper_photo

    if not Path(DEFAULT_MNIST).is_file():
        return []
    mnist = load_mnist_test()
    photos = []
    for seed in range(count):
        rng = np.random.default_rng(7000 + seed)
        images = [mnist.images[mnist.index_of(int(digit), rng)] for digit in rng.integers(0, 10, size=digits)]
        image, _ = paper_photo(rng, 1280, 960, lambda height: number_alpha(images, height, rng))
        photos.append(encode_jpeg(image, 85))
    return photos


def time_reading(classifier, photos: list[bytes], repeats: int) -> list[float]:
    """Seconds per :meth:`Classifier.read_photo` call over ``repeats`` calls (after 5 warm-up calls)."""
    from core.errors import DigitImageError

    timings = []
    for index in range(-5, repeats):
        data = photos[index % len(photos)]
        begin = time.perf_counter()
        try:
            classifier.read_photo(data)
        except DigitImageError:
            pass
        if index >= 0:
            timings.append(time.perf_counter() - begin)
    return timings


def cold_start_seconds(command: list[str], runs: int = 5) -> float:
    """Median wall time of running ``command`` ``runs`` times, in seconds."""
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - begin)
    return float(np.median(times))


def model_alone(classifier, repeats: int) -> tuple[list[float], float]:
    """The classifier alone: seconds per call on one random 28x28 image (``repeats`` calls
    after 20 warm-ups), and digits per second on batches of 256 (30 batches after one)."""
    image = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    for _ in range(20):
        classifier.predict_logits(image)
    timings = []
    for _ in range(repeats):
        begin = time.perf_counter()
        classifier.predict_probabilities(image)
        timings.append(time.perf_counter() - begin)
    batch = np.random.default_rng(1).random((256, 28, 28), dtype=np.float32)
    classifier.predict_logits(batch)
    rounds, begin = 30, time.perf_counter()
    for _ in range(rounds):
        classifier.predict_probabilities(batch)
    return timings, rounds * len(batch) / (time.perf_counter() - begin)


#: Run by :func:`latency_in_turn` in a new process for one checkout (argv: the checkout, the
#: photo folder, the timed readings per kind): that checkout's code, shipped models and own
#: :func:`time_reading` read each sub-folder's photos, and it prints one JSON line, the p50 in
#: ms per sub-folder.
_READ_IN_TURN = r"""
import json, statistics, sys
from pathlib import Path
root, folder, repeats = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, root)
from core.classifier import Classifier
from benchmarks.speed import time_reading
classifier = Classifier.from_path()
medians = {}
for kind in sorted(path.name for path in folder.iterdir()):
    photos = [path.read_bytes() for path in sorted((folder / kind).iterdir())]
    medians[kind] = 1000.0 * statistics.median(time_reading(classifier, photos, repeats))
print(json.dumps(medians))
"""


def latency_in_turn(checkouts: list[Path], photos: dict[str, list[bytes]], repeats: int,
                    rounds: int) -> dict[Path, list[dict[str, float]]]:
    """End-to-end p50 of each checkout, measured in turn: per round, each checkout in a new
    process reads the same photos (its code, its ``models/``).

    Args:
        checkouts: project folders (each with ``core/classifier.py`` and ``models/``).
        photos: JPEG bytes per kind (e.g. ``"one digit"``); kinds with no photos are left out.
        repeats: timed readings per kind and run (after 5 untimed ones).
        rounds: how many times each checkout is measured.

    Returns:
        Per checkout, one ``{kind: p50 in ms}`` per round.

    Raises:
        RuntimeError: a checkout's process failed (its last lines of stderr in the message).
    """
    results: dict[Path, list[dict[str, float]]] = {checkout: [] for checkout in checkouts}
    with tempfile.TemporaryDirectory() as folder:
        for kind, kind_photos in photos.items():
            if kind_photos:
                (Path(folder) / kind).mkdir()
                for index, data in enumerate(kind_photos):
                    (Path(folder) / kind / f"{index:03d}.jpg").write_bytes(data)
        for _ in range(rounds):
            for checkout in checkouts:
                run = subprocess.run([sys.executable, "-c", _READ_IN_TURN, str(checkout), folder, str(repeats)],
                                     capture_output=True, text=True, cwd=checkout, check=False)
                if run.returncode != 0:
                    tail = "\n".join(run.stderr.strip().splitlines()[-5:])
                    raise RuntimeError(f"{checkout}: the reading process failed ({run.returncode}):\n{tail}")
                results[checkout].append(json.loads(run.stdout.strip().splitlines()[-1]))
    return results


def print_in_turn(results: dict[Path, list[dict[str, float]]], this: Path) -> None:
    """The p50 of every round per checkout and kind, and this checkout's median less the others'."""
    kinds = sorted({kind for rounds in results.values() for medians in rounds for kind in medians})
    print(f"end to end p50 in ms, each checkout in a process of its own, taken in turn "
          f"({len(next(iter(results.values())))} round(s)):")
    names = {checkout: f"{checkout} ({'this' if checkout == this else 'other'})" for checkout in results}
    cells = {checkout: [" ".join(f"{medians[kind]:.2f}" for medians in rounds) for kind in kinds]
             for checkout, rounds in results.items()}
    width = max(len(name) for name in names.values())
    # Each column as wide as its widest cell (rounds x 6 characters) and its title, plus 3 spaces.
    columns = [max(len(kind), *(len(row[index]) for row in cells.values())) + 3 for index, kind in enumerate(kinds)]
    print(f"{'checkout':<{width}}" + "".join(f"{kind:>{column}}" for kind, column in zip(kinds, columns)))
    for checkout in results:
        print(f"{names[checkout]:<{width}}" + "".join(f"{cell:>{column}}" for cell, column in zip(cells[checkout], columns)))
    for checkout, rounds in results.items():
        if checkout != this:
            differences = [float(np.median([medians[kind] for medians in results[this]]))
                           - float(np.median([medians[kind] for medians in rounds])) for kind in kinds]
            print(f"this less {checkout}, median over rounds: "
                  + ", ".join(f"{kind} {difference:+.2f} ms" for kind, difference in zip(kinds, differences)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per measurement")
    parser.add_argument("--no-cold-start", action="store_true", help="skip timing `digitbot predict` as a new process")
    parser.add_argument("--against", type=Path, default=None, metavar="CHECKOUT",
                        help="instead: end-to-end p50 of this checkout and CHECKOUT, in turn, on the same photos")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --against: times each checkout is measured (the median of 3 ignores one outlier)")
    args = parser.parse_args(argv)
    if args.against is not None:
        this = Path(__file__).resolve().parent.parent
        against = args.against.absolute()
        if not (against / "core" / "classifier.py").is_file():
            parser.error(f"{against} is not a checkout of this project (no core/classifier.py)")
        if against == this:
            parser.error("--against needs another checkout than this one")
        photos = {"one digit": photos_1280x960(60) if (SYNTH / "labels.csv").is_file() else [],
                  "5-digit number": numbers_1280x960(30)}
        if not any(photos.values()):
            print(f"no photos to time: {SYNTH} is missing and there is no MNIST file to draw numbers from",
                  file=sys.stderr)
            return 1
        try:
            results = latency_in_turn([against, this], photos, args.repeats, max(1, args.rounds))
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        print_in_turn(results, this)
        return 0

    baseline = peak_rss_mb()
    started = time.perf_counter()
    from core.classifier import Classifier

    classifier = Classifier.from_path(args.model)
    load_seconds = time.perf_counter() - started
    after_load = peak_rss_mb()
    print(f"CPU cores: {os.cpu_count()}; model {classifier.path.name} loaded in {load_seconds:.1f} s "
          f"(import + load + first run)")
    print(f"peak RSS: {baseline:.0f} MB before, {after_load:.0f} MB after loading the model")

    photos = photos_1280x960(60) if (SYNTH / "labels.csv").is_file() else []
    if photos:
        print(f"end to end, 1280x960 JPEG of one digit -> result:  {percentiles(time_reading(classifier, photos, args.repeats))}"
              "   target p50 <= 11.5, p99 <= 40")
    else:
        print(f"end to end: SKIP ({SYNTH} is missing)")
    numbers = numbers_1280x960(30)
    if numbers:
        print(f"end to end, 1280x960 JPEG of a 5-digit number:     {percentiles(time_reading(classifier, numbers, args.repeats))}"
              "   target p50 <= 20")
    else:
        print("end to end, 5-digit numbers: SKIP (no MNIST file to draw them from)")

    timings, rate = model_alone(classifier, args.repeats * 3)
    print(f"model alone, one 28x28 image:         {percentiles(timings)}   target p50 <= 1")
    print(f"batch of 256: {rate:,.0f} digits/s   target >= 5,000")
    print(f"peak RSS after the runs: {peak_rss_mb():.0f} MB")
    print(f"TensorFlow imported by serving: {'yes (it must not be)' if 'tensorflow' in sys.modules else 'no'}")
    if photos and not args.no_cold_start:
        with tempfile.TemporaryDirectory() as folder:
            one = Path(folder) / "one.jpg"
            one.write_bytes(photos[0])
            digitbot = Path(sys.executable).with_name("digitbot")
            predict = [str(digitbot), "predict", str(one)] if digitbot.is_file() else \
                [sys.executable, "-m", "bot.cli", "predict", str(one)]
            bare = cold_start_seconds([sys.executable, "-c", "import numpy, cv2, PIL.Image"])
            cold = cold_start_seconds(predict)
        print(f"cold start: `digitbot predict one.jpg` {cold:.2f} s, bare `import numpy, cv2, PIL.Image` {bare:.2f} s "
              f"({cold / bare:.1f}x; target <= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
