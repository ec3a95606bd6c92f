"""Fixtures for the HTTP API: settings on a temp SQLite store, app, client, keys per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import build_app, make_settings
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from recsvc.api.extensions import extensions
from recsvc.config import Settings
from recsvc.security import create_key


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = build_app(settings, with_testing_routes=True)
    yield app
    extensions(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_key(app: Flask) -> Callable[..., str]:
    """Issue a real key in the app's store: make_key("teller", staff_id="T1")."""

    def make(role: str, **fields: Any) -> str:
        fields.setdefault("staff_id", f"S-{role}")
        with Session(extensions(app).engine) as session:
            return create_key(session, role=role, **fields)

    return make


@pytest.fixture
def auth(make_key: Callable[..., str]) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a fresh key of a role."""
    return lambda role: {"Authorization": f"Bearer {make_key(role)}"}
