"""A registry that is briefly missing, or whose aliases.json is corrupt, is an error to log and
report, not "no champion": a worker keeps the model it has until a valid new one is published."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from runtime_support import Polled

from recsvc.models.registry import Registry, RegistryUnavailable
from recsvc.models.runtime import ModelRuntime


def _hide(registry: Registry) -> Path:
    """Move the whole registry away (an operator's re-sync, a remount); returns where to."""
    away = registry.root.with_name(registry.root.name + ".away")
    os.rename(registry.root, away)
    return away


def test_missing_registry_keeps_the_loaded_model_and_says_so(
    polled: Polled, caplog: pytest.LogCaptureFixture
) -> None:
    first, _ = polled.versions
    runtime = polled.serving()
    away = _hide(polled.registry)

    with caplog.at_level(logging.WARNING, logger="recsvc.models.runtime"):
        for _ in range(30):  # 30 polls: as long as the outage
            polled.clock.advance(1.0)
            loaded = runtime.current()
            assert loaded is not None and loaded.version == first
    _name, ok, detail = runtime.readiness()
    assert ok and first in detail and "registry unavailable" in detail
    assert runtime.status()["registry_error"]["type"] == "RegistryUnavailable"
    logged = [r for r in caplog.records if "registry unavailable" in r.getMessage()]
    assert len(logged) == 1, "logged once when it appears, not on every poll"
    assert logged[0].levelno == logging.ERROR

    os.rename(away, polled.registry.root)
    polled.clock.advance(1.0)
    assert runtime.current().version == first  # type: ignore[union-attr]
    assert runtime.readiness() == ("model", True, runtime.readiness()[2])
    assert "registry" not in runtime.readiness()[2]
    assert runtime.status()["registry_error"] is None


def test_a_valid_new_champion_is_taken_after_the_registry_returns(polled: Polled) -> None:
    first, second = polled.versions
    runtime = polled.serving()
    away = _hide(polled.registry)
    polled.clock.advance(1.0)
    assert runtime.current().version == first  # type: ignore[union-attr]
    os.rename(away, polled.registry.root)
    polled.registry.promote(second)
    polled.clock.advance(1.0)
    assert runtime.current().version == second  # type: ignore[union-attr]


def test_fresh_worker_with_a_missing_registry_is_not_ready(
    make_runtime: Callable[..., ModelRuntime], registry: Registry
) -> None:
    assert not registry.root.exists()
    runtime = make_runtime()
    assert runtime.current() is None
    name, ok, detail = runtime.readiness()
    assert (name, ok) == ("model", False)
    assert "registry unavailable" in detail and "missing" in detail


@pytest.mark.parametrize("text", ["{not json", "[]", '{"champion": 7}', "", '{"revision": "x"}'])
def test_corrupt_aliases_keep_the_loaded_model(polled: Polled, text: str) -> None:
    first, _ = polled.versions
    runtime = polled.serving()
    polled.registry.aliases_path.write_text(text)
    polled.clock.advance(1.0)
    assert runtime.current().version == first  # type: ignore[union-attr]
    assert runtime.readiness()[1] is True
    assert "aliases.json is corrupt" in runtime.readiness()[2]


def test_aliases_gone_while_versions_are_published_is_not_no_champion(
    registry: Registry, published: tuple[str, str]
) -> None:
    registry.aliases_path.unlink()
    with pytest.raises(RegistryUnavailable, match="missing"):
        registry.alias_state()


@pytest.mark.parametrize("operation", ["promote", "rollback", "publish"])
def test_writers_refuse_a_corrupt_registry_instead_of_resetting_it(
    registry: Registry, published: tuple[str, str], model_dirs: tuple[Path, Path], operation: str
) -> None:
    registry.aliases_path.write_text("{not json")
    call = {
        "promote": lambda: registry.promote(published[1]),
        "rollback": registry.rollback,
        "publish": lambda: registry.publish(model_dirs[0]),
    }[operation]
    with pytest.raises(RegistryUnavailable):
        call()
    assert registry.aliases_path.read_text() == "{not json"


def test_a_fresh_registry_still_means_no_champion(tmp_path: Path) -> None:
    fresh = Registry(tmp_path / "fresh")
    fresh.root.mkdir()
    state = fresh.alias_state()
    assert (state.champion, state.challenger, state.revision) == (None, None, 0)


@pytest.mark.parametrize("operation", ["promote", "rollback"])
def test_writers_do_not_recreate_a_missing_registry(
    registry: Registry, published: tuple[str, str], operation: str
) -> None:
    away = _hide(registry)
    call = {"promote": lambda: registry.promote(published[1]), "rollback": registry.rollback}
    with pytest.raises(RegistryUnavailable, match="missing"):
        call[operation]()
    assert not registry.root.exists(), "an empty registry would read as 'no champion'"
    os.rename(away, registry.root)
