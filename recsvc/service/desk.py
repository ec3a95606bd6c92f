"""What the branch console shows beyond an answer: an audited answer read back (post/redirect/
get), the outcomes recorded for it, why there is no pitch, and the normalised customer id."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from recsvc.customers.profile import Customer
from recsvc.rules.codes import NO_CONSENT, OPEN_COMPLAINT, RECENTLY_DECLINED
from recsvc.service.answers import Caller
from recsvc.service.config import DAILY_PITCH_LIMIT
from recsvc.service.contact_triggers import TRIGGER_CODES
from recsvc.service.errors import Invalid, NotFound, Unavailable
from recsvc.service.profiles import mask_name
from recsvc.service.weeks import week_of, week_start
from recsvc.store import AuditRecord, get_audit, write_audit
from recsvc.store.desk import names_of
from recsvc.store.feedback_corrections import StoredFeedback, feedback_of

_CUSTOMER_ID = re.compile(r"^[A-Z0-9._-]{1,64}$")

# Why there is no pitch, most telling first; keys of the console's labels.
NO_PITCH_DECLINED_TODAY = "declined_today"
NO_PITCH_OFFERED_TODAY = "offered_today"
NO_PITCH_NO_CONSENT = "no_consent"
NO_PITCH_OPEN_COMPLAINT = "open_complaint"
NO_PITCH_NOTHING_SUITABLE = "nothing_suitable"


def normalise_customer_id(raw: str) -> str | None:
    """The id as stored (c 0000 0001 and full-width Ｃ００… become C00000001), or None if it
    cannot be one."""
    folded = unicodedata.normalize("NFKC", raw)
    compact = "".join(folded.split()).upper()
    return compact if _CUSTOMER_ID.match(compact) else None


def no_pitch_reason(excluded: Iterable[dict[str, Any]]) -> str:
    """One short reason, from the exclusions' reason codes: no consent or an open complaint
    exclude everything; a decline plus the daily cap means it was declined today; the cap
    alone that another product was offered today; otherwise nothing suitable is left."""
    codes = {code for entry in excluded for code in entry.get("codes") or [entry.get("code")]}
    if NO_CONSENT in codes:
        return NO_PITCH_NO_CONSENT
    if OPEN_COMPLAINT in codes:
        return NO_PITCH_OPEN_COMPLAINT
    if DAILY_PITCH_LIMIT in codes:
        return NO_PITCH_DECLINED_TODAY if RECENTLY_DECLINED in codes else NO_PITCH_OFFERED_TODAY
    return NO_PITCH_NOTHING_SUITABLE


def audited_answer(engine: Engine, request_id: str) -> dict[str, Any] | None:
    """The answer as the audit recorded it (with its request), or None."""
    with Session(engine) as session:
        record = get_audit(session, request_id)
    if record is None or "answer" not in record.payload:
        return None
    return {
        "answer": record.payload["answer"],
        "request": record.payload.get("request", {}),
        "customer_id": record.customer_id,
        "staff_id": record.staff_id,
    }


def recorded(engine: Engine, request_ids: Sequence[str]) -> dict[str, list[StoredFeedback]]:
    """Request id -> the outcomes recorded for it (current ones, after any correction)."""
    out: dict[str, list[StoredFeedback]] = {rid: [] for rid in request_ids}
    with Session(engine) as session:
        for row in feedback_of(session, request_ids):
            out.setdefault(row.request_id, []).append(row)
    return out


# ---- the client manager's week ------------------------------------------------------------

PLAN_CHANNELS = ("app_message", "phone", "branch_visit")
PAGE_SIZE = 20


@dataclass(frozen=True)
class PlanPage:
    """One page of a manager's week, filtered; entries carry the masked name and outcomes."""

    week: str
    previous_week: str
    next_week: str
    entries: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def shift_week(week: str, weeks: int) -> str:
    return week_of(week_start(week) + dt.timedelta(weeks=weeks))


def plan_page(
    engine: Engine,
    plan: list[dict[str, Any]],
    week: str,
    *,
    trigger: str | None = None,
    channel: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    triggers: Sequence[str] = TRIGGER_CODES,
) -> PlanPage:
    """The week's entries (as served: checked again, see CrossSellService.contact_plan) with this
    trigger and channel (None: any), best first, one page."""
    if trigger is not None and trigger not in triggers:
        raise Invalid("trigger", f"must be one of {', '.join(triggers)}")
    if channel is not None and channel not in PLAN_CHANNELS:
        raise Invalid("channel", f"must be one of {', '.join(PLAN_CHANNELS)}")
    entries = [
        e
        for e in plan
        if (trigger is None or trigger in e["triggers"])
        and (channel is None or e["channel"] == channel)
    ]
    pages = max(1, -(-len(entries) // page_size))
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * page_size : page * page_size]
    with Session(engine) as session:
        names = names_of(session, [e["customer_id"] for e in shown])
    outcomes = recorded(engine, [e["request_id"] for e in shown])
    for entry in shown:
        entry["masked_name"] = mask_name(names.get(entry["customer_id"]))
        entry["outcomes"] = {r.product_id: r.outcome for r in outcomes[entry["request_id"]]}
    return PlanPage(
        week=week,
        previous_week=shift_week(week, -1),
        next_week=shift_week(week, 1),
        entries=shown,
        total=len(entries),
        page=page,
        pages=pages,
    )


def plan_entry(plan: list[dict[str, Any]], week: str, customer_id: str) -> dict[str, Any]:
    """The customer's entry in the manager's week as served (404 if it has none)."""
    for entry in plan:
        if entry["customer_id"] == customer_id:
            return entry
    raise NotFound(f"no customer {customer_id!r} in your plan for {week}")


# ---- one customer: the phone number revealed on purpose -----------------------------------


def reveal_phone(
    engine: Engine, caller: Caller, customer: Customer, *, audit_request_id: str
) -> None:
    """Audit that this caller asked to see the full phone number (the number is not written)."""
    try:
        with Session(engine) as session:
            write_audit(
                session,
                AuditRecord(
                    request_id=audit_request_id,
                    caller_role=caller.role,
                    staff_id=caller.staff_id,
                    customer_id=customer.customer_id,
                    payload={"endpoint": "reveal_phone", "field": "phone",
                             "manager_id": caller.manager_id},
                ),
            )  # fmt: skip
            session.commit()
    except SQLAlchemyError as exc:
        raise Unavailable("the audit store is unavailable; nothing is revealed") from exc


def assessment_expired(customer: Customer, *, as_of: dt.date, validity_days: int) -> bool:
    """A risk assessment older than its validity on as_of (a missing one is not 'expired')."""
    if customer.assessment_date is None:
        return False
    return (as_of - customer.assessment_date).days > validity_days
