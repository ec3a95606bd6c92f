"""The service's own decisions as they were known on a date: which product it put to which
customer, under which arm and model, and the customer's answer if it had been recorded by then.

A decision is a (request_id, product_id) in the pitch log (the product was put to the customer)
or in the feedback (an answer was recorded for it). Its day is the service's day of the audited
answer (`answer.as_of`, the day the service decided on), else the audit's time, else the pitch
log's day. The outcome is the feedback's as it stood at the end of the date: unknown if it was
recorded later; if it was corrected later, the outcome before the first later correction."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from recsvc.store.feedback import as_utc

DECISION_COLUMNS = (
    "request_id", "decided_on", "customer_id", "product_id", "channel", "experiment_id", "arm",
    "model_version", "outcome", "answered_on",
)  # fmt: skip


@dataclass(frozen=True)
class Decision:
    """One product the service put to a customer (or got an answer for), as known on a date."""

    request_id: str
    decided_on: dt.date
    customer_id: str
    product_id: str
    channel: str
    experiment_id: str | None
    arm: str | None
    model_version: str | None
    outcome: str  # "" = no answer known on the date
    answered_on: dt.date | None
    staff_id: str | None

    def row(self) -> list[str]:
        return [
            self.request_id, self.decided_on.isoformat(), self.customer_id, self.product_id,
            self.channel, self.experiment_id or "", self.arm or "", self.model_version or "",
            self.outcome, self.answered_on.isoformat() if self.answered_on else "",
        ]  # fmt: skip


def local_day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The branches' calendar day of a stored time (naive = UTC, as SQLite returns it)."""
    return as_utc(moment).astimezone(tz).date()


def outcome_known(
    feedback: Any, corrections: Iterable[Any], as_of: dt.date, tz: dt.tzinfo
) -> tuple[str, dt.date | None]:
    """(outcome, day recorded) as known at the end of `as_of`; ("", None) if recorded later.

    `corrections` are the feedback row's, oldest first: the row holds the latest outcome, each
    correction the one it replaced, so the outcome on the date is the `previous_outcome` of the
    first correction made after it (the current one if there is none)."""
    recorded = local_day(feedback.recorded_at, tz)
    if recorded > as_of:
        return "", None
    for correction in corrections:
        if local_day(correction.corrected_at, tz) > as_of:
            return str(correction.previous_outcome), recorded
    return str(feedback.outcome), recorded


def _decided_on(audit: Any, logged: Any, tz: dt.tzinfo) -> dt.date | None:
    if audit is not None and audit.as_of:
        try:
            return dt.date.fromisoformat(str(audit.as_of))
        except ValueError:
            pass
    if audit is not None and audit.created_at is not None:
        return local_day(audit.created_at, tz)
    if logged is not None:
        day: dt.date = logged.day
        return day
    return None


def decisions_known(
    pitch_log: Iterable[Any],
    feedback: Iterable[Any],
    corrections: Iterable[Any],
    audits: Iterable[Any],
    *,
    as_of: dt.date,
    tz: dt.tzinfo,
) -> list[Decision]:
    """The decisions of one chunk of customers made by `as_of`, sorted by customer, day,
    request and product (rows as chunk_rows reads them)."""
    logged: dict[tuple[str, str], Any] = {}
    for row in pitch_log:
        logged.setdefault((row.request_id, row.product_id), row)
    answered = {(row.request_id, row.product_id): row for row in feedback}
    fixes: dict[int, list[Any]] = defaultdict(list)
    for row in corrections:
        fixes[row.feedback_id].append(row)
    audit_of = {row.request_id: row for row in audits}
    out: list[Decision] = []
    for key in sorted(set(logged) | set(answered)):
        log, said = logged.get(key), answered.get(key)
        audit = audit_of.get(key[0])
        decided = _decided_on(audit, log, tz)
        if decided is None and said is not None:
            decided = local_day(said.recorded_at, tz)
        if decided is None or decided > as_of:
            continue
        customer = (log.customer_id if log is not None else None) or (
            said.customer_id if said is not None else None
        )
        if customer is None:
            continue
        outcome, answered_on = ("", None)
        if said is not None:
            outcome, answered_on = outcome_known(said, fixes.get(said.id, ()), as_of, tz)
        source = log if log is not None else audit
        out.append(
            Decision(
                request_id=key[0], decided_on=decided, customer_id=customer, product_id=key[1],
                channel=str((log.channel if log is not None else None)
                            or (audit.channel if audit is not None else None) or ""),
                experiment_id=source.experiment_id if source is not None else None,
                arm=source.arm if source is not None else None,
                model_version=source.model_version if source is not None else None,
                outcome=outcome, answered_on=answered_on,
                staff_id=(said.staff_id if said is not None else None)
                or (audit.staff_id if audit is not None else None),
            )
        )  # fmt: skip
    out.sort(key=lambda d: (d.customer_id, d.decided_on, d.request_id, d.product_id))
    return out
