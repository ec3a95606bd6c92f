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
