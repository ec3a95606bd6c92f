"""The audit trail: which model answered which request, for whom, and what it said."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from recsvc.store.feedback import as_utc, record_of
from recsvc.store.prepared import PreparedSet, insert_into
from recsvc.store.tables import AuditLogRow, Base


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class AuditRecord:
    """One served request; payload must be JSON-serialisable and already free of personal data."""

    request_id: str
    caller_role: str
    payload: dict[str, Any]
    staff_id: str | None = None
    customer_id: str | None = None
    model_version: str | None = None
    model_hash: str | None = None
    degraded: bool = False
    created_at: dt.datetime = field(default_factory=_now)
    experiment_id: str | None = None
    arm: str | None = None


_STATEMENTS = PreparedSet({"insert": insert_into(Base.metadata.tables["audit_log"])})


def write_audit(session: Session | Connection, record: AuditRecord) -> None:
    """Insert the record now (one prepared INSERT), so a reused request_id fails here."""
    _STATEMENTS.run(
        session,
        "insert",
        {
            "request_id": record.request_id,
            "created_at": as_utc(record.created_at),
            "caller_role": record.caller_role,
            "staff_id": record.staff_id,
            "customer_id": record.customer_id,
            "model_version": record.model_version,
            "model_hash": record.model_hash,
            "degraded": record.degraded,
            "payload": record.payload,
            "experiment_id": record.experiment_id,
            "arm": record.arm,
        },
    )


def get_audit(session: Session, request_id: str) -> AuditRecord | None:
    """The audit record of a request, with created_at in UTC, or None."""
    row = session.get(AuditLogRow, request_id)
    if row is None:
        return None
    return record_of(AuditRecord, row, utc=("created_at",))
