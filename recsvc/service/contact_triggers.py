"""Why a client manager should call a customer this week: the sales loop's triggers (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError, fields, validate

from recsvc.catalog.product import LOCALES
from recsvc.customers.profile import Customer, matured
from recsvc.strict import Strict

MATURING = "MATURING"
MATURED = "MATURED"
VALUE_SWING = "VALUE_SWING"
KEY_DATE = "KEY_DATE"
ASSESSMENT_EXPIRING = "ASSESSMENT_EXPIRING"
HIGH_PROPENSITY = "HIGH_PROPENSITY"
FOLLOW_UP = "FOLLOW_UP"
TRIGGER_CODES = (
    MATURED, MATURING, VALUE_SWING, KEY_DATE, ASSESSMENT_EXPIRING, HIGH_PROPENSITY, FOLLOW_UP,
)  # fmt: skip
REASSIGN = "REASSIGN"
SUGGESTION = "SUGGESTION"


class ContactPlanConfigError(ValueError):
    """contact_plan.yaml is malformed; the message names the key."""


@dataclass(frozen=True)
class ContactPlanConfig:
    maturing_days: int
    matured_days: int
    key_date_days: int
    assessment_expiring_days: int
    follow_up_days: int
    value_swing_pct: float
    high_propensity_value: float
    trigger_weights: dict[str, float]
    bzc_factor: float
    default_book_cap: int
    max_products: int
    max_talking_points: int
    digital_share_for_remote: float
    texts: dict[str, dict[str, str]]


_DAYS = fields.Integer(required=True, validate=validate.Range(min=0, max=366))


class _Windows(Strict):
    maturing_days = _DAYS
    matured_days = _DAYS
    key_date_days = _DAYS
    assessment_expiring_days = _DAYS
    follow_up_days = _DAYS


class _ConfigSchema(Strict):
    windows = fields.Nested(_Windows, required=True)
    value_swing_pct = fields.Float(required=True, validate=validate.Range(min=0))
    high_propensity_value = fields.Float(required=True, validate=validate.Range(min=0))
    trigger_weights = fields.Dict(
        keys=fields.String(validate=validate.OneOf(TRIGGER_CODES)),
        values=fields.Float(validate=validate.Range(min=0)),
        required=True,
    )
    bzc_factor = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    default_book_cap = fields.Integer(required=True, validate=validate.Range(min=0))
    max_products = fields.Integer(required=True, validate=validate.Range(min=1))
    max_talking_points = fields.Integer(required=True, validate=validate.Range(min=1))
    digital_share_for_remote = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    texts = fields.Dict(
        keys=fields.String(validate=validate.OneOf((*TRIGGER_CODES, SUGGESTION, REASSIGN))),
        values=fields.Dict(
            keys=fields.String(validate=validate.OneOf(LOCALES)), values=fields.String()
        ),
        required=True,
    )


def load_contact_plan_config(path: Path) -> ContactPlanConfig:
    """Read contact_plan.yaml; every trigger needs a weight and texts in every locale."""
    try:
        data: dict[str, Any] = _ConfigSchema().load(yaml.safe_load(path.read_text("utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ContactPlanConfigError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise ContactPlanConfigError(f"{path}: {exc.messages}") from exc
    for code in (*TRIGGER_CODES, SUGGESTION, REASSIGN):
        if set(data["texts"].get(code, {})) != set(LOCALES):
            raise ContactPlanConfigError(f"{path}: texts.{code} needs {', '.join(LOCALES)}")
    missing = set(TRIGGER_CODES) - set(data["trigger_weights"])
    if missing:
        raise ContactPlanConfigError(f"{path}: trigger_weights lacks {sorted(missing)}")
    return ContactPlanConfig(**data.pop("windows"), **data)


@dataclass(frozen=True)
class Found:
    """A trigger that fired: its code, the product it is about (if any), a day count."""

    code: str
    product_id: str | None = None
    days: int | None = None


def days_to_next(day: dt.date, as_of: dt.date) -> int:
    """Days until the next yearly return of `day` (0 today); 29 Feb falls on 28 Feb."""
    for year in (as_of.year, as_of.year + 1):
        try:
            nxt = day.replace(year=year)
        except ValueError:
            nxt = dt.date(year, 2, 28)
        if nxt >= as_of:
            return (nxt - as_of).days
    raise AssertionError("unreachable: next year's date is always ahead")


def _in_window(day: dt.date | None, as_of: dt.date, days: int) -> int | None:
    """Days from as_of to day when 0..days ahead, else None."""
    if day is None:
        return None
    ahead = (day - as_of).days
    return ahead if 0 <= ahead <= days else None


def _holding_triggers(customer: Customer, as_of: dt.date, config: ContactPlanConfig) -> list[Found]:
    """Matured lately (renewal), maturing soonest, the largest value swing, the latest recent
    purchase. A matured holding is no longer held: it only feeds the renewal trigger."""
    found: list[Found] = []
    ordered = sorted(customer.holdings, key=lambda h: h.product_id)
    paid_out = [
        (ago, h.product_id)
        for h in ordered
        if matured(h, as_of)
        and h.maturity_date is not None
        and (ago := (as_of - h.maturity_date).days) <= config.matured_days
    ]
    if paid_out:
        days, product_id = min(paid_out)
        found.append(Found(MATURED, product_id, days))
    holdings = [h for h in ordered if not matured(h, as_of)]
    maturing = [
        (ahead, h.product_id)
        for h in holdings
        if (ahead := _in_window(h.maturity_date, as_of, config.maturing_days)) is not None
    ]
    if maturing:
        days, product_id = min(maturing)
        found.append(Found(MATURING, product_id, days))
    swings = [
        (-abs(h.value_change_pct), h.product_id)
        for h in holdings
        if h.value_change_pct is not None and abs(h.value_change_pct) >= config.value_swing_pct
    ]
    if swings:
        found.append(Found(VALUE_SWING, min(swings)[1]))
    opened = [
        (ago, h.product_id)
        for h in holdings
        if h.open_date is not None
        and 0 <= (ago := (as_of - h.open_date).days) <= config.follow_up_days
    ]
    if opened:
        days, product_id = min(opened)
        found.append(Found(FOLLOW_UP, product_id, days))
    return found


def profile_triggers(
    customer: Customer, *, as_of: dt.date, days_to_expiry: int | None, config: ContactPlanConfig
) -> list[Found]:
    """The triggers that need no model: holdings, key dates, the risk assessment."""
    found = _holding_triggers(customer, as_of, config)
    key_days = [days_to_next(customer.birth_date, as_of)]
    if customer.customer_since is not None and customer.customer_since < as_of:
        key_days.append(days_to_next(customer.customer_since, as_of))
    if min(key_days) <= config.key_date_days:
        found.append(Found(KEY_DATE, None, min(key_days)))
    if days_to_expiry is not None and days_to_expiry <= config.assessment_expiring_days:
        found.append(Found(ASSESSMENT_EXPIRING, None, days_to_expiry))
    return found


def preferred_channel(customer: Customer, config: ContactPlanConfig) -> str:
    """Meet customers where they are: app or phone for digital ones, the branch for the rest."""
    habits = customer.channel_habits
    digital = habits.mobile_logins_90d + habits.online_logins_90d
    total = digital + habits.counter_visits_90d + habits.self_service_visits_90d
    if total == 0:
        return "phone"
    if digital / total >= config.digital_share_for_remote:
        return "app_message" if habits.mobile_logins_90d >= habits.online_logins_90d else "phone"
    return "branch_visit"
