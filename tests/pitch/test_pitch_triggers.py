"""The transaction at the counter suggests products; thresholds come from pitch.yaml."""

from __future__ import annotations

import pytest

from recsvc.customers.profile import Transaction
from recsvc.pitch import PitchConfig, transaction_triggers


@pytest.mark.parametrize(
    ("transaction", "code", "products"),
    [
        (Transaction("credit_card_repayment", 3000.0), "TXN_CARD_REPAYMENT", ["auto_repay"]),
        (
            Transaction("cash_withdrawal", 3000.0),
            "TXN_SMALL_CASH",
            ["mobile_banking", "online_banking"],
        ),
        (
            Transaction("cash_withdrawal", 19_999.99),
            "TXN_SMALL_CASH",
            ["mobile_banking", "online_banking"],
        ),
        (
            Transaction("cash_deposit", 50_000.0),
            "TXN_LARGE_DEPOSIT",
            ["time_deposit", "large_cd", "wealth_r2", "wealth_r3"],
        ),
        (
            Transaction("transfer", 120_000.0),
            "TXN_LARGE_DEPOSIT",
            ["time_deposit", "large_cd", "wealth_r2", "wealth_r3"],
        ),
        (
            Transaction("account_opening"),
            "TXN_NEW_ACCOUNT",
            ["mobile_banking", "sms_alert", "credit_card"],
        ),
        (
            Transaction("wealth_purchase", 10_000.0),
            "TXN_WEALTH_PURCHASE",
            ["fund_plan", "gold_plan"],
        ),
    ],
)
def test_pitch_trigger_products_in_priority_order(
    pitch_config: PitchConfig, transaction: Transaction, code: str, products: list[str]
) -> None:
    found = transaction_triggers(transaction, pitch_config)
    assert [t.product_id for t in found] == products
    assert {t.code for t in found} == {code}
    assert [t.weight for t in found] == [3.0] + [2.0] * (len(products) - 1)
    assert all(t.text("zh-CN") == t.texts["zh-CN"] and t.text("en") == t.texts["en"] for t in found)
    assert all(t.texts["zh-CN"] and t.texts["en"].isascii() for t in found)


@pytest.mark.parametrize(
    "transaction",
    [
        Transaction("cash_withdrawal", 20_000.0),  # "under 20,000": the boundary is excluded
        Transaction("cash_withdrawal", 50_000.0),
        Transaction("cash_withdrawal", 3000.0, channel="self_service"),  # already off the counter
        Transaction("credit_card_repayment", 3000.0, channel="mobile"),
        Transaction("cash_deposit", 49_999.99),
        Transaction("transfer", 10_000.0),
        Transaction("bill_payment", 100_000.0),
    ],
)
def test_pitch_trigger_does_not_fire(pitch_config: PitchConfig, transaction: Transaction) -> None:
    assert transaction_triggers(transaction, pitch_config) == []


def test_pitch_trigger_at_least_50000_fires_at_the_boundary(pitch_config: PitchConfig) -> None:
    assert transaction_triggers(Transaction("cash_deposit", 50_000.0), pitch_config)
    assert not transaction_triggers(Transaction("cash_deposit", 49_999.0), pitch_config)
