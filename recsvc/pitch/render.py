"""The one sentence a teller says: salutation, template, risk notice, checked before it is shown."""

from __future__ import annotations

from dataclasses import dataclass

from recsvc.catalog.product import Product, check_locale
from recsvc.catalog.wording import (
    WordingRules,
    default_wording_rules,
    find_banned_wording,
    template_placeholders,
)
from recsvc.customers.profile import Customer
from recsvc.pitch.config import PitchConfig


class PitchWordingError(ValueError):
    """A rendered pitch breaks the wording or length rules; names the product and template."""

    def __init__(self, message: str, *, product_id: str, template_index: int | None) -> None:
        super().__init__(message)
        self.product_id = product_id
        self.template_index = template_index


@dataclass(frozen=True)
class PitchText:
    """What the teller says, and the risk notice they must read out or hand over with it."""

    text: str
    risk_notice: str | None
    template_index: int


def salutation(customer: Customer, locale: str, config: PitchConfig) -> str:
    """Surname and honorific ("王女士", "Ms. Wang"): polite, and never the given name."""
    check_locale(locale)
    surname = _surname(customer.name, config)
    honorific = config.honorifics[locale].get(customer.gender)
    if surname is None or honorific is None:
        return config.fallback_salutation.in_locale(locale)
    if locale == "zh-CN":
        return f"{surname}{honorific}"
    reading = config.romanised_surnames.get(surname)
    return (
        config.fallback_salutation.in_locale(locale)
        if reading is None
        else f"{honorific} {reading}"
    )


def surname_of(name: str | None, config: PitchConfig) -> str | None:
    """The family name the salutation would use (None: the fallback salutation)."""
    return _surname(name, config)


def _surname(name: str | None, config: PitchConfig) -> str | None:
    """The family name of a Chinese name; None when the name is not one we can read safely."""
    name = (name or "").strip()
    if len(name) < 2 or not all(_is_han(ch) for ch in name):
        return None  # a lone character, or a Latin name whose word order we cannot know
    if name[:2] in config.compound_surnames and len(name) > 2:
        return name[:2]
    return name[0]


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0002ebef"


def render_pitch(
    product: Product,
    customer: Customer,
    *,
    locale: str,
    reason: str | None,
    config: PitchConfig,
    variant: int = 0,
    wording: WordingRules | None = None,
) -> PitchText:
    """Fill the template variant picks; raise PitchWordingError rather than say a bad sentence."""
    check_locale(locale)
    index = choose_template(product, locale=locale, with_reason=bool(reason), variant=variant)
    greeting = salutation(customer, locale, config)
    text = product.pitch_templates[locale][index].format(
        salutation=greeting, product=product.name(locale), reason=reason or ""
    )
    text = _drop_double_greeting(text, greeting, config.fallback_salutation.in_locale(locale))
    _check_wording(text, product, locale, index, wording or default_wording_rules())
    return PitchText(text=text, risk_notice=_risk_notice(product, locale), template_index=index)


def choose_template(product: Product, *, locale: str, with_reason: bool, variant: int = 0) -> int:
    """Index of the template to use: variant modulo the templates that fit the reason given."""
    templates = product.pitch_templates.get(locale, ())
    has_reason = ["reason" in template_placeholders(t) for t in templates]
    fitting = [i for i, r in enumerate(has_reason) if r] if with_reason else []
    fitting = fitting or [i for i, r in enumerate(has_reason) if not r]
    if not fitting:
        raise PitchWordingError(
            f"product {product.product_id!r}: no {locale} template can be said without a reason",
            product_id=product.product_id,
            template_index=None,
        )
    return fitting[variant % len(fitting)]


def first_clean_pitch(
    product: Product,
    customer: Customer,
    *,
    locale: str,
    reason: str | None,
    config: PitchConfig,
    variant: int = 0,
    wording: WordingRules | None = None,
) -> PitchText | None:
    """The requested pitch, else another variant, else one without the reason, else None."""
    attempts = [(reason, variant + k) for k in range(len(product.pitch_templates[locale]))]
    attempts += [(None, variant + k) for k in range(len(product.pitch_templates[locale]))]
    for why, which in attempts:
        try:
            return render_pitch(
                product,
                customer,
                locale=locale,
                reason=why,
                config=config,
                variant=which,
                wording=wording,
            )
        except PitchWordingError:
            continue
    return None


def _drop_double_greeting(text: str, greeting: str, fallback: str) -> str:
    """ "您好，您好！..." when no name is known reads as a stutter: say the greeting once."""
    if greeting != fallback:
        return text
    for separator in ("，", ", ", ","):
        doubled = f"{fallback}{separator}{fallback}"
        if text.startswith(doubled):
            return fallback + text[len(doubled) :]
    return text


def _check_wording(
    text: str, product: Product, locale: str, index: int, wording: WordingRules
) -> None:
    where = f"product {product.product_id!r} template {locale}[{index}]"
    banned = find_banned_wording(text, locale, wording)
    if banned:
        raise PitchWordingError(
            f"{where}: banned wording {banned}", product_id=product.product_id, template_index=index
        )
    limit = wording.max_pitch_chars[locale]
    if len(text) > limit:
        raise PitchWordingError(
            f"{where}: {len(text)} characters > {limit}",
            product_id=product.product_id,
            template_index=index,
        )


def _risk_notice(product: Product, locale: str) -> str | None:
    """Investment products and risk-rated insurance always carry their notice."""
    needs = product.category == "investment" or (
        product.category == "insurance" and product.risk_level is not None
    )
    if not needs:
        return None
    notice = product.risk_notice.in_locale(locale) if product.risk_notice else None
    if not notice:
        raise PitchWordingError(
            f"product {product.product_id!r}: no {locale} risk notice; it may not be pitched",
            product_id=product.product_id,
            template_index=None,
        )
    return notice
