"""Quality on the real shared data sets, measured so that no choice saw the scored customers
(slow: trains real models; skipped where ../shared/data is absent, e.g. on CI).

Every search the spec lists runs on the training customers only (selection.select); the
figures come from customer-hash hold-outs (santander, bank) or the outer folds of a nested
CV (CoIL). The asserted levels are the ones reached (docs/model.md), not the goals; where a
goal is missed the test says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from training import baselines, metrics, selection
from training.datasets import DatasetFrame, load_dataset, load_spec
from training.datasets.split import holdout_mask
from training.pipeline import cross_validate, fit_on

# ../shared/data beside the checkout; RECSVC_SHARED_DATA points elsewhere (e.g. from a worktree)
DATA = Path(
    os.environ.get(
        "RECSVC_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
SANTANDER = DATA / "santander" / "train_ver2_mar_apr_2016_sample.csv.gz"
COIL = DATA / "coil2000" / "ticdata2000.txt"
BANK = DATA / "bank_marketing" / "bank-additional-train.csv"

Run = tuple[DatasetFrame, DatasetFrame, np.ndarray]

# Goals (issue 11), on unseen customers.
SANTANDER_MAP7_GOAL = 0.0285
COIL_HITS_GOAL = 122
BANK_AUC_GOAL = 0.805
# Reached, honestly measured (docs/model.md, bench/bench_quality.py); asserted a little below.
SANTANDER_MAP7_REACHED = 0.0275
COIL_HITS_REACHED = 112
BANK_AUC_REACHED = 0.795
SEEDS = list(range(4))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason="shared data not present"),
]


def _holdout_scores(name: str, path: Path, seeds: list[int]) -> list[Run]:
    spec = load_spec(name)
    frame = load_dataset(spec, path)
    out = []
    for seed in seeds:
        test = holdout_mask(frame, spec, seed=seed)
        train, held_out = frame.take(~test), frame.take(test)
        chosen = selection.select(spec, train, seed=seed, fit=fit_on).chosen
        c_spec, c_train = selection.apply(spec, train, chosen)
        _, c_test = selection.apply(spec, held_out, chosen)
        encoder, ranker = fit_on(c_spec, c_train, seed=seed)
        out.append((c_train, c_test, ranker.predict_proba(encoder.transform(c_test.features))))
    return out


@pytest.fixture(scope="module")
def santander_runs() -> list[Run]:
    return _holdout_scores("santander", SANTANDER, SEEDS)


@pytest.fixture(scope="module")
def bank_runs() -> list[Run]:
    return _holdout_scores("bank_marketing", BANK, SEEDS)


def test_santander_beats_popularity_paired_on_every_holdout(santander_runs: list[Run]) -> None:
    for train, test, scores in santander_runs:
        ap = metrics.average_precision_at_k(scores, test.labels, k=7, held=test.held)
        pop = baselines.popularity(train, test)
        ap_pop = metrics.average_precision_at_k(pop, test.labels, k=7, held=test.held)
        margin = metrics.bootstrap_ci(ap - ap_pop, n_boot=300, seed=0)
        assert margin["low"] > 0, margin


def test_santander_map7_reached_level(santander_runs: list[Run]) -> None:
    # The goal SANTANDER_MAP7_GOAL is NOT reached (docs/model.md); this asserts the reached level.
    maps = [metrics.map_at_k(s, t.labels, k=7, held=t.held) for _, t, s in santander_runs]
    assert np.mean(maps) >= SANTANDER_MAP7_REACHED, maps


def test_coil2000_caravan_owners_in_top_800_nested_cv() -> None:
    # The goal COIL_HITS_GOAL is NOT reached under nested CV (docs/model.md).
    result = cross_validate(load_spec("coil2000"), COIL, seed=0, repeats=2, n_boot=200)
    assert result["campaign_hits_pooled"]["mean"] >= COIL_HITS_REACHED, result


def _bank_aucs(runs: list[Run]) -> list[float]:
    return [float(metrics.per_product_auc(s, test.labels)[0] or 0.0) for _, test, s in runs]


def test_bank_marketing_auc_without_duration(bank_runs: list[Run]) -> None:
    aucs = _bank_aucs(bank_runs)
    assert min(aucs) >= 0.78, aucs
    assert np.mean(aucs) >= BANK_AUC_REACHED, aucs
