"""Fixtures for the service's functional tests: an app over tests/conftest.py's module_env
shared by a module's tests (they use their own request ids and customers), and the synthetic
bank's customer rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apptesting import ServiceEnv
from flask import Flask
from flask.testing import FlaskClient
from service_support import build_app, read_customers

from recsvc.api.extensions import extensions


@pytest.fixture(scope="module")
def module_app(module_env: ServiceEnv) -> Iterator[Flask]:
    app = build_app(module_env)
    yield app
    extensions(app).engine.dispose()


@pytest.fixture
def module_client(module_app: Flask) -> FlaskClient:
    return module_app.test_client()


@pytest.fixture(scope="session")
def customers(synthetic_bank: Path) -> list[dict[str, str]]:
    return read_customers(synthetic_bank)
