"""A customer as staff may see them: personal data masked, segments derived."""

from __future__ import annotations

import datetime as dt
from typing import Any

from recsvc.customers.bank import BankConfig
from recsvc.customers.profile import Customer, age_on
from recsvc.customers.segments import tier_of, value_class_of


def mask_name(name: str | None) -> str | None:
    """Surname kept, the rest starred: 王** (staff may greet, not identify)."""
    return None if not name else name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    """First 3 and last 4 digits: 138****8000."""
    if not phone:
        return None
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "****"


def mask_id_number(id_number: str | None) -> str | None:
    """Region prefix and last 4 kept: 110101********1234."""
    if not id_number:
        return None
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def profile_view(customer: Customer, *, bank: BankConfig, as_of: dt.date) -> dict[str, Any]:
    """The profile summary a client manager works from; nothing unmasked."""
    tier = tier_of(customer.aum, bank)
    return {
        "customer_id": customer.customer_id,
        "name": mask_name(customer.name),
        "phone": mask_phone(customer.phone),
        "id_number": mask_id_number(customer.id_number),
        "age": age_on(customer.birth_date, as_of),
        "gender": customer.gender,
        "occupation": customer.occupation,
        "branch_id": customer.branch_id,
        "manager_id": customer.manager_id,
        "tier": tier.code,
        "tier_name": dict(tier.names),
        "value_class": value_class_of(customer, bank, as_of),
        "aum": customer.aum,
        "monthly_income": customer.monthly_income,
        "salary_via_bank": customer.salary_via_bank,
        "risk_level": f"C{customer.risk_level}" if customer.risk_level else None,
        "assessment_date": customer.assessment_date,
        "consent_marketing": customer.consent_marketing,
        "open_complaint": customer.open_complaint,
        "holdings": [
            {
                "product_id": h.product_id,
                "amount": h.amount,
                "open_date": h.open_date,
                "maturity_date": h.maturity_date,
                "value_change_pct": h.value_change_pct,
            }
            for h in customer.holdings
        ],
        "channel_habits": vars(customer.channel_habits),
    }
