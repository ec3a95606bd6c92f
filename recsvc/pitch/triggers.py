"""The transaction at the counter as a sales signal: which products it suggests, and why."""

from __future__ import annotations

from dataclasses import dataclass

from recsvc.customers.profile import Transaction
from recsvc.locales import Text
from recsvc.pitch.config import PitchConfig, TriggerRule


@dataclass(frozen=True)
class Trigger:
    """One product a transaction suggests; weight multiplies the model's score for it."""

    product_id: str
    weight: float
    code: str
    texts: Text

    def text(self, locale: str) -> str:
        """The reason in the teller's language, short enough for a pitch's {reason}."""
        return self.texts.in_locale(locale)


def transaction_triggers(transaction: Transaction, config: PitchConfig) -> list[Trigger]:
    """Products the transaction suggests, highest priority first; each product once."""
    found: list[Trigger] = []
    seen: set[str] = set()
    for rule in config.triggers:
        if not _matches(rule, transaction):
            continue
        for rank, product_id in enumerate(rule.products):
            if product_id in seen:
                continue
            seen.add(product_id)
            weight = rule.weight_first if rank == 0 else rule.weight_rest
            found.append(Trigger(product_id, weight, rule.code, rule.texts))
    return found


def _matches(rule: TriggerRule, transaction: Transaction) -> bool:
    if transaction.type not in rule.types:
        return False
    if rule.channels is not None and transaction.channel not in rule.channels:
        return False
    if rule.min_amount is not None and not transaction.amount >= rule.min_amount:
        return False
    return rule.below_amount is None or transaction.amount < rule.below_amount
