"""What-if fixtures: over the module's private store and registry (tests/conftest.py's
module_env), the engine over the same wiring as the request path's CrossSellService."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apptesting import ServiceEnv

from recsvc.service.recommend import CrossSellService
from recsvc.service.whatif import WhatIf
from recsvc.service.wiring import Services, build_services


@pytest.fixture(scope="module")
def services(module_env: ServiceEnv) -> Iterator[Services]:
    built = build_services(module_env.settings)
    yield built
    built.engine.dispose()


@pytest.fixture(scope="module")
def whatif(services: Services) -> WhatIf:
    return WhatIf(services)


@pytest.fixture(scope="module")
def service(services: Services) -> CrossSellService:
    return CrossSellService(services)
