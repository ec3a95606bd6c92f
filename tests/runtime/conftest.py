"""One small synthetic bank, two small trained model dirs (binary, multiclass), tmp registries."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from runtime_support import FakeClock, Polled

from recsvc.config import Settings
from recsvc.features.customer import CustomerFeaturizer
from recsvc.models.ranker import BINARY, MULTICLASS, ProductRanker
from recsvc.models.registry import Registry
from recsvc.models.runtime import LoadedModel, ModelRuntime

CUSTOMERS = 1500


@pytest.fixture(scope="session")
def featurizer() -> CustomerFeaturizer:
    from training.synthetic import featurizer_for

    return featurizer_for(Settings())


@pytest.fixture(scope="session")
def bank_features(
    tmp_path_factory: pytest.TempPathFactory, featurizer: CustomerFeaturizer
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(X, held, labels, products) of a small synthetic bank, through the serving featurizer."""
    from training.datasets import load_dataset, load_spec
    from training.synth.generate import generate_bank

    data = tmp_path_factory.mktemp("bank") / "bank"
    generate_bank(data, customers=CUSTOMERS, seed=1)
    frame = load_dataset(load_spec("synthetic"), data)
    X = frame.features.to_numpy(dtype=np.float32)
    return X, frame.held, frame.labels, list(frame.products)


def _train(
    out: Path,
    bank: tuple[np.ndarray, np.ndarray, np.ndarray, list[str]],
    featurizer: CustomerFeaturizer,
    *,
    kind: str,
    seed: int,
) -> Path:
    X, held, labels, products = bank
    ranker = ProductRanker(
        kind=kind,
        params={"num_leaves": 7, "min_data_in_leaf": 20},
        num_boost_round=20,
        calibration="platt",
        seed=seed,
        num_threads=1,
    )
    ranker.fit(
        X,
        held,
        labels,
        feature_names=list(featurizer.names),
        products=products,
        feature_schema=featurizer.feature_schema(),
    )
    dataset = {"name": "synthetic", "spec": {"customers": CUSTOMERS}, "data_sha256": "0" * 64}
    return ranker.save(out, extra={"dataset": dataset})


@pytest.fixture(scope="session")
def model_dirs(
    tmp_path_factory: pytest.TempPathFactory,
    bank_features: tuple[np.ndarray, np.ndarray, np.ndarray, list[str]],
    featurizer: CustomerFeaturizer,
) -> tuple[Path, Path]:
    """Two genuinely different models on the same features: a binary and a multiclass one."""
    root = tmp_path_factory.mktemp("models")
    a = _train(root / "a", bank_features, featurizer, kind=BINARY, seed=0)
    b = _train(root / "b", bank_features, featurizer, kind=MULTICLASS, seed=1)
    return a, b


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "model_registry")


@pytest.fixture
def published(registry: Registry, model_dirs: tuple[Path, Path]) -> tuple[str, str]:
    """Model a as champion, model b as challenger."""
    first = registry.publish(model_dirs[0], note="a")
    second = registry.publish(model_dirs[1], note="b")
    return first, second


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_runtime(
    registry: Registry, featurizer: CustomerFeaturizer, clock: FakeClock
) -> Callable[..., ModelRuntime]:
    def make(**overrides: object) -> ModelRuntime:
        options: dict[str, object] = {"featurizer": featurizer, "clock": clock, **overrides}
        return ModelRuntime(registry.root, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def polled(
    registry: Registry,
    published: tuple[str, str],
    clock: FakeClock,
    make_runtime: Callable[..., ModelRuntime],
) -> Polled:
    return Polled(registry, published, clock, make_runtime)


@pytest.fixture
def serving(
    make_runtime: Callable[..., ModelRuntime], published: tuple[str, str]
) -> tuple[ModelRuntime, LoadedModel]:
    """A runtime that has loaded the champion (the first published), and what it loaded."""
    runtime = make_runtime()
    loaded = runtime.current()
    assert loaded is not None and loaded.version == published[0]
    return runtime, loaded


@pytest.fixture
def copy_model(tmp_path: Path) -> Callable[[Path, str], Path]:
    """A private copy of a model dir a test may damage."""
    return lambda source, name: Path(shutil.copytree(source, tmp_path / name))


@pytest.fixture
def rows(featurizer: CustomerFeaturizer) -> np.ndarray:
    """A few seeded feature rows in the serving schema."""
    rng = np.random.default_rng(3)
    return rng.uniform(0.0, 50.0, size=(4, len(featurizer.names))).astype(np.float32)
