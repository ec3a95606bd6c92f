"""What-if fixtures: a private store and registry for the module, the engine over the same
wiring as the request path's CrossSellService."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apptesting import ServiceEnv, service_env

from recsvc.service.recommend import CrossSellService
from recsvc.service.whatif import WhatIf
from recsvc.service.wiring import Services, build_services


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
