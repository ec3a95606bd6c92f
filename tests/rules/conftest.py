"""Fixtures for rules tests: packaged rules config and catalogue, and an evaluate() runner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest
from rules_factories import AS_OF, Run

from recsvc.catalog import Catalogue, load_catalogue
from recsvc.config import Settings
from recsvc.customers import BankConfig, Customer
from recsvc.rules import RulesConfig, Verdict, evaluate, load_rules_config


@pytest.fixture(scope="session")
def rules_config(settings: Settings) -> RulesConfig:
    return load_rules_config(settings.rules_config_path)


@pytest.fixture(scope="session")
def catalogue(settings: Settings) -> Catalogue:
    return load_catalogue(settings.catalogue_path)


@pytest.fixture
def run(rules_config: RulesConfig, catalogue: Catalogue, bank: BankConfig) -> Run:
    """evaluate() with the packaged config; manager channel and AS_OF unless told."""

    def _run(
        customer: Customer,
        *,
        channel: str = "manager",
        as_of: dt.date = AS_OF,
        recent_declines: Mapping[str, dt.date] | None = None,
    ) -> Verdict:
        return evaluate(
            customer,
            catalogue,
            channel=channel,
            as_of=as_of,
            rules=rules_config,
            bank=bank,
            recent_declines=recent_declines or {},
        )

    return _run
