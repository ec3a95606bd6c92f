"""Fixtures shared by every test package: settings, business config."""

from __future__ import annotations

import pytest

from recsvc.config import Settings
from recsvc.customers import BankConfig, load_bank_config


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def bank(settings: Settings) -> BankConfig:
    return load_bank_config(settings.bank_config_path)
