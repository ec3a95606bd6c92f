"""Every pitch template is clean and short; the wording check catches promises and yields."""

from __future__ import annotations

import pytest

from recsvc.catalog import Catalogue, WordingRules, find_banned_wording, template_placeholders
from recsvc.catalog.product import LOCALES, Product
from recsvc.catalog.wording import PLACEHOLDERS

LONG_SALUTATION = {"zh-CN": "欧阳女士", "en": "Ms. Ouyang-Fairweather"}
LONG_REASON = {"zh-CN": "您的工资每月由我行代发", "en": "your salary is paid through our bank"}
NOTICE = "理财非存款，产品有风险，投资须谨慎"


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("这款理财保本保收益", "zh-CN", ["保本", "保收益"]),
        ("稳赚不赔，零风险", "zh-CN", ["稳赚", "零风险", "稳赚不赔"]),
        ("无风险，刚兑", "zh-CN", ["无风险", "刚兑"]),
        ("年化收益可达4.5%", "zh-CN", ["年化", "4.5%"]),
        ("收益 3 ％", "zh-CN", ["3 ％"]),
        ("A Guaranteed return", "en", ["guaranteed", "guarantee"]),
        ("totally RISK-FREE", "en", ["risk-free"]),
        ("yields 4.5 % a year", "en", ["yield", "4.5 %"]),
        ("about 3% more", "en", ["3%"]),
        ("{salutation}，开通{product}，转账更方便。", "zh-CN", []),
        ("{salutation}, would you like {product}?", "en", []),
        ("手机银行", "zh-CN", []),
    ],
)
def test_find_banned_wording(text: str, locale: str, expected: list[str]) -> None:
    assert sorted(find_banned_wording(text, locale)) == sorted(expected)


def test_unknown_locale_is_named() -> None:
    with pytest.raises(ValueError, match="'fr'"):
        find_banned_wording("bonjour", "fr")


def test_banned_list_is_data(wording: WordingRules) -> None:
    custom = WordingRules(
        banned_phrases={"zh-CN": ("爆款",), "en": ()},
        banned_patterns=(),
        max_pitch_chars=wording.max_pitch_chars,
        sample_salutation=wording.sample_salutation,
        sample_reason=wording.sample_reason,
    )
    assert find_banned_wording("爆款保本", "zh-CN", custom) == ["爆款"]


def _templates(catalogue: Catalogue) -> list[tuple[Product, str, str]]:
    return [(p, loc, t) for p in catalogue for loc in LOCALES for t in p.pitch_templates[loc]]


def test_every_product_has_two_templates_per_locale(catalogue: Catalogue) -> None:
    for product in catalogue:
        assert set(product.pitch_templates) == set(LOCALES), product.product_id
        for locale in LOCALES:
            assert len(product.pitch_templates[locale]) >= 2, (product.product_id, locale)


def test_every_template_is_clean_short_and_well_formed(
    catalogue: Catalogue, wording: WordingRules
) -> None:
    for product, locale, template in _templates(catalogue):
        where = (product.product_id, locale, template)
        assert set(template_placeholders(template)) <= set(PLACEHOLDERS), where
        rendered = template.format(
            salutation=LONG_SALUTATION[locale],
            product=product.name(locale),
            reason=LONG_REASON[locale],
        )
        assert find_banned_wording(rendered, locale) == [], where
        assert "%" not in rendered and "％" not in rendered, where
        assert len(rendered) <= wording.max_pitch_chars[locale], where
        if locale == "zh-CN":
            assert len(rendered) <= 60, where


def test_investment_and_rated_insurance_carry_a_notice(catalogue: Catalogue) -> None:
    for product in catalogue:
        rated_insurance = product.category == "insurance" and product.risk_level is not None
        if product.category == "investment" or rated_insurance:
            assert product.risk_notice is not None, product.product_id
            assert set(product.risk_notice) == set(LOCALES), product.product_id


def test_wealth_notices_say_not_a_deposit(catalogue: Catalogue) -> None:
    wealth = [p for p in catalogue if p.family in ("wealth", "cash_management")]
    assert len(wealth) == 5
    for product in wealth:
        assert product.risk_notice is not None and NOTICE in product.risk_notice["zh-CN"]


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("{salutation}，{product}", ["salutation", "product"]),
        ("plain text", []),
        ("{reason}", ["reason"]),
    ],
)
def test_template_placeholders(template: str, names: list[str]) -> None:
    assert template_placeholders(template) == names


@pytest.mark.parametrize("template", ["{product!r}", "{product:>10}", "{unclosed"])
def test_malformed_placeholders_raise(template: str) -> None:
    with pytest.raises(ValueError):
        template_placeholders(template)
