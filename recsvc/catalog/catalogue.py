"""The product catalogue: loaded from catalogue.yaml once, checked whole, then read-only."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from marshmallow import ValidationError

from recsvc.catalog.checks import (
    CataloguePolicy,
    Problem,
    effective_risk,
    risk_problems,
    template_problems,
    tier_problems,
)
from recsvc.catalog.product import FAMILIES, PITCH_CHANNELS, Product
from recsvc.catalog.schema import ProductSchema, flatten_messages, risk_label
from recsvc.catalog.wording import WordingRules, default_wording_rules
from recsvc.locales import Text


class CatalogueError(ValueError):
    """catalogue.yaml is malformed; the message names the product and the field."""


@dataclass(frozen=True)
class Catalogue:
    """Products in catalogue order, looked up by id; never changes once loaded."""

    products: tuple[Product, ...]
    _index: Mapping[str, Product] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "products", tuple(self.products))
        object.__setattr__(
            self, "_index", MappingProxyType({p.product_id: p for p in self.products})
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(p.product_id for p in self.products)

    def get(self, product_id: str) -> Product | None:
        return self._index.get(product_id)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._index

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)


def load_catalogue(
    path: Path,
    *,
    wording: WordingRules | None = None,
    tier_codes: Collection[str] | None = None,
) -> Catalogue:
    """Read and check catalogue.yaml; pass tier_codes (from bank.yaml) to check tiers too."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path}: cannot read: {exc}") from exc
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("products"), list)
        or not raw["products"]
    ):
        raise CatalogueError(f"{path.name}: field 'products': must be a non-empty list")
    policy, problems = _policy(raw)
    products: list[Product] = []
    for i, entry in enumerate(raw["products"]):
        pid = entry.get("product_id") if isinstance(entry, dict) else None
        label = f"product {pid!r}" if isinstance(pid, str) else f"product #{i + 1}"
        product, found = _load_product(
            entry, policy, wording or default_wording_rules(), tier_codes
        )
        problems += [f"{label}: field '{f}': {m}" for f, m in found]
        if product is not None:
            products.append(product)
    problems += _catalogue_problems(products)
    if problems:
        raise CatalogueError("; ".join(f"{path.name}: {p}" for p in problems))
    return Catalogue(tuple(products))


def _policy(raw: dict[str, Any]) -> tuple[CataloguePolicy, list[str]]:
    unrated = raw.get("unrated_investment_families") or []
    notice = raw.get("required_notice") or {}
    families = notice.get("families") or []
    problems = [
        f"field {name!r}: unknown family {fam!r}"
        for name, fams in (("unrated_investment_families", unrated), ("required_notice", families))
        for fam in fams
        if fam not in FAMILIES
    ]
    if families and not notice.get("zh-CN"):
        problems.append("field 'required_notice.zh-CN': required when families are listed")
    policy = CataloguePolicy(frozenset(unrated), frozenset(families), notice.get("zh-CN", ""))
    return policy, problems


def _load_product(
    entry: Any,
    policy: CataloguePolicy,
    wording: WordingRules,
    tier_codes: Collection[str] | None,
) -> tuple[Product | None, list[Problem]]:
    try:
        data = ProductSchema().load(entry if isinstance(entry, dict) else {})
    except ValidationError as exc:
        return None, flatten_messages(exc.messages)
    data["risk_level"], problems = effective_risk(data)
    problems += risk_problems(data, policy)
    problems += template_problems(data, wording)
    problems += tier_problems(data, tier_codes)
    if problems:
        return None, problems
    if data["risk_notice"] is not None:
        data["risk_notice"] = Text(data["risk_notice"])
    return Product(**data), problems


def _catalogue_problems(products: list[Product]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for p in products:
        if p.product_id in seen:
            problems.append(f"product {p.product_id!r}: field 'product_id': duplicate id")
        seen.add(p.product_id)
    for p in products:
        for needed in p.eligibility.required_holdings:
            if needed not in seen or needed == p.product_id:
                problems.append(
                    f"product {p.product_id!r}: field 'eligibility.required_holdings':"
                    f" {needed!r} is not another product in the catalogue"
                )
    return problems


def catalogue_to_json(catalogue: Catalogue) -> list[dict[str, Any]]:
    """Wire form of the catalogue (risk levels as "R3"), in catalogue order."""
    return [product_to_json(p) for p in catalogue]


def product_to_json(product: Product) -> dict[str, Any]:
    """Wire form of one product."""
    rule = product.eligibility
    return {
        "product_id": product.product_id,
        "name_zh": product.names["zh-CN"],
        "name_en": product.names["en"],
        "family": product.family,
        "category": product.category,
        "risk_level": risk_label(product.risk_level),
        "bank_risk_level": risk_label(product.bank_risk_level),
        "issuer_risk_level": risk_label(product.issuer_risk_level),
        "eligibility": {
            "min_age": rule.min_age,
            "max_age": rule.max_age,
            "min_aum": rule.min_aum,
            "min_monthly_income": rule.min_monthly_income,
            "tiers": None if rule.tiers is None else list(rule.tiers),
            "required_holdings": list(rule.required_holdings),
        },
        "channels": [c for c in PITCH_CHANNELS if c in product.channels],
        "repeatable": product.repeatable,
        "value": product.value,
        "dual_recording": product.dual_recording,
        "term_months": product.term_months,
        "risk_notice": None if product.risk_notice is None else dict(product.risk_notice),
        "pitch_templates": {k: list(v) for k, v in product.pitch_templates.items()},
        "tags": list(product.tags),
    }
