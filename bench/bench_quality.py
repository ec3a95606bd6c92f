"""Honest quality estimates on the shared real data sets, and the effect of each idea.

Run: nice -n 10 python bench/bench_quality.py {bank,coil,santander} [--seeds 8]
Every choice the spec's [search] lists is made on the training customers only (inner folds);
figures come from customers no choice saw: hash hold-outs (bank, santander; one per seed) or
the outer folds of a nested, repeated CV (CoIL). Intervals: percentile bootstrap over
customers; over several seeds, the draws are averaged seed by seed (paired where a difference
is shown). Prints numbers and the machine; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine
from sklearn.metrics import roc_auc_score

from recsvc.features.tabular import TabularEncoder
from recsvc.models.ranker import ProductRanker
from training import baselines, metrics, selection
from training.datasets import DatasetFrame, DatasetSpec, load_dataset, load_spec
from training.datasets.split import customer_keys, holdout_mask, split_fraction, stratified_folds
from training.pipeline import build_encoder, fit_on

REPO = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout (or beside its parent, for a worktree under wt/)
DATA = next((p for p in (REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data")
             if p.is_dir()), REPO.parent / "shared" / "data")  # fmt: skip
FILES = {
    "bank": ("bank_marketing", DATA / "bank_marketing" / "bank-additional-train.csv"),
    "coil": ("coil2000", DATA / "coil2000" / "ticdata2000.txt"),
    "santander": ("santander", DATA / "santander" / "train_ver2_mar_apr_2016_sample.csv.gz"),
}
N_BOOT = 300
CONTEXT = ("emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed")


def ci(draws: np.ndarray, point: float, *, diff: bool = False) -> str:
    """point [2.5%, 97.5%] of the bootstrap draws; signed for a difference."""
    lo, hi = np.quantile(draws, [0.025, 0.975])
    f = "+.5f" if diff else ".5f"
    return f"{point:{f}} [{lo:{f}}, {hi:{f}}]"


def mean_ci(draws: list[np.ndarray], points: list[float], *, diff: bool = False) -> str:
    """Over several hold-outs: the mean point, and the seed-by-seed mean of the draws."""
    return ci(np.mean(draws, axis=0), float(np.mean(points)), diff=diff)


def boot_index(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1000 + seed)
    return [rng.integers(0, n, n) for _ in range(N_BOOT)]


def auc_draws(y: np.ndarray, s: np.ndarray, idx: list[np.ndarray]) -> np.ndarray:
    return np.array([roc_auc_score(y[i], s[i]) for i in idx])


def rank(s: np.ndarray) -> np.ndarray:
    return pd.Series(s).rank(pct=True).to_numpy()


def logistic_scores(
    spec: DatasetSpec, train: DatasetFrame, test: DatasetFrame, seed: int
) -> np.ndarray:
    encoder = build_encoder(spec, train).fit(train.features)
    return baselines.logistic(
        encoder.transform(train.features), train, encoder.transform(test.features), seed=seed
    )


def choose_blend(spec: DatasetSpec, train: DatasetFrame, seed: int) -> float:
    """Weight of the logistic model in a rank blend, chosen on a validation part of train."""
    valid = split_fraction(customer_keys(train), 0.3, seed=seed, salt="blend")
    tr, va = train.take(~valid), train.take(valid)
    enc, rk = fit_on(spec, tr, seed=seed)
    s = rk.predict_proba(enc.transform(va.features))[:, 0]
    lg = logistic_scores(spec, tr, va, seed)[:, 0]
    y = va.labels[:, 0]
    grid = [0.0, 0.1, 0.2, 0.3, 0.5]
    return max(grid, key=lambda w: roc_auc_score(y, (1 - w) * rank(s) + w * rank(lg)))


def load(key: str) -> tuple[DatasetSpec, DatasetFrame]:
    """The spec and frame of one of FILES."""
    name, path = FILES[key]
    spec = load_spec(name)
    return spec, load_dataset(spec, path)


def holdout_fit(
    spec: DatasetSpec, frame: DatasetFrame, seed: int
) -> tuple[
    selection.Selection,
    DatasetSpec,
    DatasetFrame,
    DatasetFrame,
    tuple[TabularEncoder, ProductRanker],
]:
    """One hold-out: the candidate chosen on the training part, the chosen spec, train and
    test frames, and the encoder and ranker fitted on the chosen train frame."""
    m = holdout_mask(frame, spec, seed=seed)
    train, test = frame.take(~m), frame.take(m)
    sel = selection.select(spec, train, seed=seed, fit=fit_on)
    cspec, ctrain = selection.apply(spec, train, sel.chosen)
    _, ctest = selection.apply(spec, test, sel.chosen)
    return sel, cspec, ctrain, ctest, fit_on(cspec, ctrain, seed=seed)


def holdout_bank(seeds: list[int]) -> None:
    spec, frame = load("bank")
    model_d, diffs = [], {"no context columns": [], "rank blend with logistic": []}
    points: dict[str, list[float]] = {k: [] for k in [*diffs, "model", "logistic"]}
    log_d = []
    for seed in seeds:
        t0 = time.time()
        sel, cspec, ctrain, ctest, (enc, rk) = holdout_fit(spec, frame, seed)
        s = rk.predict_proba(enc.transform(ctest.features))[:, 0]
        y = ctest.labels[:, 0]
        idx = boot_index(len(y), seed)
        a = auc_draws(y, s, idx)
        auc = roc_auc_score(y, s)
        model_d.append(a)
        points["model"].append(auc)
        lg = logistic_scores(cspec, ctrain, ctest, seed)[:, 0]
        points["logistic"].append(roc_auc_score(y, lg))
        log_d.append(auc_draws(y, lg, idx))
        # idea: without the socio-economic context columns
        nspec = dataclasses.replace(
            cspec, numeric=tuple(c for c in cspec.numeric if c not in CONTEXT)
        )
        ntrain = dataclasses.replace(ctrain, numeric=nspec.numeric)
        ntest = dataclasses.replace(ctest, numeric=nspec.numeric)
        e2, r2 = fit_on(nspec, ntrain, seed=seed)
        s2 = r2.predict_proba(e2.transform(ntest.features))[:, 0]
        diffs["no context columns"].append(a - auc_draws(y, s2, idx))
        points["no context columns"].append(auc - roc_auc_score(y, s2))
        # idea: small rank blend with the logistic model, weight chosen inside training
        w = choose_blend(cspec, ctrain, seed)
        b = (1 - w) * rank(s) + w * rank(lg)
        diffs["rank blend with logistic"].append(auc_draws(y, b, idx) - a)
        points["rank blend with logistic"].append(roc_auc_score(y, b) - auc)
        blend, ctx = points["rank blend with logistic"][-1], points["no context columns"][-1]
        print(f"seed {seed}: chose {sel.chosen.name!r}; hold-out AUC {ci(a, auc)}; logistic "
              f"{points['logistic'][-1]:.4f}; blend w={w} {blend:+.4f}; context columns "
              f"{ctx:+.4f} ({time.time() - t0:.0f} s)", flush=True)  # fmt: skip
    n = len(seeds)
    margin = [m - g for m, g in zip(model_d, log_d, strict=True)]
    margin_pts = [m - g for m, g in zip(points["model"], points["logistic"], strict=True)]
    print(f"bank AUC, mean of {n} hold-outs: {mean_ci(model_d, points['model'])}")
    print(f"  logistic: {mean_ci(log_d, points['logistic'])}")
    print(f"  model - logistic: {mean_ci(margin, margin_pts, diff=True)}")
    for k, label in (("no context columns", "context columns (with - without)"),
                     ("rank blend with logistic", "blend (blend - model)")):  # fmt: skip
        print(f"  effect of the {label}: {mean_ci(diffs[k], points[k], diff=True)}")


def pair_features(train: DatasetFrame, frames: list[DatasetFrame]) -> list[DatasetFrame]:
    """co_j = sum over held i of P(holds j | holds i) in train: product-pair co-ownership."""
    h = train.held.astype(np.float64)
    n_i = h.sum(axis=0)
    co = (h.T @ h) / np.maximum(n_i[:, None], 1)
    np.fill_diagonal(co, 0.0)
    out = []
    names = tuple(f"co_{p}" for p in train.products)
    for f in frames:
        v = f.held.astype(np.float64) @ co
        feats = f.features.copy()
        for j, n in enumerate(names):
            feats[n] = v[:, j].astype(np.float32)
        out.append(dataclasses.replace(f, features=feats, numeric=(*f.numeric, *names)))
    return out


def holdout_santander(seeds: list[int]) -> None:
    spec, frame = load("santander")
    model_d, pop_d, pair_d, pts, pop_pts, pair_pts, gate_same = [], [], [], [], [], [], []
    for seed in seeds:
        t0 = time.time()
        sel, cspec, ctrain, ctest, (enc, rk) = holdout_fit(spec, frame, seed)
        X = enc.transform(ctest.features)
        s = rk.predict_proba(X)
        ap = metrics.average_precision_at_k(s, ctest.labels, k=7, held=ctest.held)
        main_only = rk._booster(0).predict(X)
        ap_nogate = metrics.average_precision_at_k(main_only, ctest.labels, k=7, held=ctest.held)
        gate_same.append(float(np.abs(ap - ap_nogate).max()))
        pop = baselines.popularity(ctrain, ctest)
        ap_pop = metrics.average_precision_at_k(pop, ctest.labels, k=7, held=ctest.held)
        ptrain, ptest = pair_features(ctrain, [ctrain, ctest])
        pspec = dataclasses.replace(cspec, numeric=ptrain.numeric)
        e2, r2 = fit_on(pspec, ptrain, seed=seed)
        s2 = r2.predict_proba(e2.transform(ptest.features))
        ap_pair = metrics.average_precision_at_k(s2, ctest.labels, k=7, held=ctest.held)
        idx = boot_index(len(ap), seed)
        model_d.append(np.array([ap[i].mean() for i in idx]))
        pop_d.append(np.array([ap_pop[i].mean() for i in idx]))
        pair_d.append(np.array([(ap_pair[i] - ap[i]).mean() for i in idx]))
        pts.append(ap.mean())
        pop_pts.append(ap_pop.mean())
        pair_pts.append((ap_pair - ap).mean())
        print(f"seed {seed}: chose {sel.chosen.name!r}; MAP@7 {ci(model_d[-1], pts[-1])}; "
              f"popularity {pop_pts[-1]:.5f}; pair features {pair_pts[-1]:+.5f}; the gate "
              f"changes AP by at most {gate_same[-1]:.1e} ({time.time() - t0:.0f} s)",
              flush=True)  # fmt: skip
    margin = [m - p for m, p in zip(model_d, pop_d, strict=True)]
    margin_pts = [m - p for m, p in zip(pts, pop_pts, strict=True)]
    print(f"santander MAP@7, mean of {len(seeds)} hold-outs: {mean_ci(model_d, pts)}")
    print(f"  popularity: {mean_ci(pop_d, pop_pts)}")
    print(f"  model - popularity: {mean_ci(margin, margin_pts, diff=True)}")
    print(f"  effect of pair co-ownership features: {mean_ci(pair_d, pair_pts, diff=True)}")


def coil(repeats: int) -> None:
    spec, frame = load("coil")
    keys = customer_keys(frame)
    y = frame.labels[:, 0]
    cands = selection.candidates(spec)
    oof: dict[str, list[np.ndarray]] = {
        k: []
        for k in ["nested", *(c.name for c in cands), "logistic (short list)", "nested + blend"]
    }
    chosen: list[str] = []
    t0 = time.time()
    for rep in range(repeats):
        cur = {k: np.zeros(len(frame)) for k in oof}
        for tr, te in stratified_folds(y, folds=5, seed=rep, keys=keys):
            train, test = frame.take(tr), frame.take(te)
            for c in cands:
                cs, ctr = selection.apply(spec, train, c)
                _, cte = selection.apply(spec, test, c)
                e, r = fit_on(cs, ctr, seed=rep)
                cur[c.name][te] = r.predict_proba(e.transform(cte.features))[:, 0]
            sel = selection.select(spec, train, seed=rep, fit=fit_on)
            chosen.append(sel.chosen.name)
            cur["nested"][te] = cur[sel.chosen.name][te]
            cs, ctr = selection.apply(spec, train, cands[0])
            _, cte = selection.apply(spec, test, cands[0])
            cur["logistic (short list)"][te] = logistic_scores(cs, ctr, cte, rep)[:, 0]
            ns, ntr = selection.apply(spec, train, sel.chosen)
            _, nte = selection.apply(spec, test, sel.chosen)
            w = choose_blend(ns, ntr, rep)
            lg = logistic_scores(ns, ntr, nte, rep)[:, 0]
            cur["nested + blend"][te] = (1 - w) * rank(cur["nested"][te]) + w * rank(lg)
        for k in oof:
            oof[k].append(cur[k])
        print(f"repeat {rep} done ({time.time() - t0:.0f} s)", flush=True)
    rng = np.random.default_rng(0)
    idx = [rng.integers(0, len(y), len(y)) for _ in range(N_BOOT)]

    def figure(scores: list[np.ndarray], rows: np.ndarray) -> float:
        n_top = round(800 / 4000 * len(rows))
        return float(
            np.mean(
                [
                    metrics.hits_in_top(s[rows], y[rows], n=n_top)
                    * 238
                    / max(int(y[rows].sum()), 1)
                    for s in scores
                ]
            )
        )

    allrows = np.arange(len(y))
    draws = {k: np.array([figure(v, i) for i in idx]) for k, v in oof.items()}
    counts = {c: chosen.count(c) for c in dict.fromkeys(chosen)}
    print(f"chosen in the {len(chosen)} outer folds: {counts}")
    nested = figure(oof["nested"], allrows)
    for k, v in oof.items():
        auc = np.mean([roc_auc_score(y, s) for s in v])
        point = figure(v, allrows)
        print(f"  {k}: owners in top 800 of 4000 (scaled) {ci(draws[k], point)}; AUC {auc:.4f}")
        if k != "nested":
            diff = ci(draws[k] - draws["nested"], point - nested, diff=True)
            print(f"    {k} - nested: {diff}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", choices=sorted(FILES))
    parser.add_argument(
        "--seeds", type=int, default=8, help="hold-outs (bank, santander) or repeats (coil)"
    )
    args = parser.parse_args()
    print("machine:", machine(), flush=True)
    seeds = list(range(args.seeds))
    {
        "bank": lambda: holdout_bank(seeds),
        "santander": lambda: holdout_santander(seeds),
        "coil": lambda: coil(args.seeds),
    }[args.data]()


if __name__ == "__main__":
    main()
