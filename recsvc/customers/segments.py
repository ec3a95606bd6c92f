"""Derived segments: AUM tier and value class (MVC / MGC / BZC)."""

from __future__ import annotations

import datetime as dt

from recsvc.customers.bank import BankConfig, Tier
from recsvc.customers.profile import Customer, age_on

VALUE_CLASSES = ("MVC", "MGC", "standard", "BZC")


def tier_of(aum: float, bank: BankConfig) -> Tier:
    """The highest tier whose threshold the AUM reaches, else ordinary."""
    reached = bank.ordinary
    for tier in bank.tiers:
        if aum >= tier.min_aum:
            reached = tier
    return reached


def yearly_value_and_cost(customer: Customer, bank: BankConfig) -> tuple[float, float]:
    """The bank's rough yearly revenue from and cost of serving a customer."""
    rule = bank.value_class
    value = customer.aum * rule.aum_margin + len(customer.holdings) * rule.value_per_product
    if customer.salary_via_bank:
        value += customer.monthly_income * 12 * rule.salary_margin
    visits = customer.channel_habits.counter_visits_90d
    cost = rule.base_cost + visits * 4 * rule.cost_per_counter_visit
    return value, cost


def value_class_of(customer: Customer, bank: BankConfig, as_of: dt.date) -> str:
    """MVC, MGC, standard or BZC by the rule documented in bank.yaml."""
    rule = bank.value_class
    value, cost = yearly_value_and_cost(customer, bank)
    if value < cost:
        return "BZC"
    if value >= rule.mvc_min_value:
        return "MVC"
    young_enough = age_on(customer.birth_date, as_of) < rule.mgc_max_age
    if customer.monthly_income >= rule.mgc_min_monthly_income and young_enough:
        return "MGC"
    return "standard"
