"""TabularEncoder: batch and one-record paths agree, and so do the model scores."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recsvc.features.tabular import FeatureSchemaError, TabularEncoder
from recsvc.models.ranker import BINARY, ProductRanker


def _encoder(toy: Any) -> TabularEncoder:
    return TabularEncoder(
        numeric=["age", "income"],
        categorical=["segment"],
        holdings=["held_card", "held_fund", "held_gold"],
    ).fit(toy.features)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        out.append(
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        )
    return out


def test_batch_and_single_paths_give_identical_rows_and_scores(toy: Any) -> None:
    enc = _encoder(toy)
    sample = toy.features.iloc[:200].copy()
    sample["segment"] = sample["segment"].cat.add_categories(["never-seen"])
    sample.loc[sample.index[3], "segment"] = "never-seen"
    batch = enc.transform(sample)
    single = np.vstack([enc.transform_one(r) for r in _records(sample)])
    np.testing.assert_array_equal(batch, single)
    assert np.isnan(batch[3, 2]), "an unseen category becomes NaN"
    ranker = ProductRanker(kind=BINARY, num_boost_round=20, num_threads=1, calibration=None)
    ranker.fit(
        enc.transform(toy.features),
        toy.held,
        toy.labels,
        feature_names=enc.feature_names,
    )
    np.testing.assert_array_equal(ranker.predict_proba(batch), ranker.predict_proba(single))


def test_schema_round_trip_without_pickle(toy: Any) -> None:
    enc = _encoder(toy)
    again = TabularEncoder.from_schema(enc.feature_schema())
    np.testing.assert_array_equal(again.transform(toy.features), enc.transform(toy.features))
    assert enc.feature_schema()["names"][-1] == "n_held"
    assert enc.feature_schema()["categorical"]["segment"] == ["affluent", "mass", "private"]


def test_tampered_schema_is_refused(toy: Any) -> None:
    schema = _encoder(toy).feature_schema()
    schema["categorical"]["segment"] = ["mass", "affluent", "private"]
    with pytest.raises(FeatureSchemaError, match="fingerprint"):
        TabularEncoder.from_schema(schema)


def test_missing_keys_are_nan_and_bad_numbers_name_the_field(toy: Any) -> None:
    enc = _encoder(toy)
    row = enc.transform_one({})
    assert row.shape == (1, len(enc.feature_names)) and row.dtype == np.float32
    assert np.isnan(row[0, :5]).all() and row[0, -1] == 0
    with pytest.raises(FeatureSchemaError, match="'age'"):
        enc.transform_one({"age": "old"})


def test_transform_does_not_mutate_the_input(toy: Any) -> None:
    enc = _encoder(toy)
    before = toy.features.copy()
    enc.transform(toy.features)
    pd.testing.assert_frame_equal(before, toy.features)
