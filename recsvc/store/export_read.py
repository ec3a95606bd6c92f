"""Reads for a point-in-time bank export (`python -m training export`): customers and managers
in id-ordered chunks (keyset pagination, one query per chunk), and per chunk of customers their
holdings, transactions, the bank's pitch history and the service's own decisions (pitch log,
feedback and its corrections, the audited requests) -- each one query per chunk, so memory is
bounded by the chunk, never by the store.

Rows come back as plain Core rows; deciding what was known on a date is the caller's job."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select

from recsvc.store.constants import MAX_CHUNK_SIZE, check_chunk_size
from recsvc.store.tables import (
    AUDIT,
    CORRECTIONS,
    CUSTOMERS,
    FEEDBACK,
    HISTORY,
    HOLDINGS,
    MANAGERS,
    PITCH_LOG,
    TRANSACTIONS,
)


class KeyOrderError(RuntimeError):
    """The database orders ids differently from Python (its collation is not bytewise)."""


def _checked_order(rows: Sequence[Any], key: str, after: str) -> None:
    """Keyset pagination and the files' sort order both need the database to order ids as
    Python does (bytewise: SQLite's BINARY, PostgreSQL's C collations)."""
    previous = after
    for row in rows:
        value = getattr(row, key)
        if value <= previous and previous != "":
            raise KeyOrderError(
                f"the database orders {key} differently from bytewise order; export needs a "
                "C (bytewise) collation"
            )
        previous = value


def customer_chunks(
    conn: Connection, *, joined_by: dt.date, chunk_size: int = 5000
) -> Iterator[Sequence[Any]]:
    """Customers who were customers on `joined_by` (customer_since empty or not after it), in
    customer_id order, `chunk_size` at a time."""
    joined = or_(CUSTOMERS.c.customer_since.is_(None), CUSTOMERS.c.customer_since <= joined_by)
    return _keyset_chunks(conn, CUSTOMERS, "customer_id", chunk_size, joined)


def manager_chunks(conn: Connection, *, chunk_size: int = 5000) -> Iterator[Sequence[Any]]:
    """Every client manager, in manager_id order."""
    return _keyset_chunks(conn, MANAGERS, "manager_id", chunk_size)


def _keyset_chunks(
    conn: Connection, table: Any, key: str, chunk_size: int, *where: Any
) -> Iterator[Sequence[Any]]:
    """The table's rows that meet `where`, in `key` order, `chunk_size` at a time (keyset
    pagination: one query per chunk)."""
    check_chunk_size(chunk_size)
    column = table.c[key]
    after = ""
    while True:
        rows = conn.execute(
            select(table).where(column > after, *where).order_by(column).limit(chunk_size)
        ).all()
        if not rows:
            return
        _checked_order(rows, key, after)
        yield rows
        after = getattr(rows[-1], key)


@dataclass(frozen=True)
class ChunkRows:
    """What a chunk of customers has in the other tables (each list in a fixed order)."""

    holdings: Sequence[Any]  # customer_id, product_id
    transactions: Sequence[Any]  # customer_id, date, id
    history: Sequence[Any]  # customer_id, date, id
    pitch_log: Sequence[Any]  # id
    feedback: Sequence[Any]  # id
    corrections: list[Any]  # feedback_id, corrected_at, id
    audits: list[Any]  # request_id; with as_of and channel read out of the payload


def chunk_rows(
    conn: Connection,
    ids: Sequence[str],
    *,
    held_by: dt.date,
    transactions_after: dt.date,
    transactions_until: dt.date,
    history_until: dt.date,
) -> ChunkRows:
    """The rows of these customers (at most MAX_CHUNK_SIZE) that an export as of a date may
    need: holdings opened by `held_by` (or with no open date), transactions in
    (`transactions_after`, `transactions_until`], pitch history up to `history_until`, and every
    pitch-log and feedback row with their corrections and audited requests (what of those was
    known on the date depends on the audit's day and the feedback's time: the caller decides)."""
    check_chunk_size(len(ids))
    ids = list(ids)
    holdings = conn.execute(
        select(HOLDINGS)
        .where(
            HOLDINGS.c.customer_id.in_(ids),
            or_(HOLDINGS.c.open_date.is_(None), HOLDINGS.c.open_date <= held_by),
        )
        .order_by(HOLDINGS.c.customer_id, HOLDINGS.c.product_id)
    ).all()
    transactions = conn.execute(
        select(TRANSACTIONS)
        .where(
            TRANSACTIONS.c.customer_id.in_(ids),
            TRANSACTIONS.c.date > transactions_after,
            TRANSACTIONS.c.date <= transactions_until,
        )
        .order_by(TRANSACTIONS.c.customer_id, TRANSACTIONS.c.date, TRANSACTIONS.c.id)
    ).all()
    history = conn.execute(
        select(HISTORY)
        .where(HISTORY.c.customer_id.in_(ids), HISTORY.c.date <= history_until)
        .order_by(HISTORY.c.customer_id, HISTORY.c.date, HISTORY.c.id)
    ).all()
    pitch_log = conn.execute(
        select(PITCH_LOG).where(PITCH_LOG.c.customer_id.in_(ids)).order_by(PITCH_LOG.c.id)
    ).all()
    feedback = conn.execute(
        select(FEEDBACK).where(FEEDBACK.c.customer_id.in_(ids)).order_by(FEEDBACK.c.id)
    ).all()
    corrections: list[Any] = []
    for part in _parts(sorted({f.id for f in feedback})):
        corrections += conn.execute(
            select(CORRECTIONS).where(CORRECTIONS.c.feedback_id.in_(part))
        ).all()
    corrections.sort(key=lambda c: (c.feedback_id, c.corrected_at, c.id))
    request_ids = sorted({p.request_id for p in pitch_log} | {f.request_id for f in feedback})
    audits: list[Any] = []
    for part in _parts(request_ids):
        audits += conn.execute(
            select(
                AUDIT.c.request_id,
                AUDIT.c.customer_id,
                AUDIT.c.created_at,
                AUDIT.c.staff_id,
                AUDIT.c.model_version,
                AUDIT.c.experiment_id,
                AUDIT.c.arm,
                AUDIT.c.payload["answer"]["as_of"].as_string().label("as_of"),
                AUDIT.c.payload["request"]["channel"].as_string().label("channel"),
            ).where(AUDIT.c.request_id.in_(part))
        ).all()
    audits.sort(key=lambda a: a.request_id)
    return ChunkRows(holdings, transactions, history, pitch_log, feedback, corrections, audits)


def _parts(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), MAX_CHUNK_SIZE):
        yield values[start : start + MAX_CHUNK_SIZE]
