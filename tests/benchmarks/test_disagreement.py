"""The fit behind the confidences of disagreeing readings (benchmarks.disagreement)."""

from __future__ import annotations

import numpy as np

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
