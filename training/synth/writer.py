"""Turn a chunk's arrays into the contract's CSV rows (see docs/data-contract.md)."""

from __future__ import annotations

from typing import TextIO

import numpy as np
import pandas as pd

from recsvc.customers.profile import INCOME_STABILITY, OCCUPATIONS, TRANSACTION_TYPES
from training.synth.activity import OUTCOMES, PITCH_CHANNELS, TX_CHANNELS, Rows
from training.synth.holdings import Book
from training.synth.managers import Staff
from training.synth.people import People
from training.synth.world import World

CUSTOMER_COLUMNS = (
    "customer_id", "name", "id_number", "phone", "birth_date", "gender", "occupation",
    "monthly_income", "income_stability", "salary_via_bank", "aum", "risk_level",
    "assessment_date", "counter_visits_90d", "self_service_visits_90d", "mobile_logins_90d",
    "online_logins_90d", "consent_marketing", "open_complaint", "manager_id", "branch_id",
    "customer_since",
)  # fmt: skip
HOLDING_COLUMNS = ("snapshot_date", "customer_id", "product_id", "amount", "open_date",
                   "maturity_date", "value_change_pct")  # fmt: skip
TRANSACTION_COLUMNS = ("customer_id", "date", "type", "amount", "channel")
PITCH_COLUMNS = ("customer_id", "product_id", "date", "channel", "outcome", "staff_id")
MANAGER_COLUMNS = ("manager_id", "branch_id", "level", "book_size_cap")


def dates(days: np.ndarray) -> np.ndarray:
    """ISO dates; missing (NaT) becomes the empty string."""
    text = np.datetime_as_string(np.asarray(days, dtype=np.int64).astype("datetime64[D]"))
    return np.where(text == "NaT", "", text)


def customer_ids(index: np.ndarray) -> np.ndarray:
    """C + 8 digits, numbered from 1."""
    return np.char.mod("C%08d", index + 1)


def branch_ids(branch: np.ndarray) -> np.ndarray:
    return np.char.mod("BR%05d", branch)


def manager_ids(staff: Staff) -> np.ndarray:
    """M + branch (5 digits) + level (1) + number within branch and level (3)."""
    return np.char.mod("M%09d", staff.branch * 10_000 + staff.level * 1000 + staff.number)


def write_frame(frame: pd.DataFrame, fh: TextIO, header: bool) -> int:
    """Append rows in the contract's CSV dialect; returns the row count."""
    frame.to_csv(
        fh, header=header, index=False, lineterminator="\n", float_format="%.2f", na_rep=""
    )
    return len(frame)


def customers_frame(people: People, staff: Staff, pii: dict[str, object]) -> pd.DataFrame:
    mids = manager_ids(staff)
    has = staff.of_customer >= 0
    manager = np.where(has, mids[np.maximum(staff.of_customer, 0)] if len(mids) else "", "")
    risk = np.where(people.risk > 0, np.char.add("C", people.risk.astype(str)), "")
    cols = {
        "customer_id": customer_ids(people.index), **pii,
        "birth_date": dates(people.birth), "gender": np.array(["M", "F"])[people.gender],
        "occupation": np.array(OCCUPATIONS)[people.occupation],
        "monthly_income": np.round(people.income, 2),
        "income_stability": np.array(INCOME_STABILITY)[people.stability],
        "salary_via_bank": people.salaried.astype(np.int8), "aum": np.round(people.aum, 2),
        "risk_level": risk, "assessment_date": dates(people.assessed),
        "counter_visits_90d": people.counter, "self_service_visits_90d": people.self_service,
        "mobile_logins_90d": people.mobile, "online_logins_90d": people.online,
        "consent_marketing": people.consent.astype(np.int8),
        "open_complaint": people.complaint.astype(np.int8), "manager_id": manager,
        "branch_id": branch_ids(people.branch), "customer_since": dates(people.since),
    }  # fmt: skip
    return pd.DataFrame(cols, columns=list(CUSTOMER_COLUMNS))


def holdings_frame(people: People, world: World, book: Book, snapshot: str) -> pd.DataFrame:
    who, col = np.nonzero(book.held)  # row-major: sorted by customer, then catalogue order
    pids = np.array(world.product_ids)[col]
    order = np.lexsort((pids, who))
    who, col = who[order], col[order]
    return pd.DataFrame({
        "snapshot_date": snapshot, "customer_id": customer_ids(people.index[who]),
        "product_id": np.array(world.product_ids)[col], "amount": book.amount[who, col],
        "open_date": dates(book.open[who, col]), "maturity_date": dates(book.maturity[who, col]),
        "value_change_pct": book.value_change[who, col],
    }, columns=list(HOLDING_COLUMNS))  # fmt: skip


def transactions_frame(people: People, rows: Rows) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": customer_ids(people.index[rows.who]), "date": dates(rows.date),
        "type": np.array(TRANSACTION_TYPES)[rows.kind], "amount": rows.amount,
        "channel": np.array(TX_CHANNELS)[rows.channel],
    }, columns=list(TRANSACTION_COLUMNS))  # fmt: skip


def pitches_frame(people: People, world: World, rows: Rows, staff: Staff) -> pd.DataFrame:
    assert rows.outcome is not None and rows.staff is not None
    branch = people.branch[rows.who]
    teller = np.char.mod("T%07d", branch * 100 + rows.staff + 1)
    mids = manager_ids(staff)
    own = staff.of_customer[rows.who]
    manager = mids[np.maximum(own, 0)] if len(mids) else np.full(len(own), "")
    staff_id = np.where(rows.staff >= 0, teller, np.where(rows.staff == -1, manager, ""))
    return pd.DataFrame({
        "customer_id": customer_ids(people.index[rows.who]),
        "product_id": np.array(world.product_ids)[rows.kind], "date": dates(rows.date),
        "channel": np.array(PITCH_CHANNELS)[rows.channel],
        "outcome": np.array(OUTCOMES)[rows.outcome], "staff_id": staff_id,
    }, columns=list(PITCH_COLUMNS))  # fmt: skip


def managers_frame(staff: Staff) -> pd.DataFrame:
    return pd.DataFrame({
        "manager_id": manager_ids(staff), "branch_id": branch_ids(staff.branch),
        "level": staff.level, "book_size_cap": staff.cap,
    }, columns=list(MANAGER_COLUMNS))  # fmt: skip
