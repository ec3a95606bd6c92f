"""A small synthetic bank, generated once per session, in several chunks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from recsvc.config import Settings
from recsvc.customers import BankConfig, load_bank_config
from training.synth.generate import generate_bank
from training.synth.reader import BankFrames, read_bank

SMALL_N = 4000
SMALL_SEED = 11
SMALL_CHUNK = 1500  # three chunks, so chunk boundaries are exercised


@pytest.fixture(scope="session")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bank")
    generate_bank(out, customers=SMALL_N, seed=SMALL_SEED, chunk_size=SMALL_CHUNK)
    return out


@pytest.fixture(scope="session")
def frames(bank_dir: Path) -> BankFrames:
    return read_bank(bank_dir)


@pytest.fixture(scope="session")
def bank_config() -> BankConfig:
    return load_bank_config(Settings().bank_config_path)


@pytest.fixture(scope="session")
def additions(frames: BankFrames) -> pd.DataFrame:
    """Rows of the second snapshot whose (customer, product) is not in the first."""
    first, second = (pd.Timestamp(d) for d in frames.snapshot_dates)
    h = frames.holdings
    s1 = h[h["snapshot_date"] == first][["customer_id", "product_id"]]
    s2 = h[h["snapshot_date"] == second]
    merged = s2.merge(s1, on=["customer_id", "product_id"], how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"].drop(columns="_merge")


@pytest.fixture(scope="session")
def as_of() -> dt.date:
    return dt.date(2026, 9, 30)
