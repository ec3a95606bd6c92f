"""A product the bank can offer, as the catalogue describes it."""

from __future__ import annotations

from dataclasses import dataclass, field

from recsvc.locales import LOCALES, Text, check_locale

__all__ = ["LOCALES", "check_locale"]  # their home is recsvc.locales

FAMILIES = (
    "credit_card",
    "debit_service",
    "e_banking",
    "cash_management",
    "wealth",
    "fund_plan",
    "gold_plan",
    "precious_metal",
    "insurance_regular",
    "insurance_protection",
    "time_deposit",
    "large_cd",
    "government_bond",
    "securities_depository",
)
# What a product is, for the age rule: minors get no credit and no investment products.
CATEGORIES = ("service", "credit", "deposit", "investment", "insurance")
PITCH_CHANNELS = ("teller", "manager", "self_service")


@dataclass(frozen=True)
class Eligibility:
    """Who may hold the product at all, whatever their risk level."""

    min_age: int | None = None
    max_age: int | None = None
    min_aum: float = 0.0
    min_monthly_income: float = 0.0
    tiers: tuple[str, ...] | None = None  # None: every tier, "ordinary" included
    required_holdings: tuple[str, ...] = ()  # all of these must be held


@dataclass(frozen=True)
class Product:
    """One catalogue entry; risk_level is the effective one (max of bank's and issuer's)."""

    product_id: str
    names: Text
    family: str
    category: str
    risk_level: int | None  # 1..5 for R1..R5, None for services and deposits
    eligibility: Eligibility
    channels: frozenset[str]
    repeatable: bool
    value: float  # expected value to the bank of one sale, yuan
    dual_recording: bool
    risk_notice: Text | None  # required for investment products
    pitch_templates: dict[str, tuple[str, ...]]  # locale -> templates
    term_months: int | None = None
    issuer_risk_level: int | None = None
    bank_risk_level: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def name(self, locale: str) -> str:
        return self.names.in_locale(locale)
