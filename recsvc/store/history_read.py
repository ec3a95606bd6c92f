"""A customer's decision history as the store knows it: the bank's past pitches (pitch_history)
and the service's own (pitch_log) with the answers given through the API (feedback, whose row
holds the current outcome after any correction, recsvc.store.feedback_corrections), for the
decision-history features (recsvc.features.history).

Read only for a model trained with those features. Both statements run on the (customer_id,
date/day) indexes the contact policy already uses, prepared once per dialect (recsvc.store.
prepared). Only days strictly before `as_of` are read: the features never see that day.
A service pitch with no feedback yet has outcome None (pitched, answer unknown).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import BindParameter, Connection, and_, bindparam, select

from recsvc.store.prepared import PreparedSet
from recsvc.store.tables import FEEDBACK, HISTORY, PITCH_LOG

Record = tuple[dt.date, str, str | None]  # date, product id, outcome (None: not known)

_CUSTOMER_ID: BindParameter[str] = bindparam("customer_id")
_BANK = select(HISTORY.c.date, HISTORY.c.product_id, HISTORY.c.outcome).where(
    HISTORY.c.customer_id == _CUSTOMER_ID,
    HISTORY.c.date < bindparam("as_of", type_=HISTORY.c.date.type),
)
_SERVICE = (
    select(PITCH_LOG.c.day, PITCH_LOG.c.product_id, FEEDBACK.c.outcome)
    .select_from(
        PITCH_LOG.outerjoin(
            FEEDBACK,
            and_(
                FEEDBACK.c.request_id == PITCH_LOG.c.request_id,
                FEEDBACK.c.product_id == PITCH_LOG.c.product_id,
            ),
        )
    )
    .where(
        PITCH_LOG.c.customer_id == _CUSTOMER_ID,
        PITCH_LOG.c.day < bindparam("as_of", type_=PITCH_LOG.c.day.type),
    )
)
_STATEMENTS = PreparedSet({"bank": _BANK, "service": _SERVICE})


def pitch_records(connection: Connection, customer_id: str, as_of: dt.date) -> list[Record]:
    """The customer's pitches before `as_of`: the bank's, then the service's."""
    key = {"customer_id": customer_id, "as_of": as_of}
    rows = [(d, p, o) for d, p, o in _STATEMENTS.rows(connection, "bank", key)]
    rows.extend((d, p, o) for d, p, o in _STATEMENTS.rows(connection, "service", key))
    return rows


def pitch_records_of(
    connection: Connection, customer_ids: Sequence[str], as_of: dt.date
) -> dict[str, list[Record]]:
    """`pitch_records` of many customers (the nightly plan's groups), by customer id."""
    return {c: pitch_records(connection, c, as_of) for c in dict.fromkeys(customer_ids)}
