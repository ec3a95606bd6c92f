"""Helpers for the service's functional tests (import as `from service_support import ...`)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from apptesting import ServiceEnv
from flask import Flask
from hypothesis import HealthCheck, settings

from recsvc import create_app

PROBLEM_JSON = "application/problem+json"


def through_fixtures(max_examples: int) -> settings:
    """Hypothesis settings for a property that calls the service through pytest fixtures shared
    by every example: no deadline, and no health check for those fixtures or for slow examples."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def read_customers(bank: Path) -> list[dict[str, str]]:
    """The bank export's customer rows as strings (empty string for a missing value)."""
    with (bank / "customers.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def first(rows: list[dict[str, str]], **where: Any) -> dict[str, str]:
    """The first row matching every `column=value`; a callable value is a predicate."""
    for row in rows:
        if all(v(row[k]) if callable(v) else row[k] == v for k, v in where.items()):
            return row
    raise LookupError(f"no customer with {where}")


def build_app(env: ServiceEnv) -> Flask:
    return create_app({"SETTINGS": env.settings, "TESTING": True})


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is RFC 9457 problem+json with this status; returns the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    return body
