"""What-if fixtures: a private store and registry for the module, the engine over the same
wiring as the request path's CrossSellService, and the store's row counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptesting import ServiceEnv, service_env
from sqlalchemy import func, select

from recsvc.service.recommend import CrossSellService
from recsvc.service.whatif import WhatIf
from recsvc.service.wiring import Services, build_services
from recsvc.store.tables import AuditLogRow, ContactPlanRow, FeedbackRow, PitchLogRow

AS_OF = dt.date(2026, 10, 20)  # after the synthetic bank's snapshot: declines and pitches count
WRITTEN = (AuditLogRow, PitchLogRow, FeedbackRow, ContactPlanRow)


@pytest.fixture(scope="module")
def whatif_env(
    tmp_path_factory: pytest.TempPathFactory,
    loaded_store: Path,
    trained_model: Path,
    synthetic_bank: Path,
) -> ServiceEnv:
    return service_env(
        tmp_path_factory.mktemp("whatif"),
        template_db=loaded_store,
        model_dir=trained_model,
        bank=synthetic_bank,
    )


@pytest.fixture(scope="module")
def services(whatif_env: ServiceEnv) -> Iterator[Services]:
    built = build_services(whatif_env.settings)
    yield built
    built.engine.dispose()


@pytest.fixture(scope="module")
def whatif(services: Services) -> WhatIf:
    return WhatIf(services)


@pytest.fixture(scope="module")
def service(services: Services) -> CrossSellService:
    return CrossSellService(services)


def row_counts(services: Services) -> dict[str, int]:
    """Rows of every table a pitch, an audit record, feedback or a plan would write."""
    with services.engine.connect() as conn:
        return {
            t.__tablename__: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in WRITTEN
        }
