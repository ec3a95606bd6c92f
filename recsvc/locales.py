"""Localised text, one shape for all of it: a read-only `{locale: text}` mapping over every locale
of LOCALES (catalogue names, tier names, rule reasons, model reasons, trigger texts, contact-plan
talking points, console labels). `Text.in_locale` is the one lookup: an unknown locale is an error
everywhere (never a silent fall back to English)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from marshmallow import fields, validate

LOCALES = ("zh-CN", "en")


def check_locale(locale: str) -> str:
    """The one unknown-locale policy: an error naming the locales; the API refuses one before
    this with a 422 naming the field `locale`."""
    if locale not in LOCALES:
        raise ValueError(f"locale {locale!r} is not one of {', '.join(LOCALES)}")
    return locale


class Text(Mapping[str, str]):
    """One text in every locale of LOCALES (in that order), read-only and hashable."""

    __slots__ = ("_by_locale",)

    def __init__(self, by_locale: Mapping[str, str]) -> None:
        if set(by_locale) != set(LOCALES):
            raise ValueError(f"a text needs exactly the locales {', '.join(LOCALES)}")
        self._by_locale = {locale: str(by_locale[locale]) for locale in LOCALES}

    def in_locale(self, locale: str) -> str:
        """The text in `locale`; ValueError on a locale not in LOCALES."""
        return self._by_locale[check_locale(locale)]

    def __getitem__(self, locale: str) -> str:
        return self._by_locale[locale]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_locale)

    def __len__(self) -> int:
        return len(self._by_locale)

    def __hash__(self) -> int:
        return hash(tuple(self._by_locale.items()))

    def __repr__(self) -> str:
        return f"Text({self._by_locale!r})"


def per_locale(values: fields.Field) -> fields.Dict:
    """A config field holding one value per locale of LOCALES, each locale exactly once."""
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(LOCALES)),
        values=values,
        required=True,
        validate=validate.Length(equal=len(LOCALES)),
    )


def text_field() -> fields.Dict:
    """A config field holding a Text: a non-empty string in every locale."""
    return per_locale(fields.String(validate=validate.Length(min=1)))
