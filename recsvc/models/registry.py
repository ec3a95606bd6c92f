"""File-system model registry: immutable published versions plus champion/challenger aliases.

Layout under the root: `versions/<version>/` (model files + manifest.json, read-only),
`aliases.json` (replaced atomically), `.lock` (flock serialising writers) and short-lived
`.tmp-*` entries that readers never look at.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from recsvc.models.manifest import (
    MANIFEST_NAME,
    InvalidModelDir,
    NoRollbackTarget,
    PickleRefused,
    RegistryError,
    RegistryUnavailable,
    SchemaMismatch,
    TamperedArtifact,
    UnknownVersion,
    build_manifest,
    card_files,
    copy_artifacts,
    expected_files,
    git_commit,
    read_model_dir,
    verify_files,
    write_durable,
)

__all__ = [
    "AliasState",
    "InvalidModelDir",
    "NoRollbackTarget",
    "PickleRefused",
    "Registry",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaMismatch",
    "TamperedArtifact",
    "UnknownVersion",
    "VerifiedModel",
    "VersionInfo",
]

Alias = Literal["champion", "challenger"]
ALIASES: tuple[Alias, ...] = ("champion", "challenger")
ALIASES_NAME = "aliases.json"
VERSION_PATTERN = re.compile(r"^v\d{8}T\d{6}Z-[0-9a-f]{6}$")
HISTORY_LIMIT = 100
_TMP_PREFIX = ".tmp-"
_CODE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class AliasState:
    """What the aliases point at; `revision` grows by one on every promote or rollback."""

    champion: str | None
    challenger: str | None
    revision: int
    champion_history: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionInfo:
    """One line of `list_versions`: enough to choose what to promote."""

    version: str
    created_at: str
    note: str
    aliases: tuple[str, ...]
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifiedModel:
    """A version whose files matched their recorded hashes when it was loaded."""

    version: str
    path: Path
    manifest: dict[str, Any]

    def artifact_path(self, name: str) -> Path:
        """Path of one recorded artifact, so callers never build paths by hand."""
        if name not in self.manifest["artifacts"]:
            raise UnknownVersion(f"{self.version} has no artifact {name!r}")
        return self.path / name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _metrics_summary(metrics: Any) -> dict[str, Any]:
    if not isinstance(metrics, dict):
        return {}
    return {k: v for k, v in metrics.items() if isinstance(v, int | float | str | bool)}


def _alias_state(raw: dict[str, Any]) -> AliasState:
    return AliasState(
        champion=raw["champion"],
        challenger=raw["challenger"],
        revision=raw["revision"],
        champion_history=tuple(raw["champion_history"]),
    )


def _version(value: Any) -> str:
    if not isinstance(value, str) or not VERSION_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a version id")
    return value


def _version_or_none(value: Any) -> str | None:
    return None if value is None else _version(value)


def _remove_tree(path: Path) -> None:
    for dirpath, _dirnames, _files in os.walk(path):
        os.chmod(dirpath, stat.S_IRWXU)
    shutil.rmtree(path)


class Registry:
    """Publishes model directories immutably and moves aliases atomically between them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    @property
    def aliases_path(self) -> Path:
        """The one small file a serving worker polls for alias changes."""
        return self.root / ALIASES_NAME

    # ----------------------------------------------------------------- writers

    @contextlib.contextmanager
    def _locked(self, *, create: bool = False) -> Iterator[None]:
        """The writers' lock; only publish creates a registry, the others need one there (an
        empty one made while the real one is briefly gone would read as "no champion")."""
        if create:
            self.versions_dir.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise RegistryUnavailable("the registry directory is missing")
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._clean_temporaries()
            yield
        finally:
            os.close(fd)

    def publish(
        self, model_dir: Path, *, note: str = "", alias: Alias | None = "challenger"
    ) -> str:
        """Copy a model dir in as a new immutable version; champion if none yet, else `alias`."""
        model_dir = Path(model_dir)
        descriptor = read_model_dir(model_dir)
        with self._locked(create=True):
            state = self._read_aliases()  # before the new version: a corrupt registry refuses
            created = datetime.now(UTC)
            tmp = self.root / f"{_TMP_PREFIX}publish-{os.getpid()}-{secrets.token_hex(4)}"
            tmp.mkdir()
            names = expected_files(descriptor) | card_files(model_dir, descriptor)
            artifacts = copy_artifacts(model_dir, tmp, names=names)
            version = self._new_version_id(created, artifacts)
            manifest = build_manifest(
                version=version,
                created_at=created.isoformat().replace("+00:00", "Z"),
                descriptor=descriptor,
                artifacts=artifacts,
                note=note,
                commit=git_commit(cwd=_CODE_DIR),
            )
            write_durable(tmp / MANIFEST_NAME, _json_bytes(manifest))
            for child in tmp.iterdir():
                child.chmod(0o444)
            _fsync_dir(tmp)
            final = self.versions_dir / version
            os.rename(tmp, final)
            final.chmod(0o555)
            _fsync_dir(self.versions_dir)
            if state["champion"] is None:
                self._set_alias(state, version, "champion")
            elif alias is not None:
                self._set_alias(state, version, alias)
        return version

    def promote(self, version: str, *, alias: Alias = "champion") -> AliasState:
        """Point an alias at a verified version; the old champion is kept for rollback."""
        if alias not in ALIASES:
            raise ValueError(f"alias must be one of {ALIASES}, got {alias!r}")
        with self._locked():
            resolved = self.resolve(version)
            self._verify(resolved)
            state = self._read_aliases()
            self._set_alias(state, resolved, alias)
        return _alias_state(state)

    def rollback(self) -> AliasState:
        """Return the champion to the previous one in its history."""
        with self._locked():
            state = self._read_aliases()
            history: list[str] = state["champion_history"]
            if not history:
                raise NoRollbackTarget(
                    f"champion {state['champion']!r} has no previous champion in "
                    f"{self.aliases_path}"
                )
            state["champion"] = history.pop()
            if state["challenger"] == state["champion"]:
                state["challenger"] = None
            self._write_aliases(state)
        return _alias_state(state)

    def _set_alias(self, state: dict[str, Any], version: str, alias: Alias) -> None:
        if alias == "champion":
            previous = state["champion"]
            if previous is not None and previous != version:
                state["champion_history"] = [*state["champion_history"], previous][-HISTORY_LIMIT:]
            if state["challenger"] == version:
                state["challenger"] = None
        state[alias] = version
        self._write_aliases(state)

    def _write_aliases(self, state: dict[str, Any]) -> None:
        state["revision"] = int(state["revision"]) + 1
        state["updated_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        tmp = self.root / f"{_TMP_PREFIX}aliases-{os.getpid()}-{secrets.token_hex(4)}.json"
        write_durable(tmp, _json_bytes(state))
        os.replace(tmp, self.aliases_path)
        _fsync_dir(self.root)

    def _new_version_id(self, created: datetime, artifacts: dict[str, dict[str, Any]]) -> str:
        stamp = created.strftime("%Y%m%dT%H%M%SZ")
        content = json.dumps(artifacts, sort_keys=True).encode()
        while True:
            salt = secrets.token_bytes(8) + created.isoformat().encode()
            short = hashlib.sha256(content + salt).hexdigest()[:6]
            version = f"v{stamp}-{short}"
            if not (self.versions_dir / version).exists():
                return version

    def _clean_temporaries(self) -> None:
        """Remove leftovers of crashed writers; safe only while holding the lock."""
        for child in self.root.glob(f"{_TMP_PREFIX}*"):
            if child.is_dir():
                _remove_tree(child)
            else:
                child.unlink(missing_ok=True)

    # ----------------------------------------------------------------- readers

    def _read_aliases(self) -> dict[str, Any]:
        """The aliases; RegistryUnavailable if they cannot be known (messages name no path)."""
        try:
            text = self.aliases_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if not self.root.is_dir():
                raise RegistryUnavailable("the registry directory is missing") from None
            if self._has_versions():
                raise RegistryUnavailable(
                    f"{ALIASES_NAME} is missing but versions are published"
                ) from None
            return {"champion": None, "challenger": None, "revision": 0, "champion_history": []}
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryUnavailable(
                f"{ALIASES_NAME} cannot be read ({type(exc).__name__})"
            ) from exc
        try:
            raw = json.loads(text)
            state = {
                "champion": _version_or_none(raw.get("champion")),
                "challenger": _version_or_none(raw.get("challenger")),
                "revision": int(raw.get("revision", 0)),
                "champion_history": [_version(v) for v in raw.get("champion_history", [])],
            }
        except (ValueError, TypeError, AttributeError) as exc:
            detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise RegistryUnavailable(f"{ALIASES_NAME} is corrupt: {detail}") from exc
        return state

    def _has_versions(self) -> bool:
        try:
            return any(VERSION_PATTERN.match(c.name) for c in self.versions_dir.iterdir())
        except FileNotFoundError:
            return False

    def alias_state(self) -> AliasState:
        """Current aliases from one small file; cheap enough to poll per request batch."""
        return _alias_state(self._read_aliases())

    def resolve(self, alias_or_version: str) -> str:
        """Turn `champion`, `challenger` or a version id into a published version id."""
        if alias_or_version in ALIASES:
            target = getattr(self.alias_state(), alias_or_version)
            if target is None:
                raise UnknownVersion(f"alias {alias_or_version!r} is not set in {self.root}")
            return str(target)
        if not VERSION_PATTERN.match(alias_or_version):
            raise UnknownVersion(
                f"{alias_or_version!r} is neither an alias {ALIASES} nor a version id"
            )
        if not (self.versions_dir / alias_or_version / MANIFEST_NAME).is_file():
            raise UnknownVersion(f"version {alias_or_version!r} is not published in {self.root}")
        return alias_or_version

    def manifest(self, version: str) -> dict[str, Any]:
        """The manifest of a published version (or of what an alias points at)."""
        resolved = self.resolve(version)
        path = self.versions_dir / resolved / MANIFEST_NAME
        try:
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise TamperedArtifact(f"{path} is not valid JSON: {exc}") from exc
        if document.get("version") != resolved:
            raise TamperedArtifact(
                f"{path} names version {document.get('version')!r}, expected {resolved!r}"
            )
        return document

    def list_versions(self) -> list[VersionInfo]:
        """Published versions, oldest first, with the aliases that point at each."""
        if not self.versions_dir.is_dir():
            return []
        state = self.alias_state()
        infos = []
        for child in self.versions_dir.iterdir():
            if not VERSION_PATTERN.match(child.name) or not (child / MANIFEST_NAME).is_file():
                continue
            manifest = self.manifest(child.name)
            infos.append(
                VersionInfo(
                    version=child.name,
                    created_at=str(manifest.get("created_at", "")),
                    note=str(manifest.get("note", "")),
                    aliases=tuple(a for a in ALIASES if getattr(state, a) == child.name),
                    metrics=_metrics_summary(manifest.get("metrics")),
                )
            )
        return sorted(infos, key=lambda info: (info.created_at, info.version))

    def load_verified(
        self,
        version_or_alias: str,
        *,
        expected_feature_fingerprint: str | None,
        expected_feature_names: Sequence[str] | None = None,
    ) -> VerifiedModel:
        """Re-hash every file and check the feature schema before anything is loaded; a
        mismatch names the features that differ when the serving code's names are given."""
        version = self.resolve(version_or_alias)
        manifest = self._verify(version)
        recorded = manifest.get("feature_schema", {}).get("fingerprint")
        if expected_feature_fingerprint is not None and recorded != expected_feature_fingerprint:
            trained = manifest.get("feature_schema", {}).get("names") or []
            cause = schema_difference(trained, expected_feature_names)
            raise SchemaMismatch(
                f"version {version} was trained on other features than the serving code "
                f"builds{cause} (feature schema {recorded!r}, the serving code has "
                f"{expected_feature_fingerprint!r})"
            )
        return VerifiedModel(version=version, path=self.versions_dir / version, manifest=manifest)

    def _verify(self, version: str) -> dict[str, Any]:
        manifest = self.manifest(version)
        verify_files(
            self.versions_dir / version,
            recorded=manifest.get("artifacts", {}),
            label=f"version {version}",
        )
        return manifest


def schema_difference(trained: Sequence[str], serving: Sequence[str] | None) -> str:
    """ ": new features a, b; features gone c" (a catalogue change adds or removes a product's
    `held_<product>` feature): what a mismatch is about, for /readyz and the log."""
    if serving is None:
        return ""
    added = [n for n in serving if n not in set(trained)]
    gone = [n for n in trained if n not in set(serving)]
    parts = []
    if added:
        parts.append("new features " + ", ".join(added))
    if gone:
        parts.append("features gone " + ", ".join(gone))
    if not parts:
        return ": the same features in another order"
    return ": " + "; ".join(parts) + "; retrain and publish a model on the current catalogue"
