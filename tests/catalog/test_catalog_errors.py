"""A broken catalogue fails at load with a message naming the product and the field."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from recsvc.catalog import CatalogueError, load_catalogue

WEALTH_R3_RISK = "risk_level: R3\n    eligibility: {min_age: 18, min_aum: 10000}"

GOLD_PLAN_RISK = (
    "risk_level: R3\n    eligibility: {min_age: 18}\n"
    "    channels: [teller, manager, self_service]\n    repeatable: false\n    value: 300"
)
WEALTH_NOTICE = "理财非存款，产品有风险，投资须谨慎。\n      en: Wealth management products"

AUTO_REPAY_EN = '      en:\n        - "{salutation}, with {product} your card bill'

CASES = [
    # (old text, new text, product id, field, words in the message)
    (WEALTH_R3_RISK, WEALTH_R3_RISK.replace("R3", "R9"), "wealth_r3", "risk_level", "R1..R5"),
    ("family: gold_plan", "family: golden", "gold_plan", "family", "Must be one of"),
    ("channels: [manager]\n", "channels: [branch]\n", "wealth_r4", "channels[0]", "teller"),
    ("channels: [manager]\n", "channels: []\n", "wealth_r4", "channels", "minimum length"),
    (
        "required_holdings: [credit_card]",
        "required_holdings: [no_such_product]",
        "auto_repay",
        "eligibility.required_holdings",
        "no_such_product",
    ),
    (
        "bank_risk_level: R3",
        "bank_risk_level: R3\n    risk_level: R2",
        "fund_plan",
        "risk_level",
        "higher of bank_risk_level and issuer_risk_level",
    ),
    (
        GOLD_PLAN_RISK,
        GOLD_PLAN_RISK.replace("R3", "null"),
        "gold_plan",
        "risk_level",
        "required for investment",
    ),
    (
        "      zh-CN: 积存金价格随国际金价波动，投资有风险，须谨慎。\n",
        "",
        "gold_plan",
        "risk_notice",
        "missing locale 'zh-CN'",
    ),
    (
        WEALTH_NOTICE,
        WEALTH_NOTICE.replace("理财非存款，", ""),
        "salary_wealth",
        "risk_notice.zh-CN",
        "理财非存款",
    ),
    (
        '- "{salutation}，{product}股债搭配',
        '- "{salutation}，{prodcut}股债搭配',
        "wealth_r3",
        "pitch_templates.zh-CN[0]",
        "prodcut",
    ),
    (
        "我行{product}主要投资债券类资产",
        "我行{product}保本，年化4.5%",
        "wealth_r2",
        "pitch_templates.zh-CN[0]",
        "4.5%",
    ),
    (
        "our {product} invests mainly in bonds.",
        "our {product} is risk-free.",
        "wealth_r2",
        "pitch_templates.en[0]",
        "risk-free",
    ),
    (
        "开通{product}，转账缴费在家就能办，不用排队。",
        "开通{product}，转账缴费在家就能办，不用排队，手续简单，随时随地，"
        "查询余额、购买产品、缴纳水电燃气费、办理信用卡还款都可以，欢迎试试。",
        "online_banking",
        "pitch_templates.zh-CN[0]",
        "too long",
    ),
    (
        AUTO_REPAY_EN,
        AUTO_REPAY_EN.replace("en:", "fr:"),
        "auto_repay",
        "pitch_templates.fr",
        "Must be one of: zh-CN, en",
    ),
    (
        AUTO_REPAY_EN,
        AUTO_REPAY_EN.replace("      en:\n", ""),
        "auto_repay",
        "pitch_templates",
        "missing locale 'en'",
    ),
    ("value: 3500", "value: -1", "wealth_r5", "value", "greater than or equal"),
    ("max_age: 70}", "max_age: 12}", "insurance_regular", "eligibility.max_age", "min_age"),
    ("product_id: large_cd", "product_id: time_deposit", "time_deposit", "product_id", "duplicate"),
    (
        "repeatable: false\n    value: 300",
        "repeatabel: false\n    value: 300",
        "credit_card",
        "repeatabel",
        "Unknown field",
    ),
]


@pytest.mark.parametrize(("old", "new", "product_id", "field", "words"), CASES)
def test_error_names_product_and_field(
    broken_catalogue: Callable[[str, str], Path],
    old: str,
    new: str,
    product_id: str,
    field: str,
    words: str,
) -> None:
    path = broken_catalogue(old, new)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    message = str(caught.value)
    assert f"catalogue.yaml: product '{product_id}': field '{field}'" in message
    assert words in message


def test_example_message_verbatim(broken_catalogue: Callable[[str, str], Path]) -> None:
    path = broken_catalogue(WEALTH_R3_RISK, WEALTH_R3_RISK.replace("R3", "R9"))
    with pytest.raises(
        CatalogueError,
        match="^"
        + re.escape(
            "catalogue.yaml: product 'wealth_r3': field 'risk_level': must be one of R1..R5"
        ),
    ):
        load_catalogue(path)


def test_unknown_tier_is_caught_when_tiers_are_given(
    broken_catalogue: Callable[[str, str], Path],
) -> None:
    path = broken_catalogue("tiers: [platinum,", "tiers: [platnum,")
    load_catalogue(path)  # without the bank's tiers the code cannot be checked
    with pytest.raises(
        CatalogueError, match=re.escape("product 'wealth_r5': field 'eligibility.tiers'")
    ):
        load_catalogue(path, tier_codes=["platinum", "platinum_plus", "diamond", "black_gold"])


@pytest.mark.parametrize("text", ["", "products: []\n", "just a string\n", "products: {a: 1}\n"])
def test_no_products(tmp_path: Path, text: str) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError, match="field 'products'"):
        load_catalogue(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "missing.yaml")
