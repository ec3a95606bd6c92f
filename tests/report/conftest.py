"""Fixtures: a small evaluation section, descriptors around it, and model directories."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from training.report import collect_evaluation

PRODUCTS = ["credit_card", "fund_plan", "gold_plan", "time_deposit"]
FEATURES = [f"feature_{i:02d}" for i in range(25)]


def _inputs(seed: int, **overrides: Any) -> dict[str, Any]:
    """A seeded hold-out where scores carry signal, plus a popularity baseline."""
    rng = np.random.default_rng(seed)
    n, p = 300, len(PRODUCTS)
    scores = rng.uniform(0.0, 0.7, size=(n, p))
    y_true = (rng.uniform(size=(n, p)) < scores * 0.6).astype(int)
    inputs: dict[str, Any] = {
        "products": list(PRODUCTS),
        "y_true": y_true,
        "scores": scores,
        "baseline_scores": {"popularity": np.tile(y_true.mean(axis=0), (n, 1))},
        "held": rng.uniform(size=(n, p)) < 0.15,
        "importance_gain": {f: float(100 - 3 * i) for i, f in enumerate(FEATURES)},
        "mean_abs_shap": {f: float(1 + i) / 10 for i, f in enumerate(FEATURES)},
        "data_summary": {"customers": np.int64(n), "window": {"from": "2024-01", "to": "2024-06"}},
    }
    inputs.update(overrides)
    return inputs


@pytest.fixture
def make_inputs() -> Callable[..., dict[str, Any]]:
    """collect_evaluation keyword arguments; override any of them."""
    return _inputs


def _descriptor(seed: int, *, sha: str = "a" * 64, **overrides: Any) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "format": "recsvc-model",
        "format_version": 1,
        "kind": "multiclass-ranker",
        "products": list(PRODUCTS),
        "created_at": "2025-06-30T12:00:00Z",
        "feature_schema": {"names": FEATURES, "categorical": {}, "fingerprint": "f" * 64},
        "dataset": {"name": "synth-small", "spec": "synth_small.toml", "data_sha256": sha},
        "params": {"learning_rate": 0.05, "num_leaves": 31},
        "metrics": {"map@7": 0.3},
        "evaluation": collect_evaluation(**_inputs(seed)),
    }
    descriptor.update(overrides)
    return descriptor


@pytest.fixture(scope="session")
def candidate_json() -> dict[str, Any]:
    return _descriptor(1)


@pytest.fixture(scope="session")
def champion_json() -> dict[str, Any]:
    return _descriptor(2)


@pytest.fixture
def write_model_dir(tmp_path: Path) -> Callable[[str, dict[str, Any]], Path]:
    """Write a descriptor as <tmp>/<name>/model.json and return the directory."""

    def write(name: str, descriptor: dict[str, Any]) -> Path:
        model_dir = tmp_path / name
        model_dir.mkdir()
        (model_dir / "model.json").write_text(json.dumps(copy.deepcopy(descriptor)), "utf-8")
        return model_dir

    return write
