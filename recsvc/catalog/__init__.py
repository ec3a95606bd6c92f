"""The product catalogue: products, their eligibility facts, pitch templates and wording checks."""

from recsvc.catalog.catalogue import (
    Catalogue,
    CatalogueError,
    catalogue_to_json,
    load_catalogue,
    product_to_json,
)
from recsvc.catalog.product import (
    CATEGORIES,
    FAMILIES,
    LOCALES,
    PITCH_CHANNELS,
    Eligibility,
    Product,
)
from recsvc.catalog.wording import (
    PLACEHOLDERS,
    WordingConfigError,
    WordingRules,
    default_wording_rules,
    find_banned_wording,
    load_wording_rules,
    template_placeholders,
)

__all__ = [
    "CATEGORIES",
    "FAMILIES",
    "LOCALES",
    "PITCH_CHANNELS",
    "PLACEHOLDERS",
    "Catalogue",
    "CatalogueError",
    "Eligibility",
    "Product",
    "WordingConfigError",
    "WordingRules",
    "catalogue_to_json",
    "default_wording_rules",
    "find_banned_wording",
    "load_catalogue",
    "load_wording_rules",
    "product_to_json",
    "template_placeholders",
]
