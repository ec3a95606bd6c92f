"""reasons.yaml errors name the feature or key; every short phrase fits a pitch's {reason}."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from factories import make_customer

from recsvc.catalog import LOCALES, Catalogue, find_banned_wording, load_wording_rules
from recsvc.config import Settings
from recsvc.models.reasons import DEFAULT_REASONS_PATH, ReasonExplainer, ReasonsConfigError
from recsvc.pitch import load_pitch_config, render_pitch

Broken = Callable[[str, str], Path]


def test_reasons_unknown_feature_is_named(
    broken_reasons_yaml: Broken, feature_names: tuple[str, ...]
) -> None:
    path = broken_reasons_yaml("feature: mobile_logins_90d", "feature: mobile_logins_30d")
    with pytest.raises(ReasonsConfigError, match=r"rules\[6\].*'mobile_logins_30d'"):
        ReasonExplainer.from_file(path, feature_names)


def test_reasons_unknown_prefix_is_named(
    broken_reasons_yaml: Broken, feature_names: tuple[str, ...]
) -> None:
    path = broken_reasons_yaml("feature_prefix: held_", "feature_prefix: holds_")
    with pytest.raises(ReasonsConfigError, match="feature_prefix 'holds_'"):
        ReasonExplainer.from_file(path, feature_names)


def test_reasons_feature_missing_from_a_smaller_model_is_named() -> None:
    with pytest.raises(ReasonsConfigError, match="'salary_via_bank'") as caught:
        ReasonExplainer.from_file(DEFAULT_REASONS_PATH, ["age", "held_credit_card"])
    assert "'age'" not in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('op: "<"', 'op: "=<"', r"rules\[1\]\.op"),
        ("transform: log1p", "transform: log", r"rules\[5\]\.transform"),
        ("threshold: 60", "threshold: sixty", r"rules\[2\]\.threshold"),
        ("feature: salary_via_bank", "feature_prefix: x\n    feature: salary_via_bank", "rules"),
        (
            "short: {zh-CN: 您收入稳定,",
            "short: {zh-CN: 您的收入来源非常稳定可靠,",
            r"rules\[8\]\.short\.zh-CN",
        ),
        ("code: PROFILE_MATCH", "code: profile_match", r"fallback\.code"),
        ("en: stable income}", "}", r"rules\[8\]\.text"),
    ],
)
def test_reasons_config_error_names_key(
    broken_reasons_yaml: Broken, feature_names: tuple[str, ...], old: str, new: str, key: str
) -> None:
    with pytest.raises(ReasonsConfigError, match=key):
        ReasonExplainer.from_file(broken_reasons_yaml(old, new), feature_names)


def _phrases() -> list[tuple[str, str, str]]:
    raw = yaml.safe_load(DEFAULT_REASONS_PATH.read_text(encoding="utf-8"))
    entries = [raw["fallback"], *raw["rules"]]
    return [(e["code"], loc, e["short"][loc]) for e in entries for loc in LOCALES]


@pytest.mark.parametrize(("code", "locale", "phrase"), _phrases())
def test_reasons_short_phrase_fits_every_reason_template(
    reasons_catalogue: Catalogue, settings: Settings, code: str, locale: str, phrase: str
) -> None:
    wording = load_wording_rules(settings.rules_config_path)
    config = load_pitch_config()
    assert find_banned_wording(phrase, locale, wording) == []
    customer = make_customer(name="欧阳娜娜")
    for product in reasons_catalogue:
        templates = product.pitch_templates[locale]
        for variant in range(len(templates)):
            pitch = render_pitch(
                product,
                customer,
                locale=locale,
                reason=phrase,
                config=config,
                variant=variant,
                wording=wording,
            )
            if "{reason}" in templates[pitch.template_index]:
                assert phrase in pitch.text, (code, product.product_id)
