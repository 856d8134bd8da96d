"""When the two readers disagree, how sure should the reply be? Fits and checks the confidences.

Reads every plain number of :mod:`benchmarks.real_numbers` (cheque amounts and register
cells) through the whole pipeline, one at a time. Where the per-digit path and the number
reader disagree, the reply gives one reading and names the other as the runner-up, each with
a confidence (:func:`core.classifier.disagreement_confidences` of
:func:`core.classifier.disagreement_features`). This records each disagreement's features and
whether the given reading, and the runner-up, is the label. On the tune halves it fits two
logistic regressions on those features (Platt scaling: Platt 1999; Newton's method with a
1e-2 L2 penalty), one per reading; on the check halves, never used to fit, it reports for the
confidences serving uses now (``core.classifier.DISAGREEMENT_GIVEN`` and
``DISAGREEMENT_RUNNER_UP``), for the fitted ones, and for the shares given before these
(``shares``: each reading's own reader's confidence over the two's sum):

- the expected calibration error (15 bins, :func:`benchmarks.calibration.expected_calibration_error`),
  in percentage points;
- the mean confidence beside how often the reading was right, per set.

The per-digit confidences of a reading the number reader gave are its softmax at each digit's
peak, softened by ``core.classifier.READER_DIGIT_TEMPERATURE``; those of a per-digit reading
given over a different reading of the number reader are the classifier's, softened by
``DISAGREEMENT_DIGIT_TEMPERATURE``. For each, a temperature is fitted on those digits of the
tune halves (least negative log-likelihood, as :mod:`benchmarks.calibration` does for the
classifier alone) and checked on the check halves.

Where the number readers read the line and found no digit in it while the per-digit path read
one (``core.results.PhotoReading.line_reader_read_nothing``: mostly a border or a stroke the
classifier calls a 1), it fits a scale of the digits' probabilities
(``core.classifier.SILENT_READER_DIGIT_SCALE``) on the tune halves' such readings, by how often
each was right, and reports each reading's confidence (the product over its digits) against
how often it was right on the check halves.

It prints the fitted coefficients, temperatures and scale, to be written into ``core/classifier.py``
when they check better than the ones there (refit when the classifier or the number reader
changes).

Usage::

    python -m benchmarks.disagreement [--data ../shared/data/real_numbers_dev] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.calibration import expected_calibration_error, fit_temperature, scores
from benchmarks.real_numbers import load_items
from benchmarks.splits import HALVES, NUMBERS_DATA
from core.config import DEFAULT_MODEL_PATH
from core.errors import DigitImageError

#: The two readings a disagreement's reply names.
READINGS = ("given", "runner_up")

#: Where each kind of digit's serving temperature is set in core.classifier.
TEMPERATURE_NAMES = {"reader": "READER_DIGIT_TEMPERATURE", "classifier": "DISAGREEMENT_DIGIT_TEMPERATURE"}

#: The scales fitted on the tune halves' digits of a reading the number readers read no digit in.
SCALES = np.round(np.arange(0.02, 1.0001, 0.01), 2)


def serving_temperature(kind: str) -> float:
    """The temperature core.classifier applies to one kind of digit (``"reader"``, ``"classifier"``)."""
    import core.classifier

    return float(getattr(core.classifier, TEMPERATURE_NAMES[kind]))


def collect(classifier, items: list) -> tuple[list[dict], list[dict]]:
    """The disagreements and the digits the number reader gave.

    Returns:
        ``(records, digits)``: one record per item whose reading has a runner-up, ``{"set",
        "half", "features", "given", "runner_up"}``, the last two whether that reading is the
        label; and one per digit of each reading with as many digits as the label that was
        given by the number reader (``"kind": "reader"``) or by the classifier over a different
        reading of the number reader (``"classifier"``), with ``"half"``, ``"label"`` and
        ``"log_probabilities"``: float64 (10,), before the serving temperature of its kind
        (:func:`serving_temperature`), up to a constant; and one per reading the number readers
        read no digit in, of any length (``"kind": "silent"``), with ``"half"``, ``"right"``
        (the reading is the label) and ``"confidences"``: its digits' confidences before the
        serving scale.

    The features are taken as :func:`core.classifier.disagreement_confidences` receives them
    (wrapped for the run; items are read one at a time, so each call is the current item's).
    When segmentation tried more than one line, the call whose confidences the reading
    carries is the one kept.
    """
    import core.classifier

    calls: list[tuple[np.ndarray, tuple[float, float]]] = []
    confidences = core.classifier.disagreement_confidences

    def recording(features):
        result = confidences(features)
        calls.append((np.asarray(features, np.float64), result))
        return result

    records, digits = [], []
    core.classifier.disagreement_confidences = recording
    try:
        for item in items:
            calls.clear()
            try:
                reading = classifier.read_photo(item.path.read_bytes())
            except (DigitImageError, OSError):
                continue
            if reading.line_reader_read_nothing:
                kind = "silent"
            else:
                kind = {"line": "reader", "digits": "classifier" if reading.runner_up else None}.get(reading.method)
            if kind == "silent":
                scale = float(core.classifier.SILENT_READER_DIGIT_SCALE)
                digits.append({"kind": kind, "half": item.half, "right": reading.number == item.label,
                               "confidences": [prediction.confidence / scale for prediction in reading.digits]})
            elif kind and len(reading.number) == len(item.label):
                temperature = serving_temperature(kind)
                for prediction, label in zip(reading.digits, item.label):
                    shown = np.log(np.clip(np.asarray(prediction.probabilities, np.float64), 1e-12, 1.0))
                    digits.append({"kind": kind, "half": item.half, "label": int(label),
                                   "log_probabilities": shown * temperature})
            if not reading.runner_up:
                continue
            shown = (reading.number_confidence, reading.runner_up_confidence)
            features = next((features for features, result in reversed(calls) if result == shown), None)
            if features is None:
                continue
            records.append({"set": item.set_name, "half": item.half, "features": features,
                            "given": reading.number == item.label, "runner_up": reading.runner_up == item.label})
    finally:
        core.classifier.disagreement_confidences = confidences
    return records, digits


def digits_report(digits: list[dict], serving: float, kind: str = "reader") -> tuple[str, float]:
    """The check halves' figures of one kind of digits (see :func:`collect`) at temperature 1, at
    the serving temperature and at the one fitted on the tune halves
    (:func:`benchmarks.calibration.fit_temperature`); returns ``(text, fitted temperature)``."""
    digits = [digit for digit in digits if digit.get("kind", "reader") == kind]
    by_half = {half: [digit for digit in digits if digit["half"] == half] for half in HALVES}
    if not by_half["tune"] or not by_half["check"]:
        return f"too few {kind} digits to fit a temperature", serving

    def arrays(half):
        return (np.stack([digit["log_probabilities"] for digit in by_half[half]]),
                np.array([digit["label"] for digit in by_half[half]]))

    fitted = fit_temperature(*arrays("tune"))
    logits, labels = arrays("check")
    given_by = {"reader": "the number reader gave", "classifier": "the classifier gave over the number reader's"}[kind]
    lines = [f"digits of the readings {given_by}: {len(by_half['tune'])} (tune half), "
             f"{len(labels)} (check half); check half:",
             f"{'temperature':>11} {'ECE':>6} {'mean conf':>10} {'right':>7} {'said >=90 %':>12} {'right':>7}"]
    for temperature in (1.0, serving, fitted):
        figures = scores(logits, labels, temperature)
        sure_right = "-" if figures["said_90_right"] is None else f"{figures['said_90_right']:.1%}"
        lines.append(f"{temperature:>11.2f} {figures['ece_points']:>6.1f} {figures['mean_confidence']:>10.1%} "
                     f"{figures['accuracy']:>7.1%} {figures['said_90_count']:>12} {sure_right:>7}")
    return "\n".join(lines), fitted


def said_sure(confidences: list[list[float]], scale: float) -> np.ndarray:
    """float64 (N,): how sure each reading is said to be when each of its digits' unscaled
    confidences (one list per reading) is scaled by ``scale``: the product over its digits."""
    return np.array([np.prod([scale * confidence for confidence in reading]) for reading in confidences])


def fit_scale(confidences: list[list[float]], right: np.ndarray) -> float:
    """The scale in :data:`SCALES` whose readings' confidences (:func:`said_sure`) best predict
    whether each reading is right (``right``: bool (N,)), by least binary negative
    log-likelihood."""
    def loss(scale: float) -> float:
        said = np.clip(said_sure(confidences, scale), 1e-6, 1 - 1e-6)
        return float(-np.sum(np.where(right, np.log(said), np.log1p(-said))))

    return float(SCALES[int(np.argmin([loss(scale) for scale in SCALES]))])


def silent_report(readings: list[dict], serving: float) -> tuple[str, float]:
    """The check halves' figures of the readings the number readers read no digit in (see
    :func:`collect`; a reading counts as right when it is the label), unscaled, at the serving
    scale and at the one fitted on the tune halves (:func:`fit_scale`); returns ``(text,
    fitted scale)``."""
    readings = [reading for reading in readings if reading.get("kind") == "silent"]
    by_half = {half: [reading for reading in readings if reading["half"] == half] for half in HALVES}
    if not by_half["tune"] or not by_half["check"]:
        return "too few readings where the number readers read no digit to fit a scale", serving

    def arrays(half):
        return ([reading["confidences"] for reading in by_half[half]],
                np.array([reading["right"] for reading in by_half[half]]))

    fitted = fit_scale(*arrays("tune"))
    confidences, right = arrays("check")
    lines = [f"readings the classifier gave where the number readers read no digit: "
             f"{len(by_half['tune'])} (tune half, {int(arrays('tune')[1].sum())} right), {len(right)} "
             f"(check half, {int(right.sum())} right); check half, reading by reading:",
             f"{'scale':>11} {'ECE':>6} {'mean conf':>10} {'right':>7} {'said >=90 %':>12} {'right':>7}"]
    for scale in (1.0, serving, fitted):
        said = said_sure(confidences, scale)
        sure = said >= 0.9
        sure_right = f"{right[sure].mean():.1%}" if sure.any() else "-"
        lines.append(f"{scale:>11.2f} {100 * expected_calibration_error(said, right):>6.1f} {said.mean():>10.1%} "
                     f"{right.mean():>7.1%} {int(sure.sum()):>12} {sure_right:>7}")
    return "\n".join(lines), fitted


def fit_logistic(features: np.ndarray, outcomes: np.ndarray, l2: float = 1e-2, steps: int = 50) -> np.ndarray:
    """Weights ``[intercept, w_1, ..., w_k]`` of a logistic regression, by Newton's method.

    Args:
        features: float (N, k).
        outcomes: bool (N,).
        l2: ridge penalty on every weight (keeps the fit finite when a feature separates).
        steps: Newton steps.

    Returns:
        float64 (k + 1,).
    """
    design = np.hstack([np.ones((len(features), 1)), features])
    target = outcomes.astype(np.float64)
    weights = np.zeros(design.shape[1])
    for _ in range(steps):
        probability = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (probability - target) + l2 * weights
        hessian = design.T @ (design * (probability * (1 - probability))[:, None]) + l2 * np.eye(len(weights))
        weights -= np.linalg.solve(hessian, gradient)
    return weights


def predict(weights, features: np.ndarray) -> np.ndarray:
    """float64 (N,): the logistic regression's probabilities for float (N, k) features."""
    weights = np.asarray(weights, np.float64)
    return 1.0 / (1.0 + np.exp(-(weights[0] + features @ weights[1:])))


def readers_shares(reading: str, features: np.ndarray) -> np.ndarray:
    """float64 (N,): the confidences given before the fit, for comparison: each reading's own
    reader's confidence (the per-digit product, the number reader's best path) as a share of
    the two; from :func:`core.classifier.disagreement_features` (N, 4)."""
    line_given = features[:, 0] > 0.5
    digits, line = np.exp(features[:, 2]), np.exp(features[:, 3])
    given = np.where(line_given, line, digits)
    share = given / np.maximum(digits + line, 1e-12)
    return share if reading == "given" else 1.0 - share


def report(records: list[dict], confidences: dict[str, dict[str, object]]) -> str:
    """The check halves' figures for each way of giving confidences (``{name: {reading: f}}``,
    ``f`` mapping float (N, 4) features to float (N,) probabilities)."""
    lines = ["check halves: expected calibration error (points), mean confidence / share right",
             f"{'confidences':<12} {'reading':<10} {'set':<8} {'count':>5} {'ECE':>6} {'mean conf':>10} {'right':>7}"]
    check = [record for record in records if record["half"] == "check"]
    for name, functions in confidences.items():
        for reading in READINGS:
            for set_name in ("cheques", "ledger", "all"):
                chosen = [record for record in check if set_name in ("all", record["set"])]
                if not chosen:
                    continue
                features = np.stack([record["features"] for record in chosen])
                right = np.array([record[reading] for record in chosen])
                confidence = functions[reading](features)
                ece = expected_calibration_error(confidence, right)
                lines.append(f"{name:<12} {reading:<10} {set_name:<8} {len(chosen):>5} {100 * ece:>6.1f} "
                             f"{confidence.mean():>10.1%} {right.mean():>7.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=NUMBERS_DATA, help="folder holding cheques/ and ledger/")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--limit", type=int, default=None, help="only the first N items of each set")
    args = parser.parse_args(argv)
    items, _ = load_items(args.data, limit=args.limit)
    if not items:
        print(f"no labelled numbers under {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 1

    import core.classifier
    from core.classifier import Classifier

    started = time.perf_counter()
    records, digits = collect(Classifier.from_path(args.model), items)
    counts = {half: sum(record["half"] == half for record in records) for half in HALVES}
    print(f"{len(items)} numbers read in {time.perf_counter() - started:.0f} s; the readers disagreed on "
          f"{counts['tune']} (tune half) and {counts['check']} (check half)")
    tune = [record for record in records if record["half"] == "tune"]
    if not tune:
        print("no disagreement on the tune halves: nothing to fit", file=sys.stderr)
        return 1
    features = np.stack([record["features"] for record in tune])
    fitted = {reading: fit_logistic(features, np.array([record[reading] for record in tune])) for reading in READINGS}
    serving = {"given": core.classifier.DISAGREEMENT_GIVEN, "runner_up": core.classifier.DISAGREEMENT_RUNNER_UP}
    print(report(records, {
        "shares": {reading: lambda x, reading=reading: readers_shares(reading, x) for reading in READINGS},
        "serving": {reading: lambda x, reading=reading: predict(serving[reading], x) for reading in READINGS},
        "fitted": {reading: lambda x, reading=reading: predict(fitted[reading], x) for reading in READINGS},
    }))
    print("fitted on the tune halves (intercept, line given, advantage, log digits conf., log line conf.):")
    for reading, name in zip(READINGS, ("DISAGREEMENT_GIVEN", "DISAGREEMENT_RUNNER_UP")):
        print(f"{name} = ({', '.join(f'{value:.3f}' for value in fitted[reading])})")
    for kind, name in TEMPERATURE_NAMES.items():
        text, temperature = digits_report(digits, serving_temperature(kind), kind)
        print(text)
        print(f"{name} = {temperature:.2f} (fitted on the tune half)")
    text, scale = silent_report(digits, float(core.classifier.SILENT_READER_DIGIT_SCALE))
    print(text)
    print(f"SILENT_READER_DIGIT_SCALE = {scale:.2f} (fitted on the tune half)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
