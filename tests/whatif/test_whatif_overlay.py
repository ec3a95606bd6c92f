"""The overlay: a strict schema (an unknown key or a wrong type is an error naming the field),
changes applied to the configured rules, weights, catalogue and contact policy, and every
loosening of a legal suitability limit (recsvc/data/law.yaml) refused, naming the rule."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recsvc.catalog import load_catalogue
from recsvc.catalog.product import CATEGORIES
from recsvc.config import Settings
from recsvc.customers import load_bank_config
from recsvc.rules import load_rules_config
from recsvc.service.config import load_service_config
from recsvc.service.law import load_law
from recsvc.service.overlay import (
    DecisionConfig,
    IllegalOverlay,
    OverlayError,
    apply_overlay,
    parse_overlay,
)

SETTINGS = Settings()
BASE = DecisionConfig(
    catalogue=load_catalogue(SETTINGS.catalogue_path),
    rules=load_rules_config(SETTINGS.rules_config_path),
    service_config=load_service_config(SETTINGS.service_config_path),
)
BANK = load_bank_config(SETTINGS.bank_config_path)
LAW = load_law()
RATED = [p for p in BASE.catalogue.products if p.risk_level is not None]


def applied(overlay: dict[str, Any]) -> DecisionConfig:
    data = parse_overlay(yaml.safe_dump(overlay, allow_unicode=True))
    return apply_overlay(BASE, data, bank=BANK, law=LAW)


def refused(overlay: dict[str, Any]) -> IllegalOverlay:
    with pytest.raises(IllegalOverlay) as caught:
        applied(overlay)
    return caught.value


# ---- the schema --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overlay", "field"),
    [
        ({"rules": {"assessment": {"validity_dayz": 300}}}, "rules.assessment.validity_dayz"),
        ({"servic": {}}, "servic"),
        ({"service": {"arbitration": {"product_weights": {"credit_card": "two"}}}},
         "service.arbitration.product_weights.credit_card"),
        ({"service": {"arbitration": {"product_weights": {"credit_card": -1}}}},
         "service.arbitration.product_weights.credit_card"),
        ({"service": {"arbitration": {"family_weights": {"cards": 2}}}},
         "service.arbitration.family_weights.cards"),
        ({"service": {"contact_policy": {"max_products_per_day": "1"}}},
         "service.contact_policy.max_products_per_day"),
        ({"rules": {"age": {"elderly": [{"from_age": 65, "max_risk": "R9"}]}}},
         "rules.age.elderly[0].max_risk"),
        ({"rules": {"fatigue": {"declined_days": 0}}}, "rules.fatigue.declined_days"),
        ({"catalogue": {"credit_card": {"eligibility": {"min_age": "x"}}}},
         "catalogue.credit_card.eligibility.min_age"),
        ({"catalogue": {"credit_card": {"channels": ["counter"]}}},
         "catalogue.credit_card.channels[0]"),
        ({"catalogue": {"credit_card": {"value": 900}}}, "catalogue.credit_card.value"),
        ({"catalogue": {"credit_card": {"eligibility": {"min_aum": True}}}},
         "catalogue.credit_card.eligibility.min_aum"),
        ({"rules": {"assessment": {"validity_days": 300.5}}}, "rules.assessment.validity_days"),
    ],
)  # fmt: skip
def test_an_unknown_key_or_a_wrong_type_is_an_error_naming_the_field(
    overlay: dict[str, Any], field: str
) -> None:
    with pytest.raises(OverlayError) as caught:
        applied(overlay)
    assert not isinstance(caught.value, IllegalOverlay)
    assert field in caught.value.errors, caught.value.errors
    assert f"'{field}'" in str(caught.value)


@pytest.mark.parametrize(
    ("overlay", "field"),
    [
        ({"service": {"arbitration": {"product_weights": {"platinum_card": 2}}}},
         "service.arbitration.product_weights.platinum_card"),
        ({"catalogue": {"platinum_card": {"channels": ["teller"]}}}, "catalogue.platinum_card"),
        ({"catalogue": {"credit_card": {"eligibility": {"tiers": ["gold", "silver"]}}}},
         "catalogue.credit_card.eligibility.tiers"),
        ({"catalogue": {"credit_card": {"eligibility": {"min_age": 40, "max_age": 30}}}},
         "catalogue.credit_card.eligibility.max_age"),
        ({"rules": {"age": {"elderly": [{"from_age": 65, "max_risk": "R2"},
                                        {"from_age": 80, "max_risk": "R3"}]}}},
         "rules.age.elderly"),
    ],
)  # fmt: skip
def test_a_product_tier_or_ladder_that_does_not_exist_is_an_error_naming_the_field(
    overlay: dict[str, Any], field: str
) -> None:
    with pytest.raises(OverlayError) as caught:
        applied(overlay)
    assert field in caught.value.errors, caught.value.errors


@pytest.mark.parametrize("text", ["[1, 2]", "service: [", "just text"])
def test_an_overlay_that_is_not_a_yaml_mapping_is_an_error(text: str) -> None:
    with pytest.raises(OverlayError) as caught:
        parse_overlay(text)
    assert "_file" in caught.value.errors


def test_an_overlay_changes_what_it_names_and_keeps_the_rest() -> None:
    after = applied({
        "service": {"arbitration": {"product_weights": {"credit_card": 2.0}},
                    "contact_policy": {"max_products_per_day": 2}},
        "rules": {"fatigue": {"declined_days": 60}},
        "catalogue": {"credit_card": {"eligibility": {"min_monthly_income": 8000},
                                      "channels": ["manager"]}},
    })  # fmt: skip
    assert after.service_config.weight("credit_card", "credit_card") == 2.0
    assert after.service_config.family_weights == BASE.service_config.family_weights
    assert after.service_config.max_products_per_day == 2
    assert after.rules.declined_fatigue_days == 60
    assert after.rules.assessment_validity_days == BASE.rules.assessment_validity_days
    card, was = after.catalogue.get("credit_card"), BASE.catalogue.get("credit_card")
    assert card is not None and was is not None
    assert card.eligibility.min_monthly_income == 8000
    assert card.eligibility.min_age == was.eligibility.min_age
    assert card.channels == frozenset({"manager"})
    assert after.catalogue.ids == BASE.catalogue.ids
    assert BASE.service_config.product_weights.get("credit_card", 1.0) == 1.0  # not mutated


# ---- the law: every loosening refused, every tightening accepted ---------------------------

LAW_PROPERTY = settings(max_examples=60, deadline=None)


@LAW_PROPERTY
@given(st.integers(1, 5))
def test_the_unassessed_limit_never_rises_above_the_law(level: int) -> None:
    overlay = {"rules": {"assessment": {"unassessed_max_risk": f"R{level}"}}}
    if level > LAW.unassessed_max_risk:
        error = refused(overlay)
        assert {"ASSESSMENT_MISSING", "ASSESSMENT_EXPIRED"} <= set(error.rules)
        assert "ASSESSMENT_MISSING" in str(error)
        assert "rules.assessment.unassessed_max_risk" in error.errors
    else:
        assert applied(overlay).rules.unassessed_max_risk == level


@LAW_PROPERTY
@given(st.integers(1, 3650))
@example(LAW.validity_days)
@example(LAW.validity_days + 1)
def test_an_assessment_is_never_valid_for_longer_than_the_law_allows(days: int) -> None:
    overlay = {"rules": {"assessment": {"validity_days": days}}}
    if days > 365:
        error = refused(overlay)
        assert error.rules == ["ASSESSMENT_EXPIRED"]
        assert "rules.assessment.validity_days" in error.errors
    else:
        assert applied(overlay).rules.assessment_validity_days == days


@LAW_PROPERTY
@given(st.integers(0, 150))
@example(LAW.minor_below)
@example(LAW.minor_below - 1)
def test_minors_are_never_younger_than_the_law_says(below: int) -> None:
    overlay = {"rules": {"age": {"minor_below": below}}}
    if below < 18:
        error = refused(overlay)
        assert error.rules == ["AGE_MINOR"] and "rules.age.minor_below" in error.errors
    else:
        assert applied(overlay).rules.minor_below == below


@LAW_PROPERTY
@given(st.sets(st.sampled_from(CATEGORIES)), st.sets(st.sampled_from(CATEGORIES)))
def test_minors_keep_every_category_the_law_bars(excluded: set[str], rated: set[str]) -> None:
    overlay = {"rules": {"age": {"minor_excluded_categories": sorted(excluded),
                                 "minor_excluded_rated_categories": sorted(rated)}}}  # fmt: skip
    legal = {"credit", "investment"} <= excluded and "insurance" in excluded | rated
    if legal:
        after = applied(overlay).rules
        assert after.minor_excluded_categories == frozenset(excluded)
    else:
        assert refused(overlay).rules == ["AGE_MINOR"]


@st.composite
def ladders(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A well-formed elderly ladder: ages ascending, each limit at least as strict."""
    ages = sorted(draw(st.sets(st.integers(0, 150), max_size=3)))
    risks = sorted(draw(st.lists(st.integers(1, 5), min_size=len(ages), max_size=len(ages))),
                   reverse=True)  # fmt: skip
    rows = []
    for age, risk in zip(ages, risks, strict=True):
        if rows and risk == rows[-1]["max_risk"]:
            continue
        rows.append({"from_age": age, "max_risk": risk})
    return [{"from_age": r["from_age"], "max_risk": f"R{r['max_risk']}"} for r in rows]


@LAW_PROPERTY
@given(ladders())
def test_the_elderly_limit_is_never_looser_than_the_law_from_65(
    ladder: list[dict[str, Any]],
) -> None:
    overlay = {"rules": {"age": {"elderly": ladder}}}
    at_65 = [int(r["max_risk"][1]) for r in ladder if r["from_age"] <= 65]
    if at_65 and at_65[-1] <= 3:
        assert len(applied(overlay).rules.elderly) == len(ladder)
    else:
        error = refused(overlay)
        assert error.rules == ["AGE_ELDERLY"] and "rules.age.elderly" in error.errors


@LAW_PROPERTY
@given(st.sampled_from(RATED), st.integers(1, 5))
def test_a_product_is_never_rated_below_its_catalogue_risk(product: Any, level: int) -> None:
    overlay = {"catalogue": {product.product_id: {"risk_level": f"R{level}"}}}
    if level < product.risk_level:
        error = refused(overlay)
        assert error.rules == ["RISK_ABOVE_CUSTOMER_LEVEL"]
        assert f"catalogue.{product.product_id}.risk_level" in error.errors
    else:
        rated = applied(overlay).catalogue.get(product.product_id)
        assert rated is not None and rated.risk_level == level


def test_an_overlay_loosening_several_rules_names_each() -> None:
    error = refused({
        "rules": {"assessment": {"validity_days": 730, "unassessed_max_risk": "R3"},
                  "age": {"minor_below": 16}},
        "service": {"arbitration": {"product_weights": {"credit_card": 2}}},
    })  # fmt: skip
    assert set(error.rules) == {
        "ASSESSMENT_EXPIRED", "ASSESSMENT_MISSING", "AGE_MINOR",
    }  # fmt: skip
    assert "refused: loosens the rule AGE_MINOR" in str(error)
