"""Train, evaluate and predict for any dataset spec; the CLI wires these functions."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import sys
from pathlib import Path
from typing import Any

import numpy as np

from recsvc.features.tabular import TabularEncoder
from recsvc.models.ranker import ProductRanker, read_descriptor
from training import baselines, metrics
from training.card import evaluation_section
from training.datasets import DatasetFrame, DatasetSpec, load_dataset
from training.datasets.split import holdout_mask, stratified_folds


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[train] {message}", file=sys.stderr, flush=True)


def file_sha256(path: Path) -> str:
    """Streamed sha256 of the data (a file, or a directory's files by name), so a model names
    the exact data it saw."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            h.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def build_encoder(spec: DatasetSpec, frame: DatasetFrame) -> TabularEncoder:
    """The spec's roles as an (unfitted) encoder."""
    return TabularEncoder(
        numeric=frame.numeric, categorical=frame.categorical, holdings=frame.holding_features
    )


def build_ranker(spec: DatasetSpec, *, seed: int, num_threads: int = 1) -> ProductRanker:
    """A ranker with the spec's [model] settings (LightGBM params in [model.lightgbm])."""
    model = dict(spec.model)
    native = spec.categorical if model.get("native_categorical", False) else ()
    return ProductRanker(
        kind=str(model.get("kind", "binary_per_product")),
        params=dict(model.get("lightgbm", {})),
        num_boost_round=int(model.get("num_boost_round", 200)),
        calibration=model.get("calibration", "platt"),
        calibration_fraction=float(model.get("calibration_fraction", 0.2)),
        refit_full=bool(model.get("refit_full", True)),
        categorical_features=native,
        negatives_per_positive=model.get("negatives_per_positive"),
        seed=seed,
        num_threads=num_threads,
    )


def fit_on(
    spec: DatasetSpec,
    frame: DatasetFrame,
    *,
    seed: int,
    num_threads: int = 1,
    progress: bool = False,
) -> tuple[TabularEncoder, ProductRanker]:
    """Fit encoder and ranker on one frame."""
    encoder = build_encoder(spec, frame).fit(frame.features)
    X = encoder.transform(frame.features)
    ranker = build_ranker(spec, seed=seed, num_threads=num_threads)
    ranker.fit(
        X,
        frame.held,
        frame.labels,
        feature_names=encoder.feature_names,
        products=frame.products,
        feature_schema=encoder.feature_schema(),
        progress=progress,
    )
    return encoder, ranker


def score_metrics(
    scores: np.ndarray, frame: DatasetFrame, *, probabilities: bool, seed: int, n_boot: int
) -> dict[str, Any]:
    """All ranking metrics of one score matrix, with bootstrap CIs for MAP@7 and precision@1."""
    held, labels = frame.held, frame.labels
    ap = metrics.average_precision_at_k(scores, labels, k=7, held=held)
    p1 = metrics.precision_at_1_per_customer(scores, labels, held=held)
    aucs = metrics.per_product_auc(scores, labels, held=held)
    out: dict[str, Any] = {
        "map@7": float(ap.mean()),
        "map@7_ci": metrics.bootstrap_ci(ap, n_boot=n_boot, seed=seed),
        "ndcg@5": metrics.ndcg_at_k(scores, labels, k=5, held=held),
        "precision@1": float(p1.mean()),
        "precision@1_ci": metrics.bootstrap_ci(p1, n_boot=n_boot, seed=seed),
        "auc": dict(zip(frame.products, aucs, strict=True)),
        "coverage@7": metrics.catalogue_coverage(scores, k=7, held=held),
    }
    if probabilities:
        out["brier"] = metrics.brier(scores, labels, held=held)
        out["ece"] = metrics.expected_calibration_error(scores, labels, held=held)
    if len(frame.products) == 1:
        top = max(1, round(0.2 * len(frame)))
        out["hits_top20pct"] = metrics.hits_in_top(scores[:, 0], labels[:, 0], n=top)
        out["positives"] = int(labels.sum())
    return out


def baseline_scores(
    spec: DatasetSpec,
    train: DatasetFrame,
    test: DatasetFrame,
    *,
    X_train: np.ndarray,
    X_test: np.ndarray,
    seed: int,
) -> dict[str, tuple[np.ndarray, bool]]:
    """Every baseline's hold-out scores, and whether they are probabilities."""
    out = {
        "popularity": (baselines.popularity(train, test), True),
        "logistic": (baselines.logistic(X_train, train, X_test, seed=seed), True),
    }
    segment = spec.baselines.get("segment")
    if segment:
        out["segment_popularity"] = (
            baselines.segment_popularity(train, test, column=str(segment)),
            True,
        )
    rule_scores = baselines.rules(spec.name, test)
    if rule_scores is not None:
        out["rules"] = (rule_scores, False)
    return out


def compare_with_scores(
    spec: DatasetSpec,
    train: DatasetFrame,
    test: DatasetFrame,
    *,
    encoder: TabularEncoder,
    ranker: ProductRanker,
    seed: int,
    n_boot: int = 1000,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The model and every baseline on the same hold-out: metrics, and the score matrices."""
    X_train, X_test = encoder.transform(train.features), encoder.transform(test.features)
    scores = {"model": ranker.predict_proba(X_test)}
    result: dict[str, Any] = {
        "n_train": len(train),
        "n_test": len(test),
        "model": score_metrics(scores["model"], test, probabilities=True, seed=seed, n_boot=n_boot),
    }
    base: dict[str, Any] = {}
    for name, (matrix, probabilities) in baseline_scores(
        spec, train, test, X_train=X_train, X_test=X_test, seed=seed
    ).items():
        scores[name] = matrix
        base[name] = score_metrics(
            matrix, test, probabilities=probabilities, seed=seed, n_boot=n_boot
        )
    result["baselines"] = base
    result["model_minus_baseline"] = paired_margins(scores, test, seed=seed, n_boot=n_boot)
    return result, scores


def paired_margins(
    scores: dict[str, np.ndarray], test: DatasetFrame, *, seed: int, n_boot: int
) -> dict[str, Any]:
    """Model minus each baseline on the same customers: MAP@7 and precision@1, with a paired
    bootstrap CI (a margin is real when its interval excludes 0)."""
    held, labels = test.held, test.labels

    def per_customer(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ap = metrics.average_precision_at_k(matrix, labels, k=7, held=held)
        return ap, metrics.precision_at_1_per_customer(matrix, labels, held=held)

    model_ap, model_p1 = per_customer(scores["model"])
    out: dict[str, Any] = {}
    for name, matrix in scores.items():
        if name == "model":
            continue
        ap, p1 = per_customer(matrix)
        out[name] = {
            "map@7": metrics.bootstrap_ci(model_ap - ap, n_boot=n_boot, seed=seed),
            "precision@1": metrics.bootstrap_ci(model_p1 - p1, n_boot=n_boot, seed=seed),
        }
    return out


def compare(
    spec: DatasetSpec,
    train: DatasetFrame,
    test: DatasetFrame,
    *,
    encoder: TabularEncoder,
    ranker: ProductRanker,
    seed: int,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """The model and every baseline scored on the same hold-out customers."""
    report, _ = compare_with_scores(
        spec, train, test, encoder=encoder, ranker=ranker, seed=seed, n_boot=n_boot
    )
    return report


def train(
    spec: DatasetSpec,
    data_path: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    progress: bool = True,
    num_threads: int = 1,
) -> Path:
    """Fit on the non-hold-out customers, record hold-out metrics, save a model directory."""
    data_path = Path(data_path)
    _log(progress, f"loading {spec.name} from {data_path}")
    frame = load_dataset(spec, data_path)
    test_mask = holdout_mask(frame, spec, seed=seed)
    train_part, test_part = frame.take(~test_mask), frame.take(test_mask)
    _log(progress, f"fitting on {len(train_part)} customers, holding out {len(test_part)}")
    encoder, ranker = fit_on(
        spec, train_part, seed=seed, num_threads=num_threads, progress=progress
    )
    _log(progress, "scoring hold-out and baselines")
    report, scores = compare_with_scores(
        spec, train_part, test_part, encoder=encoder, ranker=ranker, seed=seed
    )
    _log(progress, "collecting the model card's evaluation")
    model_scores = scores.pop("model")
    evaluation = evaluation_section(
        train=train_part,
        test=test_part,
        X_test=encoder.transform(test_part.features),
        ranker=ranker,
        scores=model_scores,
        baseline_scores=scores,
        feature_names=list(encoder.feature_names),
        seed=seed,
    )
    extra = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dataset": {
            "name": spec.name,
            "spec": spec.to_dict(),
            "data_sha256": file_sha256(data_path),
            "snapshot": frame.snapshot,
            "split_seed": seed,
        },
        "metrics": report,
        "evaluation": evaluation,
    }
    out = ranker.save(out_dir, extra=extra)
    _log(progress, f"saved {out} (hold-out MAP@7 {report['model']['map@7']:.5f})")
    return out


def evaluate(
    model_dir: str | Path,
    spec: DatasetSpec,
    data_path: str | Path,
    *,
    seed: int | None = None,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Re-score a saved model on its hold-out customers next to every baseline (JSON-able)."""
    desc = read_descriptor(model_dir)
    split_seed = int(desc.get("dataset", {}).get("split_seed", 0) if seed is None else seed)
    frame = load_dataset(spec, Path(data_path))
    test_mask = holdout_mask(frame, spec, seed=split_seed)
    encoder = TabularEncoder.from_schema(desc["feature_schema"])
    ranker = ProductRanker.load(model_dir)
    report = compare(
        spec,
        frame.take(~test_mask),
        frame.take(test_mask),
        encoder=encoder,
        ranker=ranker,
        seed=split_seed,
        n_boot=n_boot,
    )
    report["model_dir"] = str(model_dir)
    report["split_seed"] = split_seed
    return report


def predict(
    model_dir: str | Path,
    spec: DatasetSpec,
    data_path: str | Path,
    *,
    top_k: int,
    out_csv: str | Path,
    as_of: str | None = None,
) -> Path:
    """Write customer_id,rank,product_id,score for the top k products not held at as-of."""
    desc = read_descriptor(model_dir)
    options: dict[str, Any] = {"labelled": False}
    if as_of is not None:
        options["as_of"] = as_of
    frame = load_dataset(spec, Path(data_path), **options)
    encoder = TabularEncoder.from_schema(desc["feature_schema"])
    ranker = ProductRanker.load(model_dir)
    probs = ranker.predict_proba(encoder.transform(frame.features))
    ranked = metrics.top_k(probs, k=top_k, held=frame.held)
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "rank", "product_id", "score"])
        for i, cid in enumerate(frame.ids.tolist()):
            for r, j in enumerate(ranked[i].tolist(), start=1):
                if j >= 0:
                    writer.writerow([cid, r, ranker.products_[j], f"{probs[i, j]:.6g}"])
    return out


def cross_validate(
    spec: DatasetSpec,
    data_path: str | Path,
    *,
    seed: int = 0,
    folds: int | None = None,
    repeats: int | None = None,
) -> dict[str, Any]:
    """Repeated stratified CV for one-product campaigns: AUC and hits scaled to the campaign."""
    frame = load_dataset(spec, Path(data_path))
    folds = int(folds or spec.split.get("folds", 5))
    repeats = int(repeats or spec.split.get("repeats", 1))
    size = int(spec.split.get("campaign_size", 800))
    of = int(spec.split.get("campaign_of", 4000))
    owners = int(spec.split.get("campaign_positives", 238))
    aucs, hits = [], []
    for rep in range(repeats):
        for tr, te in stratified_folds(frame.labels[:, 0], folds=folds, seed=seed + rep):
            train_part, test_part = frame.take(tr), frame.take(te)
            encoder, ranker = fit_on(spec, train_part, seed=seed + rep, num_threads=1)
            s = ranker.predict_proba(encoder.transform(test_part.features))[:, 0]
            y = test_part.labels[:, 0]
            aucs.append(metrics.per_product_auc(s[:, None], y[:, None])[0])
            n_top = round(size / of * len(y))
            hits.append(metrics.hits_in_top(s, y, n=n_top) * owners / max(int(y.sum()), 1))
    return {
        "folds": folds,
        "repeats": repeats,
        "auc_mean": float(np.mean([a for a in aucs if a is not None])),
        "campaign_hits_mean": float(np.mean(hits)),
        "campaign_hits_std": float(np.std(hits)),
        "campaign": {"size": size, "of": of, "positives": owners},
    }
