"""The response target (accepted given pitched) on a store export, next to the adoption target.

Features are the adoption model's (recsvc.features.CustomerFeaturizer at the first snapshot);
the labels are the service's pitches decided after it, up to the second snapshot, whose answer
was known then (the export's responses.csv): a cell is 1 if the customer accepted the product,
0 if they answered otherwise. Cells never pitched have no answer: they are masked exactly as
held products are (`held` = 1: neither trained on, nor ranked, nor scored), so every booster
learns P(accepted | pitched, x) and the hold-out is graded on pitched pairs only. Customers
with no answered pitch in the window are left out, and so are products with fewer than
MIN_ANSWERS answered pitches (the model ranks the others). The existing pipeline trains and
grades it (hold-out by customer, bootstrap intervals): `python -m training train --dataset
synthetic_response --data EXPORT`.

`[response] arms = ["rules", "holdout"]` in the spec keeps only those arms' pitches: labels
that no model chose (model-independent); by default every arm's are used, and the card says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.datasets import DatasetError, DatasetFrame, DatasetSpec
from training.decision_log import ACCEPTED
from training.export.bank import RESPONSES_FILE
from training.synth.reader import read_bank
from training.synthetic import featurizer_for, frames_to_dataset

LOADER = "recsvc-bank-response"
MIN_ANSWERS = 50  # a product with fewer answered pitches is left out (nothing to calibrate on)


def response_arms(spec: DatasetSpec) -> list[str] | None:
    arms = (spec.extra.get("response") or {}).get("arms")
    return None if not arms else [str(a) for a in arms]


def response_labels(
    responses: pd.DataFrame, ids: np.ndarray, products: list[str], arms: list[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(pitched, accepted) customer x product matrices from answered pitches (of `arms`)."""
    r = responses[responses["outcome"] != ""]
    if arms is not None:
        r = r[r["arm"].isin(arms)]
    rows = pd.Index(ids).get_indexer(pd.Index(r["customer_id"]))
    cols = pd.Index(products).get_indexer(pd.Index(r["product_id"]))
    ok = (rows >= 0) & (cols >= 0)
    pitched = np.zeros((len(ids), len(products)), dtype=np.uint8)
    accepted = np.zeros_like(pitched)
    pitched[rows[ok], cols[ok]] = 1
    yes = ok & (r["outcome"].to_numpy() == ACCEPTED)
    accepted[rows[yes], cols[yes]] = 1  # pitched twice in the window: accepted if either was
    return pitched, accepted


def load_response_dataset(spec: DatasetSpec, data_path: Path, **options: Any) -> DatasetFrame:
    """Loader `recsvc-bank-response`: an export directory with responses.csv."""
    path = Path(data_path) / RESPONSES_FILE
    if not path.is_file():
        raise DatasetError(f"{data_path}: no {RESPONSES_FILE} (write it with python -m training "
                           "export)")  # fmt: skip
    base = frames_to_dataset(read_bank(data_path), spec, featurizer=featurizer_for(),
                             labelled=False)  # fmt: skip
    responses = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    pitched, accepted = response_labels(responses, base.ids, list(base.products),
                                        response_arms(spec))  # fmt: skip
    cols = np.flatnonzero(pitched.sum(axis=0) >= MIN_ANSWERS)
    pitched, accepted = pitched[:, cols], accepted[:, cols]
    keep = np.flatnonzero(pitched.any(axis=1))
    if not len(keep):
        raise DatasetError(f"{path}: no product has {MIN_ANSWERS} answered pitches to learn from")
    frame = base.take(keep)
    return DatasetFrame(
        ids=frame.ids, snapshot=frame.snapshot, features=frame.features,
        held=(1 - pitched[keep]).astype(np.uint8), labels=accepted[keep],
        products=[frame.products[j] for j in cols], numeric=frame.numeric,
        categorical=frame.categorical, holding_features=frame.holding_features,
    )  # fmt: skip
