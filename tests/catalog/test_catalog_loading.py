"""The packaged catalogue loads, keeps its order, and reads like the bank's product table."""

from __future__ import annotations

import dataclasses
import json

import pytest

from recsvc.catalog import Catalogue, catalogue_to_json

EXPECTED_IDS = (
    "credit_card",
    "auto_repay",
    "sms_alert",
    "online_banking",
    "mobile_banking",
    "salary_wealth",
    "wealth_r2",
    "wealth_r3",
    "wealth_r4",
    "wealth_r5",
    "fund_plan",
    "gold_plan",
    "physical_gold",
    "insurance_regular",
    "insurance_protection",
    "time_deposit",
    "large_cd",
    "gov_bond",
    "securities_depository",
)


def test_catalogue_has_the_fixed_ids_in_order(catalogue: Catalogue) -> None:
    assert catalogue.ids == EXPECTED_IDS
    assert len(catalogue) == 19
    assert [p.product_id for p in catalogue] == list(EXPECTED_IDS)
    assert catalogue.products == tuple(catalogue)


def test_get_and_contains(catalogue: Catalogue) -> None:
    product = catalogue.get("wealth_r3")
    assert product is not None and product.names["zh-CN"] and product.risk_level == 3
    assert catalogue.get("no_such_product") is None
    assert "gov_bond" in catalogue and "no_such_product" not in catalogue


def test_catalogue_is_immutable(catalogue: Catalogue) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.products = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.products[0].value = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("product_id", "risk", "min_age", "min_aum", "repeatable", "dual"),
    [
        ("credit_card", None, 18, 0, False, False),
        ("sms_alert", None, None, 0, False, False),
        ("salary_wealth", 1, 18, 0, False, False),
        ("wealth_r2", 2, 18, 10000, True, True),
        ("wealth_r3", 3, 18, 10000, True, True),
        ("wealth_r4", 4, 18, 50000, True, True),
        ("wealth_r5", 5, 18, 1000000, True, True),
        ("fund_plan", 3, 18, 0, False, False),
        ("physical_gold", 2, 18, 0, True, False),
        ("insurance_regular", 2, 18, 0, True, True),
        ("insurance_protection", 1, 18, 0, False, False),
        ("time_deposit", None, None, 0, True, False),
        ("large_cd", None, 18, 200000, True, False),
        ("gov_bond", 1, 18, 0, True, False),
        ("securities_depository", None, 18, 0, False, False),
    ],
)
def test_products_match_the_bank_table(
    catalogue: Catalogue,
    product_id: str,
    risk: int | None,
    min_age: int | None,
    min_aum: float,
    repeatable: bool,
    dual: bool,
) -> None:
    product = catalogue.get(product_id)
    assert product is not None
    assert product.risk_level == risk
    assert product.eligibility.min_age == min_age
    assert product.eligibility.min_aum == min_aum
    assert product.repeatable is repeatable
    assert product.dual_recording is dual


def test_eligibility_details(catalogue: Catalogue) -> None:
    get = catalogue.get
    assert get("credit_card").eligibility.min_monthly_income == 3000  # type: ignore[union-attr]
    assert get("auto_repay").eligibility.required_holdings == ("credit_card",)  # type: ignore[union-attr]
    assert get("insurance_regular").eligibility.max_age == 70  # type: ignore[union-attr]
    assert get("insurance_protection").eligibility.max_age == 75  # type: ignore[union-attr]
    assert get("wealth_r5").eligibility.tiers == (  # type: ignore[union-attr]
        "platinum",
        "platinum_plus",
        "diamond",
        "black_gold",
    )
    assert get("time_deposit").term_months == 12  # type: ignore[union-attr]
    assert get("large_cd").term_months == 36  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("product_id", "channels"),
    [
        ("wealth_r5", {"manager"}),
        ("wealth_r4", {"manager"}),
        ("securities_depository", {"manager", "self_service"}),
        ("mobile_banking", {"teller", "manager", "self_service"}),
    ],
)
def test_channels(catalogue: Catalogue, product_id: str, channels: set[str]) -> None:
    product = catalogue.get(product_id)
    assert product is not None and product.channels == channels


def test_effective_risk_is_the_higher_of_bank_and_issuer(catalogue: Catalogue) -> None:
    fund = catalogue.get("fund_plan")
    assert fund is not None
    assert (fund.bank_risk_level, fund.issuer_risk_level, fund.risk_level) == (3, 2, 3)


def test_values_are_realistic(catalogue: Catalogue) -> None:
    values = {p.product_id: p.value for p in catalogue}
    assert values["insurance_regular"] > values["wealth_r3"] > values["credit_card"]
    assert values["credit_card"] > values["mobile_banking"] > 0


def test_wire_form(catalogue: Catalogue) -> None:
    wire = catalogue_to_json(catalogue)
    assert [row["product_id"] for row in wire] == list(EXPECTED_IDS)
    by_id = {row["product_id"]: row for row in wire}
    assert by_id["wealth_r3"]["risk_level"] == "R3"
    assert by_id["credit_card"]["risk_level"] is None
    assert by_id["fund_plan"]["issuer_risk_level"] == "R2"
    assert by_id["securities_depository"]["channels"] == ["manager", "self_service"]
    assert by_id["wealth_r5"]["eligibility"]["tiers"][0] == "platinum"
    json.dumps(wire, ensure_ascii=False)  # plain JSON types only
