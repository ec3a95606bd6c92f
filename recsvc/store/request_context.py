"""Everything one recommendation request reads from the store, in one place: Core statements
prepared once per dialect and run on the DBAPI cursor (recsvc.store.prepared), no ORM identity
map or unit of work on the request path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, Connection, bindparam, select

from recsvc.customers.profile import Customer
from recsvc.store.constants import ACCEPTED, DECLINE_OUTCOMES
from recsvc.store.customer_repo import customer_from_row
from recsvc.store.feedback import as_utc, day_start
from recsvc.store.prepared import PreparedSet
from recsvc.store.tables import CUSTOMERS, FEEDBACK, HISTORY, HOLDINGS, PITCH_LOG, TRANSACTIONS

# Built once: constructing and coercing a statement costs more than SQLite running it. The
# decline outcomes are bound values (not an expanding IN) so that the SQL compiles once.
_CUSTOMER_ID: BindParameter[str] = bindparam("customer_id")
_DECLINED: list[BindParameter[str]] = [
    bindparam(f"declined_{i}", value) for i, value in enumerate(DECLINE_OUTCOMES)
]
_CUSTOMER = select(CUSTOMERS).where(CUSTOMERS.c.customer_id == _CUSTOMER_ID)
_HOLDINGS_OF = (
    select(HOLDINGS).where(HOLDINGS.c.customer_id == _CUSTOMER_ID).order_by(HOLDINGS.c.product_id)
)
_TRANSACTIONS_OF = (
    select(TRANSACTIONS)
    .where(TRANSACTIONS.c.customer_id == _CUSTOMER_ID)
    .order_by(TRANSACTIONS.c.date, TRANSACTIONS.c.id)
)
_FEEDBACK_DECLINES = select(FEEDBACK.c.product_id, FEEDBACK.c.recorded_at).where(
    FEEDBACK.c.customer_id == _CUSTOMER_ID,
    FEEDBACK.c.outcome.in_(_DECLINED),
    FEEDBACK.c.recorded_at >= bindparam("since_at", type_=FEEDBACK.c.recorded_at.type),
)
_FEEDBACK_ACCEPTED = select(FEEDBACK.c.product_id, FEEDBACK.c.recorded_at).where(
    FEEDBACK.c.customer_id == _CUSTOMER_ID,
    FEEDBACK.c.outcome == bindparam("accepted", ACCEPTED),
    FEEDBACK.c.recorded_at >= bindparam("since_at", type_=FEEDBACK.c.recorded_at.type),
)
_HISTORY_DECLINES = select(HISTORY.c.product_id, HISTORY.c.date).where(
    HISTORY.c.customer_id == _CUSTOMER_ID,
    HISTORY.c.outcome.in_(_DECLINED),
    HISTORY.c.date >= bindparam("since", type_=HISTORY.c.date.type),
)
_PITCHED_ON = (
    select(PITCH_LOG.c.product_id)
    .where(
        PITCH_LOG.c.customer_id == _CUSTOMER_ID,
        PITCH_LOG.c.day == bindparam("day", type_=PITCH_LOG.c.day.type),
    )
    .order_by(PITCH_LOG.c.slot, PITCH_LOG.c.id)
)

_STATEMENTS = PreparedSet(
    {
        "customer": _CUSTOMER,
        "holdings": _HOLDINGS_OF,
        "transactions": _TRANSACTIONS_OF,
        "feedback_declines": _FEEDBACK_DECLINES,
        "history_declines": _HISTORY_DECLINES,
        "feedback_accepted": _FEEDBACK_ACCEPTED,
        "pitched_on": _PITCHED_ON,
    }
)


@dataclass(frozen=True)
class RequestContext:
    """The stored customer (None if unknown or not asked for), contact fatigue and today's
    pitches: what `get_customer` and the ORM readers in tests/store_reference.py return; and
    the products the customer accepted since `accepted_since` (latest day each, being opened)."""

    customer: Customer | None
    declines: dict[str, dt.date]
    pitched: list[str]
    accepted: dict[str, dt.date] = field(default_factory=dict)


def first_customer_id(connection: Connection) -> str | None:
    """Some stored customer's id (the lowest), or None for an empty store: for a rehearsal."""
    return connection.execute(
        select(CUSTOMERS.c.customer_id).order_by(CUSTOMERS.c.customer_id).limit(1)
    ).scalar()


def get_request_context(
    connection: Connection,
    customer_id: str,
    *,
    since: dt.date,
    day: dt.date,
    tz: dt.tzinfo = dt.UTC,
    with_customer: bool = True,
    accepted_since: dt.date | None = None,
) -> RequestContext:
    """The customer with holdings and transactions, declines since `since` (days in tz), the
    products pitched on `day` and those accepted since `accepted_since` (not read if None),
    read in the connection's current transaction."""
    customer = _customer(connection, customer_id) if with_customer else None
    return RequestContext(
        customer=customer,
        declines=_declines(connection, customer_id, since, tz),
        pitched=_pitched(connection, customer_id, day),
        accepted={}
        if accepted_since is None
        else _accepted(connection, customer_id, accepted_since, tz),
    )


def _latest(days: Iterable[tuple[str, dt.date]]) -> dict[str, dt.date]:
    """Product id -> the latest of its days."""
    latest: dict[str, dt.date] = {}
    for product_id, day in days:
        if product_id not in latest or day > latest[product_id]:
            latest[product_id] = day
    return latest


def _feedback_days(
    connection: Connection, statement: str, customer_id: str, since: dt.date, tz: dt.tzinfo
) -> list[tuple[str, dt.date]]:
    """(product id, day in tz) of the customer's feedback the statement selects, since `since`."""
    key = {"customer_id": customer_id, "since_at": day_start(since, tz)}
    return [
        (p, as_utc(at).astimezone(tz).date())
        for p, at in _STATEMENTS.rows(connection, statement, key)
    ]


def _accepted(
    connection: Connection, customer_id: str, since: dt.date, tz: dt.tzinfo
) -> dict[str, dt.date]:
    """Product id -> latest day (in tz) the customer accepted it through the API, since `since`."""
    return _latest(_feedback_days(connection, "feedback_accepted", customer_id, since, tz))


def _customer(connection: Connection, customer_id: str) -> Customer | None:
    key = {"customer_id": customer_id}
    rows = _STATEMENTS.rows(connection, "customer", key)
    if not rows:
        return None
    holdings = _STATEMENTS.rows(connection, "holdings", key)
    transactions = _STATEMENTS.rows(connection, "transactions", key)
    return customer_from_row(rows[0], holdings, transactions)


def _declines(
    connection: Connection, customer_id: str, since: dt.date, tz: dt.tzinfo
) -> dict[str, dt.date]:
    """Product id -> latest day declined (feedback through the API, then the bank's history)."""
    days = _feedback_days(connection, "feedback_declines", customer_id, since, tz)
    history = _STATEMENTS.rows(
        connection, "history_declines", {"customer_id": customer_id, "since": since}
    )
    return _latest([*days, *((p, d) for p, d in history)])


def _pitched(connection: Connection, customer_id: str, day: dt.date) -> list[str]:
    """Distinct products pitched to the customer that day, in the order first pitched."""
    rows = _STATEMENTS.rows(connection, "pitched_on", {"customer_id": customer_id, "day": day})
    return list(dict.fromkeys(product_id for (product_id,) in rows))
