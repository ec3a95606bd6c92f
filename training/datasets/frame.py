"""The loaded form of any data set: ids, snapshot, typed features, held and label matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


class DatasetError(ValueError):
    """Bad input data; the message names the file, the column and the row where known."""


@dataclass(frozen=True)
class DatasetFrame:
    """One row per customer at the as-of snapshot; columns of held/labels follow `products`."""

    ids: np.ndarray
    snapshot: str | None
    features: pd.DataFrame
    held: np.ndarray
    labels: np.ndarray
    products: list[str]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    holding_features: tuple[str, ...] = ()
    keys: np.ndarray | None = None
    """64-bit customer keys when the source has no id column (hash of the row's content);
    None: training.datasets.split.customer_keys hashes the ids."""

    def __post_init__(self) -> None:
        n, p = len(self.ids), len(self.products)
        for name, arr in (("held", self.held), ("labels", self.labels)):
            if arr.shape != (n, p):
                raise DatasetError(f"{name} has shape {arr.shape}, expected {(n, p)}")
        if len(self.features) != n:
            raise DatasetError(f"features has {len(self.features)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: np.ndarray) -> DatasetFrame:
        """The subset of customers at `rows` (integer positions or a boolean mask)."""
        idx = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows)
        return DatasetFrame(
            ids=self.ids[idx],
            snapshot=self.snapshot,
            features=self.features.iloc[idx].reset_index(drop=True),
            held=self.held[idx],
            labels=self.labels[idx],
            products=list(self.products),
            numeric=self.numeric,
            categorical=self.categorical,
            holding_features=self.holding_features,
            keys=None if self.keys is None else self.keys[idx],
        )


def holding_feature_name(product_id: str) -> str:
    """Feature column carrying the held flag/count of a product."""
    return f"held_{product_id}"
