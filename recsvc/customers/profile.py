"""Customer profile: what a branch knows about a customer, validated at the edge."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from marshmallow import (
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from recsvc.strict import Strict

GENDERS = ("M", "F")
INCOME_STABILITY = ("stable", "variable", "none")
OCCUPATIONS = (
    "employee",
    "civil_servant",
    "professional",
    "business_owner",
    "self_employed",
    "farmer",
    "student",
    "retired",
    "unemployed",
    "other",
)
CHANNELS_USED = ("counter", "self_service", "mobile", "online")
TRANSACTION_TYPES = (
    "cash_withdrawal",
    "cash_deposit",
    "transfer",
    "credit_card_repayment",
    "account_opening",
    "wealth_purchase",
    "bill_payment",
)
RISK_LEVEL_RANGE = (1, 5)
# Upper bounds keep every value finite as a float32 feature: a trillion yuan is beyond any one
# customer's assets, income or transaction; a million visits in 90 days beyond any habit.
MAX_AMOUNT = 1e12
MAX_COUNT_90D = 1_000_000
MAX_VALUE_CHANGE_PCT = 10_000.0
MONEY_RANGE = validate.Range(min=0, max=MAX_AMOUNT)
_COUNT_RANGE = validate.Range(min=0, max=MAX_COUNT_90D)


@dataclass(frozen=True)
class Holding:
    """One product a customer holds."""

    product_id: str
    amount: float = 0.0
    open_date: dt.date | None = None
    maturity_date: dt.date | None = None
    value_change_pct: float | None = None


@dataclass(frozen=True)
class Transaction:
    """A recent transaction; also the shape of the one in progress at the counter."""

    type: str
    amount: float = 0.0
    date: dt.date | None = None
    channel: str = "counter"


@dataclass(frozen=True)
class ChannelHabits:
    """Visits or log-ins per channel over the last 90 days."""

    counter_visits_90d: int = 0
    self_service_visits_90d: int = 0
    mobile_logins_90d: int = 0
    online_logins_90d: int = 0


@dataclass(frozen=True)
class Customer:
    """A customer profile. Name, id_number and phone are personal data: never log them."""

    customer_id: str
    birth_date: dt.date
    gender: str
    branch_id: str
    occupation: str = "other"
    monthly_income: float = 0.0
    income_stability: str = "none"
    salary_via_bank: bool = False
    aum: float = 0.0
    risk_level: int | None = None
    assessment_date: dt.date | None = None
    holdings: tuple[Holding, ...] = ()
    channel_habits: ChannelHabits = field(default_factory=ChannelHabits)
    recent_transactions: tuple[Transaction, ...] = ()
    consent_marketing: bool = True
    open_complaint: bool = False
    manager_id: str | None = None
    customer_since: dt.date | None = None
    name: str | None = field(default=None, repr=False)
    id_number: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)

    @property
    def held_product_ids(self) -> frozenset[str]:
        """Every product in the holdings snapshot, matured or not (the model's features)."""
        return frozenset(h.product_id for h in self.holdings)

    def held_on(self, day: dt.date) -> frozenset[str]:
        """Products still held on a day: a holding whose maturity date is before it has matured
        (paid out) and is no longer held; it feeds the renewal trigger instead."""
        return frozenset(h.product_id for h in self.holdings if not matured(h, day))

    @property
    def surname(self) -> str | None:
        """Chinese names put the family name first; one character is the common case."""
        return self.name[0] if self.name else None


def matured(holding: Holding, day: dt.date) -> bool:
    """The holding's maturity date is before the day (on the day itself it is still held)."""
    return holding.maturity_date is not None and holding.maturity_date < day


def age_on(birth_date: dt.date, as_of: dt.date) -> int:
    """Age in whole years on a date."""
    before_birthday = (as_of.month, as_of.day) < (birth_date.month, birth_date.day)
    return as_of.year - birth_date.year - int(before_birthday)


class HoldingSchema(Strict):
    product_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    amount = fields.Float(load_default=0.0, validate=MONEY_RANGE, allow_nan=False)
    open_date = fields.Date(load_default=None, allow_none=True)
    maturity_date = fields.Date(load_default=None, allow_none=True)
    value_change_pct = fields.Float(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=-100.0, max=MAX_VALUE_CHANGE_PCT),
    )

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        opened, matures = data.get("open_date"), data.get("maturity_date")
        if opened and matures and matures < opened:
            raise ValidationError("must not be before open_date", "maturity_date")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Holding:
        return Holding(**data)


class TransactionSchema(Strict):
    type = fields.String(required=True, validate=validate.OneOf(TRANSACTION_TYPES))
    amount = fields.Float(load_default=0.0, validate=MONEY_RANGE, allow_nan=False)
    date = fields.Date(load_default=None, allow_none=True)
    channel = fields.String(load_default="counter", validate=validate.OneOf(CHANNELS_USED))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Transaction:
        return Transaction(**data)


class ChannelHabitsSchema(Strict):
    counter_visits_90d = fields.Integer(load_default=0, validate=_COUNT_RANGE)
    self_service_visits_90d = fields.Integer(load_default=0, validate=_COUNT_RANGE)
    mobile_logins_90d = fields.Integer(load_default=0, validate=_COUNT_RANGE)
    online_logins_90d = fields.Integer(load_default=0, validate=_COUNT_RANGE)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ChannelHabits:
        return ChannelHabits(**data)


_ASCII_DIGITS = "0123456789"  # str.isdigit() is true for '³' and '５', which int() refuses


class RiskLevelField(fields.Field):
    """C1..C5 on the wire, 1..5 inside."""

    def __init__(self, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prefix = prefix

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{self.prefix}{int(value)}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = str(value).strip().upper()
        low, high = RISK_LEVEL_RANGE
        if len(text) == 2 and text[0] == self.prefix and text[1] in _ASCII_DIGITS:
            level = int(text[1])
            if low <= level <= high:
                return level
        raise ValidationError(f"must be one of {self.prefix}{low}..{self.prefix}{high}")


class CustomerSchema(Strict):
    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    birth_date = fields.Date(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(GENDERS))
    branch_id = fields.String(required=True, validate=validate.Length(min=1, max=32))
    occupation = fields.String(load_default="other", validate=validate.OneOf(OCCUPATIONS))
    monthly_income = fields.Float(load_default=0.0, validate=MONEY_RANGE, allow_nan=False)
    income_stability = fields.String(load_default="none", validate=validate.OneOf(INCOME_STABILITY))
    salary_via_bank = fields.Boolean(load_default=False)
    aum = fields.Float(load_default=0.0, validate=MONEY_RANGE, allow_nan=False)
    risk_level = RiskLevelField("C", load_default=None, allow_none=True)
    assessment_date = fields.Date(load_default=None, allow_none=True)
    holdings = fields.List(fields.Nested(HoldingSchema), load_default=list)
    channel_habits = fields.Nested(ChannelHabitsSchema, load_default=ChannelHabits)
    recent_transactions = fields.List(fields.Nested(TransactionSchema), load_default=list)
    consent_marketing = fields.Boolean(load_default=True)
    open_complaint = fields.Boolean(load_default=False)
    manager_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    customer_since = fields.Date(load_default=None, allow_none=True)
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    id_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))

    @validates_schema
    def _assessment_needs_level(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("assessment_date") and data.get("risk_level") is None:
            raise ValidationError("required when assessment_date is given", "risk_level")
        born, since = data.get("birth_date"), data.get("customer_since")
        if born and since and since < born:
            raise ValidationError("must not be before birth_date", "customer_since")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Customer:
        data["holdings"] = tuple(data["holdings"])
        data["recent_transactions"] = tuple(data["recent_transactions"])
        return Customer(**data)
