"""The teller's pitch follows the transaction at the counter (domain.md), within the rules."""

import pytest
from factories import customer_payload

DEPOSIT_PRODUCTS = {"time_deposit", "large_cd", "wealth_r2", "wealth_r3"}


def _pitch(env, client, customer: dict, transaction: dict) -> dict:
    body = {"customer": customer, "channel": "teller", "transaction": transaction}
    reply = client.post("/v1/recommendations", json=body, headers=env.headers("teller"))
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


@pytest.mark.parametrize("amount", [60_000, 300_000])
def test_large_deposit_is_pitched_a_deposit_or_wealth_product(env, service_client, amount) -> None:
    customer = customer_payload(customer_id="TXN0000001", aum=400_000)
    answer = _pitch(env, service_client, customer, {"type": "cash_deposit", "amount": amount})
    assert answer["pitch"]["product_id"] in DEPOSIT_PRODUCTS, answer["pitch"]
    codes = [r["code"] for r in answer["pitch"]["reasons"]]
    assert "TXN_LARGE_DEPOSIT" in codes


def test_small_withdrawal_is_pitched_mobile_banking(env, service_client) -> None:
    customer = customer_payload(customer_id="TXN0000002", holdings=[])
    answer = _pitch(env, service_client, customer, {"type": "cash_withdrawal", "amount": 3000})
    assert answer["pitch"]["product_id"] in {"mobile_banking", "online_banking"}


def test_transaction_never_overrides_the_rules(env, service_client) -> None:
    # expired assessment: a large deposit may still only be pitched what the rules allow
    customer = customer_payload(
        customer_id="TXN0000003", aum=400_000, assessment_date="2024-01-01", risk_level="C4"
    )
    env.store_customer(customer)  # the bank's record (an inline prospect is never assessed)
    answer = _pitch(env, service_client, customer, {"type": "cash_deposit", "amount": 300_000})
    assert answer["pitch"]["product_id"] not in {"wealth_r2", "wealth_r3"}
    excluded = {e["product_id"]: e["codes"] for e in answer["excluded"]}
    assert "ASSESSMENT_EXPIRED" in excluded["wealth_r3"]
