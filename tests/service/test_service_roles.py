"""Who may call what, for every v1 endpoint, and a manager's book: table-driven."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from apptesting import ServiceEnv
from factories import customer_payload
from flask.testing import FlaskClient
from service_support import assert_problem, first

from recsvc.security import ROLES

CUSTOMER_VIEWERS = frozenset({"manager"})
FRONT_LINE = frozenset({"teller", "manager"})
MODEL_READERS = frozenset({"data_scientist", "admin", "compliance"})
MODEL_ADMINS = frozenset({"data_scientist", "admin"})
AUDITORS = frozenset({"compliance", "admin"})


@dataclass(frozen=True)
class Book:
    """A client manager and three stored customers: theirs, a colleague's, and nobody's."""

    manager_id: str
    own: str
    colleagues: str
    unassigned: str


@pytest.fixture(scope="module")
def book(customers: list[dict[str, str]]) -> Book:
    managers = Counter(row["manager_id"] for row in customers if row["manager_id"])
    (manager_id, _), (other, _) = managers.most_common(2)
    return Book(
        manager_id=manager_id,
        own=first(customers, manager_id=manager_id, consent_marketing="1")["customer_id"],
        colleagues=first(customers, manager_id=other)["customer_id"],
        unassigned=first(customers, manager_id="")["customer_id"],
    )


@dataclass(frozen=True)
class Call:
    """One endpoint: how to call it, who may, and what an allowed caller gets."""

    name: str
    method: str
    path: str  # {customer}, {request_id}, {version} are filled in per test
    body: Callable[[dict[str, str]], dict[str, Any] | None]
    allowed: frozenset[str]
    status: int  # what an allowed role gets for the prepared request


CALLS = [
    Call("pitch", "POST", "/v1/pitch", lambda f: {"customer_id": f["customer"]}, FRONT_LINE, 200),
    Call(
        "recommendations",
        "POST",
        "/v1/recommendations",
        lambda f: {"customer_id": f["customer"], "channel": "teller"},
        FRONT_LINE,
        200,
    ),
    Call(
        "feedback",
        "POST",
        "/v1/feedback",
        lambda f: {
            "request_id": f["request_id"],
            "product_id": f["product_id"],
            "outcome": "accepted",
            "staff_id": "S001",
        },
        FRONT_LINE,
        201,
    ),
    Call("customer", "GET", "/v1/customers/{customer}", lambda f: None, CUSTOMER_VIEWERS, 200),
    Call(
        "customer_recommendations",
        "GET",
        "/v1/customers/{customer}/recommendations",
        lambda f: None,
        CUSTOMER_VIEWERS,
        200,
    ),
    Call("models", "GET", "/v1/models", lambda f: None, MODEL_READERS, 200),
    Call("promote", "POST", "/v1/models/{version}/promote", lambda f: None, MODEL_ADMINS, 200),
    # With one published version there is no earlier champion: past the role check, 409.
    Call("rollback", "POST", "/v1/models/rollback", lambda f: None, MODEL_ADMINS, 409),
    Call("audit", "GET", "/v1/audit/{request_id}", lambda f: None, AUDITORS, 200),
    Call("products", "GET", "/v1/products", lambda f: None, frozenset(ROLES), 200),
]
ALLOWED = [(c, r) for c in CALLS for r in ROLES if r in c.allowed]
WITH_BODY = [c for c in CALLS if c.name in ("pitch", "recommendations", "feedback")]
FORBIDDEN = [(c, r) for c in CALLS for r in ROLES if r not in c.allowed]


def headers(env: ServiceEnv, role: str, book: Book) -> dict[str, str]:
    scope = {"manager_id": book.manager_id} if role == "manager" else {}
    return env.headers(role, **scope)


def offered(client: FlaskClient, env: ServiceEnv) -> dict[str, str]:
    """A fresh audited answer (inline profile, so no daily cap) and one product it offered."""
    body = {"customer": customer_payload(customer_id="ROLES0001"), "channel": "teller"}
    reply = client.post("/v1/recommendations", json=body, headers=env.headers("teller"))
    assert reply.status_code == 200, reply.get_json()
    answer = reply.get_json()
    return {"request_id": answer["request_id"], "product_id": answer["pitch"]["product_id"]}


def fill(client: FlaskClient, env: ServiceEnv, book: Book) -> dict[str, str]:
    return {
        "customer": book.own,
        "version": str(env.registry.alias_state().champion),
        **offered(client, env),
    }


def call(client: FlaskClient, c: Call, fields: dict[str, str], hdrs: dict[str, str]) -> Any:
    return client.open(c.path.format(**fields), method=c.method, json=c.body(fields), headers=hdrs)


@pytest.mark.parametrize(("c", "role"), ALLOWED, ids=[f"{c.name}-{r}" for c, r in ALLOWED])
def test_allowed_role_gets_the_answer(
    env: ServiceEnv, service_client: FlaskClient, book: Book, c: Call, role: str
) -> None:
    reply = call(service_client, c, fill(service_client, env, book), headers(env, role, book))
    assert reply.status_code == c.status, reply.get_data(as_text=True)


@pytest.mark.parametrize(("c", "role"), FORBIDDEN, ids=[f"{c.name}-{r}" for c, r in FORBIDDEN])
def test_other_roles_get_403(
    module_env: ServiceEnv, module_client: FlaskClient, book: Book, c: Call, role: str
) -> None:
    fields = fill(module_client, module_env, book)
    reply = call(module_client, c, fields, headers(module_env, role, book))
    assert_problem(reply, 403)


@pytest.mark.parametrize("c", CALLS, ids=[c.name for c in CALLS])
@pytest.mark.parametrize("body", ["valid", "invalid"])
def test_no_key_gets_401_before_any_validation(
    module_env: ServiceEnv, module_client: FlaskClient, book: Book, c: Call, body: str
) -> None:
    fields = fill(module_client, module_env, book)
    path = c.path.format(**fields) + ("" if body == "valid" else "?limit=-1")
    payload = c.body(fields) if body == "valid" else {"unknown": 1}
    reply = module_client.open(path, method=c.method, json=payload)
    assert_problem(reply, 401)
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("c", WITH_BODY, ids=[c.name for c in WITH_BODY])
def test_wrong_role_with_an_invalid_body_gets_403_not_422(
    module_env: ServiceEnv, module_client: FlaskClient, c: Call
) -> None:
    role = next(r for r in ROLES if r not in c.allowed)
    reply = module_client.open(
        c.path, method=c.method, json={"unknown": 1}, headers=module_env.headers(role)
    )
    assert_problem(reply, 403)


# ---- a manager's book: everywhere a manager names a customer, only their own are visible ----

BOOK_REQUESTS: list[tuple[str, str, Callable[[str], dict[str, Any] | None]]] = [
    ("GET", "/v1/customers/{id}", lambda cid: None),
    ("GET", "/v1/customers/{id}/recommendations", lambda cid: None),
    ("POST", "/v1/pitch", lambda cid: {"customer_id": cid}),
    ("POST", "/v1/recommendations", lambda cid: {"customer_id": cid, "channel": "manager"}),
    (
        "POST",
        "/v1/recommendations",
        lambda cid: {"customer": customer_payload(customer_id=cid), "channel": "manager"},
    ),
]
BOOK_IDS = ["customer", "customer-recs", "pitch", "recs-by-id", "recs-inline"]


@pytest.mark.parametrize(("method", "path", "body"), BOOK_REQUESTS, ids=BOOK_IDS)
@pytest.mark.parametrize("whose", ["own", "colleagues", "unassigned"])
def test_manager_sees_only_their_book(
    module_env: ServiceEnv,
    module_client: FlaskClient,
    book: Book,
    method: str,
    path: str,
    body: Callable[[str], dict[str, Any] | None],
    whose: str,
) -> None:
    customer_id = getattr(book, whose)
    reply = module_client.open(
        path.format(id=customer_id),
        method=method,
        json=body(customer_id),
        headers=module_env.headers("manager", manager_id=book.manager_id),
    )
    if whose == "own":
        assert reply.status_code == 200, reply.get_json()
    else:
        problem = assert_problem(reply, 404)
        assert "in your book" in problem["detail"]


@pytest.mark.parametrize(("method", "path", "body"), BOOK_REQUESTS, ids=BOOK_IDS)
def test_manager_key_without_a_manager_id_sees_no_one(
    module_env: ServiceEnv,
    module_client: FlaskClient,
    book: Book,
    method: str,
    path: str,
    body: Callable[[str], dict[str, Any] | None],
) -> None:
    # Regression: None == None let such a key see every customer without a manager.
    reply = module_client.open(
        path.format(id=book.unassigned),
        method=method,
        json=body(book.unassigned),
        headers=module_env.headers("manager"),
    )
    assert_problem(reply, 404)


@pytest.mark.parametrize("whose", ["own", "colleagues", "unassigned"])
def test_tellers_serve_any_customer_at_the_counter(
    module_env: ServiceEnv, module_client: FlaskClient, book: Book, whose: str
) -> None:
    body = {"customer_id": getattr(book, whose)}
    reply = module_client.post("/v1/pitch", json=body, headers=module_env.headers("teller"))
    assert reply.status_code == 200, reply.get_json()


def test_unknown_customer_is_404_for_everyone(
    module_env: ServiceEnv, module_client: FlaskClient
) -> None:
    reply = module_client.post(
        "/v1/pitch", json={"customer_id": "C99999999"}, headers=module_env.headers("teller")
    )
    assert_problem(reply, 404)
