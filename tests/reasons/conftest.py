"""Fixtures for reason tests: the serving feature names and the packaged explainer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from factories import broken_copy

from recsvc.catalog import Catalogue, load_catalogue
from recsvc.config import Settings
from recsvc.customers import BankConfig
from recsvc.features.customer import CustomerFeaturizer
from recsvc.models.reasons import DEFAULT_REASONS_PATH, ReasonExplainer


@pytest.fixture(scope="session")
def reasons_catalogue(settings: Settings) -> Catalogue:
    return load_catalogue(settings.catalogue_path)


@pytest.fixture(scope="session")
def featurizer(reasons_catalogue: Catalogue, bank: BankConfig) -> CustomerFeaturizer:
    return CustomerFeaturizer(product_ids=reasons_catalogue.ids, bank=bank)


@pytest.fixture(scope="session")
def feature_names(featurizer: CustomerFeaturizer) -> tuple[str, ...]:
    return featurizer.names


@pytest.fixture(scope="session")
def explainer(feature_names: tuple[str, ...]) -> ReasonExplainer:
    return ReasonExplainer.from_file(DEFAULT_REASONS_PATH, feature_names)


@pytest.fixture
def broken_reasons_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    """Copy of reasons.yaml with one exact text replaced (the text must be there)."""
    return broken_copy(DEFAULT_REASONS_PATH, tmp_path)
