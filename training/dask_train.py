"""`python -m training train ... --dask ADDRESS`: the same model, trained on a Dask cluster.

The bank's CSVs are read with dask.dataframe and shuffled by customer, so partition i holds
some customers together with all their holdings, transactions and pitches; each partition's
feature matrix is built where it lives with `CustomerFeaturizer.transform_frames` (through
`frames_to_dataset`, the single-process code) and stays there; partitions are placed
round-robin on the workers, so reruns give the same trees. Each product's booster is trained
by LightGBM's data-parallel learner over the workers holding its rows, driven as
`lightgbm.dask` drives it, but with every worker's bins taken from one shared sample (see
`DaskRankerFit._shared_bins`; `bins="worker"` uses `lightgbm.dask.DaskLGBMClassifier`, whose
per-worker bins moved AUC by up to 0.04); only the boosters' text crosses back to the client,
with every leaf's row count made exact (`exact_counts`: the data-parallel learner records
hessian-based estimates, and TreeSHAP, the service's reasons, weighs branches by them).
`--threads` does not apply: each worker trains with its own thread count.

LightGBM's data-parallel learner grows the trees one machine grows (same rows, same bins) only
for some learner settings; `parity_limits` names the others in model.json. It estimates a
leaf's rows from hessians where one machine counts them (so `min_data_in_leaf` > 1 decides
differently), and it tries every feature in every leaf where one machine skips, below a leaf,
the features that gained nothing there (which happens only when a split can gain nothing:
`lambda_l1/l2`, `min_gain_to_split`, `max_delta_step`, `path_smooth`). The synthetic spec
therefore bounds leaves by `min_sum_hessian_in_leaf` without L2 (docs/model.md, measured).

Every per-customer choice is made from the customer's key (a hash of the id), never from a row
position, so a customer lands on the same side whatever the partitioning:
- hold-out: `holdout_mask`, exactly as single-process;
- calibration fold: `uniform(key, salt="calibration") < calibration_fraction` (single-process
  draws it per row with numpy's generator);
- negatives kept per product: `uniform(key, salt="negatives:<product>") < keep/negatives` (the
  single-process path draws exactly `keep` of them).

Documented samples (model.json `distributed`, docs/model.md): the isotonic/Platt calibrators
are fitted on the calibration fold's scores, computed on the partitions and gathered, up to
CALIBRATION_SAMPLE customers (chosen by key); the hold-out metrics, baselines and the model
card's evaluation run on up to EVALUATION_SAMPLE hold-out and as many training customers
(chosen by key), gathered to the client and scored by the single-process code. Below those
sizes everything is used and the figures are computed exactly as single-process.

Not distributed: a spec's `[search]` (nested selection), other loaders than `recsvc-bank`,
multiclass models, and non-customer splits are refused with DaskTrainingError.
"""

from __future__ import annotations

import math
import resource
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import lightgbm as lgb
import numpy as np
import pandas as pd

from recsvc.features.customer import CustomerFeaturizer
from recsvc.models.ranker import BINARY, ProductRanker
from training import selection
from training.datasets import DatasetFrame, DatasetSpec
from training.datasets.split import holdout_mask, id_keys, uniform
from training.synth.reader import SCHEMAS, BankFormatError, BankFrames, _convert
from training.synthetic import wants_history

EVALUATION_SAMPLE = 200_000
CALIBRATION_SAMPLE = 1_000_000
PARTITION_BYTES = 64 << 20
PARTITIONED_FILES = ("customers.csv", "holdings.csv", "transactions.csv", "pitches.csv")
# What the partitions never read: the features and labels (`frames_to_dataset`, through
# `CustomerFeaturizer.transform_frames`) do not use these columns, nor pitches.csv (the
# decision-history features are refused on Dask, `check_supported`). Their headers are still
# checked against the contract, but their values are not parsed, shuffled or held by a worker:
# less memory per worker, and no name, ID number or phone number in the training cluster.
UNREAD_COLUMNS = {
    "customers.csv": ("name", "id_number", "phone", "branch_id"),
    "holdings.csv": ("open_date",),
}
UNREAD_FILES = ("pitches.csv",)
_PART = "_part"


class DaskTrainingError(ValueError):
    """A spec or setting the Dask path does not train (the message says what and why)."""


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[train --dask] {message}", file=sys.stderr, flush=True)


def check_supported(spec: DatasetSpec) -> None:
    """Refuse what the Dask path cannot train the way the single-process path does."""
    if spec.loader != "recsvc-bank":
        raise DaskTrainingError(
            f"spec {spec.name}: --dask reads recsvc-bank directories only (loader "
            f"{spec.loader!r}); train it without --dask"
        )
    if wants_history(spec):
        raise DaskTrainingError(
            f"spec {spec.name}: key 'features.history' = true: the partitions build the "
            "customer features only, not the decision history; train it without --dask"
        )
    kind = str(spec.model.get("kind", BINARY))
    if kind != BINARY:
        raise DaskTrainingError(
            f"spec {spec.name}: key 'model.kind' = {kind!r}: --dask trains {BINARY!r} only"
        )
    if len(selection.candidates(spec)) > 1:
        raise DaskTrainingError(
            f"spec {spec.name}: its [search] lists candidates; the nested search runs on one "
            "machine only. Train without --dask, or fix the chosen candidate in the spec"
        )
    method = spec.split.get("method", "customer")
    if method not in ("customer", "random"):
        raise DaskTrainingError(
            f"spec {spec.name}: key 'split.method' = {method!r}: --dask holds out customers by "
            "key only (method 'customer')"
        )


# --- reading the bank as partitions -------------------------------------------------------


def _with_part(df: pd.DataFrame, partitions: int) -> pd.DataFrame:
    hashed = pd.util.hash_pandas_object(df["customer_id"], index=False).to_numpy()
    return df.assign(**{_PART: (hashed % np.uint64(partitions)).astype("int64")})


def read_columns(file: str) -> tuple[str, ...]:
    """The columns of a partitioned file the partitions read (none of UNREAD_FILES)."""
    if file in UNREAD_FILES:
        return ()
    unread = UNREAD_COLUMNS.get(file, ())
    return tuple(c for c in SCHEMAS[file] if c not in unread)


def _check_header(path: Path) -> None:
    """The file exists and its header names every contract column (read or not)."""
    if not path.is_file():
        raise BankFormatError(f"{path.name}: missing from {path.parent}")
    header = pd.read_csv(path, nrows=0, dtype=str, encoding="utf-8").columns
    for column in SCHEMAS[path.name]:
        if column not in header:
            raise BankFormatError(f"{path.name}: column {column!r} is missing")


def _partitioned(path: Path, partitions: int) -> list[Any]:
    """One CSV's `read_columns` as `partitions` delayed pandas frames, split by a hash of
    customer_id (the same hash in every file, so a customer's rows of every file meet in one
    partition)."""
    import dask.dataframe as dd

    _check_header(path)
    df = dd.read_csv(
        str(path),
        dtype=str,
        usecols=list(read_columns(path.name)),
        keep_default_na=False,
        na_filter=False,
        encoding="utf-8",
        blocksize=PARTITION_BYTES,
    )
    df = df.map_partitions(_with_part, partitions)
    return list(df.shuffle(on=_PART, npartitions=partitions).to_delayed())


def _unread(file: str) -> pd.DataFrame:
    """An UNREAD_FILES file as no rows, typed as `read_csv` types it."""
    empty = pd.Series([], dtype=str)
    return pd.DataFrame({c: _convert(file, c, kind, empty) for c, kind in SCHEMAS[file].items()})


def _typed(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """One partition of a contract file, its `read_columns` typed as `read_csv` types them
    (rows in the order of their values, as the sort below orders them whatever the shuffle)."""
    schema = {c: kind for c, kind in SCHEMAS[file].items() if c in read_columns(file)}
    for column in schema:
        if column not in raw.columns:
            raise BankFormatError(f"{file}: column {column!r} is missing")
    keys = [c for c in schema if c in ("customer_id", "snapshot_date", "date", "product_id")]
    raw = raw.sort_values([*keys, *[c for c in schema if c not in keys]], kind="stable")
    raw = raw.reset_index(drop=True)
    return pd.DataFrame(
        {c: _convert(file, c, kind, raw[c].astype(str)) for c, kind in schema.items()}
    )


@dataclass
class Part:
    """One partition's customers, kept on the worker that built it."""

    ids: np.ndarray
    keys: np.ndarray
    X: np.ndarray
    held: np.ndarray
    labels: np.ndarray
    test: np.ndarray
    snapshot: str | None

    def frame(self, rows: np.ndarray, *, products: list[str], names: list[str]) -> DatasetFrame:
        return DatasetFrame(
            ids=self.ids[rows],
            snapshot=self.snapshot,
            features=pd.DataFrame(self.X[rows], columns=names),
            held=self.held[rows],
            labels=self.labels[rows],
            products=list(products),
            numeric=tuple(names),
            categorical=(),
        )


def build_part(
    customers: pd.DataFrame,
    holdings: pd.DataFrame,
    transactions: pd.DataFrame,
    pitches: pd.DataFrame,
    *,
    managers: pd.DataFrame,
    manifest: dict[str, Any],
    spec: DatasetSpec,
    featurizer: CustomerFeaturizer,
    seed: int,
) -> Part:
    """Type one partition's rows, check they belong together, and build its features."""
    from training.synthetic import frames_to_dataset

    typed = {
        name: _unread(name) if name in UNREAD_FILES else _typed(df.drop(columns=[_PART]), name)
        for name, df in zip(
            PARTITIONED_FILES, (customers, holdings, transactions, pitches), strict=True
        )
    }
    known = pd.Index(typed["customers.csv"]["customer_id"])
    for name in PARTITIONED_FILES[1:]:
        stray = ~pd.Index(typed[name]["customer_id"]).isin(known)
        if stray.any():
            raise BankFormatError(
                f"{name}: a row's customer_id is not in this partition's customers.csv "
                "(unknown customer, or files partitioned differently)"
            )
    frames = BankFrames(
        manifest=manifest,
        customers=typed["customers.csv"],
        holdings=typed["holdings.csv"],
        transactions=typed["transactions.csv"],
        pitches=typed["pitches.csv"],
        managers=managers,
    )
    ds = frames_to_dataset(frames, spec, featurizer=featurizer)
    keys = id_keys(ds.ids)
    keyed = DatasetFrame(
        ids=ds.ids,
        snapshot=ds.snapshot,
        features=pd.DataFrame(index=pd.RangeIndex(len(ds))),
        held=ds.held,
        labels=ds.labels,
        products=ds.products,
        numeric=(),
        categorical=(),
        keys=keys,
    )
    return Part(
        ids=ds.ids,
        keys=keys,
        X=np.ascontiguousarray(ds.features.to_numpy(np.float32)),
        held=ds.held,
        labels=ds.labels,
        test=holdout_mask(keyed, spec, seed=seed),
        snapshot=ds.snapshot,
    )


# --- per-partition work (runs on the workers) -----------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which customers one fit uses: the training customers, or everyone (the refit)."""

    everyone: bool
    seed: int
    calibration_fraction: float | None

    def rows(self, part: Part) -> np.ndarray:
        return np.ones(len(part.ids), dtype=bool) if self.everyone else ~part.test

    def calibration(self, part: Part) -> np.ndarray:
        if self.calibration_fraction is None:
            return np.zeros(len(part.ids), dtype=bool)
        return uniform(part.keys, seed=self.seed, salt="calibration") < self.calibration_fraction


def _fit_rows(part: Part, scope: Scope, *, include_calibration: bool) -> np.ndarray:
    rows = scope.rows(part)
    return rows if include_calibration else rows & ~scope.calibration(part)


def part_counts(part: Part, scope: Scope, include_calibration: bool) -> np.ndarray:
    """(2 x P): customers not holding each product among the fit rows, and the adders."""
    rows = _fit_rows(part, scope, include_calibration=include_calibration)
    free = (part.held[rows] == 0).astype(np.int64)
    return np.stack([free.sum(axis=0), (free * part.labels[rows]).sum(axis=0)])


def part_training_rows(
    part: Part, scope: Scope, include_calibration: bool, j: int, product: str, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """One product's rows of this partition: non-holders, all adders, a keyed share of the
    rest (`rate`)."""
    rows = _fit_rows(part, scope, include_calibration=include_calibration) & (part.held[:, j] == 0)
    y = part.labels[:, j]
    if rate < 1.0:
        keep = uniform(part.keys, seed=scope.seed, salt=f"negatives:{product}") < rate
        rows &= (y == 1) | keep
    idx = np.flatnonzero(rows)
    return part.X[idx], y[idx].astype(np.float32)


def part_calibration_count(part: Part, scope: Scope) -> int:
    return int((scope.rows(part) & scope.calibration(part)).sum())


def part_calibration_scores(
    part: Part, scope: Scope, models: list[str | float], rate: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw scores, held and labels of this partition's calibration customers (a keyed share
    `rate` of them)."""
    rows = scope.rows(part) & scope.calibration(part)
    if rate < 1.0:
        rows &= uniform(part.keys, seed=seed, salt="calibration-sample") < rate
    idx = np.flatnonzero(rows)
    raw = raw_scores(models, part.X[idx])
    return raw, part.held[idx], part.labels[idx]


def raw_scores(models: list[str | float], X: np.ndarray) -> np.ndarray:
    out = np.empty((len(X), len(models)), dtype=np.float64)
    for j, model in enumerate(models):
        if isinstance(model, float):
            out[:, j] = model
        elif len(X):
            out[:, j] = lgb.Booster(model_str=model).predict(X, num_threads=1)
    return out


def part_sample(
    part: Part, test: bool, rate: float, seed: int, products: list[str], names: list[str]
) -> DatasetFrame:
    """A keyed share `rate` of this partition's hold-out (or training) customers."""
    rows = part.test if test else ~part.test
    if rate < 1.0:
        rows = rows & (uniform(part.keys, seed=seed, salt="evaluation-sample") < rate)
    return part.frame(np.flatnonzero(rows), products=products, names=names)


def part_sizes(part: Part) -> tuple[int, int]:
    """(customers, hold-out customers)."""
    return len(part.ids), int(part.test.sum())


def part_keys(part: Part, everyone: bool) -> np.ndarray:
    return part.keys if everyone else part.keys[~part.test]


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _first(pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return pair[0]


def _second(pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return pair[1]


def _length(pair: tuple[np.ndarray, np.ndarray]) -> int:
    return len(pair[1])


# --- the driver (runs on the client) ------------------------------------------------------


def concat_frames(frames: Sequence[DatasetFrame]) -> DatasetFrame:
    """Gathered samples as one frame, ordered by customer id (the file's order)."""
    first = frames[0]
    ids = np.concatenate([f.ids for f in frames])
    order = np.argsort(ids, kind="stable")
    features = pd.concat([f.features for f in frames], ignore_index=True)
    return DatasetFrame(
        ids=ids[order],
        snapshot=first.snapshot,
        features=features.iloc[order].reset_index(drop=True),
        held=np.concatenate([f.held for f in frames])[order],
        labels=np.concatenate([f.labels for f in frames])[order],
        products=list(first.products),
        numeric=first.numeric,
        categorical=(),
    )


class DaskRankerFit:
    """ProductRanker.fit, distributed: the same steps on partitions held by the workers."""

    def __init__(
        self,
        client: Any,
        parts: list[Any],
        homes: list[str],
        ranker: ProductRanker,
        *,
        progress: bool,
        bins: str = "shared",
    ) -> None:
        self.bins = bins
        self.client = client
        self.parts = parts
        self.home = {p.key: w for p, w in zip(parts, homes, strict=True)}
        self.ranker = ranker
        self.progress = progress

    def _gather(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        futures = [self.client.submit(fn, p, *args, pure=False) for p in self.parts]
        out = self.client.gather(futures)
        del futures
        return list(out)

    def _boosters(self, scope: Scope, include_calibration: bool) -> list[str | float]:
        """Each product's booster as LightGBM text (a float: constant product)."""
        ranker = self.ranker
        counts = np.sum(self._gather(part_counts, scope, include_calibration), axis=0)
        params = ranker._lgb_params({"objective": "binary"})
        params.pop("num_threads")  # each worker trains with its own thread count
        names = ranker.feature_names_
        cats = [c for c in ranker.categorical_features if c in names] or "auto"
        models: list[str | float] = []
        for j, product in enumerate(ranker.products_):
            free, positives = int(counts[0, j]), int(counts[1, j])
            if positives < ranker.min_positives or positives == free:
                models.append(float(positives / free) if free else 0.0)
                continue
            rate = 1.0
            if ranker.negatives_per_positive is not None:
                keep = math.ceil(ranker.negatives_per_positive * positives)
                if keep < free - positives:
                    rate = keep / (free - positives)
            picked = [
                self.client.submit(
                    part_training_rows,
                    p,
                    scope,
                    include_calibration,
                    j,
                    product,
                    rate,
                    workers=[self.home[p.key]],
                    pure=False,
                )
                for p in self.parts
            ]
            if self.bins == "worker":
                models.append(self._lightgbm_dask(picked, params, names, cats))
            else:
                models.append(self._shared_bins(picked, params, names, cats))
            del picked
            _log(self.progress, f"booster {j + 1}/{len(ranker.products_)} ({product})")
        return models

    def _lightgbm_dask(
        self, picked: list[Any], params: dict[str, Any], names: list[str], cats: Any
    ) -> str:
        """lightgbm.dask's DaskLGBMClassifier: every worker bins a share of the features from
        its own rows (LightGBM's distributed bin finding), so the bins, and the trees, differ
        from one machine's."""
        import dask
        import dask.array as da
        from lightgbm.dask import DaskLGBMClassifier

        sizes = self.client.gather([self.client.submit(_length, f) for f in picked])
        pieces = [(f, n) for f, n in zip(picked, sizes, strict=True) if n]
        X = da.concatenate(
            [
                da.from_delayed(dask.delayed(_first)(f), shape=(n, len(names)), dtype=np.float32)
                for f, n in pieces
            ]
        )
        y = da.concatenate(
            [
                da.from_delayed(dask.delayed(_second)(f), shape=(n,), dtype=np.float32)
                for f, n in pieces
            ]
        )
        model = DaskLGBMClassifier(
            client=self.client, n_estimators=self.ranker.num_boost_round, **params
        )
        model.fit(X, y, feature_name=names, categorical_feature=cats)
        return str(model.booster_.model_to_string())

    def _shared_bins(
        self, picked: list[Any], params: dict[str, Any], names: list[str], cats: Any
    ) -> str:
        """LightGBM's data-parallel learner over the workers holding the rows, as
        lightgbm.dask drives it (one task per worker, `machines`, `tree_learner=data`), but
        every worker's Dataset takes its bins from one reference Dataset built from a seeded
        sample of at most `bin_construct_sample_cnt` of the product's rows: the sample one
        machine would bin from, so the bins are the single-process ones."""
        from distributed import wait

        wait(picked)
        sample_cnt = int(params.get("bin_construct_sample_cnt", 200_000))
        reference = self.client.submit(
            reference_rows, picked, sample_cnt, int(params["seed"]), pure=False
        )
        sizes = self.client.gather([self.client.submit(_length, f) for f in picked])
        # Each piece was computed on its partition's home (pinned); grouping by that home, not
        # by who_has (a partition copied to a second worker would send every piece to one).
        holders: dict[str, list[Any]] = {}
        for f, p, n in zip(picked, self.parts, sizes, strict=True):
            if n:
                holders.setdefault(self.home[p.key], []).append(f)
        holders = dict(sorted(holders.items()))
        ports = self.client.run(free_port, workers=list(holders))
        machines = ",".join(f"{urlparse(w).hostname}:{ports[w]}" for w in holders)
        network = {"machines": machines, "num_machines": len(holders), "time_out": 120}
        if len(holders) == 1:
            network = {}
        futures = [
            self.client.submit(
                train_on_worker,
                pieces,
                reference,
                {**params, **network, "local_listen_port": ports[w], "tree_learner": "data"},
                self.ranker.num_boost_round,
                names,
                cats,
                workers=[w],
                allow_other_workers=False,
                pure=False,
            )
            for w, pieces in holders.items()
        ]
        trained = self.client.gather(futures)
        text = exact_counts(trained[0][0], np.sum([counts for _, counts in trained], axis=0))
        return without_hosts(text)

    def fit(
        self,
        scope: Scope,
        *,
        feature_names: list[str],
        products: list[str],
        feature_schema: dict[str, Any],
        calibration_sample: int,
    ) -> tuple[ProductRanker, dict[str, Any]]:
        ranker = self.ranker
        ranker.feature_names_ = list(feature_names)
        ranker.products_ = list(products)
        ranker.feature_schema_ = dict(feature_schema)
        if ranker.calibration is None:
            models = self._boosters(scope, include_calibration=True)
            ranker.boosters_ = _load(models)
            ranker.calibrators_ = [{"method": "identity"} for _ in ranker.products_]
            return ranker, {"calibration_customers": 0}
        models = self._boosters(scope, include_calibration=False)
        shared = self.client.scatter(models, broadcast=True)
        cal_total = sum(self._gather(part_calibration_count, scope))
        rate = min(1.0, calibration_sample / cal_total) if cal_total else 1.0
        pieces = self._gather(part_calibration_scores, scope, shared, rate, scope.seed)
        raw = np.concatenate([r for r, _, _ in pieces])
        held = np.concatenate([h for _, h, _ in pieces])
        labels = np.concatenate([lab for _, _, lab in pieces])
        ranker.boosters_ = _load(models)
        ranker.calibrators_ = ranker._fit_calibrators(raw, held, labels)
        if ranker.refit_full:
            ranker.boosters_ = _load(self._boosters(scope, include_calibration=True))
        return ranker, {"calibration_customers": len(raw), "calibration_fold": cal_total}


def parity_limits(params: dict[str, Any]) -> list[str]:
    """What in these LightGBM parameters makes the data-parallel trees differ from the trees one
    machine grows on the same rows and bins (empty: the same trees, docs/model.md)."""
    out = []
    if int(params.get("min_data_in_leaf", 20)) > 1:
        out.append(
            f"min_data_in_leaf = {params.get('min_data_in_leaf', 20)}: the data-parallel learner "
            "checks it against leaf sizes it estimates from hessians, one machine against the "
            "true ones"
        )
    for key in ("lambda_l1", "lambda_l2", "min_gain_to_split", "max_delta_step", "path_smooth"):
        if float(params.get(key, 0.0)) > 0:
            out.append(
                f"{key} = {params[key]}: a split can then gain nothing; one machine stops trying "
                "a feature below a leaf where it gained nothing, the data-parallel learner does not"
            )
    if float(params.get("bagging_fraction", 1.0)) < 1 and int(params.get("bagging_freq", 0)) > 0:
        out.append("bagging: each machine draws its own rows")
    return out


def free_port() -> int:
    """A port free on this worker's host right now (LightGBM listens on it for its peers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def reference_rows(
    picked: list[tuple[np.ndarray, np.ndarray]], cap: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The rows LightGBM would bin from on one machine: all of them, or a seeded `cap`."""
    X = np.concatenate([x for x, _ in picked])
    y = np.concatenate([y for _, y in picked])
    if len(X) > cap:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), size=cap, replace=False))
        X, y = X[rows], y[rows]
    return X, y


def train_on_worker(
    pieces: list[tuple[np.ndarray, np.ndarray]],
    reference: tuple[np.ndarray, np.ndarray],
    params: dict[str, Any],
    rounds: int,
    names: list[str],
    cats: Any,
) -> tuple[str, np.ndarray]:
    """This worker's part of one data-parallel LightGBM training: the model text, and how
    many of this worker's rows reach each leaf of each tree (`leaf_counts`).

    The reference Dataset is constructed before LightGBM joins its peers, so its bins are
    found locally from the shared sample; the local Dataset copies them."""
    dataset_params = {k: v for k, v in params.items() if k not in _NETWORK}
    ref = lgb.Dataset(
        reference[0], reference[1], feature_name=names, categorical_feature=cats,
        params=dataset_params, free_raw_data=True,
    ).construct()  # fmt: skip
    X = np.concatenate([x for x, _ in pieces])
    y = np.concatenate([y for _, y in pieces])
    local = lgb.Dataset(
        X, y, reference=ref, feature_name=names, categorical_feature=cats, free_raw_data=True
    )
    booster = lgb.train(params, local, num_boost_round=rounds)
    text = str(booster.model_to_string())
    if "machines" in params:
        booster.free_network()
    return text, leaf_counts(booster, X)


def leaf_counts(booster: lgb.Booster, X: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """(trees x num_leaves): how many rows of X reach each leaf of each tree."""
    trees = booster.num_trees()
    width = int(booster.params.get("num_leaves", 31))
    out = np.zeros((trees, width), dtype=np.int64)
    offsets = np.arange(trees, dtype=np.int64) * width
    for start in range(0, len(X), chunk):
        rows = X[start : start + chunk]
        leaves = np.asarray(booster.predict(rows, pred_leaf=True, num_threads=1))
        flat = (leaves.reshape(-1, trees).astype(np.int64) + offsets).ravel()
        out += np.bincount(flat, minlength=trees * width).reshape(trees, width)
    return out


def exact_counts(text: str, counts: np.ndarray) -> str:
    """The model text with every tree's `leaf_count`/`internal_count` set from `counts`
    (rows per leaf summed over the machines) and `tree_sizes` recomputed.

    The data-parallel learner records the counts it estimates from hessians (a split's
    side gets round(sum of its hessians x rows/hessians of the parent)), off by up to 20% on
    a rare product; the serial learner records the true counts. Predictions never read them,
    but TreeSHAP (`pred_contrib`, the service's reasons) weighs each branch by them."""
    head, sep, rest = text.partition("\nTree=0\n")
    if not sep:
        return text  # no trees
    body, end, tail = ("Tree=0\n" + rest).partition("end of trees")
    blocks = [b for b in body.split("Tree=") if b]
    rewritten = []
    for t, block in enumerate(blocks):
        lines = block.split("\n")
        fields = {ln.split("=", 1)[0]: i for i, ln in enumerate(lines) if "=" in ln}
        leaves = int(lines[fields["num_leaves"]].split("=", 1)[1])
        leaf = counts[t, :leaves]
        if leaves > 1:  # a one-leaf tree is written alike by both learners: left as it is
            left = [int(v) for v in lines[fields["left_child"]].split("=", 1)[1].split()]
            right = [int(v) for v in lines[fields["right_child"]].split("=", 1)[1].split()]
            internal = [0] * (leaves - 1)
            for node in range(leaves - 2, -1, -1):  # children have larger indices than parents
                internal[node] = sum(
                    int(leaf[~c]) if c < 0 else internal[c] for c in (left[node], right[node])
                )
            lines[fields["internal_count"]] = "internal_count=" + " ".join(map(str, internal))
            lines[fields["leaf_count"]] = "leaf_count=" + " ".join(str(int(c)) for c in leaf)
        rewritten.append("Tree=" + "\n".join(lines))
    sizes = " ".join(str(len(b.encode())) for b in rewritten)
    head = "\n".join(
        f"tree_sizes={sizes}" if ln.startswith("tree_sizes=") else ln for ln in head.split("\n")
    )
    return head + "\n" + "".join(rewritten) + end + tail


_HOSTS = ("[machines: ", "[local_listen_port: ")


def without_hosts(text: str) -> str:
    """The model text without the parameters that name this run's hosts and ports (LightGBM
    records `machines` and `local_listen_port`): the same data and spec give the same file,
    and the same manifest hash, on any cluster. The learner itself stays named
    (`tree_learner`, `num_machines`)."""
    return "\n".join(ln for ln in text.split("\n") if not ln.startswith(_HOSTS))


_NETWORK = frozenset({"machines", "num_machines", "local_listen_port", "time_out", "tree_learner"})


def _load(models: list[str | float]) -> list[lgb.Booster | float]:
    return [m if isinstance(m, float) else lgb.Booster(model_str=m) for m in models]


def _partition_count(data_path: Path, workers: int) -> int:
    size = sum(
        (data_path / f).stat().st_size for f in PARTITIONED_FILES if (data_path / f).exists()
    )
    return max(2 * workers, math.ceil(size / PARTITION_BYTES))


@dataclass
class DaskTraining:
    """What the client needs after the partitions are built."""

    client: Any
    parts: list[Any]
    homes: list[str]
    """The worker each partition was placed on (a copy may also sit elsewhere)."""
    customers: int
    holdout: int


def load_partitions(
    client: Any, spec: DatasetSpec, data_path: Path, *, seed: int, partitions: int
) -> DaskTraining:
    """Read the bank as `partitions` customer partitions and build each one's features on
    the worker that holds it."""
    import json

    import dask

    from training.synth.reader import read_csv
    from training.synthetic import featurizer_for

    manifest = json.loads((data_path / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != "recsvc-bank" or manifest.get("format_version") != 1:
        raise BankFormatError(
            "manifest.json: field 'format'/'format_version' is not recsvc-bank v1"
        )
    managers = read_csv(data_path / "managers.csv", "managers.csv")
    files = []
    for f in PARTITIONED_FILES:
        if f in UNREAD_FILES:
            _check_header(data_path / f)
            files.append([pd.DataFrame()] * partitions)
        else:
            files.append(_partitioned(data_path / f, partitions))
    build = dask.delayed(build_part, pure=True)
    graph = [
        build(
            *pieces,
            managers=managers,
            manifest=manifest,
            spec=spec,
            featurizer=featurizer_for(),
            seed=seed,
        )
        for pieces in zip(*files, strict=True)
    ]
    parts, homes = place(client, client.compute(graph))
    sizes = client.gather([client.submit(part_sizes, p) for p in parts])
    return DaskTraining(
        client=client,
        parts=parts,
        homes=homes,
        customers=sum(n for n, _ in sizes),
        holdout=sum(t for _, t in sizes),
    )


def _same(part: Part) -> Part:
    return part


def place(client: Any, parts: list[Any]) -> tuple[list[Any], list[str]]:
    """Partition i on worker i mod W (workers sorted by address), moving the ones the
    scheduler put elsewhere: which rows each LightGBM machine holds then depends only on the
    number of workers, so a rerun on the same cluster size gives the same trees."""
    from distributed import wait

    wait(parts)
    workers = sorted(client.scheduler_info()["workers"])
    where = client.who_has(parts)
    placed = []
    for i, part in enumerate(parts):
        target = workers[i % len(workers)]
        if target in where[part.key]:
            placed.append(part)
        else:
            placed.append(
                client.submit(_same, part, workers=[target], allow_other_workers=False, pure=False)
            )
    wait(placed)
    return placed, [workers[i % len(workers)] for i in range(len(parts))]


def sample(
    run: DaskTraining, *, test: bool, cap: int, seed: int, products: list[str], names: list[str]
) -> DatasetFrame:
    total = run.holdout if test else run.customers - run.holdout
    rate = min(1.0, cap / total) if total else 1.0
    frames = run.client.gather(
        [run.client.submit(part_sample, p, test, rate, seed, products, names) for p in run.parts]
    )
    return concat_frames(frames)


def _iter_keys(run: DaskTraining, everyone: bool) -> Iterator[np.ndarray]:
    for p in run.parts:
        yield run.client.submit(part_keys, p, everyone).result()


def train_dask(
    spec: DatasetSpec,
    data_path: str | Path,
    out_dir: str | Path,
    *,
    address: str,
    seed: int = 0,
    progress: bool = True,
    num_threads: int = 1,
    refit: bool = True,
    partitions: int | None = None,
    evaluation_sample: int = EVALUATION_SAMPLE,
    calibration_sample: int = CALIBRATION_SAMPLE,
    bins: str = "shared",
) -> Path:
    """`pipeline.train` on a Dask cluster: same steps, same files (see the module docstring)."""
    from recsvc.cluster import check_workers, dask_client, release
    from training.pipeline import (
        build_encoder,
        build_ranker,
        measured,
        save_trained,
        shipped_model,
    )
    from training.synthetic import featurizer_for

    check_supported(spec)
    # absolute: the workers read the files themselves, from their own working directory
    data_path = Path(data_path).resolve()
    if not data_path.is_dir():
        raise DaskTrainingError(f"{data_path}: a recsvc-bank data set is a directory")
    started = time.perf_counter()
    with dask_client(address) as opened:
        client: Any = opened
        # every worker runs this release and sees this export at this path, or none runs
        workers = check_workers(
            client, release, ("recsvc", "training"), (str(data_path / "manifest.json"),),
            command="train --dask",
        )  # fmt: skip
        n_parts = partitions or _partition_count(data_path, workers)
        _log(progress, f"reading {data_path} as {n_parts} customer partitions on {workers} workers")
        run = load_partitions(client, spec, data_path, seed=seed, partitions=n_parts)
        chosen = selection.Selection(
            selection.candidates(spec)[0],
            selection.search_settings(spec)["metric"],
            [],
            run.customers - run.holdout,
        )
        products = list(spec.products)
        names = list(featurizer_for().names)
        _log(progress, f"gathering evaluation samples (up to {evaluation_sample} customers each)")
        test_s = sample(
            run, test=True, cap=evaluation_sample, seed=seed, products=products, names=names
        )
        train_s = sample(
            run, test=False, cap=evaluation_sample, seed=seed, products=products, names=names
        )
        c_spec, c_train = selection.apply(spec, train_s, chosen.chosen)
        _, c_test = selection.apply(spec, test_s, chosen.chosen)
        encoder = build_encoder(c_spec, c_train).fit(c_train.features)
        if list(encoder.feature_names) != names:
            raise DaskTrainingError(
                f"spec {spec.name}: encoded features differ from the featurizer's"
            )

        def fit(everyone: bool) -> tuple[ProductRanker, dict[str, Any]]:
            ranker = build_ranker(c_spec, seed=seed, num_threads=num_threads)
            monotone = dict(c_spec.model.get("monotone", {}))
            if monotone:
                unknown = sorted(set(monotone) - set(names))
                if unknown:
                    raise ValueError(
                        f"spec {spec.name}: monotone constraint on unknown feature {unknown}"
                    )
                ranker.params["monotone_constraints"] = [int(monotone.get(n, 0)) for n in names]
            scope = Scope(
                everyone=everyone,
                seed=seed,
                calibration_fraction=None
                if ranker.calibration is None
                else ranker.calibration_fraction,
            )
            return DaskRankerFit(
                client, run.parts, run.homes, ranker, progress=progress, bins=bins
            ).fit(
                scope,
                feature_names=names,
                products=products,
                feature_schema=encoder.feature_schema(),
                calibration_sample=calibration_sample,
            )

        n_train = run.customers - run.holdout
        _log(progress, f"fitting on {n_train} customers, holding out {run.holdout}")
        ranker, cal_info = fit(everyone=False)
        _log(progress, "scoring the hold-out sample and baselines")
        report, evaluation, _ = measured(
            c_spec, c_train, c_test, encoder=encoder, ranker=ranker, seed=seed, progress=progress
        )
        shipped = shipped_model(refit=False, customers=n_train)
        if refit:
            _log(progress, f"refitting on all {run.customers} customers")
            ranker, cal_info = fit(everyone=True)
            shipped = shipped_model(refit=True, customers=run.customers)
        trained_keys = np.concatenate(list(_iter_keys(run, everyone=refit)))
        rss = client.run(peak_rss_mb)
        distributed = {
            "address": address,
            "workers": workers,
            "partitions": n_parts,
            "learner": (
                "LightGBM data-parallel, bins from one shared sample of each product's rows"
                if bins == "shared"
                else "lightgbm.dask DaskLGBMClassifier (bins found per worker)"
            ),
            "differs_from_one_machine": parity_limits(ranker._lgb_params({})),
            "evaluation": (
                f"hold-out metrics on {len(c_test)} of {run.holdout} hold-out customers; "
                f"baselines fitted on {len(c_train)} of {n_train} training customers "
                f"(keyed samples, cap {evaluation_sample} each)"
            ),
            "calibration": (
                f"calibrators fitted on {cal_info['calibration_customers']} customers of a "
                f"{cal_info.get('calibration_fold', 0)}-customer calibration fold chosen by key "
                f"(cap {calibration_sample})"
            ),
            "peak_rss_mb_per_worker": {str(k): round(float(v), 1) for k, v in rss.items()},
            "peak_rss_mb_client": round(peak_rss_mb(), 1),
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
    report["measured_on"] = (
        f"hold-out: {len(c_test)} of {run.holdout} customers never used for fitting or for any "
        f"choice; model fitted on the other {n_train} (Dask: {distributed['evaluation']})"
    )
    return save_trained(
        ranker, out_dir, spec=spec, data_path=data_path, snapshot=c_test.snapshot, seed=seed,
        chosen=chosen, shipped=shipped, report=report, evaluation=evaluation,
        trained_keys=trained_keys, progress=progress, more={"distributed": distributed},
    )  # fmt: skip
