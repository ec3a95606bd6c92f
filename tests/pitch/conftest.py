"""Fixtures for pitch tests: the packaged catalogue, wording rules and pitch config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from factories import broken_copy

from recsvc.catalog import Catalogue, WordingRules, load_catalogue, load_wording_rules
from recsvc.config import Settings
from recsvc.pitch import DEFAULT_PITCH_PATH, PitchConfig, load_pitch_config


@pytest.fixture(scope="session")
def wording(settings: Settings) -> WordingRules:
    return load_wording_rules(settings.rules_config_path)


@pytest.fixture(scope="session")
def catalogue(settings: Settings, wording: WordingRules) -> Catalogue:
    return load_catalogue(settings.catalogue_path, wording=wording)


@pytest.fixture(scope="session")
def pitch_config(catalogue: Catalogue) -> PitchConfig:
    return load_pitch_config(DEFAULT_PITCH_PATH, product_ids=catalogue.ids)


@pytest.fixture
def broken_pitch_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    """Copy of pitch.yaml with one exact text replaced (the text must be there)."""
    return broken_copy(DEFAULT_PITCH_PATH, tmp_path)
