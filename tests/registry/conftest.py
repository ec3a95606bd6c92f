"""Fixtures: a tiny real LightGBM model directory and an empty registry per test."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from recsvc.models.registry import Registry

FEATURE_NAMES = ["age", "balance", "tenure_months", "risk_level", "tier"]
CATEGORICAL = {"tier": ["mass", "affluent", "private"]}
PRODUCTS = ["deposit_3m", "fund_bond", "card_gold"]


def fingerprint_of(names: list[str], categorical: dict[str, list[str]]) -> str:
    """Computed here independently of recsvc, so a changed canonical form fails a test."""
    text = json.dumps(
        {"names": names, "categorical": categorical}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


FINGERPRINT = fingerprint_of(FEATURE_NAMES, CATEGORICAL)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real multiclass booster saved as text, with descriptor and calibration."""
    import lightgbm as lgb

    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, len(FEATURE_NAMES)))
    x[:, 4] = rng.integers(0, 3, size=300)
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
    params = {
        "objective": "multiclass",
        "num_class": 3,
        "num_leaves": 7,
        "learning_rate": 0.2,
        "verbose": -1,
        "seed": 7,
    }
    data = lgb.Dataset(x, label=y, feature_name=FEATURE_NAMES, categorical_feature=["tier"])
    booster = lgb.train(params, data, num_boost_round=10)
    directory = tmp_path_factory.mktemp("trained") / "model"
    directory.mkdir()
    booster.save_model(str(directory / "model.txt"))
    (directory / "calibration.json").write_text(json.dumps({"a": [1.0, 0.9, 1.1], "b": 0.0}))
    descriptor = {
        "format": "recsvc-model",
        "format_version": 1,
        "kind": "multiclass",
        "products": PRODUCTS,
        "feature_schema": {
            "names": FEATURE_NAMES,
            "categorical": CATEGORICAL,
            "fingerprint": FINGERPRINT,
        },
        "dataset": {
            "name": "synth-small",
            "spec": {"customers": 300, "seed": 7},
            "data_sha256": hashlib.sha256(x.tobytes()).hexdigest(),
        },
        "params": params,
        "metrics": {"map_at_3": 0.61, "baselines": {"popularity": {"map_at_3": 0.4}}},
        "calibration": "calibration.json",
        "artifacts": ["model.txt", "calibration.json"],
    }
    (directory / "model.json").write_text(json.dumps(descriptor, indent=2))
    return directory


@pytest.fixture
def model_dir(trained_model_dir: Path, tmp_path: Path) -> Path:
    """A private copy each test may damage."""
    return Path(shutil.copytree(trained_model_dir, tmp_path / "model"))


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "model_registry")


@pytest.fixture
def feature_fingerprint() -> str:
    return FINGERPRINT


@pytest.fixture
def edit_descriptor() -> Callable[..., None]:
    """Rewrite a model dir's model.json with some keys replaced."""

    def edit(model_dir: Path, **changes: object) -> None:
        path = model_dir / "model.json"
        descriptor = json.loads(path.read_text())
        descriptor.update(changes)
        path.write_text(json.dumps(descriptor))

    return edit
