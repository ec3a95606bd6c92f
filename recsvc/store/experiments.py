"""Experiment designs in the store: every worker and host reads the same one (the newest)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from recsvc.store.feedback import as_utc
from recsvc.store.tables import ExperimentRow


def current_experiment(on: Session | Connection) -> dict[str, Any] | None:
    """The design in force (the newest), as a plain dict, or None when none was ever set."""
    row = on.execute(
        select(
            ExperimentRow.experiment_id, ExperimentRow.split, ExperimentRow.salt,
            ExperimentRow.note, ExperimentRow.created_by, ExperimentRow.created_at,
        ).order_by(ExperimentRow.created_at.desc(), ExperimentRow.experiment_id.desc()).limit(1)
    ).first()  # fmt: skip
    if row is None:
        return None
    return {
        "experiment_id": row.experiment_id,
        "split": dict(row.split),
        "salt": row.salt,
        "note": row.note,
        "created_by": row.created_by,
        "created_at": as_utc(row.created_at).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def insert_experiment(
    on: Session | Connection, *, experiment_id: str, split: dict[str, int], salt: str,
    note: str, created_by: str | None, created_at: dt.datetime,
) -> None:  # fmt: skip
    """A new design, in the caller's transaction (ids are unique: a reused one fails here)."""
    on.execute(
        insert(ExperimentRow).values(
            experiment_id=experiment_id, split=split, salt=salt, note=note,
            created_by=created_by, created_at=as_utc(created_at),
        )
    )  # fmt: skip
