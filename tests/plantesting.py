"""The week's contact plan as stored, for comparing two runs of the planner (one process,
Dask, an existing cluster): rows without the run's ids and clock, and row counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recsvc.config import Settings
from recsvc.store import make_engine
from recsvc.store.tables import AuditLogRow, ContactPlanRow


def week_plan(settings: Settings, week: str) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """The week's rows without the run's ids and clock, and per table, row counts of the run."""
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        plan = session.scalars(select(ContactPlanRow).where(ContactPlanRow.week == week)).all()
        rows = sorted(
            (r.customer_id, r.manager_id, r.rank, r.priority, r.flag, r.triggers, r.products,
             r.talking_points, r.channel, r.request_id.rsplit("-", 1)[1])
            for r in plan
        )  # fmt: skip
        run_ids = {r.request_id.split("-")[3] for r in plan}
        audits = session.scalar(
            select(func.count()).where(AuditLogRow.request_id.in_({r.request_id for r in plan}))
        )
    engine.dispose()
    assert len(run_ids) == 1  # one run's request ids
    return rows, {"plan": len(plan), "distinct customers": len({r[0] for r in rows}),
                  "audits": int(audits or 0)}  # fmt: skip
