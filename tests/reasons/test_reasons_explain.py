"""Hand-made contribution rows give the expected reasons; negative pushes never do."""

from __future__ import annotations

import math

import numpy as np
import pytest
from factories import AS_OF, make_customer
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recsvc.features.customer import CustomerFeaturizer
from recsvc.models.reasons import ReasonExplainer


def _rows(
    names: tuple[str, ...], values: dict[str, float], pushes: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """A neutral customer row (nothing any rule fires on) with some values and pushes set."""
    x = np.zeros(len(names), dtype=np.float32)
    x[names.index("age")] = 45.0
    x[names.index("income_stability")] = 2.0  # none
    x[names.index("risk_level")] = np.nan
    for name, value in values.items():
        x[names.index(name)] = value
    contrib = np.zeros(len(names) + 1)
    contrib[-1] = 5.0  # the bias is never a reason
    for name, push in pushes.items():
        contrib[names.index(name)] = push
    return x, contrib


def test_reasons_strongest_first(
    explainer: ReasonExplainer, feature_names: tuple[str, ...]
) -> None:
    x, contrib = _rows(
        feature_names,
        {"salary_via_bank": 1, "age": 26, "n_maturing_30d": 2, "mobile_logins_90d": 40},
        {"salary_via_bank": 0.4, "age": 0.9, "n_maturing_30d": 0.1, "mobile_logins_90d": 0.6},
    )
    reasons = explainer.explain(x, contrib)
    assert [r.code for r in reasons] == ["UNDER_30", "DIGITAL_USER", "SALARY_VIA_BANK"]
    assert [r.feature for r in reasons] == ["age", "mobile_logins_90d", "salary_via_bank"]
    assert [r.contribution for r in reasons] == pytest.approx([0.9, 0.6, 0.4])
    assert reasons[2].text("zh-CN") == "工资由我行代发"
    assert reasons[2].text("en") == "salary paid through us"
    assert reasons[2].short("zh-CN") == "您的工资由我行代发"
    assert [r.code for r in explainer.explain(x, contrib, top=5)][-1] == "DEPOSIT_MATURING"
    assert [r.code for r in explainer.explain(x, contrib, top=1)] == ["UNDER_30"]


def test_reasons_negative_contribution_never_a_reason(
    explainer: ReasonExplainer, feature_names: tuple[str, ...]
) -> None:
    x, contrib = _rows(
        feature_names,
        {"salary_via_bank": 1, "held_credit_card": 1, "age": 25},
        {"salary_via_bank": -0.8, "held_credit_card": 0.0, "age": 0.2},
    )
    assert [r.code for r in explainer.explain(x, contrib)] == ["UNDER_30"]


@pytest.mark.parametrize(
    ("feature", "value", "code"),
    [
        ("age", 29, "UNDER_30"),
        ("age", 30, None),
        ("age", 59, None),
        ("age", 60, "SENIOR"),
        ("salary_via_bank", 0, None),
        ("n_maturing_30d", 0, None),
        ("n_maturing_30d", 1, "DEPOSIT_MATURING"),
        ("n_small_cash_withdrawal", 3, "SMALL_CASH_AT_COUNTER"),
        ("max_cash_deposit_log", math.log1p(49_999), None),
        ("max_cash_deposit_log", math.log1p(50_000), "LARGE_DEPOSIT"),
        ("mobile_logins_90d", 9, None),
        ("mobile_logins_90d", 10, "DIGITAL_USER"),
        ("held_credit_card", 1, "HOLDS_CREDIT_CARD"),
        ("held_time_deposit", 1, "EXISTING_HOLDER"),  # prefix rule after the specific ones
        ("held_time_deposit", 0, None),
        ("income_stability", 0, "STABLE_INCOME"),
        ("income_stability", 1, None),
        ("aum_log", math.log1p(199_999), None),
        ("aum_log", math.log1p(200_000), "WEALTH_CUSTOMER"),
        ("risk_level", 2, None),
        ("risk_level", 3, "RISK_APPETITE"),
        ("risk_level", float("nan"), None),  # unassessed
    ],
)
def test_reasons_value_condition(
    explainer: ReasonExplainer,
    feature_names: tuple[str, ...],
    feature: str,
    value: float,
    code: str | None,
) -> None:
    x, contrib = _rows(feature_names, {feature: value}, {feature: 1.0})
    reasons = explainer.explain(x, contrib)
    assert [r.code for r in reasons] == [code or "PROFILE_MATCH"]


def test_reasons_fallback(explainer: ReasonExplainer, feature_names: tuple[str, ...]) -> None:
    x, contrib = _rows(feature_names, {}, {"age": 2.0, "tier_index": 1.0})
    (reason,) = explainer.explain(x, contrib)
    assert (reason.code, reason.feature, reason.contribution) == ("PROFILE_MATCH", None, 0.0)
    assert reason.text("zh-CN") == "与您的情况匹配"
    assert reason.text("en") == "matches your profile"
    assert explainer.explain(x, contrib, top=0) == []


def test_reasons_dedup_by_code_keeps_strongest(
    explainer: ReasonExplainer, feature_names: tuple[str, ...]
) -> None:
    held = {"held_time_deposit": 1, "held_sms_alert": 1, "held_gov_bond": 1}
    x, contrib = _rows(
        feature_names, held, {"held_time_deposit": 0.2, "held_sms_alert": 0.5, "held_gov_bond": 0.3}
    )
    reasons = explainer.explain(x, contrib)
    assert [(r.code, r.feature) for r in reasons] == [("EXISTING_HOLDER", "held_sms_alert")]


def test_reasons_ties_break_by_feature_order(
    explainer: ReasonExplainer, feature_names: tuple[str, ...]
) -> None:
    values = {"mobile_logins_90d": 20, "salary_via_bank": 1, "age": 22}
    x, contrib = _rows(feature_names, values, dict.fromkeys(values, 0.5))
    expected = sorted(values, key=feature_names.index)
    assert [r.feature for r in explainer.explain(x, contrib)] == expected


@pytest.mark.parametrize(
    ("overrides", "feature", "code"),
    [
        (
            {
                "recent_transactions": [
                    {"type": "cash_deposit", "amount": 50_000, "date": "2026-09-20"}
                ]
            },
            "max_cash_deposit_log",
            "LARGE_DEPOSIT",
        ),
        ({"aum": 200_000}, "aum_log", "WEALTH_CUSTOMER"),  # float32 rounds ln(200001) down
    ],
)
def test_reasons_boundary_through_the_float32_featurizer(
    explainer: ReasonExplainer,
    featurizer: CustomerFeaturizer,
    feature_names: tuple[str, ...],
    overrides: dict[str, object],
    feature: str,
    code: str,
) -> None:
    x = featurizer.transform_one(make_customer(**overrides), AS_OF)[0]
    assert x.dtype == np.float32
    contrib = np.zeros(len(feature_names) + 1)
    contrib[feature_names.index(feature)] = 1.0
    assert [r.code for r in explainer.explain(x, contrib)] == [code]


def test_reasons_shape_mismatch_is_refused(
    explainer: ReasonExplainer, feature_names: tuple[str, ...]
) -> None:
    x = np.zeros(len(feature_names))
    with pytest.raises(ValueError, match="last = bias"):
        explainer.explain(x, np.zeros(len(feature_names)))


@given(data=st.data())
def test_reasons_only_positive_pushes_whose_value_fits(
    explainer: ReasonExplainer, feature_names: tuple[str, ...], data: st.DataObject
) -> None:
    n = len(feature_names)
    floats = st.floats(-3, 3, allow_nan=False, width=32)
    x = data.draw(hnp.arrays(np.float32, n, elements=st.floats(0, 100, width=32)))
    contrib = data.draw(hnp.arrays(np.float64, n + 1, elements=floats))
    reasons = explainer.explain(x, contrib, top=4)
    assert 1 <= len(reasons) <= 4
    codes = [r.code for r in reasons]
    assert len(set(codes)) == len(codes)
    real = [r for r in reasons if r.feature is not None]
    assert len(real) in (0, len(reasons))
    for r in real:
        i = feature_names.index(r.feature)  # type: ignore[arg-type]
        assert contrib[i] > 0 and r.contribution == contrib[i]
    assert [r.contribution for r in real] == sorted((r.contribution for r in real), reverse=True)
