"""Choices made by searching (columns, parameters), made inside the training customers only.

A spec may list candidate settings in `[search]`:

    [search]
    metric = "auc"          # "map@7", "auc" or "top_share" (owners in the top `top_share`)
    inner_folds = 3         # customer-keyed folds carved from the training customers
    [[search.candidates]]
    name = "all columns"    # no overrides: the spec as written
    [[search.candidates]]
    name = "short list"
    numeric = ["PPERSAUT", "MKOOPKLA"]          # subsets of the spec's columns
    categorical = []
    holdings = ["APERSAUT"]                     # source holding columns kept as features
    model = { num_boost_round = 300 }           # [model] keys
    lightgbm = { num_leaves = 4 }               # [model.lightgbm] keys
    monotone = { PPERSAUT = 1 }                 # LightGBM monotone constraints by feature

`select` sees only the frame it is given: the caller passes the training customers, so the
number reported afterwards (on the hold-out, or on the outer fold of a nested CV) comes from
customers no choice saw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training import metrics
from training.datasets import DatasetFrame, DatasetSpec, SpecError
from training.datasets.split import customer_keys, stratified_folds

SEARCH_METRICS = ("map@7", "auc", "top_share")


@dataclass(frozen=True)
class Candidate:
    """One setting to try: column subsets and model overrides (empty: the spec as written)."""

    name: str
    numeric: tuple[str, ...] | None = None
    categorical: tuple[str, ...] | None = None
    holdings: tuple[str, ...] | None = None
    model: dict[str, Any] = field(default_factory=dict)
    lightgbm: dict[str, Any] = field(default_factory=dict)
    monotone: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in ("numeric", "categorical", "holdings"):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value)
        for key in ("model", "lightgbm", "monotone"):
            if getattr(self, key):
                out[key] = dict(getattr(self, key))
        return out


AS_WRITTEN = Candidate("as written")


def _subset(spec: DatasetSpec, raw: dict[str, Any], key: str, known: tuple[str, ...]) -> Any:
    if key not in raw:
        return None
    values = raw[key]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SpecError(f"spec {spec.name}: key 'search.candidates.{key}' must be a string list")
    unknown = [v for v in values if v not in known]
    if unknown:
        raise SpecError(
            f"spec {spec.name}: key 'search.candidates.{key}' names {unknown[0]!r}, "
            f"which is not among the spec's [columns] {key}"
        )
    return tuple(values)


def search_settings(spec: DatasetSpec) -> dict[str, Any]:
    """The spec's [search] table, checked (empty when the spec searches nothing)."""
    table = spec.extra.get("search", {})
    if not isinstance(table, dict):
        raise SpecError(f"spec {spec.name}: key 'search' must be a table")
    metric = table.get("metric", "map@7")
    if metric not in SEARCH_METRICS:
        raise SpecError(f"spec {spec.name}: key 'search.metric' must be one of {SEARCH_METRICS}")
    return {
        "metric": metric,
        "inner_folds": int(table.get("inner_folds", 3)),
        "top_share": float(table.get("top_share", 0.2)),
        "candidates": table.get("candidates", []),
    }


def candidates(spec: DatasetSpec) -> list[Candidate]:
    """The spec's candidates, or the spec as written when it lists none."""
    raw_list = search_settings(spec)["candidates"]
    if not isinstance(raw_list, list):
        raise SpecError(f"spec {spec.name}: key 'search.candidates' must be an array of tables")
    out = []
    for i, raw in enumerate(raw_list):
        if not isinstance(raw, dict):
            raise SpecError(f"spec {spec.name}: key 'search.candidates[{i}]' must be a table")
        out.append(
            Candidate(
                name=str(raw.get("name", f"candidate {i}")),
                numeric=_subset(spec, raw, "numeric", spec.numeric),
                categorical=_subset(spec, raw, "categorical", spec.categorical),
                holdings=_subset(spec, raw, "holdings", tuple(spec.holdings)),
                model=dict(raw.get("model", {})),
                lightgbm=dict(raw.get("lightgbm", {})),
                monotone={str(k): int(v) for k, v in raw.get("monotone", {}).items()},
            )
        )
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise SpecError(f"spec {spec.name}: key 'search.candidates' repeats a name")
    return out or [AS_WRITTEN]


def candidate_by_name(spec: DatasetSpec, name: str) -> Candidate:
    for c in candidates(spec):
        if c.name == name:
            return c
    raise SpecError(f"spec {spec.name}: no search candidate named {name!r}")


def apply(
    spec: DatasetSpec, frame: DatasetFrame, cand: Candidate
) -> tuple[DatasetSpec, DatasetFrame]:
    """The spec and frame with the candidate's columns and model settings."""
    model = {**spec.model, **cand.model}
    model["lightgbm"] = {**dict(spec.model.get("lightgbm", {})), **cand.lightgbm}
    if cand.monotone:
        model["monotone"] = dict(cand.monotone)
    holding_features = frame.holding_features
    if cand.holdings is not None:
        holding_features = tuple(f"held_{spec.holdings[c]}" for c in cand.holdings)
    # only what the candidate names changes: a loader may set the frame's columns itself
    # (the synthetic bank's come from CustomerFeaturizer, not from the spec)
    new_spec = dataclasses.replace(
        spec,
        numeric=cand.numeric if cand.numeric is not None else spec.numeric,
        categorical=cand.categorical if cand.categorical is not None else spec.categorical,
        model=model,
    )
    new_frame = dataclasses.replace(
        frame,
        numeric=cand.numeric if cand.numeric is not None else frame.numeric,
        categorical=cand.categorical if cand.categorical is not None else frame.categorical,
        holding_features=holding_features,
    )
    return new_spec, new_frame


def score(scores: np.ndarray, frame: DatasetFrame, *, metric: str, top_share: float) -> float:
    """The search metric of a score matrix on a frame (higher is better)."""
    if metric == "map@7":
        return metrics.map_at_k(scores, frame.labels, k=7, held=frame.held)
    if metric == "auc":
        auc = metrics.per_product_auc(scores, frame.labels, held=frame.held)
        values = [a for a in auc if a is not None]
        return float(np.mean(values)) if values else 0.5
    n = max(1, round(top_share * len(frame)))
    return metrics.hits_in_top(scores[:, 0], frame.labels[:, 0], n=n) / max(
        int(frame.labels[:, 0].sum()), 1
    )


Fit = Callable[..., Any]


@dataclass(frozen=True)
class Selection:
    """The chosen candidate and every candidate's inner-fold score (made on `seen` only)."""

    chosen: Candidate
    metric: str
    table: list[dict[str, Any]]
    seen_customers: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.to_dict(),
            "metric": self.metric,
            "inner_scores": self.table,
            "customers_seen": self.seen_customers,
            "protocol": "candidates compared on customer-keyed inner folds of the training "
            "customers only; the reported metrics come from customers the search never saw",
        }


def select(
    spec: DatasetSpec,
    frame: DatasetFrame,
    *,
    seed: int,
    fit: Fit,
    num_threads: int = 1,
) -> Selection:
    """Pick the candidate with the best mean inner-fold score, using `frame` only.

    One candidate: no search, nothing fitted."""
    cands = candidates(spec)
    settings = search_settings(spec)
    if len(cands) == 1:
        return Selection(cands[0], settings["metric"], [], len(frame))
    y = np.asarray(frame.labels.any(axis=1))
    folds = list(
        stratified_folds(
            y, folds=settings["inner_folds"], seed=seed, keys=customer_keys(frame), salt="inner"
        )
    )
    table = []
    for cand in cands:
        c_spec, c_frame = apply(spec, frame, cand)
        values = []
        for tr, va in folds:
            train_part, valid = c_frame.take(tr), c_frame.take(va)
            encoder, ranker = fit(c_spec, train_part, seed=seed, num_threads=num_threads)
            s = ranker.predict_proba(encoder.transform(valid.features))
            values.append(
                score(s, valid, metric=settings["metric"], top_share=settings["top_share"])
            )
        table.append({"name": cand.name, "mean": float(np.mean(values)), "folds": values})
    best = max(range(len(cands)), key=lambda i: (table[i]["mean"], -i))
    return Selection(cands[best], settings["metric"], table, len(frame))
