"""Issue 9, item 4: the channel follows the caller's role (service.yaml `channels`): a teller may
not get the answers of a client manager's channel; leaving the channel out gives the role's own."""

from __future__ import annotations

import pytest
from apptesting import ServiceEnv
from flask.testing import FlaskClient
from service_support import assert_problem, first


@pytest.fixture
def customer(customers: list[dict[str, str]]) -> dict[str, str]:
    """An assessed, consenting customer in a client manager's book."""
    return first(
        customers, consent_marketing="1", open_complaint="0", risk_level="C4",
        manager_id=lambda m: m != "",
    )  # fmt: skip


@pytest.mark.parametrize("path", ["/v1/recommendations", "/v1/customers/{}/recommendations"])
def test_a_teller_may_not_ask_for_the_managers_channel(
    env: ServiceEnv, service_client: FlaskClient, customer: dict[str, str], path: str
) -> None:
    teller = env.headers("teller")
    if path == "/v1/recommendations":
        body = {"customer_id": customer["customer_id"], "channel": "manager", "limit": 20}
        reply = service_client.post(path, json=body, headers=teller)
        problem = assert_problem(reply, 403)
        assert set(problem["errors"]) == {"channel"}
    else:  # the customer page is a client manager's: a teller is refused by role already
        url = path.format(customer["customer_id"]) + "?channel=manager"
        assert_problem(service_client.get(url, headers=teller), 403)


@pytest.mark.parametrize(
    ("role", "asked", "served"),
    [
        ("teller", None, "teller"),
        ("teller", "teller", "teller"),
        ("teller", "self_service", "self_service"),
        ("manager", None, "manager"),
        ("manager", "teller", "teller"),
        ("manager", "self_service", "self_service"),
    ],
)
def test_the_channel_is_the_roles_own_unless_it_may_act_for_the_one_asked(
    env: ServiceEnv, service_client: FlaskClient, customer: dict[str, str], role: str,
    asked: str | None, served: str,
) -> None:  # fmt: skip
    headers = env.headers(role, manager_id=customer["manager_id"] if role == "manager" else None)
    body: dict[str, object] = {"customer_id": customer["customer_id"]}
    if asked is not None:
        body["channel"] = asked
    reply = service_client.post("/v1/recommendations", json=body, headers=headers)
    assert reply.status_code == 200, reply.get_json()
    audit = service_client.get(
        f"/v1/audit/{reply.get_json()['request_id']}", headers=env.headers("compliance")
    ).get_json()
    assert audit["payload"]["request"]["channel"] == served
