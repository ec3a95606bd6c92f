"""Console fixtures: the service app over a loaded bank, a contact plan for this week."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from recsvc.service.contact_plan import build_planner
from recsvc.service.weeks import week_of

CHROMIUM = Path("/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: end-to-end in headless Chromium (Playwright)")


@pytest.fixture
def planned(env: Any, service_app: Any) -> Any:
    """The env with this week's contact plan written, as the nightly score-book would."""
    from recsvc.api.extensions import extensions

    week = week_of(extensions(service_app).service.today())
    planner = build_planner(env.settings)
    summary = planner.plan_week(week, chunk_size=1000)
    planner.engine.dispose()
    assert summary.entries > 0
    return env


@pytest.fixture
def browser_ready() -> None:
    """Chromium and Playwright present; in CI their absence fails the test instead of skipping."""
    missing = [] if CHROMIUM.is_file() else [str(CHROMIUM)]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if missing:
        message = f"browser tests need {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    from recsvc.config import PROJECT_ROOT

    folder = PROJECT_ROOT / "test-artifacts" / "console"
    folder.mkdir(parents=True, exist_ok=True)  # xdist workers share it: never wipe it here
    return folder
