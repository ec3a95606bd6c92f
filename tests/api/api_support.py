"""Helpers for the API tests (plain functions and data; the fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from recsvc import create_app
from recsvc.api.auth import requires
from recsvc.api.extensions import extensions
from recsvc.api.wire import Blueprint
from recsvc.config import Settings
from recsvc.customers import CustomerSchema
from recsvc.service.errors import Conflict, Forbidden, NotFound, Unavailable

MAX_BODY_BYTES = 4096
VALID_CUSTOMER: dict[str, Any] = {
    "customer_id": "C000123",
    "birth_date": "1990-05-01",
    "gender": "F",
    "branch_id": "B001",
    "name": "张伟",
    "phone": "13812345678",
    "id_number": "11010519900501234X",
}
RAISING = {
    "not_found": NotFound("No such thing."),
    "conflict": Conflict("Already recorded differently."),
    "forbidden": Forbidden("Not in your branch."),
    "unavailable": Unavailable("Model not loaded."),
    "crash": RuntimeError("boom: {'name': '张伟', 'phone': '13812345678'}"),
}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Test settings: everything under tmp_path, a generous rate limit unless overridden."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'recsvc.db'}",
        "registry_dir": tmp_path / "registry",
        "max_body_bytes": MAX_BODY_BYTES,
        "rate_limit": "10000 per minute",
        "web_workers": 1,  # the test client is one process: an in-memory limit is not divided
    }
    values.update(overrides)
    Path(values["registry_dir"]).mkdir(parents=True, exist_ok=True)  # empty, not missing
    return Settings(**values)


def testing_blueprint() -> Blueprint:
    """Endpoints that exist only in tests: a validated body, and each kind of domain error."""
    blp = Blueprint("testing", __name__, url_prefix="/_test")

    @blp.route("/customers", methods=["POST"])
    @blp.arguments(CustomerSchema)
    @blp.response(200)
    def post_customer(customer: Any) -> dict[str, str]:
        return {"customer_id": customer.customer_id}

    @blp.route("/admin-only")
    @blp.response(200)
    @requires("admin")
    def admin_only() -> dict[str, str]:
        return {"ok": "yes"}

    @blp.route("/raise/<kind>")
    @blp.response(200)
    def raise_error(kind: str) -> dict[str, str]:
        raise RAISING[kind]

    return blp


def build_app(settings: Settings, *, with_testing_routes: bool = False) -> Flask:
    app = create_app({"SETTINGS": settings, "TESTING": True})
    if with_testing_routes:
        extensions(app).api.register_blueprint(testing_blueprint())
    return app
