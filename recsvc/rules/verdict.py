"""What the rules decide for a customer: eligible products, exclusions and next steps."""

from __future__ import annotations

from dataclasses import dataclass

from recsvc.catalog.product import Product
from recsvc.locales import Text


class _Said:
    """A rule's code with its message in every locale (rules.yaml)."""

    code: str
    messages: Text

    def message(self, locale: str) -> str:
        return self.messages.in_locale(locale)


@dataclass(frozen=True)
class Exclusion(_Said):
    """One reason a product may not be offered; staff and customers may ask why."""

    product_id: str
    code: str
    messages: Text


@dataclass(frozen=True)
class NextAction(_Said):
    """Something staff should do for the customer that is not a product pitch."""

    code: str
    messages: Text


@dataclass(frozen=True)
class Verdict:
    """Every catalogue product once: eligible, or excluded with all its reasons (primary first)."""

    eligible: tuple[Product, ...]
    excluded: tuple[Exclusion, ...]
    next_actions: tuple[NextAction, ...]

    @property
    def eligible_ids(self) -> tuple[str, ...]:
        return tuple(p.product_id for p in self.eligible)

    def reasons_for(self, product_id: str) -> tuple[Exclusion, ...]:
        """The exclusions of one product, primary first; () if it is eligible."""
        return tuple(e for e in self.excluded if e.product_id == product_id)

    def primary_reason(self, product_id: str) -> str | None:
        reasons = self.reasons_for(product_id)
        return reasons[0].code if reasons else None
