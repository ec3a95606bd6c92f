"""Metrics against small cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from training import metrics

SCORES = np.array([[0.9, 0.8, 0.7, 0.1], [0.9, 0.8, 0.7, 0.1]])
LABELS = np.array([[0, 1, 0, 1], [0, 0, 0, 0]])


def test_map_at_7_averages_over_all_customers_including_no_additions() -> None:
    # customer 0: hits at ranks 2 and 4 -> (1/2 + 2/4) / min(2, 7) = 0.5; customer 1 scores 0
    assert metrics.map_at_k(SCORES, LABELS, k=7) == pytest.approx(0.25)


def test_map_excludes_held_products_from_the_ranking() -> None:
    held = np.array([[1, 0, 0, 0], [0, 0, 0, 0]])
    # ranking becomes 1, 2, 3: hits at ranks 1 and 3 -> (1 + 2/3) / 2
    ap = metrics.average_precision_at_k(SCORES, LABELS, k=7, held=held)
    assert ap[0] == pytest.approx((1 + 2 / 3) / 2)


def test_map_denominator_is_min_of_actual_and_k() -> None:
    labels = np.array([[1, 1, 1, 0]])
    assert metrics.map_at_k(SCORES[:1], labels, k=1) == pytest.approx(1.0)
    assert metrics.map_at_k(SCORES[:1], labels, k=2) == pytest.approx(1.0)


def test_ties_break_by_product_order() -> None:
    ranked = metrics.top_k(np.array([[0.5, 0.5, 0.9]]), k=3)
    assert ranked.tolist() == [[2, 0, 1]]


def test_ndcg_at_5_one_hit_at_rank_two() -> None:
    labels = np.array([[0, 1, 0, 0]])
    assert metrics.ndcg_at_k(SCORES[:1], labels, k=5) == pytest.approx(1 / np.log2(3))


def test_precision_at_1() -> None:
    labels = np.array([[1, 0, 0, 0], [0, 1, 0, 0]])
    assert metrics.precision_at_1(SCORES, labels) == pytest.approx(0.5)


def test_per_product_auc_perfect_and_undefined() -> None:
    scores = np.array([[0.1, 0.5], [0.9, 0.5], [0.2, 0.5]])
    labels = np.array([[0, 0], [1, 0], [0, 0]])
    assert metrics.per_product_auc(scores, labels) == [1.0, None]


def test_brier_and_ece_by_hand() -> None:
    probs = np.array([[0.05], [0.95]])
    labels = np.array([[0], [1]])
    assert metrics.brier(probs, labels) == pytest.approx(0.0025)
    # bins 0 and 9 each off by 0.05, weighted by one cell of two
    assert metrics.expected_calibration_error(probs, labels) == pytest.approx(0.05)


def test_ece_is_large_for_confident_wrong_probabilities() -> None:
    probs = np.array([[0.99], [0.99]])
    labels = np.array([[0], [0]])
    assert metrics.expected_calibration_error(probs, labels) == pytest.approx(0.99)


def test_catalogue_coverage_counts_products_shown() -> None:
    assert metrics.catalogue_coverage(SCORES, k=2) == pytest.approx(0.5)


def test_hits_in_top() -> None:
    assert metrics.hits_in_top(np.array([0.9, 0.1, 0.8]), np.array([1, 1, 0]), n=2) == 1


def test_bootstrap_ci_is_seeded_and_brackets_the_mean() -> None:
    values = np.random.default_rng(3).random(200)
    a = metrics.bootstrap_ci(values, n_boot=200, seed=7)
    b = metrics.bootstrap_ci(values, n_boot=200, seed=7)
    assert a == b
    assert a["low"] < a["mean"] < a["high"]
    const = metrics.bootstrap_ci(np.full(10, 0.3), n_boot=50, seed=0)
    assert const["low"] == pytest.approx(0.3) and const["high"] == pytest.approx(0.3)


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(1, 4\)"):
        metrics.map_at_k(SCORES, LABELS[:1])
