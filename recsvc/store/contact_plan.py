"""Contact plans and the per-chunk reads the nightly batch needs (one query per chunk, not per
customer)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import (
    Boolean,
    Connection,
    CursorResult,
    Dialect,
    Engine,
    Integer,
    String,
    any_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from recsvc.customers.profile import ChannelHabits, Customer, Holding
from recsvc.store.constants import (
    ACCEPTED,
    CHANNEL_HABIT_COLUMNS,
    CUSTOMER_COLUMNS,
    DECLINE_OUTCOMES,
    MAX_CHUNK_SIZE,
    PII_COLUMNS,
    check_chunk_size,
)
from recsvc.store.customer_repo import customer_from_row
from recsvc.store.feedback import as_utc
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
    """A chunk of contactable customers as the batch path reads them: one sequence per column,
    dates also as datetime64[D] arrays (parsed by numpy, not value by value in Python), the
    same as DataFrames for the model's features (no Transaction objects built), and Customer
    objects with their holdings built only for the customers asked for (the triggers and the
    rules read them). The plan reads no personal data (name, id number, phone)."""

    def __init__(
        self,
        customers: dict[str, Sequence[Any]],
        holdings: dict[str, Sequence[Any]],
        transactions: dict[str, Sequence[Any]],
    ) -> None:
        self.ids: list[str] = list(customers["customer_id"])
        self.values = customers  # as read; dates as the driver gives them (text or date)
        self.dates = {c: _days(customers[c]) for c in _CUSTOMER_DATES}
        self.holding_values = holdings
        self.holding_dates = {c: _days(holdings[c]) for c in _HOLDING_DATES}
        self.transaction_values = transactions
        self._frames: dict[str, pd.DataFrame] = {}
        self._holder_at: np.ndarray | None = None
        self._holding_rows: tuple[list[int], list[int]] | None = None
        self._holding_objects: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> list[Any]:
        """A customer column's values (dates as datetime.date, None when unknown)."""
        if name in self.dates:
            return list(self.dates[name].astype(object))
        return list(self.values[name])

    @property
    def customer_frame(self) -> pd.DataFrame:
        if "customers" not in self._frames:
            self._frames["customers"] = _frame(self.values, self.dates)
        return self._frames["customers"]

    @property
    def holding_frame(self) -> pd.DataFrame:
        if "holdings" not in self._frames:
            self._frames["holdings"] = _frame(self.holding_values, self.holding_dates)
        return self._frames["holdings"]

    @property
    def transaction_frame(self) -> pd.DataFrame:
        if "transactions" not in self._frames:
            values = self.transaction_values
            self._frames["transactions"] = _frame(values, {"date": _days(values["date"])})
        return self._frames["transactions"]

    @property
    def holder_at(self) -> np.ndarray:
        """Per holding row, the position of its customer in the chunk (a dict, not a pandas
        Index: that would convert the ids to Arrow strings first)."""
        if self._holder_at is None:
            at = {customer_id: i for i, customer_id in enumerate(self.ids)}
            holders = self.holding_values["customer_id"]
            self._holder_at = np.fromiter(map(at.__getitem__, holders), np.int64, len(holders))
        return self._holder_at

    @property
    def customers(self) -> list[Customer]:
        return self.build(range(len(self.ids)))

    def build(self, positions: Iterable[int]) -> list[Customer]:
        """customer_from_row's Customers (holdings, no transactions, no personal data) at these
        positions; only their holdings are built."""
        at = list(positions)
        values, (order, first) = self.values, self._rows_of()
        dates = [(c, self.dates[c][at].astype(object)) for c in _CUSTOMER_DATES]
        plain = [(c, values[c]) for c in _PLAIN]
        habits = [values[c] for c in CHANNEL_HABIT_COLUMNS]
        h = self.holding_values
        product, amount, change = h["product_id"], h["amount"], h["value_change_pct"]
        opened, matures = self._holding_days()
        out = []
        for k, i in enumerate(at):
            fields = {c: column[i] for c, column in plain}
            for c, column in dates:
                fields[c] = column[k]
            held = tuple([
                Holding(product[j], amount[j], opened[j], matures[j], change[j])
                for j in order[first[i] : first[i + 1]]
            ])  # fmt: skip
            habit = ChannelHabits(*[column[i] for column in habits])
            out.append(Customer(**fields, channel_habits=habit, holdings=held))
        return out

    def _holding_days(self) -> list[np.ndarray]:
        """The holdings' dates as datetime.date or None (object arrays), once per chunk."""
        if self._holding_objects is None:
            self._holding_objects = [self.holding_dates[c].astype(object) for c in _HOLDING_DATES]
        return self._holding_objects

    def _rows_of(self) -> tuple[list[int], list[int]]:
        """The holding rows by customer: customer i's are order[first[i]:first[i + 1]], in the
        order read (product id)."""
        if self._holding_rows is None:
            order = np.argsort(self.holder_at, kind="stable")
            first = np.searchsorted(self.holder_at[order], np.arange(len(self.ids) + 1))
            self._holding_rows = (order.tolist(), first.tolist())
        return self._holding_rows


def _frame(values: dict[str, Sequence[Any]], dates: dict[str, np.ndarray]) -> pd.DataFrame:
    """The columns as a DataFrame of numpy arrays typed by the table (no per-value inference
    by pandas): text as plain object columns (pandas' Arrow-backed strings cost more to build
    and to read back than the features computed on them), numbers as float64 or int64 (float64
    with NaN where a value is missing), booleans as bool, dates as given."""
    columns: dict[str, Any] = {}
    for name, column in values.items():
        if name in dates:
            columns[name] = dates[name]
        elif name in _TEXT:
            columns[name] = pd.Series(np.array(column, dtype=object), dtype=object, copy=False)
        elif name in _BOOLEAN:
            columns[name] = np.array(column, dtype=bool)
        elif name in _INTEGER and None not in column:
            columns[name] = np.array(column, dtype=np.int64)
        else:
            columns[name] = np.array(column, dtype=np.float64)  # None: NaN
    return pd.DataFrame(columns, copy=False)


def _days(values: Sequence[Any]) -> np.ndarray:
    """Dates as datetime64[D] (NaT for None), from ISO text (SQLite) or datetime.date."""
    return np.array(values, dtype="datetime64[D]")


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


def _contactable(after: str, span: ManagerSpan, columns: Sequence[Any] | None = None) -> Any:
    customers = CustomerRow.__table__
    return (
        select(*(columns if columns is not None else [customers]))
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
    engine: Engine,
    chunk_size: int = 2000,
    *,
    managers: ManagerSpan = ALL_MANAGERS,
    transactions_within: tuple[dt.date, dt.date] | None = None,
) -> Iterator[ContactableChunk]:
    """iter_contactable's customers (the same chunks, id order) as ContactableChunk; only the
    books of the managers in the span. transactions_within=(after, until): only transactions
    dated in (after, until] or undated (the model's window; all when None)."""
    check_chunk_size(chunk_size)
    customers, holdings, txns = (CustomerRow.__table__, HoldingRow.__table__,
                                 TransactionRow.__table__)  # fmt: skip
    after = ""
    while True:
        with engine.connect() as conn:
            query = _contactable(after, managers, [customers.c[c] for c in _CUSTOMER])
            columns = _columns(conn.execute(query.limit(chunk_size)), _CUSTOMER)
            if not columns["customer_id"]:
                return
            ids = list(columns["customer_id"])
            held = _columns(conn.execute(
                select(*(holdings.c[c] for c in _HOLDING))
                .where(_among(holdings.c.customer_id, ids, conn.dialect))
                .order_by(holdings.c.customer_id, holdings.c.product_id)
            ), _HOLDING)  # fmt: skip
            query = select(*(txns.c[c] for c in _TRANSACTION)).where(
                _among(txns.c.customer_id, ids, conn.dialect)
            )
            if transactions_within is not None:
                start, until = transactions_within
                query = query.where(
                    txns.c.date.is_(None) | ((txns.c.date > start) & (txns.c.date <= until))
                )
            moves = _columns(conn.execute(query), _TRANSACTION)
        yield ContactableChunk(columns, held, moves)
        after = ids[-1]


def _columns(result: CursorResult[Any], names: Sequence[str]) -> dict[str, Sequence[Any]]:
    """The result's values by column, fetched from the DBAPI cursor in one call: no Row object
    and no per-value conversion by SQLAlchemy, which cost more than the query. Values are as
    the driver gives them (dates as ISO text on SQLite, then parsed by numpy in
    ContactableChunk); booleans become bool (SQLite gives 0/1)."""
    with result:
        rows = result.cursor.fetchall()
    columns: dict[str, Sequence[Any]] = {
        name: list(map(itemgetter(k), rows)) for k, name in enumerate(names)
    }
    for name in _BOOLEAN.intersection(columns):
        columns[name] = [None if v is None else bool(v) for v in columns[name]]
    return columns


# the plan reads no personal data; a holding's customer, then Holding's fields in order
_CUSTOMER = tuple(c for c in CUSTOMER_COLUMNS if c not in PII_COLUMNS)
_CUSTOMER_DATES = ("birth_date", "assessment_date", "customer_since")
_PLAIN = tuple(c for c in _CUSTOMER if c not in CHANNEL_HABIT_COLUMNS + _CUSTOMER_DATES)
_HOLDING = ("customer_id", "product_id", "amount", "open_date", "maturity_date", "value_change_pct")
_HOLDING_DATES = ("open_date", "maturity_date")
_TRANSACTION = ("customer_id", "type", "amount", "date", "channel")
_BOOLEAN = frozenset(
    c.name
    for table in (CustomerRow.__table__, HoldingRow.__table__, TransactionRow.__table__)
    for c in table.columns
    if isinstance(c.type, Boolean)
)
_INTEGER = frozenset(
    c.name
    for table in (CustomerRow.__table__, HoldingRow.__table__, TransactionRow.__table__)
    for c in table.columns
    if isinstance(c.type, Integer)
)
_TEXT = frozenset(
    c.name
    for table in (CustomerRow.__table__, HoldingRow.__table__, TransactionRow.__table__)
    for c in table.columns
    if isinstance(c.type, String)
)


def _among(column: Any, ids: Sequence[str], dialect: Dialect) -> Any:
    """column IN ids, the ids bound as one value where the database takes a list that way
    (SQLite: a JSON array read by json_each; PostgreSQL: an array), not as one bound
    parameter per id rendered into the statement at every execution (a chunk's 2,000 ids cost
    SQLAlchemy more than the query)."""
    if dialect.name == "sqlite":
        listed = bindparam(None, orjson.dumps(list(ids)).decode(), type_=String)
        return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(String)))
    return column.in_(ids)


def _dialect(session: Session) -> Dialect:
    return session.get_bind().dialect


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
            _among(FeedbackRow.customer_id, ids, _dialect(session)),
            FeedbackRow.recorded_at >= as_utc(start),
            FeedbackRow.recorded_at < as_utc(end),
        )
    )
    pitched = session.scalars(
        select(PitchLogRow.customer_id).where(
            _among(PitchLogRow.customer_id, ids, _dialect(session)),
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
            _among(FeedbackRow.customer_id, ids, _dialect(session)),
            FeedbackRow.outcome.in_(DECLINE_OUTCOMES),
            FeedbackRow.recorded_at >= start,
        )
    ):
        keep(cid, pid, as_utc(at).astimezone(tz).date())
    for cid, pid, day in session.execute(
        select(PitchHistoryRow.customer_id, PitchHistoryRow.product_id, PitchHistoryRow.date).where(
            _among(PitchHistoryRow.customer_id, ids, _dialect(session)),
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
            _among(FeedbackRow.customer_id, ids, _dialect(session)),
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
) -> None:
    """Swap the week's plan of the span's managers for these rows and write their audit rows,
    in the caller's transaction. Idempotent: the same rows again (a retried partition) leave
    one copy; plan rows and audit rows are upserted on their keys (week and customer, request
    id), so even two attempts racing leave no duplicate, the database enforcing it."""
    plan = ContactPlanRow.__table__
    session.execute(
        delete(ContactPlanRow).where(
            ContactPlanRow.week == week, *span.where(ContactPlanRow.manager_id)
        )
    )
    if audits:
        _upsert_many(session, AuditLogRow.__table__, ("request_id",), audits)
    if rows:
        _upsert_many(session, plan, ("week", "customer_id"), rows)


def _upsert_many(
    session: Session, table: Any, key: tuple[str, ...], rows: Sequence[dict[str, Any]]
) -> None:
    """The rows upserted on key, in the caller's transaction. SQLite: the statement compiled
    once and run through the driver's executemany, each value converted by its column type's
    own bind processor (the text SQLAlchemy would write, JSON by the engine's serializer) but
    without SQLAlchemy's per-row parameter handling, which cost more than SQLite's work.
    PostgreSQL: SQLAlchemy's executemany (batched multi-row INSERTs)."""
    statement = _upsert(session, table, key)
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        session.execute(statement, list(rows))
        return
    compiled = statement.compile(dialect=dialect)
    names = list(compiled.positiontup or ())
    if set(names) != {c.key for c in table.columns}:  # a compiler that renders binds otherwise
        session.execute(statement, list(rows))
        return
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    converted = [
        [row[n] if convert is None else convert(row[n]) for row in rows]
        for n, convert in zip(names, processors, strict=True)
    ]
    session.connection().exec_driver_sql(str(compiled), list(zip(*converted, strict=True)))


def _upsert(session: Session, table: Any, key: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE for PostgreSQL and SQLite."""
    from sqlalchemy.dialects import sqlite

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
