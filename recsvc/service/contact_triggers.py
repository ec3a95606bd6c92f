"""Why a client manager should call a customer this week: the sales loop's triggers (pure).

A new profile trigger is one entry under `triggers:` in contact_plan.yaml (weight, window or
threshold, console label, talking point) and one detector function registered here with
`@detects(CODE)`; loading refuses a trigger without its detector and a detector without its
entry. Model triggers (HIGH_PROPENSITY) are found by the planner from the scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import yaml
from marshmallow import ValidationError, fields, validate

from recsvc.customers.profile import Customer, Holding, matured
from recsvc.locales import Text, text_field
from recsvc.strict import Strict

MATURING = "MATURING"
MATURED = "MATURED"
VALUE_SWING = "VALUE_SWING"
KEY_DATE = "KEY_DATE"
ASSESSMENT_EXPIRING = "ASSESSMENT_EXPIRING"
HIGH_PROPENSITY = "HIGH_PROPENSITY"
FOLLOW_UP = "FOLLOW_UP"
# The triggers of the shipped contact_plan.yaml, most urgent first (a loaded config's own order
# is ContactPlanConfig.codes).
TRIGGER_CODES = (
    MATURED, MATURING, VALUE_SWING, KEY_DATE, ASSESSMENT_EXPIRING, HIGH_PROPENSITY, FOLLOW_UP,
)  # fmt: skip
# found by the planner from the model's scores -> the settings their entry must give
MODEL_TRIGGERS: dict[str, tuple[str, ...]] = {HIGH_PROPENSITY: ("threshold",)}
REASSIGN = "REASSIGN"
SUGGESTION = "SUGGESTION"


class ContactPlanConfigError(ValueError):
    """contact_plan.yaml is malformed; the message names the key."""


@dataclass(frozen=True)
class TriggerSpec:
    """One trigger as contact_plan.yaml describes it."""

    code: str
    weight: float  # yuan added to the entry's priority
    label: Text  # the console's name for it
    text: Text  # its talking point: {product} the product's name, {days} a day count
    window_days: int | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class ContactPlanConfig:
    triggers: Mapping[str, TriggerSpec]  # most urgent first
    bzc_factor: float
    default_book_cap: int
    max_products: int
    max_talking_points: int
    digital_share_for_remote: float
    texts: Mapping[str, Text]  # every trigger's talking point, SUGGESTION's and REASSIGN's

    @cached_property
    def codes(self) -> tuple[str, ...]:
        """The triggers, most urgent first: the order of an entry's triggers and talking points."""
        return tuple(self.triggers)

    @cached_property
    def trigger_weights(self) -> dict[str, float]:
        return {code: spec.weight for code, spec in self.triggers.items()}

    @cached_property
    def detectors(self) -> tuple[tuple[Detector, TriggerSpec], ...]:
        """The profile triggers' detectors with their entries, most urgent first."""
        return tuple((DETECTORS[c][0], s) for c, s in self.triggers.items() if c in DETECTORS)

    @cached_property
    def high_propensity_value(self) -> float:
        """Best suitable product's propensity x value (yuan) at which HIGH_PROPENSITY fires."""
        threshold = self.triggers[HIGH_PROPENSITY].threshold
        assert threshold is not None  # loading refuses the entry without it
        return threshold


class OnDay(NamedTuple):
    """What the detectors read of one customer on the plan's day."""

    as_of: dt.date
    days_to_expiry: int | None  # of the risk assessment, None without a valid one
    matured: tuple[Holding, ...]  # by product id: matured, so no longer held
    held: tuple[Holding, ...]  # by product id, not matured


Detector = Callable[[Customer, OnDay, TriggerSpec], "Found | None"]
# code -> (its detector, the settings its contact_plan.yaml entry must give)
DETECTORS: dict[str, tuple[Detector, tuple[str, ...]]] = {}


def detects(code: str, *, needs: tuple[str, ...] = ()) -> Callable[[Detector], Detector]:
    """Register a profile trigger's detector; `needs`: window_days and/or threshold."""

    def register(fn: Detector) -> Detector:
        DETECTORS[code] = (fn, needs)
        return fn

    return register


class _TriggerSchema(Strict):
    weight = fields.Float(required=True, validate=validate.Range(min=0))
    window_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=366))
    threshold = fields.Float(load_default=None, validate=validate.Range(min=0))
    label = text_field()
    text = text_field()


class _ConfigSchema(Strict):
    triggers = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Z][A-Z0-9_]*$")),
        values=fields.Nested(_TriggerSchema),
        required=True,
    )
    bzc_factor = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    default_book_cap = fields.Integer(required=True, validate=validate.Range(min=0))
    max_products = fields.Integer(required=True, validate=validate.Range(min=1))
    max_talking_points = fields.Integer(required=True, validate=validate.Range(min=1))
    digital_share_for_remote = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    texts = fields.Dict(
        keys=fields.String(validate=validate.OneOf((SUGGESTION, REASSIGN))),
        values=text_field(),
        required=True,
    )


def load_contact_plan_config(path: Path) -> ContactPlanConfig:
    """Read contact_plan.yaml: every trigger has a detector (or is a model trigger) and the
    settings it needs, every detector has its trigger, every text every locale."""
    try:
        data: dict[str, Any] = _ConfigSchema().load(yaml.safe_load(path.read_text("utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ContactPlanConfigError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise ContactPlanConfigError(f"{path}: {exc.messages}") from exc
    triggers = {
        code: TriggerSpec(code, label=Text(raw.pop("label")), text=Text(raw.pop("text")), **raw)
        for code, raw in data.pop("triggers").items()
    }
    for code, spec in triggers.items():
        if code not in DETECTORS and code not in MODEL_TRIGGERS:
            raise ContactPlanConfigError(f"{path}: triggers.{code}: no detector is registered")
        needs = DETECTORS[code][1] if code in DETECTORS else MODEL_TRIGGERS[code]
        for setting in needs:
            if getattr(spec, setting) is None:
                raise ContactPlanConfigError(f"{path}: triggers.{code} needs {setting}")
    missing = [code for code in (*DETECTORS, *MODEL_TRIGGERS) if code not in triggers]
    if missing:
        raise ContactPlanConfigError(f"{path}: triggers lacks {missing}")
    texts = {code: spec.text for code, spec in triggers.items()}
    texts.update({code: Text(t) for code, t in data.pop("texts").items()})
    if set(texts) != {*triggers, SUGGESTION, REASSIGN}:
        raise ContactPlanConfigError(f"{path}: texts needs {SUGGESTION} and {REASSIGN}")
    return ContactPlanConfig(
        triggers=MappingProxyType(triggers), texts=MappingProxyType(texts), **data
    )


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
    return _within_days(None if day is None else (day - as_of).days, days)


def _window(spec: TriggerSpec) -> int:
    assert spec.window_days is not None  # loading refuses a detector's entry without it
    return spec.window_days


def _threshold(spec: TriggerSpec) -> float:
    assert spec.threshold is not None  # loading refuses a detector's entry without it
    return spec.threshold


def _within_days(days: int | None, window: int) -> int | None:
    return days if days is not None and 0 <= days <= window else None


def _nearest(
    spec: TriggerSpec, holdings: tuple[Holding, ...], days_of: Callable[[Holding], int | None]
) -> Found | None:
    """The holding with the fewest days (then the first product id) of those `days_of` counts
    (None: not this trigger's), or None."""
    counted = [(days, h.product_id) for h in holdings if (days := days_of(h)) is not None]
    if not counted:
        return None
    days, product_id = min(counted)
    return Found(spec.code, product_id, days)


def _since(day: dt.date | None, as_of: dt.date) -> int | None:
    return None if day is None else (as_of - day).days


@detects(MATURED, needs=("window_days",))
def _matured(customer: Customer, on: OnDay, spec: TriggerSpec) -> Found | None:
    """Matured lately (talk renewal): the most recent. A matured holding is no longer held: it
    only feeds this trigger."""
    window = _window(spec)
    return _nearest(
        spec, on.matured, lambda h: _within_days(_since(h.maturity_date, on.as_of), window)
    )


@detects(MATURING, needs=("window_days",))
def _maturing(customer: Customer, on: OnDay, spec: TriggerSpec) -> Found | None:
    """A held product maturing soon: the soonest."""
    window = _window(spec)
    return _nearest(spec, on.held, lambda h: _in_window(h.maturity_date, on.as_of, window))


@detects(VALUE_SWING, needs=("threshold",))
def _value_swing(customer: Customer, on: OnDay, spec: TriggerSpec) -> Found | None:
    """The held product whose value moved most, by at least threshold percent."""
    threshold = _threshold(spec)
    swings = [
        (-abs(h.value_change_pct), h.product_id)
        for h in on.held
        if h.value_change_pct is not None and abs(h.value_change_pct) >= threshold
    ]
    return Found(spec.code, min(swings)[1]) if swings else None


@detects(FOLLOW_UP, needs=("window_days",))
def _follow_up(customer: Customer, on: OnDay, spec: TriggerSpec) -> Found | None:
    """A product bought lately: the latest."""
    window = _window(spec)
    return _nearest(spec, on.held, lambda h: _within_days(_since(h.open_date, on.as_of), window))


@detects(KEY_DATE, needs=("window_days",))
def _key_date(customer: Customer, on: OnDay, spec: TriggerSpec) -> Found | None:
    """The birthday or the anniversary as a customer, whichever comes first."""
    key_days = [days_to_next(customer.birth_date, on.as_of)]
    if customer.customer_since is not None and customer.customer_since < on.as_of:
        key_days.append(days_to_next(customer.customer_since, on.as_of))
    return Found(spec.code, None, min(key_days)) if min(key_days) <= _window(spec) else None


@detects(ASSESSMENT_EXPIRING, needs=("window_days",))
def _assessment_expiring(customer: Customer, on: OnDay, spec: TriggerSpec) -> Found | None:
    """A valid risk assessment that expires soon."""
    days = on.days_to_expiry
    return Found(spec.code, None, days) if days is not None and days <= _window(spec) else None


def profile_triggers(
    customer: Customer, *, as_of: dt.date, days_to_expiry: int | None, config: ContactPlanConfig
) -> list[Found]:
    """The triggers that need no model, most urgent first (the config's order)."""
    held: list[Holding] = []
    paid_out: list[Holding] = []
    for h in sorted(customer.holdings, key=lambda h: h.product_id):
        (paid_out if matured(h, as_of) else held).append(h)
    on = OnDay(as_of, days_to_expiry, tuple(paid_out), tuple(held))
    found = []
    for detect, spec in config.detectors:
        hit = detect(customer, on, spec)
        if hit is not None:
            found.append(hit)
    return found


def trigger_label(config: ContactPlanConfig, code: str, locale: str) -> str:
    """The console's name for a trigger; a code the config no longer has shows as itself."""
    spec = config.triggers.get(code)
    return code if spec is None else spec.label.in_locale(locale)


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
