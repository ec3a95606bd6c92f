"""Read a synthetic bank directory into typed DataFrames, and rebuild Customer objects from it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsvc.customers import ChannelHabits, Customer, Holding, Transaction

PII_COLUMNS = frozenset({"name", "id_number", "phone"})
# kind: str (required), str? (empty = missing), int, float, float?, date, date?, bool, risk?
SCHEMAS: dict[str, dict[str, str]] = {
    "customers.csv": {
        "customer_id": "str", "name": "str?", "id_number": "str?", "phone": "str?",
        "birth_date": "date", "gender": "str", "occupation": "str", "monthly_income": "float",
        "income_stability": "str", "salary_via_bank": "bool", "aum": "float",
        "risk_level": "risk?", "assessment_date": "date?", "counter_visits_90d": "int",
        "self_service_visits_90d": "int", "mobile_logins_90d": "int", "online_logins_90d": "int",
        "consent_marketing": "bool", "open_complaint": "bool", "manager_id": "str?",
        "branch_id": "str", "customer_since": "date?",
    },
    "holdings.csv": {
        "snapshot_date": "date", "customer_id": "str", "product_id": "str", "amount": "float",
        "open_date": "date?", "maturity_date": "date?", "value_change_pct": "float?",
    },
    "transactions.csv": {
        "customer_id": "str", "date": "date", "type": "str", "amount": "float", "channel": "str",
    },
    "pitches.csv": {
        "customer_id": "str", "product_id": "str", "date": "date", "channel": "str",
        "outcome": "str", "staff_id": "str?",
    },
    "managers.csv": {
        "manager_id": "str", "branch_id": "str", "level": "int", "book_size_cap": "int",
    },
}  # fmt: skip
RISK_LEVELS = {f"C{i}": i for i in range(1, 6)}


class BankFormatError(ValueError):
    """A bank directory does not follow the data contract; names file, column and data row."""


@dataclass(frozen=True)
class BankFrames:
    """The bank's files as DataFrames with explicit dtypes (see SCHEMAS)."""

    manifest: dict[str, Any]
    customers: pd.DataFrame
    holdings: pd.DataFrame
    transactions: pd.DataFrame
    pitches: pd.DataFrame
    managers: pd.DataFrame

    @property
    def snapshot_dates(self) -> tuple[dt.date, dt.date]:
        first, second = self.manifest["snapshot_dates"]
        return dt.date.fromisoformat(first), dt.date.fromisoformat(second)


def _fail(file: str, column: str, raw: pd.Series, bad: np.ndarray, problem: str) -> None:
    if not bad.any():
        return
    pos = int(np.flatnonzero(bad)[0])
    shown = "" if column in PII_COLUMNS else f" {raw.iloc[pos]!r}"
    raise BankFormatError(f"{file}: column {column!r}, row {pos + 1}: {problem}{shown}")


def _convert(file: str, column: str, kind: str, raw: pd.Series) -> pd.Series:
    """Parse one all-string column into its declared dtype, or name the first bad row."""
    empty = (raw == "").to_numpy()
    optional = kind.endswith("?")
    base = kind.rstrip("?")
    if not optional:
        _fail(file, column, raw, empty, "value is required")
    if base == "str":
        return raw.astype("string").mask(empty)
    if base == "bool":
        _fail(file, column, raw, ~raw.isin(["0", "1"]).to_numpy(), "expected 0 or 1, got")
        return raw == "1"
    if base == "risk":
        _fail(file, column, raw, ~(raw.isin(list(RISK_LEVELS)).to_numpy() | empty),
              "expected C1..C5 or empty, got")  # fmt: skip
        return raw.map(RISK_LEVELS).astype("Int8")
    if base == "date":
        parsed = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
        _fail(
            file, column, raw, parsed.isna().to_numpy() & ~empty, "expected a YYYY-MM-DD date, got"
        )
        return parsed.astype("datetime64[s]")
    number = pd.to_numeric(raw.mask(empty), errors="coerce")
    _fail(file, column, raw, number.isna().to_numpy() & ~empty, f"expected a number ({base}), got")
    if base == "int":
        _fail(file, column, raw, (number % 1 != 0).to_numpy(), "expected an integer, got")
        return number.astype("int64")
    return number.astype("float64")


def read_csv(path: Path, file: str) -> pd.DataFrame:
    """One contract file, typed; the error names the file, the column and the data row."""
    schema = SCHEMAS[file]
    if not path.is_file():
        raise BankFormatError(f"{file}: missing from {path.parent}")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    for column in schema:
        if column not in raw.columns:
            raise BankFormatError(f"{file}: column {column!r} is missing")
    return pd.DataFrame({c: _convert(file, c, kind, raw[c]) for c, kind in schema.items()})


def read_bank(directory: Path | str) -> BankFrames:
    """Read and type-check every file of a bank directory."""
    root = Path(directory)
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BankFormatError(f"manifest.json: cannot read from {root}: {exc}") from exc
    if manifest.get("format") != "recsvc-bank" or manifest.get("format_version") != 1:
        raise BankFormatError(
            "manifest.json: field 'format'/'format_version' is not recsvc-bank v1"
        )
    frames = {f.removesuffix(".csv"): read_csv(root / f, f) for f in SCHEMAS}
    return BankFrames(manifest=manifest, **frames)


def _dates(col: pd.Series) -> list[dt.date | None]:
    """Python dates, None for missing (numpy day precision converts both in one go)."""
    return col.to_numpy(dtype="datetime64[D]").tolist()


def _opt(values: list[Any]) -> list[Any]:
    """NaN / NA to None."""
    return [None if v is None or v is pd.NA or v != v else v for v in values]


def _col(frame: pd.DataFrame, name: str) -> list[Any]:
    return _opt(frame[name].to_numpy(dtype=object).tolist())


def _slices(ids: pd.Series, wanted: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Start and end row of each wanted customer in a frame sorted by customer_id."""
    keys = ids.to_numpy(dtype=object)
    want = wanted.to_numpy(dtype=object)
    return np.searchsorted(keys, want, "left"), np.searchsorted(keys, want, "right")


def customers_from_frames(frames: BankFrames, snapshot: int = 0) -> Iterator[Customer]:
    """Customers with that snapshot's holdings and the 90 days of transactions before the first.

    The profile itself is the first snapshot's (the file has only one); snapshot=1 swaps in
    the second snapshot's holdings, which is what the label is made of.
    """
    when = pd.Timestamp(frames.snapshot_dates[snapshot])
    held = frames.holdings[frames.holdings["snapshot_date"] == when].reset_index(drop=True)
    tx, c = frames.transactions, frames.customers
    h_lo, h_hi = _slices(held["customer_id"], c["customer_id"])
    t_lo, t_hi = _slices(tx["customer_id"], c["customer_id"])
    holdings = [
        Holding(product_id=p, amount=a, open_date=o, maturity_date=m, value_change_pct=v)
        for p, a, o, m, v in zip(_col(held, "product_id"), held["amount"].tolist(),
                                 _dates(held["open_date"]), _dates(held["maturity_date"]),
                                 _opt(held["value_change_pct"].tolist()), strict=True)
    ]  # fmt: skip
    transactions = [
        Transaction(type=k, amount=a, date=d, channel=ch)
        for k, a, d, ch in zip(_col(tx, "type"), tx["amount"].tolist(), _dates(tx["date"]),
                               _col(tx, "channel"), strict=True)
    ]  # fmt: skip
    cols = {name: _col(c, name) for name in c.columns}
    for name in ("birth_date", "assessment_date", "customer_since"):
        cols[name] = _dates(c[name])
    cols["risk_level"] = _opt(c["risk_level"].astype("float64").tolist())
    habits = ("counter_visits_90d", "self_service_visits_90d", "mobile_logins_90d",
              "online_logins_90d")  # fmt: skip
    for i in range(len(c)):
        row = {name: values[i] for name, values in cols.items()}
        risk = row.pop("risk_level")
        yield Customer(
            **{k: v for k, v in row.items() if k not in habits},
            risk_level=None if risk is None else int(risk),
            holdings=tuple(holdings[h_lo[i] : h_hi[i]]),
            channel_habits=ChannelHabits(*(int(row[h]) for h in habits)),
            recent_transactions=tuple(transactions[t_lo[i] : t_hi[i]]),
        )
