"""What-if test helpers (import as `from whatif_support import ...`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from recsvc.service.wiring import Services
from recsvc.store.tables import AuditLogRow, ContactPlanRow, FeedbackRow, PitchLogRow

AS_OF = dt.date(2026, 10, 20)  # after the synthetic bank's snapshot: declines and pitches count
WRITTEN = (AuditLogRow, PitchLogRow, FeedbackRow, ContactPlanRow)


def row_counts(services: Services) -> dict[str, int]:
    """Rows of every table a pitch, an audit record, feedback or a plan would write."""
    with services.engine.connect() as conn:
        return {
            t.__tablename__: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in WRITTEN
        }
