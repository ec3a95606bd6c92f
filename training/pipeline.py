"""Train, evaluate and predict for any dataset spec; the CLI wires these functions."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from recsvc.features.tabular import TabularEncoder
from recsvc.models.ranker import DESCRIPTOR, ProductRanker, read_descriptor
from training import baselines, metrics, selection
from training.card import evaluation_section
from training.datasets import DatasetFrame, DatasetSpec, load_dataset
from training.datasets.split import customer_keys, holdout_mask, stratified_folds
from training.decision_log import decision_log_for

TRAINING_CUSTOMERS = "training_customers.bin"
KEY_BITS = 48


class OverlapError(ValueError):
    """The evaluation customers include customers the model was trained on."""


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
    monotone = dict(spec.model.get("monotone", {}))
    if monotone:
        unknown = sorted(set(monotone) - set(encoder.feature_names))
        if unknown:
            raise ValueError(f"spec {spec.name}: monotone constraint on unknown feature {unknown}")
        ranker.params["monotone_constraints"] = [
            int(monotone.get(n, 0)) for n in encoder.feature_names
        ]
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


def write_training_customers(out_dir: Path, keys: np.ndarray) -> dict[str, Any]:
    """Store the training customers' keys next to the model and list the file in model.json.

    The top 48 bits of each key, sorted and unique, as zlib-compressed little-endian uint64
    deltas: about 4.6 MB for a million customers; two different customers share 48 bits with
    probability ~n/2^48 (1e6 training customers: one false match in ~280 million)."""
    short = np.unique(np.asarray(keys, dtype=np.uint64) >> np.uint64(64 - KEY_BITS))
    deltas = np.diff(short, prepend=np.uint64(0)).astype("<u8")
    blob = zlib.compress(deltas.tobytes(), 6)
    (out_dir / TRAINING_CUSTOMERS).write_bytes(blob)
    desc_path = out_dir / DESCRIPTOR
    desc = json.loads(desc_path.read_text(encoding="utf-8"))
    record = {
        "file": TRAINING_CUSTOMERS,
        "count": len(short),
        "key": "blake2b-64 of the customer id (of the row's content when the source has no "
        f"id), top {KEY_BITS} bits, sorted, uint64 deltas, zlib",
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    desc["training_customers"] = record
    desc["artifacts"] = [*desc["artifacts"], TRAINING_CUSTOMERS]
    desc_path.write_text(json.dumps(desc, indent=1), encoding="utf-8")
    return record


def read_training_customers(model_dir: str | Path) -> np.ndarray | None:
    """The sorted 48-bit keys of a model's training customers (None: the model predates them)."""
    desc = read_descriptor(model_dir)
    record = desc.get("training_customers")
    if not record:
        return None
    blob = (Path(model_dir) / str(record["file"])).read_bytes()
    if hashlib.sha256(blob).hexdigest() != record["sha256"]:
        raise ValueError(f"{model_dir}: {record['file']} does not match its sha256 in model.json")
    deltas = np.frombuffer(zlib.decompress(blob), dtype="<u8")
    return np.cumsum(deltas, dtype=np.uint64)


def overlap_count(model_keys: np.ndarray, keys: np.ndarray) -> int:
    """How many of `keys` (full 64-bit) are among a model's stored 48-bit training keys."""
    short = np.asarray(keys, dtype=np.uint64) >> np.uint64(64 - KEY_BITS)
    if len(model_keys) == 0 or len(short) == 0:
        return 0
    pos = np.minimum(np.searchsorted(model_keys, short), len(model_keys) - 1)
    return int((model_keys[pos] == short).sum())


def train(
    spec: DatasetSpec,
    data_path: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    progress: bool = True,
    num_threads: int = 1,
    refit: bool = True,
) -> Path:
    """Choose settings on the training customers, measure on the hold-out, ship a refit.

    1. Hold out customers by key (`holdout_mask`); 2. any search the spec lists runs on the
    other customers only; 3. the chosen settings are fitted there and measured on the hold-out
    against every baseline (model.json "metrics", "evaluation": hold-out figures of that
    evaluation model); 4. with `refit`, the same settings are fitted again on every customer
    and that model is shipped. The keys of the shipped model's training customers are stored,
    so `evaluate` can refuse to grade it on them."""
    data_path = Path(data_path)
    _log(progress, f"loading {spec.name} from {data_path}")
    frame = load_dataset(spec, data_path)
    keys = customer_keys(frame)
    test_mask = holdout_mask(frame, spec, seed=seed)
    train_part, test_part = frame.take(~test_mask), frame.take(test_mask)
    _log(progress, f"searching on {len(train_part)} training customers only")
    chosen = selection.select(spec, train_part, seed=seed, fit=fit_on, num_threads=num_threads)
    c_spec, c_train = selection.apply(spec, train_part, chosen.chosen)
    _, c_test = selection.apply(spec, test_part, chosen.chosen)
    _log(progress, f"fitting {chosen.chosen.name!r} on {len(c_train)}, holding out {len(c_test)}")
    encoder, ranker = fit_on(c_spec, c_train, seed=seed, num_threads=num_threads, progress=progress)
    _log(progress, "scoring hold-out and baselines")
    report, evaluation, model_scores = measured(
        c_spec, c_train, c_test, encoder=encoder, ranker=ranker, seed=seed, progress=progress
    )
    trained_keys = keys[~test_mask]
    shipped = shipped_model(refit=False, customers=len(c_train))
    if refit:
        _log(progress, f"refitting {chosen.chosen.name!r} on all {len(frame)} customers")
        _, c_all = selection.apply(spec, frame, chosen.chosen)
        encoder, ranker = fit_on(
            c_spec, c_all, seed=seed, num_threads=num_threads, progress=progress
        )
        trained_keys = keys
        shipped = shipped_model(refit=True, customers=len(frame))
    report["measured_on"] = (
        f"hold-out: {len(c_test)} customers never used for fitting or for any choice; "
        f"model fitted on the other {len(c_train)}"
    )
    more = {}
    if log := decision_log_for(spec, data_path, frame, test=c_test, scores=model_scores):
        more["decision_log"] = log  # counterfactual risk: what the service pitched, per arm
    return save_trained(
        ranker, out_dir, spec=spec, data_path=data_path, snapshot=frame.snapshot, seed=seed,
        chosen=chosen, shipped=shipped, report=report, evaluation=evaluation,
        trained_keys=trained_keys, progress=progress, more=more,
    )  # fmt: skip


def measured(
    spec: DatasetSpec,
    train: DatasetFrame,
    test: DatasetFrame,
    *,
    encoder: TabularEncoder,
    ranker: ProductRanker,
    seed: int,
    progress: bool,
) -> tuple[dict[str, Any], dict[str, Any], np.ndarray]:
    """The hold-out report (compare_with_scores), the model card's evaluation section and the
    model's hold-out scores."""
    report, scores = compare_with_scores(
        spec, train, test, encoder=encoder, ranker=ranker, seed=seed
    )
    _log(progress, "collecting the model card's evaluation")
    model_scores = scores.pop("model")
    evaluation = evaluation_section(
        train=train,
        test=test,
        X_test=encoder.transform(test.features),
        ranker=ranker,
        scores=model_scores,
        baseline_scores=scores,
        feature_names=list(encoder.feature_names),
        seed=seed,
    )
    return report, evaluation, model_scores


def shipped_model(*, refit: bool, customers: int) -> dict[str, Any]:
    """model.json's "shipped_model": what the shipped model was fitted on."""
    if not refit:
        return {"fitted_on": "training customers only (no refit)", "customers": customers}
    return {
        "fitted_on": "all customers (training + hold-out), with the settings chosen on the "
        "training customers; its hold-out figures are those of the evaluation model",
        "customers": customers,
    }


def save_trained(
    ranker: ProductRanker,
    out_dir: str | Path,
    *,
    spec: DatasetSpec,
    data_path: Path,
    snapshot: Any,
    seed: int,
    chosen: selection.Selection,
    shipped: dict[str, Any],
    report: dict[str, Any],
    evaluation: dict[str, Any],
    trained_keys: np.ndarray,
    progress: bool,
    more: dict[str, Any],
) -> Path:
    """Save the model with its model.json record (data set, selection, what was shipped, the
    hold-out metrics and evaluation, then `more`) and its training customers' keys."""
    extra = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dataset": {
            "name": spec.name,
            "spec": spec.to_dict(),
            "data_sha256": file_sha256(data_path),
            "snapshot": snapshot,
            "split_seed": seed,
        },
        "selection": chosen.to_dict(),
        "shipped_model": shipped,
        "metrics": report,
        "evaluation": evaluation,
        **more,
    }
    out = ranker.save(out_dir, extra=extra)
    write_training_customers(out, trained_keys)
    _log(progress, f"saved {out} (hold-out MAP@7 {report['model']['map@7']:.5f})")
    return out


def evaluate(
    model_dir: str | Path,
    spec: DatasetSpec,
    data_path: str | Path,
    *,
    seed: int | None = None,
    n_boot: int = 1000,
    allow_overlap: bool = False,
) -> dict[str, Any]:
    """Score a saved model on the file's hold-out customers (by key) next to every baseline.

    Refuses (OverlapError) when any of those customers is among the model's training
    customers, unless `allow_overlap`: a refit model has seen every customer of its own
    training file, so grade it on a file of other customers."""
    desc = read_descriptor(model_dir)
    split_seed = int(desc.get("dataset", {}).get("split_seed", 0) if seed is None else seed)
    frame = load_dataset(spec, Path(data_path))
    test_mask = holdout_mask(frame, spec, seed=split_seed)
    test_keys = customer_keys(frame)[test_mask]
    model_keys = read_training_customers(model_dir)
    overlap = None if model_keys is None else overlap_count(model_keys, test_keys)
    if not allow_overlap and (overlap is None or overlap > 0):
        what = (
            "the model does not record its training customers (trained before this check)"
            if overlap is None
            else f"{overlap} of the {len(test_keys)} hold-out customers in {data_path} were "
            "among the model's training customers"
        )
        raise OverlapError(
            f"refusing to evaluate: {what}; its score would flatter it. Evaluate on a file of "
            "other customers, or pass --allow-overlap if that is what you mean."
        )
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
    report["overlap_with_training_customers"] = overlap
    same = desc.get("dataset", {}).get("data_sha256") == file_sha256(Path(data_path))
    report["same_file_as_training"] = same
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
    """Write customer_id,rank,product_id,score for the top k products not held at as-of.

    product_id is the data set's own name for the product (e.g. `ind_cco_fin_ult1`)."""
    desc = read_descriptor(model_dir)
    options: dict[str, Any] = {"labelled": False}
    if as_of is not None:
        options["as_of"] = as_of
    frame = load_dataset(spec, Path(data_path), **options)
    encoder = TabularEncoder.from_schema(desc["feature_schema"])
    ranker = ProductRanker.load(model_dir)
    probs = ranker.predict_proba(encoder.transform(frame.features))
    ranked = metrics.top_k(probs, k=top_k, held=frame.held)
    source = spec.source_ids
    names = [source.get(p, p) for p in ranker.products_]
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "rank", "product_id", "score"])
        for i, cid in enumerate(frame.ids.tolist()):
            for r, j in enumerate(ranked[i].tolist(), start=1):
                if j >= 0:
                    writer.writerow([cid, r, names[j], f"{probs[i, j]:.6g}"])
    return out


def cross_validate(
    spec: DatasetSpec,
    data_path: str | Path,
    *,
    seed: int = 0,
    folds: int | None = None,
    repeats: int | None = None,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Nested, repeated stratified CV for one-product campaigns: AUC and campaign hits.

    Outer folds are keyed by customer; any search the spec lists runs inside each outer
    fold's training part (its own inner folds), so every reported figure comes from
    customers no choice saw. Hits are scaled to the campaign (e.g. 800 of 4,000 with 238
    owners); per repeat, the pooled out-of-fold scores give one campaign figure, and a
    bootstrap over customers gives its interval."""
    frame = load_dataset(spec, Path(data_path))
    keys = customer_keys(frame)
    folds = int(folds or spec.split.get("folds", 5))
    repeats = int(repeats or spec.split.get("repeats", 1))
    size = int(spec.split.get("campaign_size", 800))
    of = int(spec.split.get("campaign_of", 4000))
    owners = int(spec.split.get("campaign_positives", 238))
    y = frame.labels[:, 0]
    aucs, hits, chosen, pooled = [], [], [], []
    for rep in range(repeats):
        oof = np.zeros(len(frame))
        for tr, te in stratified_folds(y, folds=folds, seed=seed + rep, keys=keys):
            train_part, test_part = frame.take(tr), frame.take(te)
            sel = selection.select(spec, train_part, seed=seed + rep, fit=fit_on)
            chosen.append(sel.chosen.name)
            c_spec, c_train = selection.apply(spec, train_part, sel.chosen)
            _, c_test = selection.apply(spec, test_part, sel.chosen)
            encoder, ranker = fit_on(c_spec, c_train, seed=seed + rep, num_threads=1)
            s = ranker.predict_proba(encoder.transform(c_test.features))[:, 0]
            oof[te] = s
            yt = c_test.labels[:, 0]
            aucs.append(metrics.per_product_auc(s[:, None], yt[:, None])[0])
            n_top = round(size / of * len(yt))
            hits.append(metrics.hits_in_top(s, yt, n=n_top) * owners / max(int(yt.sum()), 1))
        pooled.append(oof)
    campaign = campaign_hits_ci(
        pooled, y, size=size, of=of, owners=owners, n_boot=n_boot, seed=seed
    )
    return {
        "folds": folds,
        "repeats": repeats,
        "auc_mean": float(np.mean([a for a in aucs if a is not None])),
        "campaign_hits_mean": float(np.mean(hits)),
        "campaign_hits_std": float(np.std(hits)),
        "campaign_hits_pooled": campaign,
        "chosen": {name: chosen.count(name) for name in dict.fromkeys(chosen)},
        "campaign": {"size": size, "of": of, "positives": owners},
    }


def campaign_hits_ci(
    pooled: list[np.ndarray],
    y: np.ndarray,
    *,
    size: int,
    of: int,
    owners: int,
    n_boot: int,
    seed: int,
) -> dict[str, float]:
    """Owners caught in the top size/of share of out-of-fold scores, scaled to `owners`:
    mean over repeats, and a percentile bootstrap over customers (resampled alike for every
    repeat, the repeats' figures averaged in each draw)."""
    y = np.asarray(y) > 0

    def figure(rows: np.ndarray) -> float:
        out = []
        for oof in pooled:
            s, t = oof[rows], y[rows]
            n_top = round(size / of * len(rows))
            out.append(metrics.hits_in_top(s, t, n=n_top) * owners / max(int(t.sum()), 1))
        return float(np.mean(out))

    rng = np.random.default_rng(seed)
    everyone = np.arange(len(y))
    draws = [figure(rng.integers(0, len(y), len(y))) for _ in range(n_boot)]
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return {"mean": figure(everyone), "low": float(lo), "high": float(hi)}
