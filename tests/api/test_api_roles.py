"""Who may call what: one table row per endpoint; add rows as endpoints arrive."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from recsvc.security import ROLES

ANY_ROLE = frozenset(ROLES)
# (method, path, roles allowed); public endpoints have roles None.
ENDPOINTS: list[tuple[str, str, frozenset[str] | None]] = [
    ("GET", "/v1/products", ANY_ROLE),
    ("GET", "/healthz", None),
    ("GET", "/readyz", None),
    ("GET", "/metrics", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
]
CASES = [(m, p, allowed, role) for m, p, allowed in ENDPOINTS for role in ROLES]


@pytest.mark.parametrize(("method", "path", "allowed", "role"), CASES)
def test_role_matrix(
    client: FlaskClient,
    auth: Callable[[str], dict[str, str]],
    method: str,
    path: str,
    allowed: frozenset[str] | None,
    role: str,
) -> None:
    response = client.open(path, method=method, headers=auth(role))
    expected = 200 if allowed is None or role in allowed else 403
    assert response.status_code == expected


@pytest.mark.parametrize(("method", "path", "allowed"), ENDPOINTS)
def test_without_key(
    client: FlaskClient, method: str, path: str, allowed: frozenset[str] | None
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == (200 if allowed is None else 401)


def test_products_are_the_catalogue(
    client: FlaskClient, auth: Callable[[str], dict[str, str]]
) -> None:
    products = client.get("/v1/products", headers=auth("teller")).get_json()["products"]
    assert len(products) > 10
    assert len({p["product_id"] for p in products}) == len(products)
    assert all(p["risk_level"] in (None, "R1", "R2", "R3", "R4", "R5") for p in products)
