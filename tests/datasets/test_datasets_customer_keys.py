"""Customer keys: stable, order-free, and a compact record of a model's training customers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from training.datasets.split import content_keys, id_keys, uniform
from training.pipeline import (
    TRAINING_CUSTOMERS,
    overlap_count,
    read_training_customers,
    write_training_customers,
)


def test_id_keys_do_not_depend_on_order_or_dtype() -> None:
    ids = np.array([5, 17, 123456789, 42], dtype=np.int64)
    keys = id_keys(ids)
    assert list(id_keys(ids[::-1])) == list(keys[::-1])
    assert list(id_keys(np.array(["5", "17", "123456789", "42"], dtype=object))) == list(keys)
    assert len(set(keys.tolist())) == 4
    u = uniform(keys, seed=0)
    assert ((u >= 0) & (u < 1)).all() and not np.array_equal(u, uniform(keys, seed=1))


def test_content_keys_match_identical_rows_only() -> None:
    df = pd.DataFrame({"a": [1.0, 1.0, 2.0, np.nan], "b": ["x", "x", "x", "x"]})
    keys = content_keys(df)
    assert keys[0] == keys[1] and len(set(keys.tolist())) == 3
    assert list(content_keys(df.iloc[::-1].reset_index(drop=True))) == list(keys[::-1])


def test_training_customers_round_trip_compactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**63, 200_000, dtype=np.int64).astype(np.uint64)
    (tmp_path / "model.json").write_text(
        json.dumps({"format": "recsvc-model", "format_version": 1, "artifacts": ["model.txt"]})
    )
    record = write_training_customers(tmp_path, keys)
    desc = json.loads((tmp_path / "model.json").read_text())
    assert desc["artifacts"] == ["model.txt", TRAINING_CUSTOMERS]
    assert record["count"] == 200_000
    # about 4.6 bytes a customer: a million customers take under 6 MB
    assert (tmp_path / TRAINING_CUSTOMERS).stat().st_size < 6 * 200_000
    stored = read_training_customers(tmp_path)
    assert stored is not None
    assert overlap_count(stored, keys[:1000]) == 1000
    others = rng.integers(0, 2**63, 100_000, dtype=np.int64).astype(np.uint64)
    assert overlap_count(stored, others) == 0
