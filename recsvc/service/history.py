"""The decision-history features of many customers from the store, for the nightly plan's
batches (one customer's come from CrossSellService.history_row on the request path)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine

from recsvc.features.customer import CustomerFeaturizer
from recsvc.store.history_read import pitch_records_of


def history_rows(
    engine: Engine, featurizer: CustomerFeaturizer, customer_ids: Sequence[str], as_of: dt.date
) -> np.ndarray:
    """len(customer_ids) x H float32 rows, in order, built by the request path's transform_one
    (the same numbers a request would score with)."""
    history = featurizer.history
    if history is None:
        raise ValueError("the featurizer has no decision-history features")
    with engine.connect() as connection:
        records = pitch_records_of(connection, customer_ids, as_of)
    rows = [history.transform_one(records[c], as_of) for c in customer_ids]
    return np.vstack(rows) if rows else np.zeros((0, len(history.names)), dtype=np.float32)
