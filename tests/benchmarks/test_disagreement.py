"""The fit behind the confidences of disagreeing readings (benchmarks.disagreement)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.disagreement import fit_logistic, predict, readers_shares


def test_the_logistic_fit_recovers_the_weights_that_drew_the_outcomes():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(20_000, 2))
    truth = np.array([-0.5, 1.5, -2.0])
    outcomes = rng.random(len(features)) < predict(truth, features)
    np.testing.assert_allclose(fit_logistic(features, outcomes), truth, atol=0.1)


def test_the_readers_shares_are_each_readings_own_confidence_over_the_sum():
    # line given, digits 0.9 / line 0.3; then digits given, digits 0.2 / line 0.6
    features = np.array([[1.0, 5.0, np.log(0.9), np.log(0.3)], [0.0, -1.0, np.log(0.2), np.log(0.6)]])
    np.testing.assert_allclose(readers_shares("given", features), [0.25, 0.25])
    np.testing.assert_allclose(readers_shares("runner_up", features), [0.75, 0.75])


def test_overconfident_digits_get_a_temperature_above_one():
    from benchmarks.disagreement import digits_report

    rng = np.random.default_rng(1)
    digits = []
    for index in range(2_000):
        label = int(rng.integers(10))
        said = label if rng.random() < 0.8 else (label + 1) % 10  # right 80 % of the time ...
        log_probabilities = np.full(10, np.log(0.01 / 9))
        log_probabilities[said] = np.log(0.99)  # ... but always 99 % sure
        digits.append({"half": "tune" if index % 2 else "check", "label": label, "log_probabilities": log_probabilities})
    text, temperature = digits_report(digits, serving=1.0)
    assert temperature > 1.5 and "1000 (check half)" in text


def test_readings_always_said_sure_but_right_a_quarter_of_the_time_get_a_scale_near_a_quarter():
    from benchmarks.disagreement import fit_scale, said_sure, silent_report

    rng = np.random.default_rng(2)
    right = rng.random(4_000) < 0.25
    confidences = [[0.999]] * len(right)
    assert fit_scale(confidences, right) == pytest.approx(0.25, abs=0.03)
    np.testing.assert_allclose(said_sure([[0.9, 0.5], [1.0]], 0.5), [0.1125, 0.5])
    readings = [{"kind": "silent", "half": "tune" if index % 2 else "check", "right": bool(ok), "confidences": [0.999]}
                for index, ok in enumerate(right)]
    text, scale = silent_report(readings, serving=1.0)
    assert scale == pytest.approx(0.25, abs=0.03) and "2000 (check half" in text
