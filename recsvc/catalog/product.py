"""A product the bank can offer, as the catalogue describes it."""

from __future__ import annotations

from dataclasses import dataclass, field

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
LOCALES = ("zh-CN", "en")


def check_locale(locale: str) -> str:
    """The one unknown-locale policy: an error naming the locales (never a silent fall back to
    English); the API refuses one before this with a 422 naming the field `locale`."""
    if locale not in LOCALES:
        raise ValueError(f"locale {locale!r} is not one of {', '.join(LOCALES)}")
    return locale


def pick(locale: str, zh: str, en: str) -> str:
    """A text held as a `_zh`/`_en` pair, in `locale` (see check_locale)."""
    return zh if check_locale(locale) == "zh-CN" else en


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
    name_zh: str
    name_en: str
    family: str
    category: str
    risk_level: int | None  # 1..5 for R1..R5, None for services and deposits
    eligibility: Eligibility
    channels: frozenset[str]
    repeatable: bool
    value: float  # expected value to the bank of one sale, yuan
    dual_recording: bool
    risk_notice: dict[str, str] | None  # locale -> text; required for investment products
    pitch_templates: dict[str, tuple[str, ...]]  # locale -> templates
    term_months: int | None = None
    issuer_risk_level: int | None = None
    bank_risk_level: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def name(self, locale: str) -> str:
        return pick(locale, self.name_zh, self.name_en)
