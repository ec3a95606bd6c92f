"""What `train --dask` reads into the cluster: only the columns the features and labels use.

The single-process path reads every file (`read_bank`); the partitions read the same files'
`read_columns`, so no name, ID number or phone number is parsed, shuffled or held by a worker,
and pitches.csv (decision history, refused on Dask) not at all. The trees are the single-process
ones either way (tests/dask_training/test_dask_training.py compares them).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest

from training.dask_train import (
    PARTITIONED_FILES,
    UNREAD_FILES,
    _partitioned,
    _unread,
    read_columns,
)
from training.datasets import load_spec
from training.synth.generate import generate_bank
from training.synth.reader import PII_COLUMNS, SCHEMAS, BankFormatError, read_bank
from training.synthetic import featurizer_for, frames_to_dataset


@pytest.fixture(scope="module")
def small_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bank2k")
    generate_bank(directory, customers=2_000, seed=3)
    return directory


def partitions_of(bank: Path, file: str) -> pd.DataFrame:
    with dask.config.set(scheduler="sync"):
        return pd.concat(dask.compute(*_partitioned(bank / file, 2)))


def test_no_pii_column_enters_the_cluster(small_bank: Path) -> None:
    read = partitions_of(small_bank, "customers.csv")
    assert len(read) == 2_000
    assert set(SCHEMAS["customers.csv"]) >= PII_COLUMNS
    assert not PII_COLUMNS & set(read.columns)
    assert set(read.columns) == {*read_columns("customers.csv"), "_part"}


def test_pitches_are_not_read() -> None:
    assert "pitches.csv" in UNREAD_FILES
    assert read_columns("pitches.csv") == ()


def test_a_missing_contract_column_is_still_refused(small_bank: Path, tmp_path: Path) -> None:
    """The header keeps the whole contract, read or not: a bank without `phone` is refused."""
    raw = pd.read_csv(small_bank / "customers.csv", dtype=str, keep_default_na=False)
    raw.drop(columns=["phone"]).to_csv(tmp_path / "customers.csv", index=False)
    with pytest.raises(BankFormatError, match="'phone' is missing"):
        _partitioned(tmp_path / "customers.csv", 2)


def test_the_read_columns_give_the_single_process_features(small_bank: Path) -> None:
    """frames_to_dataset on the read columns only (pitches empty) equals it on the whole bank:
    the features and labels read nothing the partitions leave out."""
    spec = load_spec("synthetic")
    whole = read_bank(small_bank)
    kept = {
        name.removesuffix(".csv"): _unread(name)
        if name in UNREAD_FILES
        else getattr(whole, name.removesuffix(".csv"))[list(read_columns(name))]
        for name in PARTITIONED_FILES
    }
    assert not PII_COLUMNS & set(kept["customers"].columns)
    assert len(kept["pitches"]) == 0 < len(whole.pitches)
    a = frames_to_dataset(whole, spec, featurizer=featurizer_for())
    b = frames_to_dataset(
        dataclasses.replace(whole, **kept),
        spec,
        featurizer=featurizer_for(),
    )
    assert np.array_equal(a.ids, b.ids)
    pd.testing.assert_frame_equal(a.features, b.features)
    assert np.array_equal(a.held, b.held)
    assert np.array_equal(a.labels, b.labels)
