"""Each suitability and eligibility rule, at and around its boundary."""

from __future__ import annotations

import datetime as dt

import pytest
from rules_factories import AS_OF, Run, born_aged, make_customer

from recsvc.catalog import Catalogue
from recsvc.customers import BankConfig, Holding
from recsvc.rules import REASON_CODES, RulesConfig, Verdict, evaluate


def codes_of(verdict: Verdict, product_id: str) -> list[str]:
    return [e.code for e in verdict.reasons_for(product_id)]


def test_baseline_customer_is_offered_everything_but_auto_repay(
    run: Run, catalogue: Catalogue
) -> None:
    verdict = run(make_customer())
    assert verdict.eligible_ids == tuple(i for i in catalogue.ids if i != "auto_repay")
    assert codes_of(verdict, "auto_repay") == ["ELIGIBILITY_REQUIRED_HOLDING"]
    assert verdict.next_actions == ()


@pytest.mark.parametrize("channel", ["teller", "manager", "self_service"])
def test_no_consent_excludes_everything_and_suggests_nothing(
    run: Run, catalogue: Catalogue, channel: str
) -> None:
    customer = make_customer(consent_marketing=False, risk_level=None, assessment_date=None)
    verdict = run(customer, channel=channel)
    assert verdict.eligible == ()
    assert {e.product_id for e in verdict.excluded} == set(catalogue.ids)
    assert all(codes_of(verdict, pid)[0] == "NO_CONSENT" for pid in catalogue.ids)
    assert verdict.next_actions == ()


def test_open_complaint_excludes_everything(run: Run, catalogue: Catalogue) -> None:
    verdict = run(make_customer(open_complaint=True, assessment_date=dt.date(2025, 1, 1)))
    assert verdict.eligible == ()
    assert all(codes_of(verdict, pid)[0] == "OPEN_COMPLAINT" for pid in catalogue.ids)
    assert verdict.next_actions == ()


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_risk_never_above_customer_level(run: Run, catalogue: Catalogue, level: int) -> None:
    verdict = run(make_customer(risk_level=level))
    for product in catalogue:
        if product.eligibility.required_holdings:
            continue  # excluded for another reason whatever the level
        risky = product.risk_level is not None and product.risk_level > level
        assert (product in verdict.eligible) is not risky, product.product_id
        if risky:
            assert "RISK_ABOVE_CUSTOMER_LEVEL" in codes_of(verdict, product.product_id)


def test_c1_gets_r1_only(run: Run) -> None:
    verdict = run(make_customer(risk_level=1))
    rated = {p.product_id for p in verdict.eligible if p.risk_level is not None}
    assert rated == {"salary_wealth", "insurance_protection", "gov_bond"}
    assert codes_of(verdict, "wealth_r2") == ["RISK_ABOVE_CUSTOMER_LEVEL"]


@pytest.mark.parametrize(
    ("risk_level", "assessed", "code"),
    [
        (None, None, "ASSESSMENT_MISSING"),
        (3, None, "ASSESSMENT_MISSING"),  # a level without a date cannot be shown to be valid
        (3, AS_OF + dt.timedelta(days=1), "ASSESSMENT_MISSING"),  # not yet taken at as_of
        (3, AS_OF - dt.timedelta(days=366), "ASSESSMENT_EXPIRED"),
        (5, dt.date(2020, 1, 1), "ASSESSMENT_EXPIRED"),
    ],
)
def test_missing_or_expired_assessment_allows_r1_only(
    run: Run, risk_level: int | None, assessed: dt.date | None, code: str
) -> None:
    verdict = run(make_customer(risk_level=risk_level, assessment_date=assessed))
    for product in verdict.eligible:
        assert product.risk_level is None or product.risk_level <= 1, product.product_id
    assert codes_of(verdict, "wealth_r2")[0] == code
    assert "salary_wealth" in verdict.eligible_ids
    assert [a.code for a in verdict.next_actions] == ["REDO_RISK_ASSESSMENT"]


@pytest.mark.parametrize(
    ("days_ago", "expired", "actions"),
    [
        (0, False, []),
        (334, False, []),
        (335, False, ["ASSESSMENT_EXPIRING"]),  # 30 days left
        (365, False, ["ASSESSMENT_EXPIRING"]),  # last valid day
        (366, True, ["REDO_RISK_ASSESSMENT"]),
    ],
)
def test_assessment_validity_boundaries(
    run: Run, days_ago: int, expired: bool, actions: list[str]
) -> None:
    verdict = run(make_customer(assessment_date=AS_OF - dt.timedelta(days=days_ago)))
    assert ("ASSESSMENT_EXPIRED" in codes_of(verdict, "wealth_r3")) is expired
    assert [a.code for a in verdict.next_actions] == actions


@pytest.mark.parametrize(
    ("age", "product_id", "minor"),
    [
        (17, "credit_card", True),
        (17, "wealth_r2", True),
        (17, "securities_depository", True),  # investment category, even unrated
        (17, "insurance_protection", True),  # rated insurance
        (0, "gov_bond", True),
        (17, "mobile_banking", False),
        (17, "time_deposit", False),
        (18, "credit_card", False),
    ],
)
def test_minors(run: Run, age: int, product_id: str, minor: bool) -> None:
    verdict = run(make_customer(birth_date=born_aged(age)))
    assert ("AGE_MINOR" in codes_of(verdict, product_id)) is minor
    if not minor and age >= 18:
        assert product_id in verdict.eligible_ids


def test_minor_gets_no_redo_assessment_action(run: Run) -> None:
    verdict = run(make_customer(birth_date=born_aged(15), risk_level=None, assessment_date=None))
    assert verdict.next_actions == ()
    assert set(verdict.eligible_ids) <= {
        "sms_alert",
        "online_banking",
        "mobile_banking",
        "time_deposit",
    }


@pytest.mark.parametrize(
    ("age", "product_id", "elderly"),
    [
        (64, "wealth_r4", False),
        (65, "wealth_r4", True),
        (65, "wealth_r5", True),
        (65, "wealth_r3", False),
        (79, "fund_plan", False),
        (80, "wealth_r3", True),
        (80, "fund_plan", True),
        (80, "wealth_r2", False),
        (95, "physical_gold", False),
    ],
)
def test_elderly(run: Run, age: int, product_id: str, elderly: bool) -> None:
    verdict = run(make_customer(birth_date=born_aged(age)))
    assert ("AGE_ELDERLY" in codes_of(verdict, product_id)) is elderly


@pytest.mark.parametrize(
    ("held", "product_id", "code_expected"),
    [
        ("credit_card", "credit_card", True),
        ("mobile_banking", "mobile_banking", True),
        ("fund_plan", "fund_plan", True),
        ("wealth_r2", "wealth_r2", False),  # repeatable
        ("time_deposit", "time_deposit", False),
    ],
)
def test_already_held(run: Run, held: str, product_id: str, code_expected: bool) -> None:
    verdict = run(make_customer(holdings=(Holding(held),)))
    assert ("ALREADY_HELD" in codes_of(verdict, product_id)) is code_expected
    assert (product_id in verdict.eligible_ids) is not code_expected


@pytest.mark.parametrize(
    ("overrides", "product_id", "code", "excluded"),
    [
        ({"birth_date": born_aged(70)}, "insurance_regular", "ELIGIBILITY_AGE", False),
        ({"birth_date": born_aged(71)}, "insurance_regular", "ELIGIBILITY_AGE", True),
        ({"birth_date": born_aged(76)}, "insurance_protection", "ELIGIBILITY_AGE", True),
        ({"birth_date": born_aged(17)}, "time_deposit", "ELIGIBILITY_AGE", False),
        ({"birth_date": born_aged(17)}, "large_cd", "ELIGIBILITY_AGE", True),
        ({"aum": 200_000}, "large_cd", "ELIGIBILITY_AUM", False),
        ({"aum": 199_999.99}, "large_cd", "ELIGIBILITY_AUM", True),
        ({"aum": 9_999}, "wealth_r2", "ELIGIBILITY_AUM", True),
        ({"aum": 49_999}, "wealth_r4", "ELIGIBILITY_AUM", True),
        ({"monthly_income": 3000}, "credit_card", "ELIGIBILITY_INCOME", False),
        ({"monthly_income": 2999}, "credit_card", "ELIGIBILITY_INCOME", True),
        ({"aum": 1_000_000}, "wealth_r5", "ELIGIBILITY_TIER", False),
        ({"aum": 999_999}, "wealth_r5", "ELIGIBILITY_TIER", True),
        ({"aum": 50_000_000}, "wealth_r5", "ELIGIBILITY_TIER", False),
        ({}, "auto_repay", "ELIGIBILITY_REQUIRED_HOLDING", True),
        (
            {"holdings": (Holding("credit_card"),)},
            "auto_repay",
            "ELIGIBILITY_REQUIRED_HOLDING",
            False,
        ),
    ],
)
def test_product_eligibility(
    run: Run, overrides: dict[str, object], product_id: str, code: str, excluded: bool
) -> None:
    verdict = run(make_customer(**overrides))
    assert (code in codes_of(verdict, product_id)) is excluded


@pytest.mark.parametrize(
    ("channel", "product_id", "allowed"),
    [
        ("teller", "wealth_r4", False),
        ("manager", "wealth_r4", True),
        ("self_service", "wealth_r5", False),
        ("teller", "securities_depository", False),
        ("self_service", "securities_depository", True),
        ("self_service", "wealth_r3", False),
        ("teller", "mobile_banking", True),
    ],
)
def test_channel(run: Run, channel: str, product_id: str, allowed: bool) -> None:
    verdict = run(make_customer(), channel=channel)
    assert ("CHANNEL_NOT_ALLOWED" in codes_of(verdict, product_id)) is not allowed
    assert (product_id in verdict.eligible_ids) is allowed


@pytest.mark.parametrize(
    ("days_ago", "excluded"), [(0, True), (29, True), (30, False), (365, False), (-3, True)]
)
def test_recently_declined(run: Run, days_ago: int, excluded: bool) -> None:
    declined = {"credit_card": AS_OF - dt.timedelta(days=days_ago)}
    verdict = run(make_customer(), recent_declines=declined)
    assert (codes_of(verdict, "credit_card") == ["RECENTLY_DECLINED"]) is excluded
    assert "gold_plan" in verdict.eligible_ids


@pytest.mark.parametrize("channel", ["counter", "", "Teller"])
def test_unknown_channel_is_named(
    rules_config: RulesConfig, catalogue: Catalogue, bank: BankConfig, channel: str
) -> None:
    kwargs = {"channel": channel, "as_of": AS_OF, "rules": rules_config, "bank": bank}
    with pytest.raises(ValueError, match=repr(channel)):
        evaluate(make_customer(), catalogue, **kwargs)


def test_all_codes_reported_primary_first(run: Run) -> None:
    minor_no_assessment = make_customer(
        birth_date=born_aged(12), risk_level=None, assessment_date=None, aum=0
    )
    verdict = run(minor_no_assessment, channel="teller")
    assert codes_of(verdict, "wealth_r5") == [
        "AGE_MINOR",
        "ASSESSMENT_MISSING",
        "ELIGIBILITY_AGE",
        "ELIGIBILITY_TIER",
        "ELIGIBILITY_AUM",
        "CHANNEL_NOT_ALLOWED",
    ]
    for product_id in {e.product_id for e in verdict.excluded}:
        found = codes_of(verdict, product_id)
        assert found == sorted(found, key=REASON_CODES.index)
        assert verdict.primary_reason(product_id) == found[0]


def test_messages_come_from_rules_yaml(run: Run, rules_config: RulesConfig) -> None:
    verdict = run(make_customer(risk_level=None, assessment_date=None))
    exclusion = verdict.reasons_for("wealth_r3")[0]
    assert exclusion.message("zh-CN") == rules_config.reasons["ASSESSMENT_MISSING"]["zh-CN"]
    assert exclusion.message("en") == rules_config.reasons["ASSESSMENT_MISSING"]["en"]
    action = verdict.next_actions[0]
    assert action.message("en") == rules_config.next_actions["REDO_RISK_ASSESSMENT"]["en"]
    with pytest.raises(ValueError, match="'de'"):
        exclusion.message("de")
