"""Fixtures for catalogue tests: the packaged catalogue and a way to write a broken copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

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
    original = settings.catalogue_path.read_text(encoding="utf-8")

    def write(old: str, new: str) -> Path:
        assert old in original, f"test setup: {old!r} not in catalogue.yaml"
        path = tmp_path / "catalogue.yaml"
        path.write_text(original.replace(old, new, 1), encoding="utf-8")
        return path

    return write
