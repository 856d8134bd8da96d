"""Is the model's confidence honest on real photos? Expected calibration error, and a temperature.

Reads the single digits of ``../shared/data/real_digits_dev/`` (crops, ``more/`` photos,
``scans/``), each through the whole pipeline as the bot reads it, and keeps the photos where
exactly one digit is read (the others are reported, not scored). For each it takes the
model's logits of that digit. The tune half (``benchmarks.splits``) fits a temperature T
(``softmax(logits / T)``; Guo et al., "On Calibration of Modern Neural Networks", 2017) by
minimising the negative log-likelihood over a log-spaced grid; the check half, never used to
fit, reports what users would meet:

- ECE: expected calibration error, 15 equal-width confidence bins (Guo et al. 2017), in
  percentage points;
- how often answers said >= 90 % (and >= 99 %) sure are right.

The fitted T is adopted only if the check half's ECE does not get worse with it (tune on
half, judge on the other half); otherwise the model needs none and T = 1 is kept.
``--write`` records the adopted T and these figures in the model card (``digit_cnn.json``:
what serving applies) and ``metrics.json`` beside the model.

Usage::

    python -m benchmarks.calibration [--model models/digit_cnn.tflite] [--write]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.splits import DIGITS_DATA, real_digits_halves, real_digits_sources
from core.atomic import write_json_atomic
from core.config import DEFAULT_MODEL_PATH, METRICS_FILENAME, MODEL_CARD_FILENAME, NUM_CLASSES
from core.errors import DigitImageError

SINGLE_DIGIT_GROUPS = ("crops", "more", "scans")
ECE_BINS = 15
#: The temperatures tried: 0.25 to 4, log-spaced.
TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 161))


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE in [0, 1]: the bin-size-weighted mean |accuracy - mean confidence| over equal-width bins.

    Args:
        confidences: float (N,), the probability of each answer, in [0, 1].
        correct: bool (N,), whether each answer was right.
        bins: number of equal-width bins over [0, 1].
    """
    if len(confidences) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidences, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for index in range(bins):
        members = which == index
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidences[members].mean())
    return float(total)


def scores(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """Accuracy, ECE and the reliability of confident answers at one temperature.

    Args:
        logits: float32 (N, K), K = 10 or 11 (the last "not a digit").
        labels: int (N,), digits 0-9.
        temperature: > 0.
    """
    from core.classifier import softmax

    probabilities = softmax(logits / temperature)
    digits = probabilities[:, :NUM_CLASSES]
    answers, confidences = digits.argmax(axis=1), digits.max(axis=1)
    correct = answers == labels
    out = {"n": int(len(labels)), "accuracy": float(correct.mean()) if len(labels) else 0.0,
           "mean_confidence": float(confidences.mean()) if len(labels) else 0.0,
           "ece_points": 100 * expected_calibration_error(confidences, correct),
           "nll": float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1))))}
    for level in (0.9, 0.99):
        sure = confidences >= level
        out[f"said_{round(level * 100)}_count"] = int(sure.sum())
        out[f"said_{round(level * 100)}_right"] = float(correct[sure].mean()) if sure.any() else None
    return out


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in :data:`TEMPERATURES` with the lowest negative log-likelihood."""
    losses = [scores(logits, labels, temperature)["nll"] for temperature in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def collect(classifier, root: Path) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """``{half: (logits (N, K), labels (N,), photos not read as one digit)}`` over the single-digit groups."""
    halves, _ = real_digits_halves(root)
    gathered: dict[str, tuple[list, list, int]] = {"tune": ([], [], 0), "check": ([], [], 0)}
    sources = real_digits_sources(root)
    labels_by_path = {}
    for group in SINGLE_DIGIT_GROUPS:
        import csv

        folder = root if group == "crops" else root / group
        with open(folder / "labels.csv", newline="", encoding="utf-8") as handle:
            labels_by_path.update({folder / row["file"]: int(row["label"]) for row in csv.DictReader(handle)})
    for group in SINGLE_DIGIT_GROUPS:
        for path, _ in sources.get(group, []):
            half = halves[path]
            logits_list, labels_list, skipped = gathered[half]
            try:
                reading, segmentation = classifier.read_photo_with_steps(path.read_bytes())
            except DigitImageError:
                gathered[half] = (logits_list, labels_list, skipped + 1)
                continue
            if len(reading.digits) != 1:
                gathered[half] = (logits_list, labels_list, skipped + 1)
                continue
            logits_list.append(classifier.predict_logits(segmentation.digit_images)[0])
            labels_list.append(labels_by_path[path])
    return {half: (np.array(logits, np.float32), np.array(labels, np.int64), skipped)
            for half, (logits, labels, skipped) in gathered.items()}


def _line(name: str, figures: dict) -> str:
    def percent(value):
        return "   -  " if value is None else f"{100 * value:6.2f}"

    return (f"{name:<26} n={figures['n']:>5}  accuracy {100 * figures['accuracy']:6.2f} %  "
            f"ECE {figures['ece_points']:5.2f} pt  said>=90%: {figures['said_90_count']:>5} right "
            f"{percent(figures['said_90_right'])} %  said>=99%: {figures['said_99_count']:>5} right "
            f"{percent(figures['said_99_right'])} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DIGITS_DATA)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--write", action="store_true",
                        help="record the fitted temperature and the figures in the model card and metrics.json")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"SKIP: {args.data} is absent (the real-photo yardstick is not committed)")
        return 0
    from core.classifier import Classifier

    classifier = Classifier.from_path(args.model)
    served_temperature = classifier.temperature
    classifier.temperature = 1.0  # logits are read raw; every temperature is applied here
    halves = collect(classifier, args.data)
    tune_logits, tune_labels, tune_skipped = halves["tune"]
    check_logits, check_labels, check_skipped = halves["check"]
    print(f"single-digit photos read as one digit: tune {len(tune_labels)} (+{tune_skipped} not), "
          f"check {len(check_labels)} (+{check_skipped} not)")
    temperature = fit_temperature(tune_logits, tune_labels)
    report = {"fitted_on": "real_digits_dev tune half", "temperature": round(temperature, 4)}
    for name, logits, labels in (("tune", tune_logits, tune_labels), ("check", check_logits, check_labels)):
        for kind, value in (("raw", 1.0), ("calibrated", temperature)):
            figures = scores(logits, labels, value)
            print(_line(f"{name} half, T={value:.2f}", figures))
            report[f"{name}_{kind}"] = {
                key: (round(v, 5) if isinstance(v, float) else v) for key, v in figures.items()}
    adopted = temperature if report["check_calibrated"]["ece_points"] <= report["check_raw"]["ece_points"] else 1.0
    report["adopted_temperature"] = round(adopted, 4)
    report["check_served"] = report["check_calibrated"] if adopted != 1.0 else report["check_raw"]
    verdict = "adopted" if adopted != 1.0 else "not adopted: it makes the check half's ECE worse, so T = 1"
    print(f"fitted temperature {temperature:.3f} on the tune half, {verdict} (served now: {served_temperature:.3f})")
    temperature = adopted
    if args.write:
        model_dir = Path(args.model).parent
        card_path = model_dir / MODEL_CARD_FILENAME
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card["temperature"] = round(temperature, 4)
        write_json_atomic(card_path, card)
        metrics_path = model_dir / METRICS_FILENAME
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
        metrics["calibration"] = report
        write_json_atomic(metrics_path, metrics)
        print(f"wrote temperature {temperature:.3f} into {card_path} and the figures into {metrics_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
