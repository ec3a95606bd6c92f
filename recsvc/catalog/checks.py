"""Per-product checks the schema cannot express: effective risk, notices, pitch templates."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from recsvc.catalog.product import LOCALES
from recsvc.catalog.schema import risk_label
from recsvc.catalog.wording import (
    PLACEHOLDERS,
    WordingRules,
    find_banned_wording,
    render_sample,
    template_placeholders,
)

Problem = tuple[str, str]  # (field, message)


@dataclass(frozen=True)
class CataloguePolicy:
    """Catalogue-wide facts from the top of catalogue.yaml."""

    unrated_investment_families: frozenset[str]
    required_notice_families: frozenset[str]
    required_notice_zh: str


def effective_risk(data: dict[str, Any]) -> tuple[int | None, list[Problem]]:
    """The higher of bank's and issuer's rating where given, else risk_level as written."""
    rated = [data[k] for k in ("bank_risk_level", "issuer_risk_level") if data[k] is not None]
    written = data["risk_level"]
    if not rated:
        return written, []
    higher = max(rated)
    if written is not None and written != higher:
        message = (
            f"must be {risk_label(higher)}, the higher of bank_risk_level and issuer_risk_level,"
            f" got {risk_label(written)}"
        )
        return higher, [("risk_level", message)]
    return higher, []


def risk_problems(data: dict[str, Any], policy: CataloguePolicy) -> list[Problem]:
    """Investment products need a rating; rated investment and insurance need a notice."""
    problems: list[Problem] = []
    unrated_ok = data["family"] in policy.unrated_investment_families
    if data["category"] == "investment" and data["risk_level"] is None and not unrated_ok:
        problems.append(("risk_level", "required for investment products (R1..R5)"))
    needs_notice = data["category"] == "investment" or (
        data["category"] == "insurance" and data["risk_level"] is not None
    )
    notice = data["risk_notice"]
    if needs_notice and not notice:
        problems.append(("risk_notice", "required for investment and risk-rated insurance"))
    if notice:
        problems.extend(
            ("risk_notice", f"missing locale {loc!r}") for loc in LOCALES if loc not in notice
        )
        if data[
            "family"
        ] in policy.required_notice_families and policy.required_notice_zh not in notice.get(
            "zh-CN", ""
        ):
            problems.append(("risk_notice.zh-CN", f"must contain {policy.required_notice_zh!r}"))
    return problems


def template_problems(data: dict[str, Any], wording: WordingRules) -> list[Problem]:
    """Both locales present; only allowed placeholders; clean wording; short enough to say."""
    problems: list[Problem] = []
    templates: dict[str, tuple[str, ...]] = data["pitch_templates"]
    names = data["names"]
    for locale in LOCALES:
        if locale not in templates:
            problems.append(("pitch_templates", f"missing locale {locale!r}"))
            continue
        for i, template in enumerate(templates[locale]):
            where = f"pitch_templates.{locale}[{i}]"
            problems.extend(
                (where, m) for m in _one_template(template, names[locale], locale, wording)
            )
    return problems


def _one_template(template: str, name: str, locale: str, wording: WordingRules) -> list[str]:
    try:
        used = template_placeholders(template)
    except ValueError as exc:
        return [f"malformed template: {exc}"]
    unknown = sorted(set(used) - set(PLACEHOLDERS))
    if unknown:
        return [f"unknown placeholder(s) {unknown}; allowed: {list(PLACEHOLDERS)}"]
    messages = []
    banned = find_banned_wording(template, locale, wording)
    banned += find_banned_wording(name, locale, wording) if "product" in used else []
    if banned:
        messages.append(f"banned wording {banned}")
    limit = wording.max_pitch_chars[locale]
    length = len(render_sample(template, name, locale, wording))
    if length > limit:
        messages.append(f"too long to say in one breath: {length} characters rendered > {limit}")
    return messages


def tier_problems(data: dict[str, Any], tier_codes: Collection[str] | None) -> list[Problem]:
    """Tier codes must be the bank's (checked only when the caller passes them)."""
    tiers = data["eligibility"].tiers
    if tier_codes is None or tiers is None:
        return []
    return [
        ("eligibility.tiers", f"unknown tier {code!r}; known: {sorted(tier_codes)}")
        for code in tiers
        if code not in tier_codes
    ]
