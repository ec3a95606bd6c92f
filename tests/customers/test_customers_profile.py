import datetime as dt

import pytest
from factories import AS_OF, customer_payload, make_customer
from marshmallow import ValidationError

from recsvc.customers import CustomerSchema, age_on, tier_of, value_class_of
from recsvc.customers.bank import BankConfigError, load_bank_config


def test_valid_profile_loads_into_customer() -> None:
    customer = make_customer()
    assert customer.risk_level == 3
    assert customer.assessment_date == dt.date(2026, 3, 1)
    assert customer.held_product_ids == frozenset({"mobile_banking"})
    assert customer.channel_habits.mobile_logins_90d == 40
    assert customer.surname is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("risk_level", "C6"),
        ("risk_level", "R3"),
        ("gender", "X"),
        ("aum", -1),
        ("birth_date", "not-a-date"),
        ("occupation", "astronaut"),
        ("monthly_income", "lots"),
    ],
)
def test_invalid_field_is_named(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        CustomerSchema().load(customer_payload(**{field: value}))
    assert field in info.value.messages


def test_unknown_field_is_rejected_by_name() -> None:
    with pytest.raises(ValidationError) as info:
        CustomerSchema().load(customer_payload(favourite_colour="red"))
    assert "favourite_colour" in info.value.messages


def test_nested_holding_error_names_the_field() -> None:
    bad = customer_payload(
        holdings=[
            {"product_id": "time_deposit", "open_date": "2026-01-01", "maturity_date": "2025-01-01"}
        ]
    )
    with pytest.raises(ValidationError) as info:
        CustomerSchema().load(bad)
    assert "maturity_date" in str(info.value.messages["holdings"])


def test_assessment_date_without_level_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        CustomerSchema().load(customer_payload(risk_level=None))
    assert "risk_level" in info.value.messages


def test_round_trip_through_schema() -> None:
    customer = make_customer(name="王小明", phone="13800138000")
    again = CustomerSchema().load(CustomerSchema().dump(customer))
    assert again == customer
    assert "王小明" not in repr(customer)
    assert "13800138000" not in repr(customer)


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("2000-02-29", "2026-02-28", 25),
        ("2000-02-29", "2026-03-01", 26),
        ("1990-09-30", "2026-09-30", 36),
    ],
)
def test_age_on(born: str, on: str, age: int) -> None:
    assert age_on(dt.date.fromisoformat(born), dt.date.fromisoformat(on)) == age


@pytest.mark.parametrize(
    ("aum", "tier"),
    [
        (0, "ordinary"),
        (199_999.99, "ordinary"),
        (200_000, "gold"),
        (500_000, "gold_plus"),
        (1_000_000, "platinum"),
        (3_000_000, "platinum_plus"),
        (5_000_000, "diamond"),
        (9_999_999, "diamond"),
        (10_000_000, "black_gold"),
    ],
)
def test_tier_thresholds_come_from_config(bank, aum: float, tier: str) -> None:
    assert tier_of(aum, bank).code == tier


def test_value_classes(bank) -> None:
    rich = make_customer(aum=2_000_000)
    costly = make_customer(
        aum=0, salary_via_bank=False, holdings=[], channel_habits={"counter_visits_90d": 30}
    )
    growing = make_customer(aum=50_000, monthly_income=20_000)
    assert value_class_of(rich, bank, AS_OF) == "MVC"
    assert value_class_of(costly, bank, AS_OF) == "BZC"
    assert value_class_of(growing, bank, AS_OF) == "MGC"
    older = make_customer(aum=50_000, monthly_income=20_000, birth_date="1960-01-01")
    assert value_class_of(older, bank, AS_OF) == "standard"


def test_bank_config_rejects_unordered_tiers(tmp_path, settings) -> None:
    text = settings.bank_config_path.read_text(encoding="utf-8")
    broken = tmp_path / "bank.yaml"
    broken.write_text(text.replace("min_aum: 500000", "min_aum: 100000"), encoding="utf-8")
    with pytest.raises(BankConfigError, match=r"gold_plus.*min_aum"):
        load_bank_config(broken)
