"""The rules on whole columns: suitability and eligibility for a chunk of customers x the
catalogue at once (numpy), for the nightly plan. The same decisions and reason codes as
`evaluate`, which stays the one definition the API uses; tests/rules/test_rules_batch.py holds
the two to each other.

A decision is a bit mask per customer x product: bit i is set when REASON_CODES[i] applies, so
the codes read lowest bit first come out in the order `evaluate` reports them (primary first);
0 means eligible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from recsvc.catalog.catalogue import Catalogue
from recsvc.catalog.product import PITCH_CHANNELS
from recsvc.customers.bank import BankConfig
from recsvc.customers.profile import Customer
from recsvc.rules import codes
from recsvc.rules.config import RulesConfig
from recsvc.rules.verdict import Exclusion, NextAction, Verdict

BIT = {code: 1 << i for i, code in enumerate(codes.REASON_CODES)}
ASSESSMENT_BITS = BIT[codes.ASSESSMENT_MISSING] | BIT[codes.ASSESSMENT_EXPIRED]
DateMap = Mapping[str, Mapping[str, dt.date]]  # customer_id -> product_id -> day
NO_DATES: DateMap = {}


@cache
def codes_of(mask: int) -> tuple[str, ...]:
    """The reason codes of one mask, in REASON_CODES order (primary first)."""
    return tuple(code for code in codes.REASON_CODES if mask & BIT[code])


@dataclass(frozen=True)
class RuleColumns:
    """What the rules read about N customers on a date, one array per fact."""

    customer_ids: tuple[str, ...]
    age: np.ndarray  # int
    tier: np.ndarray  # index into (ordinary, *bank.tiers)
    risk_level: np.ndarray  # float, nan: none
    assessment_days: np.ndarray  # float, as_of - assessment date; nan: no level or no date
    aum: np.ndarray
    income: np.ndarray
    opted_out: np.ndarray  # bool
    complaint: np.ndarray  # bool
    held: np.ndarray  # bool N x len(held_ids): still held on as_of (a matured holding is not)
    held_ids: tuple[str, ...]


def _held_ids(catalogue: Catalogue) -> tuple[str, ...]:
    """The catalogue's ids, then any required holding that is not itself in the catalogue."""
    extra = {r for p in catalogue for r in p.eligibility.required_holdings} - set(catalogue.ids)
    return (*catalogue.ids, *sorted(extra))


def rule_columns(
    customers: Sequence[Customer], catalogue: Catalogue, *, as_of: dt.date, bank: BankConfig
) -> RuleColumns:
    """The columns of these customers (one pass to read the objects, the rest on arrays)."""
    n = len(customers)
    born = np.array([(c.birth_date.year, c.birth_date.month, c.birth_date.day) for c in customers],
                    dtype=np.int64).reshape(n, 3)  # fmt: skip
    before = (born[:, 1] > as_of.month) | ((born[:, 1] == as_of.month) & (born[:, 2] > as_of.day))
    age = as_of.year - born[:, 0] - before.astype(np.int64)
    today = as_of.toordinal()
    assessed = np.array(
        [today - c.assessment_date.toordinal()
         if c.assessment_date is not None and c.risk_level is not None else np.nan
         for c in customers], dtype=float,
    )  # fmt: skip
    risk = np.array([np.nan if c.risk_level is None else c.risk_level for c in customers], float)
    aum = np.array([c.aum for c in customers], dtype=float)
    thresholds = np.array([t.min_aum for t in bank.tiers], dtype=float)
    held_ids = _held_ids(catalogue)
    column = {pid: j for j, pid in enumerate(held_ids)}
    held = np.zeros((n, len(held_ids)), dtype=bool)
    for i, c in enumerate(customers):
        for h in c.holdings:
            j = column.get(h.product_id)
            if j is not None and (h.maturity_date is None or h.maturity_date >= as_of):
                held[i, j] = True
    return RuleColumns(
        customer_ids=tuple(c.customer_id for c in customers),
        age=age,
        tier=(aum[:, None] >= thresholds[None, :]).sum(axis=1),
        risk_level=risk,
        assessment_days=assessed,
        aum=aum,
        income=np.array([c.monthly_income for c in customers], dtype=float),
        opted_out=np.array([not c.consent_marketing for c in customers], dtype=bool),
        complaint=np.array([c.open_complaint for c in customers], dtype=bool),
        held=held,
        held_ids=held_ids,
    )


@dataclass(frozen=True)
class BatchVerdicts:
    """The rules' decision for every customer x catalogue product, and each customer's facts
    the plan reads (days to the assessment's expiry, the next actions)."""

    customer_ids: tuple[str, ...]
    product_ids: tuple[str, ...]
    masks: np.ndarray  # uint32 N x P, 0: eligible
    days_to_expiry: np.ndarray  # float, nan unless the assessment is valid
    next_action: np.ndarray  # object: None, REDO_RISK_ASSESSMENT or ASSESSMENT_EXPIRING

    @property
    def eligible(self) -> np.ndarray:
        return self.masks == 0

    def codes(self, i: int, j: int) -> tuple[str, ...]:
        return codes_of(int(self.masks[i, j]))

    def verdict(self, i: int, catalogue: Catalogue, rules: RulesConfig) -> Verdict:
        """Customer i's decision as `evaluate` states it (for parity and for callers that want
        the messages)."""
        eligible, excluded = [], []
        for j, product in enumerate(catalogue.products):
            found = self.codes(i, j)
            if not found:
                eligible.append(product)
            excluded += [Exclusion(product.product_id, c, rules.reasons[c]) for c in found]
        action = self.next_action[i]
        actions = () if action is None else (NextAction(action, rules.next_actions[action]),)
        return Verdict(tuple(eligible), tuple(excluded), actions)


def evaluate_batch(
    customers: Sequence[Customer],
    catalogue: Catalogue,
    *,
    channel: str,
    as_of: dt.date,
    rules: RulesConfig,
    bank: BankConfig,
    recent_declines: DateMap = NO_DATES,
    recent_acceptances: DateMap = NO_DATES,
) -> BatchVerdicts:
    """`evaluate` for every customer at once; declines and acceptances by customer id."""
    if channel not in PITCH_CHANNELS:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(PITCH_CHANNELS)}")
    cols = rule_columns(customers, catalogue, as_of=as_of, bank=bank)
    masks = _masks(cols, catalogue, channel=channel, rules=rules, bank=bank)
    _mark_dated(masks, cols, catalogue, customers, as_of, rules, recent_declines,
                recent_acceptances)  # fmt: skip
    valid, _ = _assessment(cols, rules)
    days_to_expiry = np.where(valid, rules.assessment_validity_days - cols.assessment_days, np.nan)
    minor = cols.age < rules.minor_below
    blocked = (masks & ASSESSMENT_BITS).any(axis=1)
    quiet = cols.opted_out | cols.complaint
    redo = ~quiet & ~valid & blocked & ~minor
    expiring = ~quiet & ~redo & valid & (days_to_expiry <= rules.assessment_expiring_days)
    action = np.full(len(customers), None, dtype=object)
    action[redo] = codes.REDO_RISK_ASSESSMENT
    action[expiring] = codes.ASSESSMENT_EXPIRING
    return BatchVerdicts(cols.customer_ids, catalogue.ids, masks, days_to_expiry, action)


def _assessment(cols: RuleColumns, rules: RulesConfig) -> tuple[np.ndarray, np.ndarray]:
    """(valid, expired); neither is missing (no level, no date, or dated in the future)."""
    days = cols.assessment_days
    known = ~np.isnan(days)
    with np.errstate(invalid="ignore"):
        valid = known & (days >= 0) & (days <= rules.assessment_validity_days)
        expired = known & (days > rules.assessment_validity_days)
    return valid, expired


def _elderly_max_risk(age: np.ndarray, rules: RulesConfig) -> np.ndarray:
    """rules.elderly_max_risk per customer, nan below every from_age."""
    limit = np.full(len(age), np.nan)
    for rule in rules.elderly:  # ascending from_age: the last one reached is the tightest
        limit[age >= rule.from_age] = rule.max_risk
    return limit


def _masks(
    cols: RuleColumns, catalogue: Catalogue, *, channel: str, rules: RulesConfig, bank: BankConfig
) -> np.ndarray:
    """Suitability (regulation) then eligibility (the product's own conditions), per product."""
    n = len(cols.customer_ids)
    masks = np.zeros((n, len(catalogue)), dtype=np.uint32)
    valid, expired = _assessment(cols, rules)
    minor = cols.age < rules.minor_below
    age_max = _elderly_max_risk(cols.age, rules)
    tier_codes = np.array([bank.ordinary.code, *(t.code for t in bank.tiers)])
    tier = tier_codes[cols.tier]
    held_at = {pid: j for j, pid in enumerate(cols.held_ids)}
    base = np.where(cols.opted_out, BIT[codes.NO_CONSENT], 0) | np.where(
        cols.complaint, BIT[codes.OPEN_COMPLAINT], 0
    )
    for j, product in enumerate(catalogue.products):
        m = base.astype(np.uint32)
        risk = product.risk_level
        if product.category in rules.minor_excluded_categories or (
            risk is not None and product.category in rules.minor_excluded_rated_categories
        ):
            m |= np.where(minor, BIT[codes.AGE_MINOR], 0).astype(np.uint32)
        if risk is not None:
            if risk > rules.unassessed_max_risk:
                m |= np.where(expired, BIT[codes.ASSESSMENT_EXPIRED], 0).astype(np.uint32)
                missing = ~valid & ~expired
                m |= np.where(missing, BIT[codes.ASSESSMENT_MISSING], 0).astype(np.uint32)
            with np.errstate(invalid="ignore"):  # nan compares false: no level, no limit
                above = risk > cols.risk_level
                elderly = risk > age_max
            m |= np.where(above, BIT[codes.RISK_ABOVE_CUSTOMER_LEVEL], 0).astype(np.uint32)
            m |= np.where(elderly, BIT[codes.AGE_ELDERLY], 0).astype(np.uint32)
        rule = product.eligibility
        bad_age = np.zeros(n, dtype=bool)
        if rule.min_age is not None:
            bad_age |= cols.age < rule.min_age
        if rule.max_age is not None:
            bad_age |= cols.age > rule.max_age
        m |= np.where(bad_age, BIT[codes.ELIGIBILITY_AGE], 0).astype(np.uint32)
        if rule.tiers is not None:
            m |= np.where(np.isin(tier, rule.tiers), 0, BIT[codes.ELIGIBILITY_TIER]).astype(
                np.uint32
            )
        m |= np.where(cols.aum < rule.min_aum, BIT[codes.ELIGIBILITY_AUM], 0).astype(np.uint32)
        low_income = cols.income < rule.min_monthly_income
        m |= np.where(low_income, BIT[codes.ELIGIBILITY_INCOME], 0).astype(np.uint32)
        if rule.required_holdings:
            has_all = cols.held[:, [held_at[r] for r in rule.required_holdings]].all(axis=1)
            m |= np.where(has_all, 0, BIT[codes.ELIGIBILITY_REQUIRED_HOLDING]).astype(np.uint32)
        if not product.repeatable:
            held = cols.held[:, held_at[product.product_id]]
            m |= np.where(held, BIT[codes.ALREADY_HELD], 0).astype(np.uint32)
        if channel not in product.channels:
            m |= np.uint32(BIT[codes.CHANNEL_NOT_ALLOWED])
        masks[:, j] = m
    return masks


def _mark_dated(
    masks: np.ndarray,
    cols: RuleColumns,
    catalogue: Catalogue,
    customers: Sequence[Customer],
    as_of: dt.date,
    rules: RulesConfig,
    declines: DateMap,
    acceptances: DateMap,
) -> None:
    """Recent declines and products being opened: few customers have any, so only theirs."""
    column = {pid: j for j, pid in enumerate(catalogue.ids)}
    for i, customer_id in enumerate(cols.customer_ids):
        for pid, day in (declines.get(customer_id) or {}).items():
            j = column.get(pid)
            if j is not None and (as_of - day).days < rules.declined_fatigue_days:
                masks[i, j] |= BIT[codes.RECENTLY_DECLINED]
        for pid, day in (acceptances.get(customer_id) or {}).items():
            j = column.get(pid)
            if j is None or not 0 <= (as_of - day).days < rules.opening_days:
                continue
            opened = any(
                h.product_id == pid and h.open_date is not None and h.open_date >= day
                for h in customers[i].holdings
            )
            if not opened:
                masks[i, j] |= BIT[codes.BEING_OPENED]
