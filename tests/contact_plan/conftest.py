"""Contact-plan fixtures: a fresh store and a planner over it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from contact_plan_support import WEEK

from recsvc.config import Settings
from recsvc.service.contact_plan import ContactPlanner, build_planner
from recsvc.store import make_engine, upgrade


@pytest.fixture
def store_settings(tmp_path: Path) -> Settings:
    """A fresh, migrated store and an empty registry (no model: degraded, rules only)."""
    settings = dataclasses.replace(
        Settings(),
        database_url=f"sqlite:///{tmp_path / 'book.db'}",
        registry_dir=tmp_path / "registry",
    )
    upgrade(make_engine(settings.database_url))
    return settings


@pytest.fixture
def planner(store_settings: Settings) -> Iterator[ContactPlanner]:
    """No model, and degraded propensity 0: priority is exactly the sum of trigger weights."""
    built = build_planner(store_settings)
    built.service_config = dataclasses.replace(built.service_config, degraded_propensity=0.0)
    yield built
    built.engine.dispose()


@pytest.fixture
def plan_of(planner: ContactPlanner) -> Callable[[str], dict[str, dict[str, Any]]]:
    """Read back a manager's stored plan as {customer_id: entry}, in plan order."""
    from recsvc.service.answers import Caller
    from recsvc.service.plan_read import manager_plan

    def read(manager_id: str) -> dict[str, dict[str, Any]]:
        rows = manager_plan(planner.engine, Caller(role="admin"), manager_id, WEEK)
        return {r["customer_id"]: r for r in rows}

    return read
