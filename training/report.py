"""The model card: the "evaluation" section of model.json, and the HTML page rendered from it.

The trainer calls `collect_evaluation` once, on the hold-out, and stores the result under
`model.json["evaluation"]`; the report then needs only JSON, never the data or the booster.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from recsvc.features.history import history_names_in
from training import metrics, report_charts

EVALUATION_FORMAT_VERSION = 1
CALIBRATION_BINS = 10  # quantile bins: equal cell counts
GAIN_STEPS = 20
DECILES = 10
TOP_FEATURES = 20
MODEL = "model"
# (key, higher is better): the report bolds the best and colours deltas from this.
HEADLINE_METRICS: tuple[tuple[str, bool], ...] = (
    ("map@7", True),
    ("ndcg@5", True),
    ("precision@1", True),
    ("brier", False),
    ("ece", False),
    ("coverage@5", True),
)


class MissingEvaluation(ValueError):
    """The descriptor predates the model card; retrain to get an evaluation section."""


def _matrix(value: Any, *, shape: tuple[int, int] | None, what: str) -> np.ndarray:
    """Refuse ragged, non-finite or mis-shaped score matrices before any metric hides them."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or (shape is not None and arr.shape != shape):
        raise ValueError(f"{what} must have shape {shape or '(n, P)'}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} holds non-finite values, e.g. {arr[~np.isfinite(arr)][0]!r}")
    return arr


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def _jsonable(value: Any, *, where: str) -> Any:
    """Turn numpy scalars/arrays into plain JSON values; NaN/inf become null (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where=f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"{where} is not JSON-able: {type(value).__name__} {value!r}")


def _cumulative_adders(key: np.ndarray, adders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adders caught among the first k customers (k at tie-group ends); interpolate in between.

    Tied customers are taken in random order, so within a tie group the expected catch is
    linear: a constant baseline (e.g. popularity) gets the chance diagonal, not a lucky order.
    """
    order = np.argsort(-key, kind="stable")
    k_sorted, a_sorted = key[order], adders[order]
    ends = np.flatnonzero(np.r_[k_sorted[1:] != k_sorted[:-1], True]) + 1
    caught = np.cumsum(a_sorted)[ends - 1] if len(ends) else np.zeros(0)
    return np.r_[0, ends].astype(np.float64), np.r_[0.0, caught]


def _gain_and_lift(
    scores: np.ndarray, held: np.ndarray, adders: np.ndarray
) -> tuple[dict[str, list[float | None]], list[float | None]]:
    """Customers sorted by their best non-held score: gain curve points and per-decile lift."""
    n, n_adders = len(scores), int(adders.sum())
    key = np.where(held, -np.inf, scores).max(axis=1)
    xs, ys = _cumulative_adders(key, adders.astype(np.float64))
    steps = np.unique([(i * n + GAIN_STEPS // 2) // GAIN_STEPS for i in range(GAIN_STEPS + 1)])
    caught = np.interp(steps, xs, ys)
    gain = {
        "share_customers": [_round(k / n) for k in steps],
        "share_adders": [_round(c / n_adders) if n_adders else None for c in caught],
    }
    edges = np.array([(d * n + DECILES // 2) // DECILES for d in range(DECILES + 1)])
    at_edges = np.interp(edges, xs, ys)
    overall = n_adders / n
    lift: list[float | None] = []
    for d in range(DECILES):
        size = edges[d + 1] - edges[d]
        rate = (at_edges[d + 1] - at_edges[d]) / size if size else None
        lift.append(_round(rate / overall) if rate is not None and overall > 0 else None)
    return gain, lift


def _calibration(probs: np.ndarray, labels: np.ndarray) -> dict[str, list[Any]]:
    """Ten quantile bins (equal cell counts, as the ECE uses): range, mean predicted, observed
    rate and cell count of each."""
    if len(probs) == 0:
        return {"low": [], "high": [], "mean_predicted": [], "observed_rate": [], "count": []}
    table = metrics.calibration_table(probs, labels, bins=CALIBRATION_BINS)
    return {
        k: [int(v) for v in vals] if k == "count" else [_round(v) for v in vals]
        for k, vals in table.items()
    }


def _headline(scores: np.ndarray, labels: np.ndarray, held: np.ndarray) -> dict[str, float | None]:
    """The six numbers every candidate is judged by; Brier/ECE only for probability-like scores."""
    probabilistic = bool(((scores >= 0) & (scores <= 1)).all())
    return {
        "map@7": _round(metrics.map_at_k(scores, labels, k=7, held=held)),
        "ndcg@5": _round(metrics.ndcg_at_k(scores, labels, k=5, held=held)),
        "precision@1": _round(metrics.precision_at_1(scores, labels, held=held)),
        "brier": _round(metrics.brier(scores, labels, held=held)) if probabilistic else None,
        "ece": (
            _round(metrics.expected_calibration_error(scores, labels, bins=10, held=held))
            if probabilistic
            else None
        ),
        "coverage@5": _round(metrics.catalogue_coverage(scores, k=5, held=held)),
    }


def _top_features(values: dict[str, float], *, what: str) -> dict[str, Any]:
    """Top features by value (ties by name) plus the total, so shares compare across models."""
    clean = {str(k): float(v) for k, v in values.items()}
    bad = {k: v for k, v in clean.items() if not math.isfinite(v)}
    if bad:
        raise ValueError(f"{what} holds non-finite values: {bad!r}")
    ranked = sorted(clean.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FEATURES]
    return {
        "total": _round(sum(clean.values())),
        "top": [{"feature": k, "value": _round(v)} for k, v in ranked],
    }


INTERVAL_METRICS = ("map@7", "precision@1", "ndcg@5")
FEW_POSITIVES = 30  # per-product AUC on fewer additions than this is flagged as unreliable


def _per_customer(scores: np.ndarray, y: np.ndarray, h: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "map@7": metrics.average_precision_at_k(scores, y, k=7, held=h),
        "precision@1": metrics.precision_at_1_per_customer(scores, y, held=h),
        "ndcg@5": metrics.ndcg_per_customer(scores, y, k=5, held=h),
    }


def _interval(draws: np.ndarray, point: float) -> dict[str, float | None]:
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return {"mean": _round(point), "low": _round(float(lo)), "high": _round(float(hi))}


def _draws(n: int, count: int, seed: int) -> Iterator[np.ndarray]:
    """The bootstrap's draws of customers, one at a time from one seeded stream: all of them
    at once would be 8 bytes x n_boot per hold-out customer (2.4 GB for 300,000 and 1,000)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield rng.integers(0, n, n)


def _intervals_and_margins(
    rankers: dict[str, np.ndarray], y: np.ndarray, h: np.ndarray, *, n_boot: int, seed: int
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """95% percentile bootstrap over customers of each ranker's metrics, and of model minus
    each baseline on the same draws (paired). One product: the AUC too (fewer draws)."""
    n = len(y)
    per = {name: _per_customer(r, y, h) for name, r in rankers.items()}
    boots = {name: {key: np.empty(n_boot) for key in INTERVAL_METRICS} for name in per}
    for i, d in enumerate(_draws(n, n_boot, seed)):
        for name, v in per.items():
            for key in INTERVAL_METRICS:
                boots[name][key][i] = v[key][d].mean()
    intervals: dict[str, dict[str, Any]] = {name: {} for name in rankers}
    margins: dict[str, dict[str, Any]] = {name: {} for name in rankers if name != MODEL}
    for key in INTERVAL_METRICS:
        boot = {name: boots[name][key] for name in per}
        for name, v in per.items():
            intervals[name][key] = _interval(boot[name], float(v[key].mean()))
            if name != MODEL:
                diff = float(per[MODEL][key].mean() - v[key].mean())
                margins[name][key] = _interval(boot[MODEL] - boot[name], diff)
    if y.shape[1] == 1 and 0 < y[:, 0].sum() < n:
        aucs: dict[str, list[float]] = {name: [] for name in rankers}
        for d in _draws(n, min(n_boot, 300), seed):
            if 0 < y[d, 0].sum() < len(d):
                for name, r in rankers.items():
                    aucs[name].append(roc_auc_score(y[d, 0], r[d, 0]))
        boot = {name: np.array(values) for name, values in aucs.items()}
        point = {name: float(roc_auc_score(y[:, 0], r[:, 0])) for name, r in rankers.items()}
        for name in rankers:
            intervals[name]["auc"] = _interval(boot[name], point[name])
            if name != MODEL:
                margins[name]["auc"] = _interval(
                    boot[MODEL] - boot[name], point[MODEL] - point[name]
                )
    return intervals, margins


def _auc_interval(auc: float | None, pos: int, neg: int) -> tuple[float | None, float | None]:
    """Hanley & McNeil (1982) 95% interval of an AUC from its positive and negative counts."""
    if auc is None or pos == 0 or neg == 0:
        return None, None
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (pos - 1) * (q1 - auc**2) + (neg - 1) * (q2 - auc**2)) / (pos * neg)
    se = math.sqrt(max(var, 0.0))
    return _round(max(0.0, auc - 1.96 * se)), _round(min(1.0, auc + 1.96 * se))


def _verdict(
    products: list[str], margins: dict[str, dict[str, Any]], per_product: dict[str, Any]
) -> list[str]:
    """Where the model beats the baselines and where it does not, in plain words."""
    key = "auc" if len(products) == 1 else "map@7"
    lines = []
    for name, m in margins.items():
        if key not in m:
            continue
        iv = m[key]
        text = f"{iv['mean']:+.4f} [{iv['low']:+.4f}, {iv['high']:+.4f}]"
        if iv["low"] is not None and iv["low"] > 0:
            lines.append(f"Beats {name} on {key}: model minus {name} {text} (interval above 0).")
        elif iv["high"] is not None and iv["high"] < 0:
            lines.append(f"Worse than {name} on {key}: model minus {name} {text}.")
        else:
            lines.append(
                f"Not distinguishable from {name} on {key}: model minus {name} {text} "
                "(interval includes 0)."
            )
    if len(products) > 1:
        judged = {p: v for p, v in per_product.items() if v["positives"] >= FEW_POSITIVES}
        strong = [p for p, v in judged.items() if v["auc_low"] is not None and v["auc_low"] > 0.55]
        weak = [p for p in judged if p not in strong]
        few = [p for p, v in per_product.items() if v["positives"] < FEW_POSITIVES]
        total = sum(v["positives"] for v in per_product.values()) or 1

        def named(ps: list[str]) -> str:
            return ", ".join(
                f"{p} {per_product[p]['auc']:.2f} [{per_product[p]['auc_low']:.2f}, "
                f"{per_product[p]['auc_high']:.2f}] ({per_product[p]['positives']} added)"
                if per_product[p]["auc"] is not None
                else p
                for p in ps
            )

        share = sum(per_product[p]["positives"] for p in strong) / total
        lines.append(
            f"The edge rests on {len(strong)} product(s) whose AUC interval lies above 0.55: "
            f"{named(strong) or 'none'}; {share:.0%} of the additions."
        )
        if weak:
            share = sum(per_product[p]["positives"] for p in weak) / total
            lines.append(
                f"Not clearly better than chance within the product (AUC interval reaches 0.55 "
                f"or below): {named(weak)}; {share:.0%} of the additions. For these the model "
                "orders customers little better than popularity."
            )
        if few:
            lines.append(
                f"Too few additions (under {FEW_POSITIVES}) to judge the AUC of: {', '.join(few)}."
            )
    return lines


def collect_evaluation(
    *,
    products: list[str],
    y_true: np.ndarray,
    scores: np.ndarray,
    baseline_scores: dict[str, np.ndarray],
    held: np.ndarray | None,
    importance_gain: dict[str, float],
    mean_abs_shap: dict[str, float],
    data_summary: dict[str, Any],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Compute on the hold-out, once, everything the model card shows, as plain JSON values."""
    if len(set(products)) != len(products) or not products:
        raise ValueError(f"products must be non-empty and unique, got {products!r}")
    s = _matrix(scores, shape=None, what="scores")
    if s.shape[1] != len(products) or s.shape[0] == 0:
        raise ValueError(f"scores shape {s.shape} does not fit {len(products)} products")
    if ((s < 0) | (s > 1)).any():
        raise ValueError(f"scores must be probabilities in [0, 1], got min {s.min()} max {s.max()}")
    y = _matrix(y_true, shape=s.shape, what="y_true") > 0
    h = (
        np.zeros(s.shape, dtype=bool)
        if held is None
        else _matrix(held, shape=s.shape, what="held") > 0
    )
    if MODEL in baseline_scores:
        raise ValueError(f"baseline name {MODEL!r} is reserved for the model itself")
    rankers = {MODEL: s} | {
        str(name): _matrix(b, shape=s.shape, what=f"baseline_scores[{name!r}]")
        for name, b in baseline_scores.items()
    }
    y = y & ~h  # a held product cannot be added; count only what ranking could win
    adders = np.asarray(y.any(axis=1), dtype=bool)
    curves = {name: _gain_and_lift(r, h, adders) for name, r in rankers.items()}
    aucs = metrics.per_product_auc(s, y, held=h)
    free = ~h
    per_product = {}
    for j, p in enumerate(products):
        positives, eligible = int(y[:, j].sum()), int(free[:, j].sum())
        low, high = _auc_interval(aucs[j], positives, eligible - positives)
        per_product[p] = {
            "auc": _round(aucs[j]),
            "auc_low": low,
            "auc_high": high,
            "prevalence": _round(y[free[:, j], j].mean()) if free[:, j].any() else None,
            "positives": positives,
            "eligible": eligible,
        }
    intervals, margins = _intervals_and_margins(rankers, y, h, n_boot=n_boot, seed=seed)
    return {
        "format_version": EVALUATION_FORMAT_VERSION,
        "products": list(products),
        "n_customers": len(s),
        "n_adders": int(adders.sum()),
        "adder_rate": _round(float(adders.mean())),
        "headline": {name: _headline(r, y, h) for name, r in rankers.items()},
        "intervals": intervals,
        "model_minus_baseline": margins,
        "verdict": _verdict(list(products), margins, per_product),
        "gain": {name: c[0] for name, c in curves.items()},
        "lift": {name: c[1] for name, c in curves.items()},
        "calibration": {
            "pooled": _calibration(s[free], y[free]),
            "per_product": {
                p: _calibration(s[free[:, j], j], y[free[:, j], j]) for j, p in enumerate(products)
            },
        },
        "per_product": per_product,
        "importance": {
            "gain": _top_features(importance_gain, what="importance_gain"),
            "mean_abs_shap": _top_features(mean_abs_shap, what="mean_abs_shap"),
        },
        "data": _jsonable(data_summary, where="data_summary"),
    }


def evaluation_of(model_json: dict[str, Any], *, where: str) -> dict[str, Any]:
    """The evaluation section, or an error naming the descriptor that lacks it."""
    evaluation = model_json.get("evaluation") if isinstance(model_json, dict) else None
    if not isinstance(evaluation, dict):
        raise MissingEvaluation(
            f"{where}: no 'evaluation' section (got {type(evaluation).__name__}); "
            "retrain with a trainer that stores collect_evaluation(...) in model.json"
        )
    return evaluation


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, *, exact: bool = False) -> str:
    """Metrics with 4 decimals (exact: 6 significant digits), structures as JSON, null as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}" if exact else f"{value:.4f}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _table(header: list[str], rows: list[list[str]], *, cls: str = "") -> str:
    """Cells arrive already escaped (some carry markup); headers are escaped here."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _spec_summary(spec: Any) -> Any:
    """A spec's one-line description (the whole spec stays in model.json)."""
    return spec.get("description", spec.get("name")) if isinstance(spec, dict) else spec


def _history_features(descriptor: dict[str, Any]) -> str:
    """The model's decision-history features (recsvc.features.history), or "none"."""
    names = history_names_in((descriptor.get("feature_schema") or {}).get("names") or [])
    return f"{len(names)}: " + ", ".join(names) if names else "none"


def _distributed_rows(distributed: Any) -> dict[str, Any]:
    """Where a model trained with `train --dask` was fitted, and on which samples it was
    calibrated and measured (nothing for a single-process model)."""
    if not isinstance(distributed, dict):
        return {}
    return {
        "trained on Dask": f"{distributed.get('workers')} workers, "
        f"{distributed.get('partitions')} customer partitions; {distributed.get('learner')}",
        "evaluation sample (Dask)": distributed.get("evaluation"),
        "calibration sample (Dask)": distributed.get("calibration"),
    }


def _identity(label: str, descriptor: dict[str, Any], source: str | None) -> str:
    ds, ev = descriptor.get("dataset") or {}, descriptor["evaluation"]
    rows = {
        "model": source or descriptor.get("version") or "(not from a directory)",
        "kind": descriptor.get("kind"),
        "created": descriptor.get("created_at") or descriptor.get("created"),
        "dataset": ds.get("name"),
        "dataset spec": _spec_summary(ds.get("spec")),
        "data sha256": ds.get("data_sha256"),
        "feature fingerprint": (descriptor.get("feature_schema") or {}).get("fingerprint"),
        "decision-history features": _history_features(descriptor),
        "products": len(ev.get("products", [])),
        "hold-out customers": ev.get("n_customers"),
        "figures measured by": "the evaluation model, fitted without the hold-out",
        "shipped model": (descriptor.get("shipped_model") or {}).get("fitted_on"),
        "chosen settings": ((descriptor.get("selection") or {}).get("chosen") or {}).get("name"),
        "customers adding a product": f"{ev.get('n_adders')} (rate {_fmt(ev.get('adder_rate'))})",
    }
    rows.update(_distributed_rows(descriptor.get("distributed")))
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_fmt(v))}</td></tr>" for k, v in rows.items())
    return f'<div class="card"><h2>{_e(label)}</h2><table class="kv">{body}</table></div>'


def _delta(new: Any, old: Any, *, higher: bool) -> str:
    if new is None or old is None:
        return "–"
    diff = float(new) - float(old)
    cls = "same" if abs(diff) < 1e-12 else ("better" if (diff > 0) == higher else "worse")
    return f'<span class="{cls}">{diff:+.4f}</span>'


def _with_interval(value: Any, interval: dict[str, Any] | None) -> str:
    if value is None:
        return "–"
    if not interval or interval.get("low") is None:
        return _fmt(value)
    return f"{_fmt(value)} [{_fmt(interval['low'])}, {_fmt(interval['high'])}]"


def _headline_table(evs: list[tuple[str, dict[str, Any]]]) -> str:
    """Metrics against every baseline with 95% bootstrap intervals, best per row in bold; the
    delta column in compare mode."""
    cols = [
        (label, ev["headline"][MODEL], ev.get("intervals", {}).get(MODEL, {})) for label, ev in evs
    ]
    cols += [
        (f"baseline: {n}", m, evs[0][1].get("intervals", {}).get(n, {}))
        for n, m in evs[0][1]["headline"].items()
        if n != MODEL
    ]
    header = ["metric", *(label for label, _, _ in cols)]
    if len(evs) > 1:
        header.insert(3, f"Δ {evs[0][0]} − {evs[1][0]}")
    rows = []
    metrics_shown = list(HEADLINE_METRICS)
    if "auc" in evs[0][1].get("intervals", {}).get(MODEL, {}):
        metrics_shown.insert(0, ("auc", True))
    for key, higher in metrics_shown:
        vals = [m.get(key, (iv.get(key) or {}).get("mean")) for _, m, iv in cols]
        present = [v for v in vals if v is not None]
        best = (max if higher else min)(present) if present else None
        cells = []
        for v, (_, _, iv) in zip(vals, cols, strict=True):
            text = _e(_with_interval(v, iv.get(key)))
            cells.append(f"<b>{text}</b>" if v is not None and v == best else text)
        row = [_e(f"{key} ({'higher' if higher else 'lower'} is better)"), *cells]
        if len(evs) > 1:
            row.insert(3, _delta(vals[0], vals[1], higher=higher))
        rows.append(row)
    return _table(header, rows, cls="metrics")


def _margins_table(ev: dict[str, Any]) -> str:
    """Model minus each baseline on the same customers (paired bootstrap, 95%)."""
    margins = ev.get("model_minus_baseline") or {}
    keys = list(dict.fromkeys(k for m in margins.values() for k in m))
    rows = []
    for name, m in margins.items():
        cells = []
        for k in keys:
            iv = m.get(k)
            if not iv:
                cells.append("–")
                continue
            text = f"{iv['mean']:+.4f} [{iv['low']:+.4f}, {iv['high']:+.4f}]"
            cls = "better" if iv["low"] > 0 else "worse" if iv["high"] < 0 else "same"
            cells.append(f'<span class="{cls}">{_e(text)}</span>')
        rows.append([_e(name), *cells])
    return _table(["model minus", *keys], rows, cls="metrics")


def _verdict_list(ev: dict[str, Any]) -> str:
    lines = ev.get("verdict") or []
    return "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"


def _product_table(evs: list[tuple[str, dict[str, Any]]]) -> str:
    """Per product: who could add it, how many did, and the AUC with its interval right beside
    the number of additions it rests on."""
    first = evs[0][1]["per_product"]
    products = list(dict.fromkeys(p for _, ev in evs for p in ev["per_product"]))
    header = ["product", "not holding it", "prevalence"]
    for label, _ in evs:
        header += [f"added it ({label})", f"AUC {label} [95%]"]
    rows = []
    for p in products:
        row = first.get(p, {})
        cells = [_e(p), _e(_fmt(row.get("eligible"))), _e(_fmt(row.get("prevalence")))]
        for _, ev in evs:
            r = ev["per_product"].get(p, {})
            auc = r.get("auc")
            text = _fmt(auc)
            if auc is not None and r.get("auc_low") is not None:
                text += f" [{_fmt(r['auc_low'])}, {_fmt(r['auc_high'])}]"
            if r.get("positives") is not None and r["positives"] < FEW_POSITIVES:
                text += " (few additions)"
            cells += [_e(_fmt(r.get("positives"))), _e(text)]
        rows.append(cells)
    return _table(header, rows)


def _kv_table(evs: list[tuple[str, dict[str, Any]]], key: str) -> str:
    flat = [(label, _flatten(section.get(key) or {})) for label, section in evs]
    keys = list(dict.fromkeys(k for _, f in flat for k in f))
    rows = [[_e(k), *(_e(_fmt(f.get(k), exact=True)) for _, f in flat)] for k in keys]
    return _table(["", *(label for label, _ in flat)], rows)


def render_report(
    model_json: dict[str, Any],
    *,
    compare: dict[str, Any] | None = None,
    source: str | None = None,
    compare_source: str | None = None,
) -> str:
    """One self-contained HTML page; with compare, the champion sits beside this candidate."""
    models = [("candidate" if compare else "model", model_json, source)]
    evs = [(models[0][0], evaluation_of(model_json, where=source or "model_json"))]
    if compare is not None:
        models.append(("champion", compare, compare_source))
        evs.append(("champion", evaluation_of(compare, where=compare_source or "compare")))
    roles = (report_charts.PRIMARY, report_charts.CHAMPION)
    charts = report_charts.model_card_charts(
        [(lb, role, ev) for (lb, ev), role in zip(evs, roles, strict=False)]
    )
    figures = "".join(
        f'<figure><img alt="{_e(cap)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{_e(cap)}</figcaption></figure>"
        for cap, png in charts
    )
    warn = ""
    shas = {(d.get("dataset") or {}).get("data_sha256") for _, d, _ in models}
    if len(shas) > 1:
        warn = f'<p class="warn">{_e(_DATA_DIFFERS)}</p>'
    descs = [(lb, d) for lb, d, _ in models]
    body = [
        f"<h1>Model card: {_e(model_json.get('kind', 'model'))}</h1>",
        '<div class="cards">' + "".join(_identity(lb, d, s) for lb, d, s in models) + "</div>",
        warn,
        "<h2>In plain words</h2>",
        _verdict_list(evs[0][1]),
        "<h2>Headline metrics (hold-out, 95% bootstrap intervals)</h2>",
        _headline_table(evs),
        "<h3>Model minus each baseline (same customers, paired bootstrap, 95%)</h3>",
        _margins_table(evs[0][1]),
        f'<p class="note">{_e(_METRIC_NOTE)}</p>',
        f'<div class="charts">{figures}</div>',
        "<h2>Per product</h2>",
        _product_table(evs),
        "<h2>Data summary</h2>",
        _kv_table([(lb, ev) for lb, ev in evs], "data"),
        _decision_log(model_json.get("decision_log")),
        "<details><summary>Training parameters and trainer metrics</summary>",
        _kv_table(descs, "params"),
        _kv_table(descs, "metrics"),
        "</details>",
    ]
    title = _e(f"Model card: {source or model_json.get('kind', 'model')}")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _share(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.2f}%"


def _decision_log(log: dict[str, Any] | None) -> str:
    """Counterfactual risk: how much of the data the service pitched, under each arm."""
    if not log:
        return ""
    header = ["arm", "decisions", "customers", "pitched pairs", "share of all pairs", "answered",
              "accepted", "acceptance (95%)", "model-independent"]  # fmt: skip
    rows = []
    for arm, a in log["arms"].items():
        rate = a.get("acceptance_rate")
        band = "–" if rate is None else (
            f"{_share(rate)} [{_share(a['acceptance_low'])}, {_share(a['acceptance_high'])}]"
        )  # fmt: skip
        rows.append([_e(arm), str(a["decisions"]), str(a["customers"]), str(a["pitched_pairs"]),
                     _share(a["share_of_pairs"]), str(a["answered"]), str(a["accepted"]),
                     _e(band), "yes" if a["model_independent"] else "no"])  # fmt: skip
    unbiased = " and ".join(log["unbiased_arms"])
    lead = (
        f"The service pitched {log['pitched_pairs']} of the {log['all_pairs']} customer x "
        f"product pairs of this data set ({log['customers']} customers x {log['products']} "
        f"products); {_share(log['never_pitched_share'])} were never pitched and have no "
        "answer. What was pitched under the champion and challenger arms was chosen by a "
        "model, so answers there are biased towards what that model liked."
    )
    unbiased_note = (
        f"The {unbiased} arms give unbiased, model-independent data: the rules arm pitches by "
        "the rules alone, the holdout arm pitches nothing (its customers' adoption is organic)."
    )
    graded = ""
    if log.get("response_by_arm"):
        graded_rows = [
            [_e(g["arms"]), str(g["pitches"]), str(g["customers"]), str(g["accepted"]),
             _e(_with_interval(g["auc"], {"low": g["auc_low"], "high": g["auc_high"]}))]
            for g in log["response_by_arm"]
        ]  # fmt: skip
        graded = (
            "<h3>The response model on the hold-out's answered pitches, by who chose them</h3>"
            "<p>Pitches the rules chose are model-independent: their AUC is the unbiased "
            "estimate; pitches a model chose are graded on that model's choices.</p>"
            + _table(
                [
                    "pitches chosen",
                    "answered pitches",
                    "customers",
                    "accepted",
                    "AUC (95%, bootstrap over customers)",
                ],
                graded_rows,
            )
        )
    return (
        "<h2>Counterfactual risk: what the service pitched, per arm</h2>"
        f"<p>{_e(lead)}</p><p>{_e(unbiased_note)}</p>"
        + (f"<p>{_e(log['used_for'])}</p>" if log.get("used_for") else "")
        + _table(header, rows)
        + graded
    )


_DATA_DIFFERS = "The two models were evaluated on different data; compare with care."
_METRIC_NOTE = (
    "MAP@7 is the Kaggle definition: mean over all hold-out customers, those who added nothing "
    "count 0, denominator min(added, 7). Held products are never ranked. Brier and ECE are over "
    "(customer, product) cells not held; '–' means not applicable (scores are not probabilities, "
    "or no positives). Coverage@5: share of the catalogue in at least one customer's top 5."
)
_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}"
    "h1{font-size:1.6em}h2{font-size:1.15em;margin-top:1.6em}"
    ".cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;"
    "padding:.5em 1em;flex:1;min-width:380px}.card h2{margin:.3em 0}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.9em}"
    "td,th{border-bottom:1px solid #e4e4e4;padding:.25em .7em;text-align:right}"
    "td:first-child,th:first-child,.kv td{text-align:left;word-break:break-all}"
    ".kv th{white-space:nowrap;word-break:normal;text-align:left;vertical-align:top}"
    "thead th{background:#f3f5f8}.metrics b{color:#0b3d91}"
    ".better{color:#137333;font-weight:bold}.worse{color:#b3261e;font-weight:bold}.same{color:#666}"
    ".charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figure img{max-width:100%}"
    "figcaption{font-size:.85em;color:#555}.note{font-size:.85em;color:#555}"
    ".warn{background:#fff4e5;border-left:4px solid #d9822b;padding:.5em}"
)


def _read_descriptor(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / "model.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no model.json in {model_dir}")
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    evaluation_of(descriptor, where=str(path))
    return descriptor


def write_report(model_dir: Path, out: Path, *, compare_dir: Path | None = None) -> Path:
    """Render the card for a model directory (optionally against the champion's) to out."""
    candidate = _read_descriptor(model_dir)
    champion = None if compare_dir is None else _read_descriptor(compare_dir)
    page = render_report(
        candidate,
        compare=champion,
        source=str(model_dir),
        compare_source=None if compare_dir is None else str(compare_dir),
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
