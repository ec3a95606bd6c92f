"""The files follow docs/data-contract.md: columns, dtypes, order, manifest, determinism."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from recsvc.customers import CustomerSchema
from training.synth.generate import FILES, generate_bank
from training.synth.reader import SCHEMAS, BankFrames, customers_from_frames
from training.synth.writer import CUSTOMER_COLUMNS

SORT_KEYS = {
    "customers.csv": ["customer_id"],
    "holdings.csv": ["snapshot_date", "customer_id", "product_id"],
    "transactions.csv": ["customer_id", "date"],
    "pitches.csv": ["customer_id", "date"],
    "managers.csv": ["manager_id"],
}


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_synth_same_seed_same_bytes(tmp_path: Path) -> None:
    for run in ("a", "b"):
        generate_bank(tmp_path / run, customers=700, seed=3, chunk_size=300)
    generate_bank(tmp_path / "c", customers=700, seed=4, chunk_size=300)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert _digests(tmp_path / "a")["customers.csv"] != _digests(tmp_path / "c")["customers.csv"]


def test_synth_manifest_matches_files(bank_dir: Path) -> None:
    manifest = json.loads((bank_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "recsvc-bank" and manifest["format_version"] == 1
    assert manifest["snapshot_dates"] == ["2026-09-30", "2026-10-31"]
    assert sorted(manifest["files"]) == sorted(FILES)
    assert sorted(p.name for p in bank_dir.iterdir()) == sorted([*FILES, "manifest.json"])
    for name, entry in manifest["files"].items():
        data = (bank_dir / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert data.count(b"\n") == entry["rows"] + 1
        assert b"\r" not in data


def test_synth_as_of_moves_both_snapshots(tmp_path: Path) -> None:
    import datetime as dt

    manifest = generate_bank(tmp_path, customers=50, seed=1, as_of=dt.date(2026, 12, 15))
    assert manifest["snapshot_dates"] == ["2026-12-15", "2027-01-31"]


@pytest.mark.parametrize("name", FILES)
def test_synth_columns_in_contract_order(bank_dir: Path, name: str) -> None:
    header = (bank_dir / name).read_text(encoding="utf-8").split("\n", 1)[0]
    assert header.split(",") == list(SCHEMAS[name])


def test_synth_customer_columns_are_the_dataclass_fields() -> None:
    fields = set(CustomerSchema().fields) - {"holdings", "recent_transactions", "channel_habits"}
    habits = {
        "counter_visits_90d",
        "self_service_visits_90d",
        "mobile_logins_90d",
        "online_logins_90d",
    }
    assert set(CUSTOMER_COLUMNS) == fields | habits


@pytest.mark.parametrize("name", FILES)
def test_synth_files_are_sorted(frames: BankFrames, name: str) -> None:
    frame = getattr(frames, name.removesuffix(".csv"))
    keys = frame[SORT_KEYS[name]]
    assert keys.equals(keys.sort_values(SORT_KEYS[name]).reset_index(drop=True)), name
    if name == "customers.csv":
        assert frame["customer_id"].is_unique


def test_synth_dtypes(frames: BankFrames) -> None:
    c = frames.customers
    assert pd.api.types.is_datetime64_dtype(c["birth_date"])
    assert c["aum"].dtype == "float64" and c["counter_visits_90d"].dtype == "int64"
    assert c["salary_via_bank"].dtype == bool and str(c["risk_level"].dtype) == "Int8"
    assert pd.api.types.is_string_dtype(c["customer_id"])
    assert frames.holdings["value_change_pct"].dtype == "float64"


def test_synth_money_has_two_decimals(bank_dir: Path) -> None:
    raw = pd.read_csv(bank_dir / "holdings.csv", dtype=str, keep_default_na=False)
    assert raw["amount"].str.fullmatch(r"\d+\.\d\d").all()
    cust = pd.read_csv(bank_dir / "customers.csv", dtype=str, keep_default_na=False)
    assert cust["aum"].str.fullmatch(r"\d+\.\d\d").all()
    assert cust["customer_id"].str.fullmatch(r"C\d{8}").all()
    assert cust["phone"].str.fullmatch(r"1\d{10}").all()
    assert cust["id_number"].str.len().eq(18).all()


def _row_to_payload(row: dict[str, str]) -> dict[str, object]:
    habits = (
        "counter_visits_90d",
        "self_service_visits_90d",
        "mobile_logins_90d",
        "online_logins_90d",
    )
    payload: dict[str, object] = {k: v for k, v in row.items() if v != "" and k not in habits}
    payload["channel_habits"] = {h: int(row[h]) for h in habits}
    return payload


def test_synth_every_customer_row_loads_through_the_schema(bank_dir: Path) -> None:
    raw = pd.read_csv(bank_dir / "customers.csv", dtype=str, keep_default_na=False)
    schema = CustomerSchema()
    loaded = [schema.load(_row_to_payload(row)) for row in raw.to_dict("records")]
    assert len(loaded) == len(raw)


def test_synth_reader_customers_match_the_schema(bank_dir: Path, frames: BankFrames) -> None:
    raw = pd.read_csv(bank_dir / "customers.csv", dtype=str, keep_default_na=False, nrows=300)
    schema = CustomerSchema()
    rebuilt = customers_from_frames(frames)
    for row, customer in zip(raw.to_dict("records"), rebuilt, strict=False):
        expected = schema.load(_row_to_payload(row))
        assert (
            customer.__class__(
                **{
                    **expected.__dict__,
                    "holdings": customer.holdings,
                    "recent_transactions": customer.recent_transactions,
                }
            )
            == customer
        )
        assert type(customer.salary_via_bank) is bool and type(customer.aum) is float


def test_synth_reader_attaches_each_snapshots_holdings(frames: BankFrames) -> None:
    first, second = (pd.Timestamp(d) for d in frames.snapshot_dates)
    for snapshot, when in ((0, first), (1, second)):
        built = list(customers_from_frames(frames, snapshot))
        assert len(built) == len(frames.customers)
        held = frames.holdings[frames.holdings["snapshot_date"] == when]
        assert sum(len(c.holdings) for c in built) == len(held)
    assert sum(len(c.recent_transactions) for c in built) == len(frames.transactions)


@pytest.mark.parametrize("customers", [1, 3, 5])
def test_synth_tiny_banks_still_follow_the_contract(tmp_path: Path, customers: int) -> None:
    from training.synth.reader import read_bank

    generate_bank(tmp_path, customers=customers, seed=9)
    frames = read_bank(tmp_path)
    assert len(list(customers_from_frames(frames))) == customers
