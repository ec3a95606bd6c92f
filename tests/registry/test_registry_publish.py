"""Publishing copies a model dir immutably; loading re-checks every byte."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from recsvc.models.registry import (
    InvalidModelDir,
    PickleRefused,
    Registry,
    SchemaMismatch,
    TamperedArtifact,
    UnknownVersion,
)

VERSION_RE = re.compile(r"^v\d{8}T\d{6}Z-[0-9a-f]{6}$")


def _writable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _published_writable(registry: Registry, model_dir: Path) -> tuple[str, Path]:
    """A newly published version and its directory, made writable so a test can tamper with it."""
    version = registry.publish(model_dir)
    version_dir = registry.root / "versions" / version
    _writable(version_dir)
    return version, version_dir


def test_publish_writes_complete_manifest(
    registry: Registry, model_dir: Path, feature_fingerprint: str
) -> None:
    version = registry.publish(model_dir, note="first try")
    manifest = registry.manifest(version)
    descriptor = json.loads((model_dir / "model.json").read_text())
    assert VERSION_RE.match(version)
    assert manifest["version"] == version
    assert manifest["created_at"].endswith("Z")
    assert manifest["note"] == "first try"
    assert set(manifest["libraries"]) == {"python", "lightgbm", "numpy", "scikit-learn", "recsvc"}
    assert manifest["libraries"]["lightgbm"] == "4.7.0"
    assert "git_commit" in manifest
    assert manifest["dataset"] == descriptor["dataset"]
    assert manifest["feature_schema"]["fingerprint"] == feature_fingerprint
    assert manifest["params"] == descriptor["params"]
    assert manifest["metrics"]["baselines"] == {"popularity": {"map_at_3": 0.4}}
    assert set(manifest["artifacts"]) == {"model.json", "model.txt", "calibration.json"}
    for name, recorded in manifest["artifacts"].items():
        data = (model_dir / name).read_bytes()
        assert recorded == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_published_files_are_read_only_and_loadable(registry: Registry, model_dir: Path) -> None:
    import lightgbm as lgb

    version = registry.publish(model_dir)
    version_dir = registry.root / "versions" / version
    for path in [version_dir, *version_dir.iterdir()]:
        assert path.stat().st_mode & 0o222 == 0, path
    model = registry.load_verified("champion", expected_feature_fingerprint=None)
    booster = lgb.Booster(model_file=str(model.artifact_path("model.txt")))
    assert booster.num_feature() == 5


def test_first_publish_is_champion_then_challenger(registry: Registry, model_dir: Path) -> None:
    first = registry.publish(model_dir)
    second = registry.publish(model_dir)
    third = registry.publish(model_dir, alias=None)
    state = registry.alias_state()
    assert (state.champion, state.challenger) == (first, second)
    infos = registry.list_versions()
    assert [i.version for i in infos] == [first, second, third]
    assert [i.aliases for i in infos] == [("champion",), ("challenger",), ()]
    assert infos[0].metrics == {"map_at_3": 0.61}


def test_same_dir_twice_in_one_second_gives_distinct_versions(
    registry: Registry, model_dir: Path
) -> None:
    versions = {registry.publish(model_dir) for _ in range(5)}
    assert len(versions) == 5
    assert {i.version for i in registry.list_versions()} == versions


def test_publish_refuses_file_not_in_artifacts(registry: Registry, model_dir: Path) -> None:
    (model_dir / "notes.md").write_text("hello")
    with pytest.raises(InvalidModelDir, match=r"notes\.md"):
        registry.publish(model_dir)
    assert registry.list_versions() == []


def test_publish_refuses_missing_artifact(registry: Registry, model_dir: Path) -> None:
    (model_dir / "calibration.json").unlink()
    with pytest.raises(InvalidModelDir, match=r"calibration\.json"):
        registry.publish(model_dir)


@pytest.mark.parametrize("name", ["model.pkl", "model.pickle", "model.joblib"])
def test_publish_refuses_pickle_by_suffix(
    registry: Registry, model_dir: Path, name: str, edit_descriptor: Callable[..., None]
) -> None:
    (model_dir / name).write_bytes(b"not really")
    edit_descriptor(model_dir, artifacts=["model.txt", "calibration.json", name])
    with pytest.raises(PickleRefused, match=re.escape(name)):
        registry.publish(model_dir)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_publish_refuses_pickle_by_content(
    registry: Registry, model_dir: Path, protocol: int
) -> None:
    (model_dir / "model.txt").write_bytes(pickle.dumps({"trees": []}, protocol=protocol))
    with pytest.raises(PickleRefused, match=r"model\.txt"):
        registry.publish(model_dir)


def test_publish_refuses_wrong_fingerprint(
    registry: Registry, model_dir: Path, edit_descriptor: Callable[..., None]
) -> None:
    schema = json.loads((model_dir / "model.json").read_text())["feature_schema"]
    edit_descriptor(model_dir, feature_schema={**schema, "fingerprint": "0" * 64})
    with pytest.raises(InvalidModelDir, match="0000000000"):
        registry.publish(model_dir)


@pytest.mark.parametrize(
    ("key", "value"),
    [("format", "pickle"), ("products", []), ("artifacts", ["../model.txt"]), ("kind", None)],
)
def test_publish_refuses_bad_descriptor(
    registry: Registry,
    model_dir: Path,
    edit_descriptor: Callable[..., None],
    key: str,
    value: object,
) -> None:
    edit_descriptor(model_dir, **{key: value})
    with pytest.raises(InvalidModelDir, match=key):
        registry.publish(model_dir)


def test_one_changed_byte_is_refused(registry: Registry, model_dir: Path) -> None:
    version = registry.publish(model_dir)
    target = registry.root / "versions" / version / "model.txt"
    recorded = registry.manifest(version)["artifacts"]["model.txt"]["sha256"]
    _writable(target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(TamperedArtifact, match=r"model\.txt") as caught:
        registry.load_verified(version, expected_feature_fingerprint=None)
    assert recorded in str(caught.value)
    assert hashlib.sha256(bytes(data)).hexdigest() in str(caught.value)


def test_extra_file_is_refused(registry: Registry, model_dir: Path) -> None:
    version, version_dir = _published_writable(registry, model_dir)
    (version_dir / "extra.txt").write_text("tree=0")
    with pytest.raises(TamperedArtifact, match=r"extra\.txt"):
        registry.load_verified(version, expected_feature_fingerprint=None)


def test_missing_file_is_refused(registry: Registry, model_dir: Path) -> None:
    version, version_dir = _published_writable(registry, model_dir)
    (version_dir / "calibration.json").unlink()
    with pytest.raises(TamperedArtifact, match=r"calibration\.json"):
        registry.load_verified(version, expected_feature_fingerprint=None)


def test_pickle_dropped_in_is_refused_at_load(registry: Registry, model_dir: Path) -> None:
    version, version_dir = _published_writable(registry, model_dir)
    (version_dir / "booster.bin").write_bytes(pickle.dumps([1, 2], protocol=4))
    with pytest.raises(PickleRefused, match=r"booster\.bin"):
        registry.load_verified(version, expected_feature_fingerprint=None)


def test_fingerprint_mismatch_is_refused(
    registry: Registry, model_dir: Path, feature_fingerprint: str
) -> None:
    version = registry.publish(model_dir)
    model = registry.load_verified(version, expected_feature_fingerprint=feature_fingerprint)
    assert model.version == version
    assert model.path == registry.root / "versions" / version
    with pytest.raises(SchemaMismatch, match=feature_fingerprint) as caught:
        registry.load_verified(version, expected_feature_fingerprint="f" * 64)
    assert "f" * 64 in str(caught.value)


@pytest.mark.parametrize("name", ["champion", "challenger", "v20260101T000000Z-abcdef", "../x"])
def test_unknown_names_are_refused(registry: Registry, name: str) -> None:
    registry.root.mkdir(parents=True)  # empty, not missing (a missing one is an error)
    with pytest.raises(UnknownVersion, match=re.escape(name)):
        registry.resolve(name)


def test_publish_records_git_commit_or_null(registry: Registry, model_dir: Path) -> None:
    commit = registry.manifest(registry.publish(model_dir))["git_commit"]
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}", commit)


def test_publish_survives_missing_git(
    registry: Registry, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_git(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("git")

    monkeypatch.setattr("recsvc.models.manifest.subprocess.run", no_git)
    version = registry.publish(model_dir)
    assert registry.manifest(version)["git_commit"] is None


def test_corrupt_manifest_is_refused(registry: Registry, model_dir: Path) -> None:
    version = registry.publish(model_dir)
    manifest_path = registry.root / "versions" / version / "manifest.json"
    _writable(manifest_path)
    manifest_path.write_text('{"version": ')
    with pytest.raises(TamperedArtifact, match=r"manifest\.json"):
        registry.load_verified(version, expected_feature_fingerprint=None)
