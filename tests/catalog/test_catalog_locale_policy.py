"""One shape and one unknown-locale policy for localised text: every text is a `Text` over all of
LOCALES and refuses a locale it does not have (it used to fall back to English in some places and
raise in others)."""

from __future__ import annotations

import pytest

from recsvc.catalog import load_catalogue
from recsvc.catalog.product import LOCALES, check_locale
from recsvc.config import Settings
from recsvc.locales import Text
from recsvc.models.reasons import Reason
from recsvc.pitch.triggers import Trigger
from recsvc.rules.verdict import NextAction


def texts() -> list[object]:
    product = load_catalogue(Settings().catalogue_path).products[0]
    both = Text({"zh-CN": "中", "en": "en"})
    reason = Reason("R", both, Text({"zh-CN": "短", "en": "short"}), None, 0.0)
    trigger = Trigger("p", 1.0, "T", both)
    action = NextAction("A", both)
    return [product.name, reason.text, reason.short, trigger.text, action.message]


@pytest.mark.parametrize("locale", ["fr", "EN", "zh", ""])
def test_an_unknown_locale_is_an_error_everywhere(locale: str) -> None:
    for text in texts():
        with pytest.raises(ValueError, match="is not one of zh-CN, en"):
            text(locale)  # type: ignore[operator]
    with pytest.raises(ValueError, match="is not one of"):
        check_locale(locale)


def test_each_known_locale_picks_its_own_text() -> None:
    assert [Text({"zh-CN": "中", "en": "en"}).in_locale(locale) for locale in LOCALES] == [
        "中",
        "en",
    ]
    for text in texts():
        assert text("zh-CN") != text("en")  # type: ignore[operator]


def test_a_text_needs_every_locale_and_no_other() -> None:
    for partial in ({"zh-CN": "中"}, {"zh-CN": "中", "en": "en", "fr": "fr"}):
        with pytest.raises(ValueError, match="needs exactly the locales zh-CN, en"):
            Text(partial)
