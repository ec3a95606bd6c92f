"""A deterministic sample of stored customers, and the per-chunk reads a read-only batch over
them needs (the what-if): one query per chunk, never one per customer."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from recsvc.store.tables import CustomerRow, PitchLogRow


def sample_customer_ids(engine: Engine, n: int, *, seed: int) -> list[str]:
    """n stored customer ids (all of them if the store has fewer), the same for the same store
    and seed, in id order (so that chunks read in index order)."""
    if n < 1:
        raise ValueError(f"the sample needs at least 1 customer, got {n}")
    with engine.connect() as conn:
        ids = list(
            conn.execute(select(CustomerRow.customer_id).order_by(CustomerRow.customer_id))
            .scalars()
            .all()
        )
    if n < len(ids):
        ids = sorted(random.Random(seed).sample(ids, n))
    return ids


def pitched_on(session: Session, ids: Sequence[str], day: dt.date) -> dict[str, list[str]]:
    """customer_id -> the distinct products pitched that day, in the order first pitched (what
    the request path reads for the daily cap)."""
    rows = session.execute(
        select(PitchLogRow.customer_id, PitchLogRow.product_id)
        .where(PitchLogRow.customer_id.in_(ids), PitchLogRow.day == day)
        .order_by(PitchLogRow.customer_id, PitchLogRow.slot, PitchLogRow.id)
    )
    out: dict[str, list[str]] = defaultdict(list)
    for customer_id, product_id in rows:
        if product_id not in out[customer_id]:
            out[customer_id].append(product_id)
    return dict(out)
