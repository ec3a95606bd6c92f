"""The profile an inline request is answered with: the store is the source of truth.

A stored customer's regulated attributes (consent, open complaint, risk level and assessment
date, birth date) come from the store; an inline profile may only tighten them (no consent, an
open complaint, a lower risk level) and add context (the transactions the store does not have
yet). Everything else the rules read (assets, income, tier, holdings) is the store's.

A prospect (not in the store) is unverified: unassessed whatever risk level was sent (at most the
unassessed risk level, and "redo the assessment"), and no product whose eligibility depends on
data nobody has verified: assets (and the tier they give), monthly income and holdings at this
bank count as zero. The birth date is taken as given (staff read it from the ID document)."""

from __future__ import annotations

from dataclasses import replace

from recsvc.customers.profile import Customer


def used_profile(inline: Customer, stored: Customer | None) -> Customer:
    """What the rules, the model and the audit see for an inline request."""
    if stored is None:
        return replace(
            inline,
            risk_level=None,
            assessment_date=None,
            aum=0.0,
            monthly_income=0.0,
            salary_via_bank=False,
            holdings=(),
            manager_id=None,
            customer_since=None,
        )
    known = set(stored.recent_transactions)
    extra = tuple(t for t in inline.recent_transactions if t not in known)
    return replace(
        stored,
        consent_marketing=stored.consent_marketing and inline.consent_marketing,
        open_complaint=stored.open_complaint or inline.open_complaint,
        risk_level=_stricter(stored.risk_level, inline.risk_level),
        recent_transactions=(*stored.recent_transactions, *extra),
    )


def _stricter(stored: int | None, inline: int | None) -> int | None:
    """The lower of two risk levels; an unassessed stored customer stays unassessed."""
    if stored is None or inline is None:
        return stored
    return min(stored, inline)
