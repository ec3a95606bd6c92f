"""Fixtures for pitch tests: the packaged catalogue, wording rules and pitch config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

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
    original = DEFAULT_PITCH_PATH.read_text(encoding="utf-8")

    def write(old: str, new: str) -> Path:
        assert old in original, f"test setup: {old!r} not in pitch.yaml"
        path = tmp_path / "pitch.yaml"
        path.write_text(original.replace(old, new, 1), encoding="utf-8")
        return path

    return write
