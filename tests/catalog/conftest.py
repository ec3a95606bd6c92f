"""Fixtures for catalogue tests: the packaged catalogue and a way to write a broken copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from factories import broken_copy

from recsvc.catalog import Catalogue, WordingRules, load_catalogue, load_wording_rules
from recsvc.config import Settings
from recsvc.customers import BankConfig


@pytest.fixture(scope="session")
def wording(settings: Settings) -> WordingRules:
    return load_wording_rules(settings.rules_config_path)


@pytest.fixture(scope="session")
def catalogue(settings: Settings, bank: BankConfig, wording: WordingRules) -> Catalogue:
    codes = [bank.ordinary.code, *(t.code for t in bank.tiers)]
    return load_catalogue(settings.catalogue_path, wording=wording, tier_codes=codes)


@pytest.fixture
def broken_catalogue(settings: Settings, tmp_path: Path) -> Callable[[str, str], Path]:
    """Copy of catalogue.yaml with one exact text replaced (the text must be there)."""
    return broken_copy(settings.catalogue_path, tmp_path)
