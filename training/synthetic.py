"""The synthetic bank (recsvc-bank export format) as a training data set.

Features come from recsvc.features.CustomerFeaturizer — the serving code — so a model trained
here scores a live customer with exactly the numbers it learned from.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsvc.catalog import load_catalogue
from recsvc.config import Settings
from recsvc.customers import load_bank_config
from recsvc.features.customer import CustomerFeaturizer
from recsvc.features.history import HistoryFeaturizer
from training.datasets import DatasetError, DatasetFrame, DatasetSpec
from training.synth.reader import BankFrames, read_bank


def featurizer_for(settings: Settings | None = None) -> CustomerFeaturizer:
    """The featurizer over the configured catalogue's products, in catalogue order."""
    settings = settings or Settings.from_env()
    catalogue = load_catalogue(settings.catalogue_path)
    bank = load_bank_config(settings.bank_config_path)
    return CustomerFeaturizer(product_ids=catalogue.ids, bank=bank)


def history_for(settings: Settings | None = None) -> HistoryFeaturizer:
    """The decision-history featurizer over the configured catalogue's families."""
    settings = settings or Settings.from_env()
    return HistoryFeaturizer.for_catalogue(load_catalogue(settings.catalogue_path).products)


def wants_history(spec: DatasetSpec) -> bool:
    """`[features] history = true`: append the decision-history features (pitches.csv)."""
    table = spec.extra.get("features", {})
    if not isinstance(table, dict) or not isinstance(table.get("history", False), bool):
        raise DatasetError(f"spec {spec.name}: key 'features.history' must be true or false")
    return bool(table.get("history", False))


def _held_matrix(holdings: pd.DataFrame, ids: pd.Index, products: list[str]) -> np.ndarray:
    out = np.zeros((len(ids), len(products)), dtype=np.uint8)
    rows = ids.get_indexer(pd.Index(holdings["customer_id"]))
    cols = pd.Index(products).get_indexer(pd.Index(holdings["product_id"]))
    ok = (rows >= 0) & (cols >= 0)
    out[rows[ok], cols[ok]] = 1
    return out


def frames_to_dataset(
    frames: BankFrames,
    spec: DatasetSpec,
    *,
    featurizer: CustomerFeaturizer,
    labelled: bool = True,
    history: HistoryFeaturizer | None = None,
) -> DatasetFrame:
    """Snapshot 1 profile -> features and held flags; snapshot 2 additions -> labels. With
    `history`, the decision-history features (pitches before snapshot 1) follow the profile's."""
    snapshots = [dt.date.fromisoformat(str(d)) for d in frames.manifest["snapshot_dates"]]
    as_of = snapshots[0]
    customers = frames.customers
    ids = pd.Index(customers["customer_id"])
    dates = pd.to_datetime(frames.holdings["snapshot_date"]).dt.date
    now = frames.holdings[dates == as_of]
    products = spec.products
    if list(products) != list(featurizer.product_ids):
        raise DatasetError(f"spec {spec.name}: [columns.holdings] must list the catalogue in order")
    X = featurizer.transform_frames(customers, now, frames.transactions, as_of)
    names = list(featurizer.names)
    if history is not None:
        H = history.transform_frames(ids, frames.pitches, as_of)
        X, names = np.hstack([X, H]), [*names, *history.names]
    features = pd.DataFrame(X, columns=names, copy=False)  # X is not used again: no copy
    held = _held_matrix(now, ids, products)
    labels = np.zeros_like(held)
    if labelled and len(snapshots) > 1:
        later = _held_matrix(frames.holdings[dates == snapshots[1]], ids, products)
        labels = (later & (1 - held)).astype(np.uint8)
    return DatasetFrame(
        ids=customers["customer_id"].to_numpy(),
        snapshot=as_of.isoformat(),
        features=features,
        held=held,
        labels=labels,
        products=list(products),
        numeric=tuple(names),
        categorical=(),
        holding_features=(),
    )


def load_bank_dataset(spec: DatasetSpec, data_path: Path, **options: Any) -> DatasetFrame:
    """Loader `recsvc-bank`: a directory from `python -m training synth`, or a bank export."""
    if not Path(data_path).is_dir():
        raise DatasetError(f"{data_path}: a recsvc-bank data set is a directory with manifest.json")
    frames = read_bank(data_path)
    return frames_to_dataset(
        frames,
        spec,
        featurizer=featurizer_for(),
        labelled=bool(options.get("labelled", True)),
        history=history_for() if wants_history(spec) else None,
    )
