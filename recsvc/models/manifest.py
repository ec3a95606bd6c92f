"""The trained-model directory contract: descriptor checks, artifact hashing, manifests.

A model directory holds `model.json` (the descriptor), LightGBM text files and plain
JSON; never a pickle. The registry relies on these checks to refuse anything else.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from recsvc.features.tabular import schema_fingerprint

DESCRIPTOR_NAME = "model.json"
MANIFEST_NAME = "manifest.json"
DESCRIPTOR_FORMAT = "recsvc-model"
DESCRIPTOR_FORMAT_VERSION = 1
MANIFEST_FORMAT = "recsvc-manifest"
MANIFEST_FORMAT_VERSION = 1
CARD_SUFFIX = ".html"  # a model card (training report) published beside the model
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib"})
PICKLE_MAGICS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
LIBRARIES = ("lightgbm", "numpy", "scikit-learn", "recsvc")
_CHUNK = 1 << 20


class RegistryError(Exception):
    """Base of every registry failure, so callers can catch one type."""


class InvalidModelDir(RegistryError):
    """The directory does not follow the model-directory contract."""


class PickleRefused(RegistryError):
    """A pickle can run code when loaded; models must be LightGBM text plus JSON."""


class TamperedArtifact(RegistryError):
    """A published file is missing, extra, or differs from its recorded hash."""


class UnknownVersion(RegistryError):
    """The version or alias does not name a published version."""


class SchemaMismatch(RegistryError):
    """The model was trained on a feature schema other than the serving code's."""


class NoRollbackTarget(RegistryError):
    """There is no previous champion to return to."""


class RegistryUnavailable(RegistryError):
    """The registry cannot be read: its directory is missing, or aliases.json is unreadable,
    corrupt or gone while versions are published. Not "no champion": retry later."""


def file_digest(path: Path) -> tuple[str, int]:
    """Return (sha256 hex, size in bytes) reading in chunks, so big models stay cheap."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def refuse_pickle(path: Path) -> None:
    """Raise PickleRefused if the file is a pickle by name or by its first bytes."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise PickleRefused(f"refusing pickle file {path.name!r} (suffix {path.suffix!r})")
    with path.open("rb") as handle:
        head = handle.read(2)
    if head in PICKLE_MAGICS:
        raise PickleRefused(f"refusing pickle file {path.name!r} (starts with {head!r})")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidModelDir(message)


def _is_plain_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..", MANIFEST_NAME)
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
    )


def check_descriptor(descriptor: Any, *, where: str) -> None:
    """Refuse a model.json that breaks the contract, naming the bad field and value."""
    _require(isinstance(descriptor, dict), f"{where}: descriptor must be a JSON object")
    fmt = descriptor.get("format")
    _require(
        fmt == DESCRIPTOR_FORMAT, f"{where}: format must be {DESCRIPTOR_FORMAT!r}, got {fmt!r}"
    )
    fv = descriptor.get("format_version")
    _require(
        fv == DESCRIPTOR_FORMAT_VERSION,
        f"{where}: format_version must be {DESCRIPTOR_FORMAT_VERSION}, got {fv!r}",
    )
    kind = descriptor.get("kind")
    _require(isinstance(kind, str) and kind != "", f"{where}: kind must be a string, got {kind!r}")
    products = descriptor.get("products")
    _require(
        isinstance(products, list) and bool(products) and all(isinstance(p, str) for p in products),
        f"{where}: products must be a non-empty list of ids, got {products!r}",
    )
    for key in ("params", "metrics", "dataset", "feature_schema"):
        value = descriptor.get(key)
        _require(isinstance(value, dict), f"{where}: {key} must be an object, got {value!r}")
    _check_feature_schema(descriptor["feature_schema"], where=where)
    dataset = descriptor["dataset"]
    _require("spec" in dataset, f"{where}: dataset.spec is missing")
    data_sha = dataset.get("data_sha256")
    _require(
        isinstance(data_sha, str) and len(data_sha) == 64,
        f"{where}: dataset.data_sha256 must be a sha256 hex string, got {data_sha!r}",
    )
    _check_artifact_names(descriptor, where=where)


def _check_feature_schema(schema: dict[str, Any], *, where: str) -> None:
    names: Any = schema.get("names")
    categorical: Any = schema.get("categorical")
    _require(
        isinstance(names, list) and all(isinstance(n, str) for n in names),
        f"{where}: feature_schema.names must be a list of strings, got {names!r}",
    )
    _require(
        isinstance(categorical, dict) and all(isinstance(v, list) for v in categorical.values()),
        f"{where}: feature_schema.categorical must map names to lists, got {categorical!r}",
    )
    stated = schema.get("fingerprint")
    actual = schema_fingerprint(names=names, categorical=categorical)
    _require(
        stated == actual,
        f"{where}: feature_schema.fingerprint {stated!r} does not match names+categorical "
        f"({actual!r})",
    )


def _check_artifact_names(descriptor: dict[str, Any], *, where: str) -> None:
    artifacts: Any = descriptor.get("artifacts")
    _require(
        isinstance(artifacts, list) and bool(artifacts),
        f"{where}: artifacts must be a non-empty list of file names, got {artifacts!r}",
    )
    for name in artifacts:
        _require(
            _is_plain_name(name), f"{where}: artifacts entry {name!r} is not a plain file name"
        )
    _require(len(set(artifacts)) == len(artifacts), f"{where}: artifacts repeat a name")
    _require(
        any(str(name).endswith(".txt") for name in artifacts),
        f"{where}: artifacts {artifacts!r} hold no LightGBM text model (*.txt)",
    )
    calibration = descriptor.get("calibration")
    _require(
        calibration is None or calibration in artifacts,
        f"{where}: calibration {calibration!r} must be null or one of the artifacts",
    )


def expected_files(descriptor: dict[str, Any]) -> set[str]:
    """Names a model directory may (and must) hold: the descriptor plus its artifacts."""
    return {DESCRIPTOR_NAME, *descriptor["artifacts"]}


def card_files(model_dir: Path, descriptor: dict[str, Any]) -> set[str]:
    """Model cards in a model dir: plain-named *.html files that are not artifacts. They are
    published (hashed like the artifacts) so the console can link them; nothing loads them."""
    return {
        child.name
        for child in Path(model_dir).iterdir()
        if child.is_file()
        and child.name.endswith(CARD_SUFFIX)
        and _is_plain_name(child.name)
        and child.name not in descriptor["artifacts"]
    }


def read_model_dir(model_dir: Path) -> dict[str, Any]:
    """Check a trained model dir against the contract and return its descriptor (a model
    card beside it is allowed: see card_files)."""
    if not model_dir.is_dir():
        raise InvalidModelDir(f"model dir {str(model_dir)!r} is not a directory")
    for child in sorted(model_dir.iterdir()):
        if child.is_file():
            refuse_pickle(child)
    descriptor_path = model_dir / DESCRIPTOR_NAME
    if not descriptor_path.is_file():
        raise InvalidModelDir(f"{str(model_dir)!r} has no {DESCRIPTOR_NAME}")
    try:
        descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidModelDir(f"{str(descriptor_path)!r} is not valid JSON: {exc}") from exc
    check_descriptor(descriptor, where=str(descriptor_path))
    expected = expected_files(descriptor)
    present = {child.name for child in model_dir.iterdir()} - card_files(model_dir, descriptor)
    if extra := sorted(present - expected):
        raise InvalidModelDir(f"{str(model_dir)!r} holds files not listed in artifacts: {extra}")
    if missing := sorted(expected - present):
        raise InvalidModelDir(f"{str(model_dir)!r} lacks listed artifacts: {missing}")
    for name in sorted(expected):
        if not (model_dir / name).is_file():
            raise InvalidModelDir(f"artifact {name!r} in {str(model_dir)!r} is not a file")
    return descriptor


def verify_files(directory: Path, *, recorded: dict[str, dict[str, Any]], label: str) -> None:
    """Refuse pickles and missing, extra or changed files against the recorded hashes."""
    present = {child.name for child in directory.iterdir()} - {MANIFEST_NAME}
    for name in sorted(present):
        if (directory / name).is_file():
            refuse_pickle(directory / name)
    if extra := sorted(present - set(recorded)):
        raise TamperedArtifact(f"{label} holds unrecorded files: {extra}")
    if missing := sorted(set(recorded) - present):
        raise TamperedArtifact(f"{label} lacks recorded files: {missing}")
    for name, expected in sorted(recorded.items()):
        actual, size = file_digest(directory / name)
        if actual != expected["sha256"] or size != expected["size"]:
            raise TamperedArtifact(
                f"{label} file {name!r} has sha256 {actual} ({size} bytes), "
                f"manifest records {expected['sha256']} ({expected['size']} bytes)"
            )


def write_durable(path: Path, data: bytes) -> None:
    """Create a new file and fsync it, so a rename after it never exposes a partial file."""
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def copy_artifacts(source: Path, target: Path, *, names: set[str]) -> dict[str, dict[str, Any]]:
    """Copy then hash the copies, so the recorded hash is of what was stored."""
    artifacts: dict[str, dict[str, Any]] = {}
    for name in sorted(names):
        write_durable(target / name, (source / name).read_bytes())
        refuse_pickle(target / name)
        digest, size = file_digest(target / name)
        artifacts[name] = {"sha256": digest, "size": size}
    return artifacts


def library_versions() -> dict[str, str | None]:
    """Versions that decide whether a saved model loads and scores the same way."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(*, cwd: Path) -> str | None:
    """Commit of the code that published the model; None when git is unavailable."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def build_manifest(
    *,
    version: str,
    created_at: str,
    descriptor: dict[str, Any],
    artifacts: dict[str, dict[str, Any]],
    note: str,
    commit: str | None,
) -> dict[str, Any]:
    """Everything needed to audit or reproduce a published version, in one document."""
    dataset = descriptor["dataset"]
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_FORMAT_VERSION,
        "version": version,
        "created_at": created_at,
        "git_commit": commit,
        "libraries": library_versions(),
        "kind": descriptor["kind"],
        "products": list(descriptor["products"]),
        "dataset": {
            "name": dataset.get("name"),
            "spec": dataset["spec"],
            "data_sha256": dataset["data_sha256"],
        },
        "feature_schema": descriptor["feature_schema"],
        "params": descriptor["params"],
        "metrics": descriptor["metrics"],
        "calibration": descriptor.get("calibration"),
        "note": note,
        "artifacts": {name: artifacts[name] for name in sorted(artifacts)},
    }
