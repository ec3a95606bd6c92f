"""Every template renders cleanly for any name; banned wording and missing notices stop a pitch."""

from __future__ import annotations

import dataclasses

import pytest
from factories import make_customer

from recsvc.catalog import (
    LOCALES,
    Catalogue,
    Product,
    WordingRules,
    find_banned_wording,
    load_catalogue,
)
from recsvc.config import Settings
from recsvc.customers import Customer
from recsvc.pitch import (
    PitchConfig,
    PitchText,
    PitchWordingError,
    choose_template,
    first_clean_pitch,
    render_pitch,
)

NAMES = ["欧阳娜娜", "王芳", None]
LONG_REASON = {"zh-CN": "您的工资每月由我行代发", "en": "your salary is paid through our bank"}


PRODUCT_IDS = list(load_catalogue(Settings().catalogue_path).ids)


def _get(catalogue: Catalogue, product_id: str) -> Product:
    product = catalogue.get(product_id)
    assert product is not None, product_id
    return product


def _credit_card(
    catalogue: Catalogue, config: PitchConfig, customer: Customer, locale: str, reason: str | None
) -> PitchText:
    """The credit card's pitch, variant 0 (the product several tests put words to)."""
    product = _get(catalogue, "credit_card")
    return render_pitch(product, customer, locale=locale, reason=reason, config=config)


def _with_templates(product: Product, locale: str, templates: tuple[str, ...]) -> Product:
    return dataclasses.replace(
        product, pitch_templates={**product.pitch_templates, locale: templates}
    )


@pytest.mark.parametrize("product_id", PRODUCT_IDS)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", NAMES)
def test_pitch_every_template_renders_clean_and_short(
    catalogue: Catalogue,
    pitch_config: PitchConfig,
    wording: WordingRules,
    product_id: str,
    locale: str,
    name: str | None,
) -> None:
    product = catalogue.get(product_id)
    assert product is not None
    customer = make_customer(name=name)
    rendered: set[int] = set()
    for reason in (None, LONG_REASON[locale]):
        for variant in range(len(product.pitch_templates[locale])):
            pitch = render_pitch(
                product,
                customer,
                locale=locale,
                reason=reason,
                config=pitch_config,
                variant=variant,
                wording=wording,
            )
            rendered.add(pitch.template_index)
            assert find_banned_wording(pitch.text, locale, wording) == []
            assert len(pitch.text) <= wording.max_pitch_chars[locale]
            assert "{" not in pitch.text and "}" not in pitch.text
            assert product.name(locale) in pitch.text
            if reason and "{reason}" in product.pitch_templates[locale][pitch.template_index]:
                assert reason in pitch.text
    assert rendered == set(range(len(product.pitch_templates[locale])))


def test_pitch_zh_limit_is_60_with_compound_surname(
    catalogue: Catalogue, pitch_config: PitchConfig, wording: WordingRules
) -> None:
    assert wording.max_pitch_chars["zh-CN"] == 60
    customer = make_customer(name="欧阳娜娜", gender="F")
    pitch = _credit_card(catalogue, pitch_config, customer, "zh-CN", None)
    assert pitch.text.startswith("欧阳女士，")
    assert "娜" not in pitch.text


@pytest.mark.parametrize("product_id", PRODUCT_IDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_pitch_risk_notice_exactly_for_investment_and_rated_insurance(
    catalogue: Catalogue, pitch_config: PitchConfig, product_id: str, locale: str
) -> None:
    product = catalogue.get(product_id)
    assert product is not None
    pitch = render_pitch(
        product, make_customer(name="王芳"), locale=locale, reason=None, config=pitch_config
    )
    needs = product.category == "investment" or (
        product.category == "insurance" and product.risk_level is not None
    )
    assert (pitch.risk_notice is not None) == needs
    if needs:
        assert pitch.risk_notice == (product.risk_notice or {})[locale]
        assert pitch.risk_notice not in pitch.text
    if product.family in ("wealth", "cash_management") and locale == "zh-CN":
        assert pitch.risk_notice is not None and "理财非存款" in pitch.risk_notice


def test_pitch_notice_list_covers_both_kinds(catalogue: Catalogue) -> None:
    kinds = {(p.category, p.risk_level is not None) for p in catalogue}
    assert ("investment", True) in kinds and ("insurance", True) in kinds
    assert any(p.risk_notice is None for p in catalogue)  # some products carry none


def test_pitch_rated_product_without_notice_is_refused(
    catalogue: Catalogue, pitch_config: PitchConfig
) -> None:
    product = dataclasses.replace(_get(catalogue, "wealth_r2"), risk_notice=None)
    with pytest.raises(PitchWordingError, match="wealth_r2"):
        render_pitch(product, make_customer(), locale="zh-CN", reason=None, config=pitch_config)


@pytest.mark.parametrize(
    ("locale", "bad"),
    [
        ("zh-CN", "{salutation}，{product}保本保收益，要买吗？"),
        ("zh-CN", "{salutation}，{product}年化4.5%，要买吗？"),
        ("en", "{salutation}, {product} is risk-free. Interested?"),
    ],
)
def test_pitch_banned_wording_raises_naming_product_and_template(
    catalogue: Catalogue, pitch_config: PitchConfig, locale: str, bad: str
) -> None:
    original = catalogue.get("wealth_r2")
    assert original is not None
    product = _with_templates(original, locale, (bad, original.pitch_templates[locale][0]))
    with pytest.raises(PitchWordingError, match=rf"wealth_r2.*{locale}\[0\]") as caught:
        render_pitch(product, make_customer(), locale=locale, reason=None, config=pitch_config)
    assert caught.value.product_id == "wealth_r2"
    assert caught.value.template_index == 0
    fallback = first_clean_pitch(
        product, make_customer(), locale=locale, reason=None, config=pitch_config
    )
    assert fallback is not None and fallback.template_index == 1


def test_pitch_banned_reason_is_caught(catalogue: Catalogue, pitch_config: PitchConfig) -> None:
    with pytest.raises(PitchWordingError, match="credit_card"):
        _credit_card(catalogue, pitch_config, make_customer(), "zh-CN", "稳赚不赔")


def test_pitch_too_long_raises(catalogue: Catalogue, pitch_config: PitchConfig) -> None:
    original = catalogue.get("sms_alert")
    assert original is not None
    long = "{salutation}，" + "请" * 60 + "{product}"
    product = _with_templates(original, "zh-CN", (long, long))
    with pytest.raises(PitchWordingError, match=r"sms_alert.*> 60"):
        render_pitch(product, make_customer(), locale="zh-CN", reason=None, config=pitch_config)
    assert (
        first_clean_pitch(
            product, make_customer(), locale="zh-CN", reason=None, config=pitch_config
        )
        is None
    )


def test_pitch_template_choice_is_deterministic_and_prefers_reason(catalogue: Catalogue) -> None:
    product = catalogue.get("credit_card")  # zh-CN: [0] no reason, [1] with reason
    assert product is not None
    assert choose_template(product, locale="zh-CN", with_reason=True, variant=0) == 1
    assert choose_template(product, locale="zh-CN", with_reason=True, variant=7) == 1
    assert choose_template(product, locale="zh-CN", with_reason=False, variant=3) == 0
    sms = catalogue.get("sms_alert")  # no template uses {reason}: the reason is dropped
    assert sms is not None
    assert [choose_template(sms, locale="en", with_reason=True, variant=v) for v in range(4)] == [
        0,
        1,
        0,
        1,
    ]


def test_pitch_only_reason_templates_cannot_pitch_without_reason(
    catalogue: Catalogue, pitch_config: PitchConfig
) -> None:
    original = catalogue.get("credit_card")
    assert original is not None
    only = original.pitch_templates["en"][1]
    product = _with_templates(original, "en", (only, only))
    with pytest.raises(PitchWordingError, match="credit_card"):
        render_pitch(product, make_customer(), locale="en", reason=None, config=pitch_config)


def test_pitch_no_name_greets_once(catalogue: Catalogue, pitch_config: PitchConfig) -> None:
    pitch = _credit_card(catalogue, pitch_config, make_customer(name=None), "zh-CN", None)
    assert pitch.text.startswith("您好！")
    assert pitch.text.count("您好") == 1


def test_pitch_unknown_locale_is_refused(catalogue: Catalogue, pitch_config: PitchConfig) -> None:
    with pytest.raises(ValueError, match="fr"):
        _credit_card(catalogue, pitch_config, make_customer(), "fr", None)
