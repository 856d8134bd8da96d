"""Speed and memory of the reading pipeline on this machine's CPU.

Prints: end-to-end latency (JPEG bytes of a 1280x960 photo to a PhotoReading) p50/p99,
the model alone on one 28x28 image p50/p99, batch-of-256 throughput in digits per second,
and the process's peak resident memory after loading the model and after the runs.

Usage::

    python -m benchmarks.speed [--model PATH] [--repeats N]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per measurement")
    args = parser.parse_args(argv)

    baseline = peak_rss_mb()
    started = time.perf_counter()
    from core.classifier import Classifier
    from core.errors import DigitImageError

    classifier = Classifier.from_path(args.model)
    load_seconds = time.perf_counter() - started
    after_load = peak_rss_mb()
    print(f"CPU cores: {os.cpu_count()}; model {args.model.name} loaded in {load_seconds:.1f} s "
          f"(import + load + first trace)")
    print(f"peak RSS: {baseline:.0f} MB before, {after_load:.0f} MB after loading the model")

    photos = photos_1280x960(60) if (SYNTH / "labels.csv").is_file() else []
    if photos:
        for data in photos[:5]:  # warm up caches
            try:
                classifier.read_photo(data)
            except DigitImageError:
                pass
        timings = []
        for index in range(args.repeats):
            data = photos[index % len(photos)]
            begin = time.perf_counter()
            try:
                classifier.read_photo(data)
            except DigitImageError:
                pass
            timings.append(time.perf_counter() - begin)
        print(f"end to end, 1280x960 JPEG -> result: {percentiles(timings)}   target p50 <= 15, p99 <= 40")
    else:
        print(f"end to end: SKIP ({SYNTH} is missing)")

    image = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    for _ in range(20):
        classifier.predict_logits(image)
    timings = []
    for _ in range(args.repeats * 3):
        begin = time.perf_counter()
        classifier.predict_probabilities(image)
        timings.append(time.perf_counter() - begin)
    print(f"model alone, one 28x28 image:         {percentiles(timings)}   target p50 <= 2")

    batch = np.random.default_rng(1).random((256, 28, 28), dtype=np.float32)
    classifier.predict_logits(batch)
    rounds, begin = 30, time.perf_counter()
    for _ in range(rounds):
        classifier.predict_probabilities(batch)
    rate = rounds * len(batch) / (time.perf_counter() - begin)
    print(f"batch of 256: {rate:,.0f} digits/s   target >= 5,000")
    print(f"peak RSS after the runs: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
