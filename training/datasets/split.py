"""Hold-out splits by customer, chosen by a stable hash of the customer (never the row order).

Each customer has a 64-bit key (`customer_keys`): a hash of its id, or of its row's content in
a table without an id column. Which side of a split a customer falls on depends only on that
key, the seed and the salt: the same customers are held out from a reordered copy of the file,
and a model can record its training customers' keys to refuse grading on them later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import pandas as pd

from training.datasets.frame import DatasetFrame
from training.datasets.spec import DatasetSpec, SpecError

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _blake64(texts: list[str]) -> np.ndarray:
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            for t in texts
        ),
        dtype=np.uint64,
        count=len(texts),
    )


def id_keys(ids: np.ndarray) -> np.ndarray:
    """64-bit keys of customer ids (blake2b of the id's text: stable across runs and versions)."""
    values = np.asarray(ids)
    if values.dtype.kind in "iu":
        texts = [str(int(v)) for v in values.tolist()]
    else:
        texts = [str(v) for v in values.tolist()]
    return _blake64(texts)


def content_keys(features: pd.DataFrame) -> np.ndarray:
    """64-bit keys of each row's feature values, for tables without a customer id column:
    identical rows share a key (and so always fall on the same side of a split)."""
    if features.shape[1] == 0:
        return _blake64([str(i) for i in range(len(features))])
    text = pd.Series([""] * len(features), index=features.index, dtype="object")
    for c in sorted(features.columns):
        text = (
            text
            + "\x1f"
            + features[c].astype("object").where(features[c].notna(), "").astype("str")
        )
    return _blake64(text.tolist())


def customer_keys(frame: DatasetFrame) -> np.ndarray:
    """The frame's customer keys (content hashes when the source has no ids)."""
    if frame.keys is not None:
        return np.asarray(frame.keys, dtype=np.uint64)
    return id_keys(frame.ids)


def mix(keys: np.ndarray, *, seed: int, salt: str = "holdout") -> np.ndarray:
    """splitmix64 of key xor a seed/salt constant: a uniform 64-bit value per customer."""
    k = np.asarray(keys, dtype=np.uint64)
    const = _blake64([f"{salt}:{seed}"])[0]
    with np.errstate(over="ignore"):
        z = (k ^ const) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z & _MASK64


def uniform(keys: np.ndarray, *, seed: int, salt: str = "holdout") -> np.ndarray:
    """A value in [0, 1) per customer from its key (53 bits of the mixed hash)."""
    return (mix(keys, seed=seed, salt=salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def holdout_mask(frame: DatasetFrame, spec: DatasetSpec, *, seed: int) -> np.ndarray:
    """Boolean mask of hold-out customers (by customer key; stratified on the label for CV)."""
    method = spec.split.get("method", "customer")
    keys = customer_keys(frame)
    if method in ("customer", "random"):
        fraction = float(spec.split.get("test_fraction", 0.3))
        if not 0 < fraction < 1:
            raise SpecError(
                f"spec {spec.name}: key 'split.test_fraction' = {fraction} not in (0,1)"
            )
        return uniform(keys, seed=seed) < fraction
    if method == "stratified_cv":
        folds = int(spec.split.get("folds", 5))
        return next(stratified_folds(frame.labels[:, 0], folds=folds, seed=seed, keys=keys))[1]
    raise SpecError(f"spec {spec.name}: key 'split.method' = {method!r} is not known")


def split_fraction(keys: np.ndarray, fraction: float, *, seed: int, salt: str) -> np.ndarray:
    """Mask of about `fraction` of the customers, by key (e.g. a validation part)."""
    return uniform(keys, seed=seed, salt=salt) < fraction


def stratified_folds(
    y: np.ndarray,
    *,
    folds: int,
    seed: int,
    keys: np.ndarray | None = None,
    salt: str = "holdout",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (train mask, test mask) per fold with the positive rate kept in every fold.

    With keys, customers are ordered by their mixed key within each class (row order does not
    matter); without, by a seeded shuffle of the row positions."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    order_key = None if keys is None else mix(keys, seed=seed, salt=salt)
    for cls in (False, True):
        idx = np.flatnonzero((np.asarray(y) > 0) == cls)
        if order_key is None:
            rng.shuffle(idx)
        else:
            idx = idx[np.argsort(order_key[idx], kind="stable")]
        fold_of[idx] = np.arange(len(idx)) % folds
    for f in range(folds):
        test = fold_of == f
        yield ~test, test
