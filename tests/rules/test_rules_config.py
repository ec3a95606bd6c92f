"""rules.yaml loads with the bank's numbers; a broken copy fails naming the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recsvc.config import Settings
from recsvc.rules import (
    NEXT_ACTION_CODES,
    REASON_CODES,
    RulesConfig,
    RulesConfigError,
    load_rules_config,
)


def test_packaged_numbers(rules_config: RulesConfig) -> None:
    assert rules_config.assessment_validity_days == 365
    assert rules_config.assessment_expiring_days == 30
    assert rules_config.unassessed_max_risk == 1
    assert rules_config.minor_below == 18
    assert rules_config.declined_fatigue_days == 30
    assert set(rules_config.reasons) == set(REASON_CODES)
    assert set(rules_config.next_actions) == set(NEXT_ACTION_CODES)
    assert all(zh and en for zh, en in rules_config.reasons.values())


@pytest.mark.parametrize(
    ("age", "limit"), [(0, None), (64, None), (65, 3), (79, 3), (80, 2), (120, 2)]
)
def test_elderly_limits(rules_config: RulesConfig, age: int, limit: int | None) -> None:
    assert rules_config.elderly_max_risk(age) == limit


CASES = [
    ("validity_days: 365", "validity_days: 0", "assessment.validity_days"),
    ("validity_days: 365", "validity_days: a year", "assessment.validity_days"),
    ("unassessed_max_risk: R1", "unassessed_max_risk: R7", "assessment.unassessed_max_risk"),
    ("declined_days: 30", "declined_days: -1", "fatigue.declined_days"),
    (
        "minor_excluded_categories: [credit, investment]",
        "minor_excluded_categories: [credit, loans]",
        "age.minor_excluded_categories[1]",
    ),
    ("{from_age: 80, max_risk: R2}", "{from_age: 80, max_risk: R4}", "age.elderly"),
    ("  NO_CONSENT:\n", "  NO_CONSNET:\n", "reasons.NO_CONSNET"),
    (
        "    en: The customer opted out of marketing; no product may be offered\n",
        "",
        "reasons.NO_CONSENT.en",
    ),
    ("  ASSESSMENT_EXPIRING:\n", "  ASSESSMENT_EXPIRES:\n", "next_actions.ASSESSMENT_EXPIRES"),
    ("    zh-CN: 60\n", "    zh-CN: sixty\n", "wording"),
    ("    - '百分之'\n", "    - '百分之('\n", "wording"),
    ("fatigue:\n", "fatigu:\n", "fatigu"),
]


@pytest.mark.parametrize(("old", "new", "field"), CASES)
def test_error_names_the_field(
    settings: Settings, tmp_path: Path, old: str, new: str, field: str
) -> None:
    text = settings.rules_config_path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in rules.yaml"
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulesConfigError, match=re.escape(f"rules.yaml: field '{field}")):
        load_rules_config(path)


def test_missing_reason_text_is_named(settings: Settings, tmp_path: Path) -> None:
    text = settings.rules_config_path.read_text(encoding="utf-8")
    start = text.index("  RECENTLY_DECLINED:\n")
    end = text.index("\n", text.index("    en:", start)) + 1
    path = tmp_path / "rules.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(
        RulesConfigError, match=r"field 'reasons': missing text for.*RECENTLY_DECLINED"
    ):
        load_rules_config(path)


def test_unreadable(tmp_path: Path) -> None:
    with pytest.raises(RulesConfigError, match="cannot read"):
        load_rules_config(tmp_path / "nope.yaml")
