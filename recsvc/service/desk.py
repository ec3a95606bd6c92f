"""What the branch console shows beyond an answer: an audited answer read back (post/redirect/
get), the outcomes recorded for it, why there is no pitch, and the normalised customer id."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from recsvc.rules.codes import NO_CONSENT, OPEN_COMPLAINT, RECENTLY_DECLINED
from recsvc.service.config import DAILY_PITCH_LIMIT
from recsvc.store import get_audit
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
