"""Seeded hold-out splits by customer, as the spec's [split] table says."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from training.datasets.frame import DatasetFrame
from training.datasets.spec import DatasetSpec, SpecError


def holdout_mask(frame: DatasetFrame, spec: DatasetSpec, *, seed: int) -> np.ndarray:
    """Boolean mask of hold-out customers (random by customer, or stratified on the label)."""
    method = spec.split.get("method", "customer")
    rng = np.random.default_rng(seed)
    if method in ("customer", "random"):
        fraction = float(spec.split.get("test_fraction", 0.3))
        if not 0 < fraction < 1:
            raise SpecError(
                f"spec {spec.name}: key 'split.test_fraction' = {fraction} not in (0,1)"
            )
        return rng.random(len(frame)) < fraction
    if method == "stratified_cv":
        folds = int(spec.split.get("folds", 5))
        return next(stratified_folds(frame.labels[:, 0], folds=folds, seed=seed))[1]
    raise SpecError(f"spec {spec.name}: key 'split.method' = {method!r} is not known")


def stratified_folds(
    y: np.ndarray, *, folds: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (train mask, test mask) per fold with the positive rate kept in every fold."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    for cls in (False, True):
        idx = np.flatnonzero((np.asarray(y) > 0) == cls)
        rng.shuffle(idx)
        fold_of[idx] = np.arange(len(idx)) % folds
    for f in range(folds):
        test = fold_of == f
        yield ~test, test
