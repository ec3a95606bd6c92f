"""Contact plans and the per-chunk reads the nightly batch needs (one query per chunk, not per
customer)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.orm import Session

from recsvc.customers.profile import ChannelHabits, Customer, Holding
from recsvc.store.constants import (
    ACCEPTED,
    CHANNEL_HABIT_COLUMNS,
    CUSTOMER_COLUMNS,
    DECLINE_OUTCOMES,
    MAX_CHUNK_SIZE,
    check_chunk_size,
)
from recsvc.store.customer_repo import customer_from_row
from recsvc.store.feedback import as_utc
from recsvc.store.pgbulk import copy_upsert
from recsvc.store.tables import (
    AuditLogRow,
    ClientManagerRow,
    ContactPlanRow,
    CustomerRow,
    FeedbackRow,
    HoldingRow,
    PitchHistoryRow,
    PitchLogRow,
    TransactionRow,
)

PLAN_COLUMNS = (
    "week", "customer_id", "manager_id", "rank", "priority", "flag", "triggers", "products",
    "talking_points", "channel", "request_id", "created_at",
)  # fmt: skip


def customers_by_ids(engine: Engine, ids: Sequence[str]) -> dict[str, Customer]:
    """The stored customers among these ids (at most MAX_CHUNK_SIZE), with holdings and
    transactions, by id; ids not in the store are left out."""
    if len(ids) > MAX_CHUNK_SIZE:
        raise ValueError(f"at most {MAX_CHUNK_SIZE} ids, got {len(ids)}")
    customers = CustomerRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(customers).where(customers.c.customer_id.in_(ids))).all()
        return {c.customer_id: c for c in _built(conn, rows)}


def _built(conn: Connection, rows: Sequence[Any]) -> list[Customer]:
    """Customers from plain customer rows, with their holdings and transactions read alongside
    (Core rows carry the same attributes as ORM rows)."""
    ids = [r.customer_id for r in rows]
    holdings = _by_customer(conn.execute(
        select(HoldingRow.__table__).where(HoldingRow.customer_id.in_(ids))
        .order_by(HoldingRow.customer_id, HoldingRow.product_id)
    ))  # fmt: skip
    txns = _by_customer(conn.execute(
        select(TransactionRow.__table__).where(TransactionRow.customer_id.in_(ids))
        .order_by(TransactionRow.customer_id, TransactionRow.date, TransactionRow.id)
    ))  # fmt: skip
    build: Any = customer_from_row
    return [build(r, holdings[r.customer_id], txns[r.customer_id]) for r in rows]


def iter_contactable(engine: Engine, chunk_size: int = 2000) -> Iterator[list[Customer]]:
    """Customers a manager may contact (in a book, consenting, no open complaint), id order,
    chunk by chunk; plain rows instead of ORM objects, which is what makes the batch fast."""
    check_chunk_size(chunk_size)
    after = ""
    while True:
        with engine.connect() as conn:
            rows = conn.execute(_contactable(after, ALL_MANAGERS).limit(chunk_size)).all()
            if not rows:
                return
            chunk = _built(conn, rows)
        yield chunk
        after = rows[-1].customer_id


class ContactableChunk:
    """A chunk of contactable customers, as the batch path reads them: plain tuples, the
    same as DataFrames for the model's features (no Transaction objects built), and Customer
    objects with their holdings built only for the customers asked for (the triggers and the
    rules read them)."""

    def __init__(
        self,
        columns: list[str],
        rows: list[tuple[Any, ...]],
        holding_rows: list[tuple[Any, ...]],
        transaction_frame: pd.DataFrame,
    ) -> None:
        self.columns, self.rows, self.holding_rows = columns, rows, holding_rows
        self.customer_frame = pd.DataFrame(rows, columns=columns)
        self.holding_frame = pd.DataFrame(holding_rows, columns=_HOLDING)
        self.transaction_frame = transaction_frame
        at = columns.index("customer_id")
        self.ids: list[str] = [r[at] for r in rows]
        self._held: dict[str, list[Holding]] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list[Any]:
        at = self.columns.index(name)
        return [r[at] for r in self.rows]

    @property
    def customers(self) -> list[Customer]:
        return self.build(range(len(self.rows)))

    def build(self, positions: Iterable[int]) -> list[Customer]:
        """customer_from_row's Customers (holdings, no transactions) at these positions."""
        if self._held is None:
            self._held = defaultdict(list)
            for h in self.holding_rows:
                self._held[h[0]].append(Holding(*h[1:]))
        held, columns = self._held, self.columns
        plain = itemgetter(*(columns.index(c) for c in _PLAIN))
        habits = itemgetter(*(columns.index(c) for c in CHANNEL_HABIT_COLUMNS))
        return [
            Customer(
                **dict(zip(_PLAIN, plain(self.rows[i]), strict=True)),
                channel_habits=ChannelHabits(*habits(self.rows[i])),
                holdings=tuple(held.get(self.ids[i], ())),
            )
            for i in positions
        ]


@dataclass(frozen=True)
class ManagerSpan:
    """The client managers whose id is in [first, before): None is open on that side. Spans
    cut at manager ids partition every book (a customer without a manager is in none)."""

    first: str | None = None
    before: str | None = None

    def where(self, column: Any) -> list[Any]:
        out = []
        if self.first is not None:
            out.append(column >= self.first)
        if self.before is not None:
            out.append(column < self.before)
        return out


ALL_MANAGERS = ManagerSpan()


def _contactable(after: str, span: ManagerSpan) -> Any:
    customers = CustomerRow.__table__
    return (
        select(customers)
        .where(
            customers.c.customer_id > after,
            customers.c.manager_id.is_not(None),
            customers.c.consent_marketing.is_(True),
            customers.c.open_complaint.is_(False),
            *span.where(customers.c.manager_id),
        )
        .order_by(customers.c.customer_id)
    )


def iter_contactable_chunks(
    engine: Engine, chunk_size: int = 2000, *, managers: ManagerSpan = ALL_MANAGERS
) -> Iterator[ContactableChunk]:
    """iter_contactable's customers (the same chunks, id order) as ContactableChunk; only the
    books of the managers in the span."""
    check_chunk_size(chunk_size)
    after = ""
    while True:
        with engine.connect() as conn:
            result = conn.execute(_contactable(after, managers).limit(chunk_size))
            columns = list(result.keys())
            # plain tuples from here on: attribute reads on Row objects and pandas probing
            # them one by one cost more than the queries
            rows = [tuple(r) for r in result]
            if not rows:
                return
            ids = [r[columns.index("customer_id")] for r in rows]
            holding_rows = [tuple(r) for r in conn.execute(
                select(*(HoldingRow.__table__.c[c] for c in _HOLDING))
                .where(HoldingRow.customer_id.in_(ids))
                .order_by(HoldingRow.customer_id, HoldingRow.product_id)
            )]  # fmt: skip
            txns = conn.execute(
                select(TransactionRow.customer_id, TransactionRow.type, TransactionRow.amount,
                       TransactionRow.date, TransactionRow.channel)
                .where(TransactionRow.customer_id.in_(ids))
            )  # fmt: skip
            transaction_frame = pd.DataFrame(map(tuple, txns), columns=list(txns.keys()))
        yield ContactableChunk(columns, rows, holding_rows, transaction_frame)
        after = rows[-1][columns.index("customer_id")]


# a holding's customer, then Holding's fields in order
_HOLDING = ("customer_id", "product_id", "amount", "open_date", "maturity_date", "value_change_pct")
_PLAIN = tuple(c for c in CUSTOMER_COLUMNS if c not in CHANNEL_HABIT_COLUMNS)


def count_customers(engine: Engine) -> int:
    """All customers in the store, plannable or not."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(CustomerRow)).scalar_one())


def _by_customer(rows: Iterable[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.customer_id].append(row)
    return out


def manager_levels(session: Session) -> dict[str, tuple[int, int]]:
    """manager_id -> (level, book_size_cap) for every client manager."""
    rows = session.execute(
        select(ClientManagerRow.manager_id, ClientManagerRow.level, ClientManagerRow.book_size_cap)
    )
    return {m: (int(level), int(cap)) for m, level, cap in rows}


def contacted_between(
    session: Session, ids: Sequence[str], start: dt.datetime, end: dt.datetime,
    first_day: dt.date, last_day: dt.date,
) -> set[str]:  # fmt: skip
    """Customers with feedback recorded in [start, end) or a pitch logged on a day in range."""
    feedback = session.scalars(
        select(FeedbackRow.customer_id).where(
            FeedbackRow.customer_id.in_(ids),
            FeedbackRow.recorded_at >= as_utc(start),
            FeedbackRow.recorded_at < as_utc(end),
        )
    )
    pitched = session.scalars(
        select(PitchLogRow.customer_id).where(
            PitchLogRow.customer_id.in_(ids),
            PitchLogRow.day >= first_day,
            PitchLogRow.day <= last_day,
        )
    )
    return {c for c in feedback if c is not None} | set(pitched)


def declines_of(
    session: Session, ids: Sequence[str], since: dt.date, *, tz: dt.tzinfo
) -> dict[str, dict[str, dt.date]]:
    """customer_id -> product_id -> latest decline day (in tz) since `since`, as
    the request context reads it for one customer."""
    start = as_utc(dt.datetime.combine(since, dt.time(), tzinfo=tz))
    out: dict[str, dict[str, dt.date]] = defaultdict(dict)

    def keep(customer_id: str | None, product_id: str, day: dt.date) -> None:
        if customer_id is None:
            return
        seen = out[customer_id].get(product_id)
        if seen is None or day > seen:
            out[customer_id][product_id] = day

    for cid, pid, at in session.execute(
        select(FeedbackRow.customer_id, FeedbackRow.product_id, FeedbackRow.recorded_at).where(
            FeedbackRow.customer_id.in_(ids),
            FeedbackRow.outcome.in_(DECLINE_OUTCOMES),
            FeedbackRow.recorded_at >= start,
        )
    ):
        keep(cid, pid, as_utc(at).astimezone(tz).date())
    for cid, pid, day in session.execute(
        select(PitchHistoryRow.customer_id, PitchHistoryRow.product_id, PitchHistoryRow.date).where(
            PitchHistoryRow.customer_id.in_(ids),
            PitchHistoryRow.outcome.in_(DECLINE_OUTCOMES),
            PitchHistoryRow.date >= since,
        )
    ):
        keep(cid, pid, day)
    return dict(out)


def acceptances_of(
    session: Session, ids: Sequence[str], since: dt.date, *, tz: dt.tzinfo
) -> dict[str, dict[str, dt.date]]:
    """customer_id -> product_id -> latest day (in tz) accepted through the API since `since`."""
    start = as_utc(dt.datetime.combine(since, dt.time(), tzinfo=tz))
    out: dict[str, dict[str, dt.date]] = defaultdict(dict)
    for cid, pid, at in session.execute(
        select(FeedbackRow.customer_id, FeedbackRow.product_id, FeedbackRow.recorded_at).where(
            FeedbackRow.customer_id.in_(ids),
            FeedbackRow.outcome == ACCEPTED,
            FeedbackRow.recorded_at >= start,
        )
    ):
        if cid is None:
            continue
        day = as_utc(at).astimezone(tz).date()
        if pid not in out[cid] or day > out[cid][pid]:
            out[cid][pid] = day
    return dict(out)


def book_sizes(engine: Engine) -> list[tuple[str, int]]:
    """(manager_id, customers in the book) for every manager with a book, by manager id."""
    customers = CustomerRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(customers.c.manager_id, func.count())
            .where(customers.c.manager_id.is_not(None))
            .group_by(customers.c.manager_id)
            .order_by(customers.c.manager_id)
        )
        return [(str(m), int(n)) for m, n in rows]


def replace_managers(
    session: Session,
    week: str,
    span: ManagerSpan,
    rows: Sequence[dict[str, Any]],
    audits: Sequence[dict[str, Any]] = (),
    *,
    copy: bool | None = None,
) -> None:
    """Swap the week's plan of the span's managers for these rows and write their audit rows,
    in the caller's transaction. Idempotent: the same rows again (a retried partition) leave
    one copy; plan rows and audit rows are upserted on their keys (week and customer, request
    id), so even two attempts racing leave no duplicate, the database enforcing it. `copy`
    (default: on PostgreSQL) writes them by COPY into staging tables and one upsert each
    (recsvc.store.pgbulk.copy_upsert): the same rows."""
    plan = ContactPlanRow.__table__
    session.execute(
        delete(ContactPlanRow).where(
            ContactPlanRow.week == week, *span.where(ContactPlanRow.manager_id)
        )
    )
    if session.get_bind().dialect.name == "postgresql" if copy is None else copy:
        conn, audit_log, contact_plan = session.connection(), AuditLogRow.__table__, plan
        copy_upsert(conn, audit_log, ("request_id",), audits)  # type: ignore[arg-type]
        copy_upsert(conn, contact_plan, ("week", "customer_id"), rows)  # type: ignore[arg-type]
        return
    if audits:
        session.execute(_upsert(session, AuditLogRow.__table__, ("request_id",)), list(audits))
    if rows:
        session.execute(_upsert(session, plan, ("week", "customer_id")), list(rows))


def _upsert(session: Session, table: Any, key: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE for PostgreSQL and SQLite."""
    from sqlalchemy.dialects import postgresql, sqlite

    postgres = session.get_bind().dialect.name == "postgresql"
    statement: Any = postgresql.insert(table) if postgres else sqlite.insert(table)
    columns = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in key}
    return statement.on_conflict_do_update(index_elements=list(key), set_=columns)


def plan_of(session: Session, week: str, manager_id: str) -> list[dict[str, Any]]:
    """A manager's plan for a week, highest priority first."""
    rows = session.scalars(
        select(ContactPlanRow)
        .where(ContactPlanRow.week == week, ContactPlanRow.manager_id == manager_id)
        .order_by(ContactPlanRow.rank, ContactPlanRow.customer_id)
    )
    return [{c: getattr(r, c) for c in PLAN_COLUMNS} for r in rows]
