"""The hidden truth and the simulated world agree with what the truth expects; the report's
intervals cover the truth's lifts (no service involved: the policies read the truth)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from training.experiment_report import experiment_report
from training.simulate.expected import expected_outcomes
from training.simulate.run import product_values
from training.simulate.world import World
from training.synth.reader import read_bank
from training.synth.truth import Truth, build_truth

START = dt.date(2026, 10, 31)


def _toy_truth(n: int, seed: int) -> Truth:
    rng = np.random.default_rng(seed)
    base = np.column_stack([rng.uniform(0.0, 0.008, n), rng.uniform(0.0, 0.02, n)])
    uplift = np.column_stack([rng.uniform(0.0, 0.2, n), rng.uniform(0.1, 0.5, n)])
    ids = np.char.mod("C%08d", np.arange(n))
    return Truth(ids, ("a", "b"), START, seed, base, uplift)


def test_the_worlds_adoptions_match_the_truths_expectations() -> None:
    n, days, window = 40_000, 20, 30
    truth = _toy_truth(n, 1)
    rng = np.random.default_rng(2)
    world = World(truth, rng=rng, window_days=window)
    first = rng.integers(0, 10, n)
    product = np.where(rng.random(n) < 0.5, rng.integers(0, 2, n), -1)
    for c in np.argsort(first, kind="stable"):
        if product[c] >= 0:
            world.answer(int(c), truth.product_ids[product[c]], int(first[c]), "r")
    decisions = pd.DataFrame({"customer": np.arange(n), "day": first, "arm": "x",
                              "product": product})  # fmt: skip
    expected = expected_outcomes(truth, decisions, days=days, window_days=window,
                                 values=np.array([100.0, 10.0]))  # fmt: skip
    opened = world.adoption_day(days)
    end = np.minimum(first + window + 1, days)
    inside = (opened >= first[:, None]) & (opened < end[:, None])
    realized = inside.any(axis=1).astype(float)
    for pitched in (product >= 0, product < 0):
        got, want = realized[pitched].mean(), expected["any_policy"].to_numpy()[pitched].mean()
        se = np.sqrt(want * (1 - want) / pitched.sum())
        assert abs(got - want) < 4 * se, (got, want)
    value = (inside * np.array([100.0, 10.0])).sum(axis=1)
    assert abs(value.mean() - expected["value_policy"].mean()) < 4 * value.std() / np.sqrt(n)
    # pitching adds exactly nothing where the truth says nothing
    no_pitch = product < 0
    assert np.allclose(expected["any_policy"][no_pitch], expected["any_nothing"][no_pitch])


def _policies(truth: Truth, values: np.ndarray) -> dict[str, Callable[[int], int]]:
    """Arm -> the product column pitched to customer c (-1: nothing)."""
    may = truth.base_daily > 0
    by_base = np.where(may, truth.base_daily * values, -1.0).argmax(axis=1)
    by_uplift = np.where(may, truth.uplift * values, -1.0).argmax(axis=1)
    return {
        "champion": lambda c: int(by_base[c]) if may[c].any() else -1,
        "oracle": lambda c: int(by_uplift[c]) if may[c].any() else -1,
        "holdout": lambda c: -1,
    }


def _run(truth: Truth, seed: int, days: int, values: np.ndarray, rates: np.ndarray,
         same_policy: bool = False) -> tuple[dict[str, Any], pd.DataFrame]:  # fmt: skip
    """One service-free run: visits from the channel habits, arms by a seeded draw (three,
    or two with the champion's policy for an A/A run)."""
    rng = np.random.default_rng(seed)
    world = World(truth, rng=rng, window_days=30)
    policies = _policies(truth, values)
    if same_policy:
        policies = {"champion": policies["champion"], "holdout": policies["champion"]}
    arm_names = np.array(list(policies))
    arms = arm_names[rng.integers(0, len(arm_names), len(truth))]
    rows = []
    for day in range(days):
        date = START + dt.timedelta(days=day + 1)
        for c in world.visits(rates):
            j = policies[arms[c]](int(c))
            pid = truth.product_ids[j] if j >= 0 else ""
            outcome = world.answer(int(c), pid, day, "r").outcome if pid else ""
            rows.append((int(c), truth.customer_ids[c], day, date, arms[c], j, pid,
                         outcome == "accepted"))  # fmt: skip
    d = pd.DataFrame(rows, columns=["customer", "customer_id", "dayno", "day", "arm", "product",
                                    "product_id", "accepted"])  # fmt: skip
    opened = world.adoption_day(days)
    who, col = np.nonzero(opened < days)
    adoptions = pd.DataFrame({
        "customer_id": truth.customer_ids[who], "product_id": np.array(truth.product_ids)[col],
        "day": [START + dt.timedelta(days=int(x) + 1) for x in opened[who, col]],
        "value": values[col],
    })  # fmt: skip
    expected = expected_outcomes(
        truth, d.rename(columns={"dayno": "_d"}).assign(day=d["dayno"]),
        days=days, window_days=30, values=values,
    )  # fmt: skip
    return experiment_report(d, adoptions), expected


@pytest.fixture(scope="module")
def bank_truth(synthetic_bank: Path) -> tuple[Truth, np.ndarray, np.ndarray]:
    frames = read_bank(synthetic_bank)
    truth = build_truth(frames, seed=3)
    values = product_values()
    vec = np.array([values[p] for p in truth.product_ids])
    rates = frames.customers["counter_visits_90d"].to_numpy(dtype=float) / 90
    return truth, vec, rates * 3  # busier branches: more customers per run


def test_the_report_covers_the_true_lift_over_holdout_in_90_percent_of_seeds(
    bank_truth: tuple[Truth, np.ndarray, np.ndarray],
) -> None:
    truth, values, rates = bank_truth
    covered = {"champion": 0, "oracle": 0}
    seeds = 50
    for seed in range(seeds):
        report, expected = _run(truth, seed, 10, values, rates)
        means = expected.groupby("arm")
        policy, nothing = means["any_policy"].mean(), means["any_nothing"].mean()
        for arm in covered:
            true_lift = policy[arm] - nothing["holdout"]
            band = report["arms"][arm]["vs_holdout"]
            covered[arm] += band["low"] <= true_lift <= band["high"]
    assert covered["champion"] >= 0.9 * seeds and covered["oracle"] >= 0.9 * seeds, covered


def test_a_challenger_that_sees_the_truth_is_found_better(
    bank_truth: tuple[Truth, np.ndarray, np.ndarray],
) -> None:
    truth, values, rates = bank_truth
    report, expected = _run(truth, 77, 30, values, rates)
    arms = report["arms"]
    lift = expected.assign(lift=expected["any_policy"] - expected["any_nothing"]).groupby(
        "arm")["lift"].mean()  # fmt: skip
    assert lift["oracle"] > lift["champion"] > lift["holdout"] == 0
    assert arms["oracle"]["vs_holdout"]["low"] > 0
    assert arms["champion"]["vs_holdout"]["estimate"] > 0


def test_a_a_runs_read_daily_stay_within_8_percent_false_positives(
    bank_truth: tuple[Truth, np.ndarray, np.ndarray],
) -> None:
    # two arms pitched by the same policy, the report read at the end of every day
    truth, values, rates = bank_truth
    false_positives = 0
    for seed in range(50):
        report, _ = _run(truth, 500 + seed, 10, values, rates, same_policy=True)
        daily = [r["vs_holdout"] for r in report["daily"] if r["arm"] == "champion"]
        false_positives += any(
            band["low"] is not None and (band["low"] > 0 or band["high"] < 0) for band in daily
        )
    assert false_positives <= 4
