"""The OpenAPI document is valid and changes only deliberately (snapshot)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import schemathesis
from api_support import build_app, make_settings
from flask.testing import FlaskClient

from recsvc.api.extensions import extensions

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")
UPDATE_FLAG = "RECSVC_UPDATE_SNAPSHOTS"


def real_spec(tmp_path: Path) -> dict[str, object]:
    """The document of the real app (no test-only routes)."""
    app = build_app(make_settings(tmp_path))
    spec = app.test_client().get("/openapi.json").get_json()
    extensions(app).engine.dispose()
    return dict(spec)


def test_spec_is_valid_openapi_3_0(tmp_path: Path) -> None:
    spec = real_spec(tmp_path)
    assert spec["openapi"] == "3.0.3"
    schemathesis.openapi.from_dict(spec).validate()


def test_invalid_spec_is_rejected_by_the_validator() -> None:
    # The validity test above can fail: a broken document does not pass.
    broken = {"openapi": "3.0.3", "info": {"title": "x"}, "paths": {"/a": {"get": {}}}}
    try:
        schemathesis.openapi.from_dict(broken).validate()
    except Exception:
        return
    raise AssertionError("validator accepted a broken document")


def test_spec_matches_snapshot(tmp_path: Path) -> None:
    """Regenerate with RECSVC_UPDATE_SNAPSHOTS=1 after a deliberate API change."""
    text = json.dumps(real_spec(tmp_path), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get(UPDATE_FLAG) == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.read_text(encoding="utf-8") == text, f"API changed: {UPDATE_FLAG}=1 to accept"


def test_protected_operations_declare_bearer_and_problems(tmp_path: Path) -> None:
    spec = real_spec(tmp_path)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"  # type: ignore[index]
    op = spec["paths"]["/v1/products"]["get"]  # type: ignore[index]
    assert op["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "429"} <= set(op["responses"])
    problem = spec["components"]["responses"]["UNAUTHORIZED"]["content"]  # type: ignore[index]
    assert "application/problem+json" in problem


def test_docs_page_lists_operations_without_external_assets(client: FlaskClient) -> None:
    html = client.get("/docs").get_data(as_text=True)
    assert "/v1/products" in html and "/openapi.json" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
