"""Aliases move only through promote and rollback, atomically, even across processes."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any, Literal

import pytest

from recsvc.models.registry import NoRollbackTarget, Registry, TamperedArtifact, UnknownVersion

WRITERS = 3
PROMOTES_PER_WRITER = 60
MIN_READS = 3000


def _promote_many(root: str, versions: list[str], offset: int, rounds: int) -> None:
    """Writer process: promote versions in turn, alternating the alias."""
    registry = Registry(Path(root))
    for i in range(rounds):
        alias: Literal["champion", "challenger"] = "champion" if i % 3 else "challenger"
        registry.promote(versions[(i + offset) % len(versions)], alias=alias)


def _read_many(root: str, stop: Any, results: Any) -> None:
    """Reader process: parse aliases.json as a serving worker would, and check every target."""
    path = Path(root) / "aliases.json"
    versions = Path(root) / "versions"
    problems: list[str] = []
    reads, last_revision = 0, -1
    while reads < MIN_READS or not stop.is_set():
        reads += 1
        try:
            state = json.loads(path.read_text())
        except ValueError as exc:
            problems.append(f"invalid JSON: {exc}")
            continue
        for alias in ("champion", "challenger"):
            target = state[alias]
            if target is not None and not (versions / target / "manifest.json").is_file():
                problems.append(f"{alias} -> missing {target}")
        if state["revision"] < last_revision:
            problems.append(f"revision went back {last_revision} -> {state['revision']}")
        last_revision = state["revision"]
    results.put((reads, problems[:10]))


def _crash_before_rename(root: str, model_dir: str) -> None:
    """Publisher that dies (no cleanup, no exception handling) just before the rename."""
    os.rename = lambda *args, **kwargs: os._exit(3)
    Registry(Path(root)).publish(Path(model_dir))


def test_promote_moves_champion_and_keeps_history(registry: Registry, model_dir: Path) -> None:
    first, second, third = (registry.publish(model_dir) for _ in range(3))
    assert registry.alias_state().challenger == third
    before = registry.alias_state().revision
    state = registry.promote("challenger")
    assert (state.champion, state.challenger) == (third, None)
    assert state.champion_history == (first,)
    state = registry.promote(second)
    assert state.champion == second
    assert state.champion_history == (first, third)
    assert state.revision == before + 2
    assert registry.resolve("champion") == second


def test_rollback_walks_back_then_refuses(registry: Registry, model_dir: Path) -> None:
    first, second = registry.publish(model_dir), registry.publish(model_dir)
    with pytest.raises(NoRollbackTarget, match=first):
        registry.rollback()
    registry.promote(second)
    state = registry.rollback()
    assert state.champion == first
    assert state.champion_history == ()
    with pytest.raises(NoRollbackTarget):
        registry.rollback()
    assert registry.alias_state().champion == first


def test_rollback_on_empty_registry_refuses(registry: Registry) -> None:
    registry.root.mkdir(parents=True)  # empty, not missing (a missing one is an error)
    with pytest.raises(NoRollbackTarget):
        registry.rollback()


def test_promote_refuses_unknown_version_and_alias(registry: Registry, model_dir: Path) -> None:
    version = registry.publish(model_dir)
    before = registry.alias_state()
    with pytest.raises(UnknownVersion, match="v20200101T000000Z-000000"):
        registry.promote("v20200101T000000Z-000000")
    with pytest.raises(ValueError, match="'deputy'"):
        registry.promote(version, alias="deputy")  # type: ignore[arg-type]
    assert registry.alias_state() == before


def test_concurrent_promotes_are_atomic_and_serialised(registry: Registry, model_dir: Path) -> None:
    versions = [registry.publish(model_dir) for _ in range(4)]
    start_revision = registry.alias_state().revision
    ctx = multiprocessing.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    root = str(registry.root)
    readers = [ctx.Process(target=_read_many, args=(root, stop, results)) for _ in range(2)]
    writers = [
        ctx.Process(target=_promote_many, args=(root, versions, n, PROMOTES_PER_WRITER))
        for n in range(WRITERS)
    ]
    for process in [*readers, *writers]:
        process.start()
    for process in writers:
        process.join(timeout=60)
    stop.set()
    outcomes = [results.get(timeout=60) for _ in readers]
    for process in readers:
        process.join(timeout=60)
    assert [p.exitcode for p in [*readers, *writers]] == [0] * (len(readers) + WRITERS)
    assert [problems for _reads, problems in outcomes] == [[]] * len(readers)
    assert all(reads >= MIN_READS for reads, _problems in outcomes)
    # one revision per promote: no writer overwrote another's change
    assert registry.alias_state().revision == start_revision + WRITERS * PROMOTES_PER_WRITER
    assert not list(registry.root.glob(".tmp-*"))


def test_crash_mid_publish_leaves_nothing_visible(registry: Registry, model_dir: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    crasher = ctx.Process(target=_crash_before_rename, args=(str(registry.root), str(model_dir)))
    crasher.start()
    crasher.join(timeout=60)
    assert crasher.exitcode == 3
    leftovers = list(registry.root.glob(".tmp-*"))
    assert len(leftovers) == 1
    assert (leftovers[0] / "manifest.json").is_file()
    assert registry.list_versions() == []
    with pytest.raises(UnknownVersion, match="champion"):
        registry.resolve("champion")
    version = registry.publish(model_dir)
    assert not list(registry.root.glob(".tmp-*"))
    assert [info.version for info in registry.list_versions()] == [version]
    assert registry.alias_state().champion == version


def test_promote_refuses_tampered_version(registry: Registry, model_dir: Path) -> None:
    first, second = registry.publish(model_dir), registry.publish(model_dir)
    target = registry.root / "versions" / second / "calibration.json"
    target.chmod(0o644)
    target.write_text('{"a": [9.0], "b": 0.0}')
    with pytest.raises(TamperedArtifact, match=r"calibration\.json"):
        registry.promote(second)
    assert registry.alias_state().champion == first
