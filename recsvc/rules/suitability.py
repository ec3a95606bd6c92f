"""Suitability and eligibility: which products may be offered to a customer, and why not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from recsvc.catalog.catalogue import Catalogue
from recsvc.catalog.product import PITCH_CHANNELS, Product
from recsvc.customers.bank import BankConfig
from recsvc.customers.profile import Customer, age_on
from recsvc.customers.segments import tier_of
from recsvc.rules import codes
from recsvc.rules.config import RulesConfig
from recsvc.rules.verdict import Exclusion, NextAction, Verdict

NO_DECLINES: Mapping[str, date] = MappingProxyType({})
VALID, MISSING, EXPIRED = "valid", "missing", "expired"


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What the rules need about a customer on a date, computed once per request."""

    age: int
    tier: str
    held: frozenset[str]
    risk_level: int | None
    assessment: str  # valid | missing | expired
    days_to_expiry: int | None  # only for a valid assessment
    age_max_risk: int | None
    minor: bool
    opted_out: bool
    complaint: bool


def customer_facts(
    customer: Customer, *, as_of: date, rules: RulesConfig, bank: BankConfig
) -> CustomerFacts:
    """Derive age, tier and assessment state; a future-dated assessment counts as missing."""
    age = age_on(customer.birth_date, as_of)
    assessment, days_to_expiry = MISSING, None
    if customer.risk_level is not None and customer.assessment_date is not None:
        age_days = (as_of - customer.assessment_date).days
        if 0 <= age_days <= rules.assessment_validity_days:
            assessment, days_to_expiry = VALID, rules.assessment_validity_days - age_days
        elif age_days > rules.assessment_validity_days:
            assessment = EXPIRED
    return CustomerFacts(
        age=age,
        tier=tier_of(customer.aum, bank).code,
        held=customer.held_on(as_of),
        risk_level=customer.risk_level,
        assessment=assessment,
        days_to_expiry=days_to_expiry,
        age_max_risk=rules.elderly_max_risk(age),
        minor=age < rules.minor_below,
        opted_out=not customer.consent_marketing,
        complaint=customer.open_complaint,
    )


def _check_channel(channel: str) -> None:
    if channel not in PITCH_CHANNELS:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(PITCH_CHANNELS)}")


def _suitability_codes(facts: CustomerFacts, product: Product, rules: RulesConfig) -> list[str]:
    """Consent, complaint, age protection and risk matching (regulation)."""
    found = []
    if facts.opted_out:
        found.append(codes.NO_CONSENT)
    if facts.complaint:
        found.append(codes.OPEN_COMPLAINT)
    risk = product.risk_level
    if facts.minor and (
        product.category in rules.minor_excluded_categories
        or (risk is not None and product.category in rules.minor_excluded_rated_categories)
    ):
        found.append(codes.AGE_MINOR)
    if risk is not None:
        if facts.assessment != VALID and risk > rules.unassessed_max_risk:
            found.append(
                codes.ASSESSMENT_EXPIRED
                if facts.assessment == EXPIRED
                else codes.ASSESSMENT_MISSING
            )
        if facts.risk_level is not None and risk > facts.risk_level:
            found.append(codes.RISK_ABOVE_CUSTOMER_LEVEL)
        if facts.age_max_risk is not None and risk > facts.age_max_risk:
            found.append(codes.AGE_ELDERLY)
    return found


def _eligibility_codes(
    facts: CustomerFacts, customer: Customer, product: Product, channel: str
) -> list[str]:
    """The product's own conditions, what the customer holds, and who may pitch it."""
    rule, found = product.eligibility, []
    if (rule.min_age is not None and facts.age < rule.min_age) or (
        rule.max_age is not None and facts.age > rule.max_age
    ):
        found.append(codes.ELIGIBILITY_AGE)
    if rule.tiers is not None and facts.tier not in rule.tiers:
        found.append(codes.ELIGIBILITY_TIER)
    if customer.aum < rule.min_aum:
        found.append(codes.ELIGIBILITY_AUM)
    if customer.monthly_income < rule.min_monthly_income:
        found.append(codes.ELIGIBILITY_INCOME)
    if not facts.held.issuperset(rule.required_holdings):
        found.append(codes.ELIGIBILITY_REQUIRED_HOLDING)
    if not product.repeatable and product.product_id in facts.held:
        found.append(codes.ALREADY_HELD)
    if channel not in product.channels:
        found.append(codes.CHANNEL_NOT_ALLOWED)
    return found


def _exclusions(
    facts: CustomerFacts,
    customer: Customer,
    product: Product,
    *,
    channel: str,
    as_of: date,
    rules: RulesConfig,
    recent_declines: Mapping[str, date],
    recent_acceptances: Mapping[str, date] = NO_DECLINES,
) -> list[Exclusion]:
    found = _suitability_codes(facts, product, rules)
    found += _eligibility_codes(facts, customer, product, channel)
    declined = recent_declines.get(product.product_id)
    if declined is not None and (as_of - declined).days < rules.declined_fatigue_days:
        found.append(codes.RECENTLY_DECLINED)
    accepted = recent_acceptances.get(product.product_id)
    if accepted is not None and _being_opened(customer, product.product_id, accepted, as_of, rules):
        found.append(codes.BEING_OPENED)
    return [Exclusion(product.product_id, code, rules.reasons[code]) for code in found]


def _being_opened(
    customer: Customer, product_id: str, accepted: date, as_of: date, rules: RulesConfig
) -> bool:
    """Accepted within the opening window and not yet held from that day on."""
    if not 0 <= (as_of - accepted).days < rules.opening_days:
        return False
    return not any(
        h.product_id == product_id and h.open_date is not None and h.open_date >= accepted
        for h in customer.holdings
    )


def evaluate(
    customer: Customer,
    catalogue: Catalogue,
    *,
    channel: str,
    as_of: date,
    rules: RulesConfig,
    bank: BankConfig,
    recent_declines: Mapping[str, date] = NO_DECLINES,
    recent_acceptances: Mapping[str, date] = NO_DECLINES,
) -> Verdict:
    """Sort every catalogue product into eligible or excluded (catalogue order), plus next steps."""
    _check_channel(channel)
    facts = customer_facts(customer, as_of=as_of, rules=rules, bank=bank)
    eligible: list[Product] = []
    excluded: list[Exclusion] = []
    for product in catalogue.products:
        found = _exclusions(
            facts,
            customer,
            product,
            channel=channel,
            as_of=as_of,
            rules=rules,
            recent_declines=recent_declines,
            recent_acceptances=recent_acceptances,
        )
        if found:
            excluded.extend(found)
        else:
            eligible.append(product)
    blocked_by_assessment = any(
        e.code in (codes.ASSESSMENT_MISSING, codes.ASSESSMENT_EXPIRED) for e in excluded
    )
    return Verdict(
        tuple(eligible), tuple(excluded), _next_actions(facts, rules, blocked_by_assessment)
    )


def _next_actions(
    facts: CustomerFacts, rules: RulesConfig, blocked_by_assessment: bool
) -> tuple[NextAction, ...]:
    """Redo or renew the risk assessment; nothing at all for opted-out or complaining customers."""
    if facts.opted_out or facts.complaint:
        return ()
    if facts.assessment != VALID and blocked_by_assessment and not facts.minor:
        code = codes.REDO_RISK_ASSESSMENT
        return (NextAction(code, rules.next_actions[code]),)
    if facts.days_to_expiry is not None and facts.days_to_expiry <= rules.assessment_expiring_days:
        code = codes.ASSESSMENT_EXPIRING
        return (NextAction(code, rules.next_actions[code]),)
    return ()
