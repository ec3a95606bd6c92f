"""Reads for the client manager's desk: the names of a page of plan entries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from recsvc.store.tables import CustomerRow


def names_of(session: Session, customer_ids: Sequence[str]) -> dict[str, str | None]:
    """Customer id -> stored name (personal data: mask it before showing it)."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(CustomerRow.customer_id, CustomerRow.name).where(
            CustomerRow.customer_id.in_(list(customer_ids))
        )
    )
    return {customer_id: name for customer_id, name in rows}
