"""Choices made by searching are made on training customers only (nested), never on the
customers whose score is reported."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from recsvc.features.tabular import TabularEncoder
from recsvc.models.ranker import ProductRanker
from training import selection
from training.datasets import DatasetSpec, SpecError, load_dataset, parse_spec
from training.datasets.split import customer_keys, holdout_mask
from training.pipeline import cross_validate, train

COLUMNS = [f"x{i}" for i in range(8)]


def _noise_spec(method: str) -> DatasetSpec:
    """Pure noise: no column says anything about y, so any apparent skill is selection luck."""
    return parse_spec(
        {
            "name": "noise",
            "loader": "table",
            "source": {"separator": ","},
            "columns": {"numeric": COLUMNS},
            "target": {"kind": "column", "column": "y", "product_id": "y", "positive": ["1"]},
            "split": {"method": method, "test_fraction": 0.3, "folds": 3},
            "model": {
                "num_boost_round": 20,
                "calibration": None,
                "lightgbm": {"num_leaves": 4, "min_data_in_leaf": 20},
            },
            # twelve candidates: each a pair of noise columns or a parameter change
            "search": {
                "metric": "auc",
                "inner_folds": 3,
                "candidates": [
                    {"name": f"pair {i}", "numeric": [COLUMNS[i], COLUMNS[(i + 3) % 8]]}
                    for i in range(8)
                ]
                + [{"name": f"leaves {k}", "lightgbm": {"num_leaves": k}} for k in (2, 3, 6, 8)],
            },
        }
    )


@pytest.fixture(scope="module")
def noise_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    n = 1500
    x = rng.normal(size=(n, len(COLUMNS))).round(4)
    y = (rng.random(n) < 0.2).astype(int)
    lines = [",".join([*COLUMNS, "y"])]
    lines += [",".join([*(str(v) for v in x[i]), str(y[i])]) for i in range(n)]
    path = tmp_path_factory.mktemp("noise") / "noise.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Spy:
    """Wraps selection.select: records every customer the selector (and its fits) saw."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[set[int]] = []
        self.fitted: set[int] = set()
        real = selection.select

        def spy(spec: DatasetSpec, frame: Any, **kwargs: Any) -> selection.Selection:
            self.calls.append(set(customer_keys(frame).tolist()))
            fit = kwargs.pop("fit")

            def recording_fit(s: DatasetSpec, f: Any, **kw: Any) -> Any:
                self.fitted |= set(customer_keys(f).tolist())
                return fit(s, f, **kw)

            return real(spec, frame, fit=recording_fit, **kwargs)

        monkeypatch.setattr(selection, "select", spy)


def test_reported_metric_comes_from_customers_the_search_never_saw(
    noise_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _noise_spec("random")
    spy = Spy(monkeypatch)
    model_dir = train(spec, noise_file, tmp_path / "m", seed=1, progress=False, refit=False)
    desc = json.loads((model_dir / "model.json").read_text())

    frame = load_dataset(spec, noise_file)
    test = holdout_mask(frame, spec, seed=1)
    holdout = set(customer_keys(frame)[test].tolist())
    assert len(spy.calls) == 1 and spy.calls[0]
    assert spy.calls[0].isdisjoint(holdout)  # the selector never got a hold-out customer
    assert spy.fitted and spy.fitted <= spy.calls[0]
    assert len(spy.calls[0]) + len(holdout) == len(set(customer_keys(frame).tolist()))

    # the reported AUC is the chosen model's on exactly the hold-out customers
    chosen = desc["selection"]["chosen"]["name"]
    inner = {row["name"]: row["mean"] for row in desc["selection"]["inner_scores"]}
    assert len(inner) == 12 and inner[chosen] == max(inner.values())
    ranker = ProductRanker.load(model_dir)
    encoder = TabularEncoder.from_schema(desc["feature_schema"])
    held_out = frame.take(test)
    s = ranker.predict_proba(encoder.transform(held_out.features))[:, 0]
    reported = desc["evaluation"]["intervals"]["model"]["auc"]
    assert reported["mean"] == pytest.approx(roc_auc_score(held_out.labels[:, 0], s), abs=1e-6)
    # on noise the winning inner score is luck; the hold-out, which no choice saw, says so
    assert inner[chosen] > reported["mean"]
    assert reported["low"] < 0.5 < reported["high"]


def test_nested_cv_selects_inside_each_outer_fold_only(
    noise_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _noise_spec("stratified_cv")
    spy = Spy(monkeypatch)
    result = cross_validate(spec, noise_file, seed=0, folds=3, repeats=1, n_boot=50)
    everyone = set(customer_keys(load_dataset(spec, noise_file)).tolist())
    assert len(spy.calls) == 3
    outer_tests = [everyone - seen for seen in spy.calls]
    # the customers each search did not see are exactly one outer fold: they partition everyone
    assert sum(len(t) for t in outer_tests) == len(everyone)
    assert set().union(*outer_tests) == everyone
    assert sum(result["chosen"].values()) == 3
    pooled = result["campaign_hits_pooled"]
    assert pooled["low"] <= pooled["mean"] <= pooled["high"]


def test_search_candidates_are_checked_against_the_spec() -> None:
    raw = _noise_spec("random").raw | {
        "search": {"candidates": [{"name": "bad", "numeric": ["not_a_column"]}]}
    }
    with pytest.raises(SpecError, match="not_a_column"):
        selection.candidates(parse_spec(raw))


def test_a_candidate_changes_only_what_it_names(noise_file: Path) -> None:
    spec = _noise_spec("random")
    frame = load_dataset(spec, noise_file)
    # a loader may set the frame's columns itself (the synthetic bank's featurizer does)
    own = dataclasses.replace(frame, numeric=("x1", "x2"))
    _, kept = selection.apply(spec, own, selection.AS_WRITTEN)
    assert kept.numeric == ("x1", "x2")
    _, narrowed = selection.apply(spec, own, selection.Candidate("one", numeric=("x3",)))
    assert narrowed.numeric == ("x3",)
