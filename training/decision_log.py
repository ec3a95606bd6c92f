"""Counterfactual risk: how much of a data set the service's own pitches cover, arm by arm.

A product that was never pitched to a customer has no answer: whatever a model learns about
answers, it learns from the pairs that were pitched, and those were chosen by the arm's policy.
The `rules` arm chooses by the rules alone and the `holdout` arm pitches nothing, so their
customers' data does not depend on any model (model-independent, unbiased by the model being
trained); `champion` and `challenger` pitches were chosen by a model and carry its bias.

`decision_log_section` reads an export's decisions.csv (docs/data-contract.md) for the model
card (training/report.py draws it)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DECISIONS_FILE = "decisions.csv"
UNBIASED_ARMS = ("holdout", "rules")
NO_ARM = "(no experiment)"
ACCEPTED = "accepted"


def read_decisions(data_dir: Path) -> pd.DataFrame | None:
    """decisions.csv as text columns ("" = empty), or None when the data set has none."""
    path = Path(data_dir) / DECISIONS_FILE
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """95% Wilson score interval of a proportion (None without trials)."""
    if n == 0:
        return None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def decision_log_section(
    data_dir: Path, customer_ids: np.ndarray, products: list[str], *, used_for: str
) -> dict[str, Any] | None:
    """Per arm: decisions, customers, pitched customer-product pairs and their share of all
    customer x product pairs of the data set, answers and acceptance (95% Wilson interval);
    None when the data set has no decisions.csv."""
    decisions = read_decisions(data_dir)
    if decisions is None:
        return None
    ids = pd.Index(np.asarray(customer_ids, dtype=object).astype(str))
    d = decisions[decisions["customer_id"].isin(ids) & decisions["product_id"].isin(products)]
    d = d.assign(arm=d["arm"].replace("", NO_ARM))
    all_pairs = len(ids) * len(products)
    arms: dict[str, Any] = {}
    for arm, rows in sorted(d.groupby("arm", sort=True), key=lambda kv: str(kv[0])):
        pairs = rows[["customer_id", "product_id"]].drop_duplicates()
        answered = rows[rows["outcome"] != ""]
        accepted = int((answered["outcome"] == ACCEPTED).sum())
        low, high = wilson(accepted, len(answered))
        arms[str(arm)] = {
            "decisions": len(rows),
            "customers": int(rows["customer_id"].nunique()),
            "pitched_pairs": len(pairs),
            "share_of_pairs": len(pairs) / all_pairs if all_pairs else 0.0,
            "answered": len(answered),
            "accepted": accepted,
            "acceptance_rate": accepted / len(answered) if len(answered) else None,
            "acceptance_low": low,
            "acceptance_high": high,
            "model_independent": str(arm) in UNBIASED_ARMS,
        }
    for arm in UNBIASED_ARMS:  # said even when empty: the holdout arm never pitches
        arms.setdefault(arm, {
            "decisions": 0, "customers": 0, "pitched_pairs": 0, "share_of_pairs": 0.0,
            "answered": 0, "accepted": 0, "acceptance_rate": None, "acceptance_low": None,
            "acceptance_high": None, "model_independent": True,
        })  # fmt: skip
    pitched = d[["customer_id", "product_id"]].drop_duplicates()
    return {
        "customers": len(ids),
        "products": len(products),
        "all_pairs": all_pairs,
        "pitched_pairs": len(pitched),
        "never_pitched_share": 1.0 - (len(pitched) / all_pairs if all_pairs else 0.0),
        "arms": arms,
        "unbiased_arms": list(UNBIASED_ARMS),
        "used_for": used_for,
    }


RESPONSE = ("recsvc-bank-response",)
USED_FOR = {
    "recsvc-bank": (
        "Adoption target: labels are the products every customer added by the second snapshot, "
        "pitched or not, so no label depends on what was pitched; the decision log is not used "
        "for labels. Only the customers of the holdout and rules arms were contacted without a "
        "model's choice."
    ),
    "recsvc-bank-response": (
        "Response target: trained and graded only on pairs pitched after the first snapshot "
        "and answered by the second (responses.csv); pairs never pitched are masked (no "
        "label), hold-out by customer. The table counts the decisions before the first "
        "snapshot (decisions.csv)."
    ),
}


RESPONSES_FILE = "responses.csv"
GROUPS = (("model-independent (rules, holdout)", True), ("chosen by a model", False))


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None


def response_by_arm(
    data_path: Path, test: Any, scores: np.ndarray, *, seed: int = 0, draws: int = 300
) -> list[dict[str, Any]]:
    """The response model graded on the hold-out customers' answered pitches, split by who
    chose the pitch: the rules (model-independent, so unbiased by any model) or a model. AUC
    over (pitch, answer) pairs, 95% percentile bootstrap over customers."""
    r = pd.read_csv(Path(data_path) / RESPONSES_FILE, dtype=str, keep_default_na=False,
                    na_filter=False)  # fmt: skip
    r = r[r["outcome"] != ""]
    rows = pd.Index(np.asarray(test.ids, dtype=object).astype(str)).get_indexer(r["customer_id"])
    cols = pd.Index(list(test.products)).get_indexer(r["product_id"])
    ok = (rows >= 0) & (cols >= 0)
    rows, cols, r = rows[ok], cols[ok], r[ok]
    y = (r["outcome"].to_numpy() == ACCEPTED).astype(np.uint8)
    s = np.asarray(scores)[rows, cols]
    unbiased = r["arm"].isin(UNBIASED_ARMS).to_numpy()
    rng = np.random.default_rng(seed)
    out = []
    for name, flag in GROUPS:
        mask = unbiased == flag
        who, cells = np.unique(rows[mask], return_inverse=True)
        yy, ss = y[mask], s[mask]
        point = _auc(yy, ss)
        low = high = None
        if point is not None:
            order = np.argsort(cells, kind="stable")
            bounds = np.searchsorted(cells[order], np.arange(len(who) + 1))
            found = []
            for _ in range(draws):
                pick = rng.integers(0, len(who), len(who))
                idx = np.concatenate([order[bounds[c] : bounds[c + 1]] for c in pick])
                value = _auc(yy[idx], ss[idx])
                if value is not None:
                    found.append(value)
            if found:
                low, high = (float(q) for q in np.quantile(found, [0.025, 0.975]))
        out.append({"arms": name, "pitches": int(mask.sum()), "customers": len(who),
                    "accepted": int(yy.sum()), "auc": point, "auc_low": low,
                    "auc_high": high})  # fmt: skip
    return out


def decision_log_for(
    spec: Any,
    data_path: Path,
    frame: Any,
    *,
    test: Any = None,
    scores: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """The section for a data set trained on (None: not a directory with decisions.csv); for
    the response target with the hold-out and its scores, also `response_by_arm`."""
    if not Path(data_path).is_dir() or not (Path(data_path) / DECISIONS_FILE).is_file():
        return None
    used_for = USED_FOR.get(spec.loader, "")
    arms = (spec.extra.get("response") or {}).get("arms") if spec.loader in RESPONSE else None
    if spec.loader in RESPONSE:
        used_for += (
            f" Labels from the pitches of the arms: {', '.join(arms)}."
            if arms
            else " Labels from the pitches of every arm (the champion's and challenger's "
            'carry their model\'s bias; spec [response] arms = ["rules"] keeps only '
            "model-independent ones)."
        )
    section = decision_log_section(data_path, frame.ids, list(frame.products), used_for=used_for)
    if section is not None and spec.loader in RESPONSE and test is not None and scores is not None:
        section["response_by_arm"] = response_by_arm(data_path, test, scores)
    return section
