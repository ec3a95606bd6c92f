"""Store fixtures: a fresh database per test (SQLite file, and PostgreSQL when configured)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pgtesting import BACKENDS, empty_database
from sqlalchemy import Engine

from recsvc.customers import ChannelHabits, Customer, Holding, Transaction
from recsvc.store import make_engine, upgrade
from recsvc.store.constants import (
    CUSTOMER_COLUMNS,
    HOLDING_COLUMNS,
    MANAGER_COLUMNS,
    PITCH_COLUMNS,
    TRANSACTION_COLUMNS,
)

SNAPSHOTS = (dt.date(2026, 9, 30), dt.date(2026, 10, 31))
FILES = {
    "customers.csv": CUSTOMER_COLUMNS,
    "holdings.csv": HOLDING_COLUMNS,
    "transactions.csv": TRANSACTION_COLUMNS,
    "pitches.csv": PITCH_COLUMNS,
    "managers.csv": MANAGER_COLUMNS,
}


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database that no other test sees."""
    with empty_database(request.param, tmp_path, "the store") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def write_export(directory: Path, tables: dict[str, list[dict[str, Any]]]) -> Path:
    """Write a bank export (CSV files + manifest.json) as the v1 contract describes."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, columns in FILES.items():
        rows = tables.get(name, [])
        with (directory / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(c)) for c in columns])
        digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()
        files[name] = {"rows": len(rows), "sha256": digest}
    manifest = {
        "format": "recsvc-bank",
        "format_version": 1,
        "seed": 0,
        "customers": len(tables.get("customers.csv", [])),
        "snapshot_dates": [d.isoformat() for d in SNAPSHOTS],
        "files": files,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory


def _customer(customer_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customer_id": customer_id,
        "name": "张伟",
        "id_number": "110101199001011234",
        "phone": "13800138000",
        "birth_date": dt.date(1990, 1, 1),
        "gender": "M",
        "occupation": "employee",
        "monthly_income": 12000.5,
        "income_stability": "stable",
        "salary_via_bank": True,
        "aum": 250000.0,
        "risk_level": "C3",
        "assessment_date": dt.date(2026, 3, 1),
        "counter_visits_90d": 3,
        "self_service_visits_90d": 1,
        "mobile_logins_90d": 20,
        "online_logins_90d": 0,
        "consent_marketing": True,
        "open_complaint": False,
        "manager_id": "M001",
        "branch_id": "B01",
        "customer_since": dt.date(2015, 6, 1),
    }
    row.update(overrides)
    return row


def bank_tables() -> dict[str, list[dict[str, Any]]]:
    """Four customers, two managers, holdings at both snapshots, transactions and pitches."""
    old, now = SNAPSHOTS
    return {
        "managers.csv": [
            {"manager_id": "M001", "branch_id": "B01", "level": 1, "book_size_cap": 300},
            {"manager_id": "M002", "branch_id": "B01", "level": 3, "book_size_cap": 80},
        ],
        "customers.csv": [
            _customer("C00000001"),
            _customer(
                "C00000002",
                name="李娜",
                gender="F",
                birth_date=dt.date(1950, 5, 20),
                risk_level=None,
                assessment_date=None,
                salary_via_bank=False,
                manager_id=None,
                occupation="retired",
                income_stability="none",
                monthly_income=0.0,
                customer_since=None,
            ),
            _customer(
                "C00000003", name="王芳", aum=12000000.25, manager_id="M002", risk_level="C5"
            ),
            _customer("C00000004", name=None, id_number=None, phone=None, consent_marketing=False),
        ],
        "holdings.csv": [
            {
                "snapshot_date": old,
                "customer_id": "C00000001",
                "product_id": "WM_R2",
                "amount": 1.0,
            },
            {"snapshot_date": old, "customer_id": "C00000003", "product_id": "GOLD", "amount": 9.0},
            {
                "snapshot_date": now,
                "customer_id": "C00000001",
                "product_id": "CREDIT_CARD",
                "amount": 0.0,
                "open_date": dt.date(2020, 1, 1),
            },
            {
                "snapshot_date": now,
                "customer_id": "C00000001",
                "product_id": "WM_R2",
                "amount": 50000.0,
                "open_date": dt.date(2026, 4, 1),
                "maturity_date": dt.date(2026, 12, 1),
                "value_change_pct": -1.25,
            },
            {
                "snapshot_date": now,
                "customer_id": "C00000003",
                "product_id": "LARGE_CD",
                "amount": 3e6,
            },
        ],
        "transactions.csv": [
            {
                "customer_id": "C00000001",
                "date": dt.date(2026, 8, 1),
                "type": "cash_withdrawal",
                "amount": 5000.0,
                "channel": "counter",
            },
            {
                "customer_id": "C00000001",
                "date": dt.date(2026, 9, 2),
                "type": "bill_payment",
                "amount": 120.4,
                "channel": "mobile",
            },
            {
                "customer_id": "C00000001",
                "date": dt.date(2026, 9, 2),
                "type": "bill_payment",
                "amount": 120.4,
                "channel": "mobile",
            },
            {
                "customer_id": "C00000002",
                "date": dt.date(2026, 7, 15),
                "type": "cash_deposit",
                "amount": 800.0,
                "channel": "counter",
            },
        ],
        "pitches.csv": [
            {
                "customer_id": "C00000001",
                "product_id": "GOLD_PLAN",
                "date": dt.date(2026, 9, 10),
                "channel": "teller",
                "outcome": "declined",
                "staff_id": "T07",
            },
            {
                "customer_id": "C00000003",
                "product_id": "INS_REG",
                "date": dt.date(2026, 9, 12),
                "channel": "manager",
                "outcome": "accepted",
                "staff_id": "M002",
            },
            {
                "customer_id": "C00000002",
                "product_id": "MOBILE",
                "date": dt.date(2026, 9, 12),
                "channel": "self_service",
                "outcome": "no_answer",
                "staff_id": None,
            },
        ],
    }


def expected_customer(tables: dict[str, list[dict[str, Any]]], customer_id: str) -> Customer:
    """The Customer the store should give back for an id of `tables`."""
    row = next(r for r in tables["customers.csv"] if r["customer_id"] == customer_id)
    habit_names = tuple(ChannelHabits.__dataclass_fields__)
    plain = {k: v for k, v in row.items() if k not in habit_names}
    level = plain.pop("risk_level")
    holdings = sorted(
        (
            h
            for h in tables["holdings.csv"]
            if h["customer_id"] == customer_id and h["snapshot_date"] == SNAPSHOTS[-1]
        ),
        key=lambda h: h["product_id"],
    )
    transactions = sorted(
        (t for t in tables["transactions.csv"] if t["customer_id"] == customer_id),
        key=lambda t: t["date"],
    )
    return Customer(
        **plain,
        risk_level=None if level is None else int(level[1]),
        channel_habits=ChannelHabits(**{k: row[k] for k in habit_names}),
        holdings=tuple(
            Holding(
                product_id=h["product_id"],
                amount=h["amount"],
                open_date=h.get("open_date"),
                maturity_date=h.get("maturity_date"),
                value_change_pct=h.get("value_change_pct"),
            )
            for h in holdings
        ),
        recent_transactions=tuple(
            Transaction(type=t["type"], amount=t["amount"], date=t["date"], channel=t["channel"])
            for t in transactions
        ),
    )


Tables = dict[str, list[dict[str, Any]]]


@pytest.fixture
def tables() -> Tables:
    """A fresh copy of the tiny bank's rows, free to modify."""
    return bank_tables()


@pytest.fixture
def make_export() -> Callable[[Path, Tables], Path]:
    """write_export, for tests that write their own variant of the bank."""
    return write_export


@pytest.fixture
def expected() -> Callable[[Tables, str], Customer]:
    """expected_customer, for tests that compare what the store gives back."""
    return expected_customer


@pytest.fixture
def bank_dir(tmp_path: Path, tables: dict[str, list[dict[str, Any]]]) -> Path:
    """A tiny, valid bank export directory."""
    return write_export(tmp_path / "bank", tables)
