"""The anytime-valid comparison: A/A under daily peeking, a planted effect, coverage."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from training.experiment_stats import (
    MIN_PER_ARM,
    difference,
    difference_path,
    fixed_n_interval,
)

DAYS = 30
PER_DAY = 100
RUNS = 50
MAX_FALSE_POSITIVES = 4  # 8% of 50 runs at alpha = 5%


def _experiment(seed: int, rate_a: float, rate_b: float) -> tuple[np.ndarray, np.ndarray]:
    """Customers arriving over DAYS days, half in arm A; a Bernoulli outcome per customer."""
    rng = np.random.default_rng(seed)
    n = DAYS * PER_DAY
    in_a = rng.random(n) < 0.5
    y = (rng.random(n) < np.where(in_a, rate_a, rate_b)).astype(float)
    return y, in_a


def _sequence_rejects(y: np.ndarray, in_a: np.ndarray) -> bool:
    """Does the confidence sequence exclude 0 at the end of any day?"""
    _, low, high, _, _ = difference_path(y, in_a)
    ends = np.arange(PER_DAY - 1, len(y), PER_DAY)
    return bool(np.any((low[ends] > 0) | (high[ends] < 0)))


def _naive_rejects(y: np.ndarray, in_a: np.ndarray) -> bool:
    """Does the fixed-sample z interval exclude 0 at the end of any day?"""
    for end in range(PER_DAY, len(y) + 1, PER_DAY):
        a, b = y[:end][in_a[:end]], y[:end][~in_a[:end]]
        _, low, high = fixed_n_interval(a, b)
        if low > 0 or high < 0:
            return True
    return False


def _false_positives(rejects: Callable[[np.ndarray, np.ndarray], bool]) -> int:
    return sum(rejects(*_experiment(seed, 0.08, 0.08)) for seed in range(RUNS))


def test_a_a_false_positives_stay_nominal_when_read_daily() -> None:
    assert _false_positives(_sequence_rejects) <= MAX_FALSE_POSITIVES


def test_the_a_a_check_catches_a_method_that_is_not_anytime_valid() -> None:
    # the same harness fails a fixed-sample interval read daily: the check has teeth
    assert _false_positives(_naive_rejects) > MAX_FALSE_POSITIVES


def test_a_planted_effect_is_detected_with_its_sign() -> None:
    detected = 0
    for seed in range(20):
        y, in_a = _experiment(100 + seed, 0.13, 0.08)
        interval = difference(y[in_a], y[~in_a])
        assert interval.estimate is not None and interval.estimate > 0
        detected += interval.low is not None and interval.low > 0
    assert detected >= 18


@pytest.mark.parametrize("true_difference", [0.0, 0.03, -0.02])
def test_the_interval_covers_the_true_difference_in_at_least_90_percent_of_seeds(
    true_difference: float,
) -> None:
    covered = 0
    for seed in range(100):
        y, in_a = _experiment(1000 + seed, 0.08 + max(true_difference, 0), 0.08 - min(
            true_difference, 0))  # fmt: skip
        _, low, high, _, _ = difference_path(y, in_a)
        ends = np.arange(PER_DAY - 1, len(y), PER_DAY)
        ready = ~np.isnan(low[ends])
        covered += bool(np.all((low[ends][ready] <= true_difference)
                               & (true_difference <= high[ends][ready])))  # fmt: skip
    assert covered >= 90


def test_skewed_values_a_a_stays_nominal() -> None:
    # value per customer: mostly 0, sometimes a sale worth 50..5000 yuan
    false_positives = 0
    for seed in range(RUNS):
        rng = np.random.default_rng(5000 + seed)
        n = DAYS * PER_DAY
        in_a = rng.random(n) < 0.5
        y = (rng.random(n) < 0.08) * rng.choice([50.0, 200.0, 800.0, 5000.0], n)
        false_positives += _sequence_rejects(y, in_a)
    assert false_positives <= MAX_FALSE_POSITIVES


def test_no_interval_until_both_arms_have_enough_customers() -> None:
    interval = difference(np.ones(MIN_PER_ARM - 1), np.zeros(500))
    assert interval.estimate == 1.0
    assert interval.low is None and interval.high is None
    assert not interval.excludes_zero
    assert difference(np.ones(MIN_PER_ARM), np.zeros(MIN_PER_ARM)).excludes_zero


def test_the_band_is_wider_than_the_fixed_sample_interval() -> None:
    y, in_a = _experiment(7, 0.1, 0.08)
    band = difference(y[in_a], y[~in_a])
    _, low, high = fixed_n_interval(y[in_a], y[~in_a])
    assert band.low is not None and band.high is not None
    assert band.low < low and band.high > high
