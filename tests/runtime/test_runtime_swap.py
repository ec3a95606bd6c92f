"""Lazy loading, following promote/rollback, empty registries, status and scoring."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from runtime_support import Polled

from recsvc.models.ranker import ProductRanker
from recsvc.models.registry import Registry
from recsvc.models.runtime import LoadedModel, ModelRuntime, model_hash


def test_importing_the_runtime_starts_no_lightgbm() -> None:
    code = "import sys, recsvc.models.runtime; print('lightgbm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_constructing_loads_nothing_and_current_does(
    make_runtime: Callable[..., ModelRuntime],
    published: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[Path] = []
    original = ProductRanker.load.__func__  # type: ignore[attr-defined]

    def counting_load(cls: type[ProductRanker], directory: Path, **kw: object) -> ProductRanker:
        loads.append(Path(directory))
        return original(cls, directory, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(ProductRanker, "load", classmethod(counting_load))
    runtime = make_runtime()
    assert loads == []
    assert runtime.status()["version"] is None
    assert runtime.status()["alias_revision_seen"] is None

    loaded = runtime.current()

    assert loaded is not None and loaded.version == published[0]
    assert [p.name for p in loads] == [published[0]]
    assert runtime.current() is loaded  # within poll_seconds: no re-read, same object
    assert len(loads) == 1


def test_constructing_with_a_missing_root_touches_nothing(
    tmp_path: Path, make_runtime: Callable[..., ModelRuntime]
) -> None:
    runtime = ModelRuntime(tmp_path / "nowhere", featurizer=make_runtime().featurizer)
    assert not (tmp_path / "nowhere").exists()
    assert runtime.current() is None
    assert not (tmp_path / "nowhere").exists()


def test_empty_registry_serves_no_model(
    make_runtime: Callable[..., ModelRuntime], registry: Registry
) -> None:
    registry.root.mkdir(parents=True)  # empty, not missing (a missing one is an error)
    runtime = make_runtime()

    assert runtime.current() is None
    status = runtime.status()
    assert status["degraded"] is True and status["version"] is None
    assert runtime.readiness() == ("model", True, "degraded, rules only: no published model")
    assert runtime.readiness(require_model=True)[1] is False


def test_promote_reaches_the_runtime_after_one_poll(polled: Polled) -> None:
    first, second = polled.versions
    runtime = polled.serving(poll_seconds=1.0)

    polled.registry.promote(second)
    polled.clock.advance(0.5)
    assert runtime.current().version == first  # type: ignore[union-attr]
    polled.clock.advance(0.5)
    loaded = runtime.current()

    assert loaded is not None and loaded.version == second
    assert runtime.status()["alias_revision_seen"] == polled.registry.alias_state().revision
    assert runtime.status()["last_error"] is None


def test_rollback_goes_back(polled: Polled) -> None:
    first, second = polled.versions
    runtime = polled.make()
    polled.registry.promote(second)
    runtime.current()
    first_hash = model_hash(polled.registry.manifest(first))

    polled.registry.rollback()
    polled.clock.advance(1.0)
    loaded = runtime.current()

    assert loaded is not None and loaded.version == first
    assert loaded.model_hash == first_hash


def test_challenger_runtime_follows_the_challenger(polled: Polled) -> None:
    runtime = polled.make(alias="challenger")
    assert runtime.current().version == polled.versions[1]  # type: ignore[union-attr]

    polled.registry.promote(
        polled.versions[1]
    )  # the challenger becomes champion: no challenger left
    polled.clock.advance(1.0)

    assert runtime.current() is None


def test_model_hash_is_stable_for_the_same_files(
    registry: Registry, model_dirs: tuple[Path, Path]
) -> None:
    one = registry.publish(model_dirs[0])
    again = registry.publish(model_dirs[0])
    other = registry.publish(model_dirs[1])

    assert one != again
    assert model_hash(registry.manifest(one)) == model_hash(registry.manifest(again))
    assert model_hash(registry.manifest(one)) != model_hash(registry.manifest(other))


def test_status_names_what_is_served(
    serving: tuple[ModelRuntime, LoadedModel], registry: Registry, published: tuple[str, str]
) -> None:
    runtime, loaded = serving
    status = runtime.status()

    assert status["version"] == published[0]
    assert status["model_hash"] == loaded.model_hash == model_hash(registry.manifest(published[0]))
    assert status["loaded_at"].endswith("Z")
    assert status["products"] == len(loaded.products)
    assert status["degraded"] is False
    assert runtime.readiness()[:2] == ("model", True)


def test_score_and_contributions_have_the_model_shapes(
    serving: tuple[ModelRuntime, LoadedModel], rows: np.ndarray
) -> None:
    runtime, loaded = serving
    scores = runtime.score(loaded, rows)
    contrib = runtime.contributions(loaded, rows[:1], loaded.products[2])

    assert scores.shape == (len(rows), len(loaded.products))
    assert np.all(np.isfinite(scores)) and scores.min() >= 0.0 and scores.max() <= 1.0
    assert contrib.shape == (1, rows.shape[1] + 1)
    assert list(loaded.product_index) == list(loaded.products)


@pytest.mark.parametrize("bad", ["wrong_width", "one_dimensional"])
def test_score_refuses_rows_of_another_schema(
    serving: tuple[ModelRuntime, LoadedModel], rows: np.ndarray, bad: str
) -> None:
    runtime, loaded = serving
    X = rows[:, :-1] if bad == "wrong_width" else rows[0]

    with pytest.raises(ValueError, match="expects"):
        runtime.score(loaded, X)


def test_contributions_refuse_an_unknown_product(
    serving: tuple[ModelRuntime, LoadedModel], rows: np.ndarray
) -> None:
    runtime, loaded = serving
    with pytest.raises(ValueError, match="no_such_product"):
        runtime.contributions(loaded, rows[:1], "no_such_product")
