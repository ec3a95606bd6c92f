"""collect_evaluation: numbers checked by hand on tiny hold-outs, and its input checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from training.report import collect_evaluation

Inputs = Callable[..., dict[str, Any]]

# Three customers, products a, b, c. Rankings: c0 a>b>c, c1 c>b>a, c2 c>b>a.
MAP_SCORES = np.array([[0.9, 0.5, 0.1], [0.2, 0.3, 0.8], [0.4, 0.6, 0.7]])
MAP_ADDED = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 0]])


def _evaluate(make_inputs: Inputs, **overrides: Any) -> dict[str, Any]:
    plain: dict[str, Any] = {"baseline_scores": {}, "held": None}
    return collect_evaluation(**make_inputs(0, **(plain | overrides)))


def test_report_map7_kaggle_definition_on_three_customers(make_inputs: Inputs) -> None:
    ev = _evaluate(make_inputs, products=["a", "b", "c"], y_true=MAP_ADDED, scores=MAP_SCORES)
    # c0: hit at rank 2 -> 1/2; c1: hits at 1 and 3 -> (1 + 2/3) / 2; c2 added nothing -> 0
    assert ev["headline"]["model"]["map@7"] == pytest.approx((0.5 + 5 / 6 + 0) / 3, abs=1e-6)
    assert ev["headline"]["model"]["precision@1"] == pytest.approx(1 / 3, abs=1e-6)


def test_report_map7_never_ranks_held_products(make_inputs: Inputs) -> None:
    held = np.zeros((3, 3), dtype=bool)
    held[0, 0] = True  # c0 already holds a: b moves to rank 1
    ev = _evaluate(
        make_inputs, products=["a", "b", "c"], y_true=MAP_ADDED, scores=MAP_SCORES, held=held
    )
    assert ev["headline"]["model"]["map@7"] == pytest.approx((1 + 5 / 6 + 0) / 3, abs=1e-6)


def _ten_customers() -> tuple[np.ndarray, np.ndarray]:
    """Best scores fall strictly with the customer index; customers 0, 1 and 3 add something."""
    best = 0.95 - 0.1 * np.arange(10)
    scores = np.column_stack([best, best / 2])
    added = np.zeros((10, 2), dtype=int)
    added[[0, 1, 3], [1, 0, 1]] = 1
    return scores, added


def test_report_gain_and_decile_lift_by_hand(make_inputs: Inputs) -> None:
    scores, added = _ten_customers()
    ev = _evaluate(make_inputs, products=["x", "y"], y_true=added, scores=scores)
    gain = ev["gain"]["model"]
    assert gain["share_customers"] == pytest.approx([k / 10 for k in range(11)])
    caught = [0, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3]
    assert gain["share_adders"] == pytest.approx([c / 3 for c in caught], abs=1e-6)
    # one customer per decile, overall rate 3/10: an adder's decile has lift 10/3
    expected = [10 / 3 if d in (0, 1, 3) else 0.0 for d in range(10)]
    assert ev["lift"]["model"] == pytest.approx(expected, abs=1e-5)
    assert (ev["n_customers"], ev["n_adders"], ev["adder_rate"]) == (10, 3, 0.3)


def test_report_tied_scores_give_the_chance_diagonal(make_inputs: Inputs) -> None:
    scores, added = _ten_customers()
    constant = np.full_like(scores, 0.2)
    ev = _evaluate(
        make_inputs,
        products=["x", "y"],
        y_true=added,
        scores=scores,
        baseline_scores={"popularity": constant},
    )
    gain = ev["gain"]["popularity"]
    assert gain["share_adders"] == pytest.approx(gain["share_customers"], abs=1e-6)
    assert ev["lift"]["popularity"] == pytest.approx([1.0] * 10, abs=1e-6)
    assert ev["gain"]["model"]["share_adders"][1] > gain["share_adders"][1]


def test_report_held_products_are_left_out_of_the_gain_order(make_inputs: Inputs) -> None:
    scores, added = _ten_customers()
    held = np.zeros_like(added, dtype=bool)
    held[0, :] = True  # customer 0 holds everything: ranked last, and cannot add
    ev = _evaluate(make_inputs, products=["x", "y"], y_true=added, scores=scores, held=held)
    assert ev["n_adders"] == 2
    assert ev["gain"]["model"]["share_adders"][1] == pytest.approx(0.5)


def test_report_calibration_bins_and_probability_metrics_by_hand(make_inputs: Inputs) -> None:
    scores = np.array([[0.05], [0.15], [0.12], [0.95]])
    added = np.array([[0], [1], [0], [1]])
    ev = _evaluate(make_inputs, products=["x"], y_true=added, scores=scores)
    pooled = ev["calibration"]["pooled"]
    # four cells, ten quantile bins: one cell per bin, in order of the probability
    assert pooled["count"] == [1, 1, 1, 1]
    assert pooled["mean_predicted"] == pytest.approx([0.05, 0.12, 0.15, 0.95])
    assert pooled["observed_rate"] == pytest.approx([0.0, 0.0, 1.0, 1.0])
    assert ev["calibration"]["per_product"]["x"] == pooled
    model = ev["headline"]["model"]
    assert model["ece"] == pytest.approx((0.05 + 0.12 + 0.85 + 0.05) / 4, abs=1e-6)
    assert model["brier"] == pytest.approx((0.05**2 + 0.85**2 + 0.12**2 + 0.05**2) / 4, abs=1e-6)


def test_report_calibration_uses_equal_count_bins_when_every_probability_is_small(
    make_inputs: Inputs,
) -> None:
    # santander-like: every probability below 0.1, right on average but wrong in order (the
    # lowest-scored tenth adds 10x as often as it is told). Equal-width bins put every cell in
    # the first bin and see a perfect ECE of 0; equal-count bins see the miscalibration.
    n = 5000
    scores = np.linspace(0.001, 0.05, n)[:, None]
    rng = np.random.default_rng(0)
    rate = np.where(
        np.arange(n) < n // 10, 0.2, (scores[:, 0].sum() - 0.2 * (n // 10)) / (n - n // 10)
    )
    added = (rng.random(n) < rate).astype(int)[:, None]
    ev = _evaluate(make_inputs, products=["x"], y_true=added, scores=scores)
    pooled = ev["calibration"]["pooled"]
    assert pooled["count"] == [500] * 10
    assert pooled["high"][0] <= pooled["low"][1] and pooled["observed_rate"][0] > 0.15
    assert ev["headline"]["model"]["ece"] > 0.02


def test_report_calibration_leaves_held_cells_out(make_inputs: Inputs) -> None:
    scores = np.array([[0.05], [0.15], [0.12], [0.95]])
    added = np.array([[0], [1], [0], [1]])
    held = np.array([[False], [True], [False], [False]])
    ev = _evaluate(make_inputs, products=["x"], y_true=added, scores=scores, held=held)
    assert ev["calibration"]["pooled"]["count"][1] == 1
    assert ev["per_product"]["x"] == {
        "auc": 1.0,
        "auc_low": 1.0,
        "auc_high": 1.0,
        "prevalence": pytest.approx(1 / 3, abs=1e-6),
        "positives": 1,
        "eligible": 3,
    }


def test_report_auc_is_none_for_a_product_nobody_added(make_inputs: Inputs) -> None:
    scores, added = _ten_customers()
    added[:, 1] = 0
    ev = _evaluate(make_inputs, products=["x", "y"], y_true=added, scores=scores)
    assert ev["per_product"]["y"]["auc"] is None
    assert ev["per_product"]["y"]["prevalence"] == 0.0
    assert ev["per_product"]["x"]["auc"] is not None


def test_report_baselines_get_every_headline_metric(make_inputs: Inputs) -> None:
    ev = collect_evaluation(**make_inputs(3))
    assert set(ev["headline"]) == {"model", "popularity"}
    for metrics in ev["headline"].values():
        assert set(metrics) == {"map@7", "ndcg@5", "precision@1", "brier", "ece", "coverage@5"}
    assert ev["headline"]["model"]["map@7"] > ev["headline"]["popularity"]["map@7"]


def test_report_brier_is_none_for_scores_that_are_not_probabilities(make_inputs: Inputs) -> None:
    inputs = make_inputs(3)
    ranks = np.argsort(np.argsort(inputs["scores"], axis=1), axis=1).astype(float)
    ev = collect_evaluation(**(inputs | {"baseline_scores": {"rank": ranks}}))
    assert ev["headline"]["rank"]["brier"] is None
    assert ev["headline"]["rank"]["map@7"] == ev["headline"]["model"]["map@7"]


def test_report_top_features_are_twenty_sorted_with_total(make_inputs: Inputs) -> None:
    ev = collect_evaluation(**make_inputs(3))
    gain = ev["importance"]["gain"]
    assert len(gain["top"]) == 20
    values = [row["value"] for row in gain["top"]]
    assert values == sorted(values, reverse=True)
    assert gain["top"][0] == {"feature": "feature_00", "value": 100.0}
    assert gain["total"] == pytest.approx(sum(100 - 3 * i for i in range(25)))
    assert ev["importance"]["mean_abs_shap"]["top"][0]["feature"] == "feature_24"


def test_report_section_is_strict_json(make_inputs: Inputs) -> None:
    summary = {"rows": np.int64(7), "share": np.float32(0.5), "gap": float("nan"), "t": (1, 2)}
    ev = collect_evaluation(**make_inputs(3, data_summary=summary))
    assert ev["data"] == {"rows": 7, "share": 0.5, "gap": None, "t": [1, 2]}
    assert json.loads(json.dumps(ev, allow_nan=False)) == ev


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scores": np.zeros((300, 3))}, r"\(300, 3\)"),
        ({"y_true": np.zeros((5, 4))}, r"y_true must have shape \(300, 4\), got \(5, 4\)"),
        ({"baseline_scores": {"pop": np.zeros((300, 2))}}, "baseline_scores\\['pop'\\]"),
        ({"baseline_scores": {"model": np.zeros((300, 4))}}, "'model' is reserved"),
        ({"scores": np.full((300, 4), 1.5)}, "probabilities in \\[0, 1\\].*1.5"),
        ({"scores": np.full((300, 4), np.nan)}, "scores holds non-finite"),
        ({"products": ["a", "a", "b", "c"]}, "unique.*'a', 'a'"),
        ({"importance_gain": {"age": float("inf")}}, "importance_gain.*'age'"),
        ({"data_summary": {"when": object()}}, "data_summary.when is not JSON-able"),
    ],
)
def test_report_bad_inputs_are_named(
    make_inputs: Inputs, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        collect_evaluation(**make_inputs(0, **overrides))


def test_report_margins_are_paired_bootstrap_intervals(make_inputs: Inputs) -> None:
    inputs = make_inputs(0)
    same = inputs["scores"].copy()
    ev = _evaluate(make_inputs, baseline_scores={**inputs["baseline_scores"], "copy": same})
    pop = ev["model_minus_baseline"]["popularity"]["map@7"]
    headline = ev["headline"]
    assert pop["mean"] == pytest.approx(
        headline["model"]["map@7"] - headline["popularity"]["map@7"], abs=1e-6
    )
    assert pop["low"] < pop["mean"] < pop["high"]
    # paired: a baseline identical to the model differs by exactly 0 on every draw
    assert ev["model_minus_baseline"]["copy"]["map@7"] == {"mean": 0.0, "low": 0.0, "high": 0.0}
    model = ev["intervals"]["model"]["map@7"]
    assert model["low"] < headline["model"]["map@7"] < model["high"]


def test_report_says_in_plain_words_where_the_model_wins_and_where_not(
    make_inputs: Inputs,
) -> None:
    inputs = make_inputs(0)
    ev = _evaluate(
        make_inputs, baseline_scores={**inputs["baseline_scores"], "copy": inputs["scores"]}
    )
    text = " ".join(ev["verdict"])
    assert "Beats popularity on map@7" in text
    assert "Not distinguishable from copy on map@7" in text
    assert "interval includes 0" in text


def test_report_per_product_auc_on_few_additions_has_a_wide_interval(
    make_inputs: Inputs,
) -> None:
    rng = np.random.default_rng(1)
    n = 400
    scores = rng.uniform(0, 0.5, (n, 2))
    added = np.zeros((n, 2), dtype=int)
    added[np.argmax(scores[:, 0]), 0] = 1  # one customer: AUC 1.0 resting on nobody else
    added[rng.random(n) < scores[:, 1], 1] = 1
    ev = _evaluate(make_inputs, products=["rare", "common"], y_true=added, scores=scores,
                   held=np.zeros((n, 2), dtype=bool))  # fmt: skip
    rare = ev["per_product"]["rare"]
    assert rare["positives"] == 1 and rare["auc"] == 1.0
    assert ev["per_product"]["common"]["positives"] > 30
    assert "Too few additions" in " ".join(ev["verdict"]) and "rare" in ev["verdict"][-1]


def test_report_one_product_headline_has_an_auc_interval(make_inputs: Inputs) -> None:
    rng = np.random.default_rng(2)
    scores = rng.uniform(0, 1, (500, 1))
    added = (rng.random((500, 1)) < scores * 0.4).astype(int)
    ev = _evaluate(make_inputs, products=["deposit"], y_true=added, scores=scores,
                   held=np.zeros((500, 1), dtype=bool),
                   baseline_scores={"popularity": np.full((500, 1), 0.2)})  # fmt: skip
    auc = ev["intervals"]["model"]["auc"]
    assert auc["low"] < auc["mean"] < auc["high"]
    margin = ev["model_minus_baseline"]["popularity"]["auc"]
    assert margin["low"] > 0 and "Beats popularity on auc" in ev["verdict"][0]
