"""Dataset specs: a TOML file mapping a source's columns to roles, validated once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
TARGET_ADDED = "added"
TARGET_COLUMN = "column"


class SpecError(ValueError):
    """A dataset spec is missing a key or has a malformed value."""


@dataclass(frozen=True)
class SourceFormat:
    """How to read the file: separator, compression, header or column names, NA markers."""

    separator: str = ","
    compression: str = "infer"
    header: bool = True
    column_names: tuple[str, ...] = ()
    na_values: tuple[str, ...] = ("", "NA")
    chunk_rows: int = 500_000


@dataclass(frozen=True)
class TargetSpec:
    """Either products added between consecutive snapshots, or one binary column."""

    kind: str
    column: str | None = None
    product_id: str | None = None
    positive: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetSpec:
    """A source's columns mapped to roles, plus split and model settings."""

    name: str
    loader: str
    source: SourceFormat
    id_column: str | None
    snapshot_column: str | None
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    holdings: dict[str, str]
    target: TargetSpec
    missing_codes: dict[str, tuple[float, ...]] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    baselines: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def products(self) -> list[str]:
        """Product ids in score-column order."""
        if self.target.kind == TARGET_ADDED:
            return list(self.holdings.values())
        return [str(self.target.product_id)]

    @property
    def source_ids(self) -> dict[str, str]:
        """Product id -> the data set's own name for it (the source column), for output files
        an outside scorer reads: santander's `cco` is `ind_cco_fin_ult1`."""
        if self.target.kind == TARGET_ADDED:
            return {pid: column for column, pid in self.holdings.items()}
        return {str(self.target.product_id): str(self.target.column)}

    def to_dict(self) -> dict[str, Any]:
        """The spec as parsed from TOML, for model descriptors."""
        return dict(self.raw)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise SpecError(f"spec {where}: missing key {key!r}")
    value = table[key]
    if not isinstance(value, kind):
        raise SpecError(f"spec {where}: key {key!r} has wrong type {type(value).__name__}")
    return value


def _str_list(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"spec {where}: key {key!r} must be a list of strings")
    return tuple(value)


def _source(raw: dict[str, Any], where: str) -> SourceFormat:
    table = raw.get("source", {})
    if not isinstance(table, dict):
        raise SpecError(f"spec {where}: key 'source' must be a table")
    header = table.get("header", True)
    if not isinstance(header, bool):
        raise SpecError(f"spec {where}: key 'source.header' must be true or false")
    names = _str_list(table, "column_names", f"{where} [source]")
    if not header and not names:
        raise SpecError(f"spec {where}: key 'source.column_names' is required when header = false")
    return SourceFormat(
        separator=str(table.get("separator", ",")),
        compression=str(table.get("compression", "infer")),
        header=header,
        column_names=names,
        na_values=_str_list(table, "na_values", f"{where} [source]") or ("", "NA"),
        chunk_rows=int(table.get("chunk_rows", 500_000)),
    )


def _target(raw: dict[str, Any], where: str) -> TargetSpec:
    table = _get(raw, "target", dict, where)
    kind = _get(table, "kind", str, f"{where} [target]")
    if kind == TARGET_ADDED:
        return TargetSpec(kind=kind)
    if kind == TARGET_COLUMN:
        return TargetSpec(
            kind=kind,
            column=_get(table, "column", str, f"{where} [target]"),
            product_id=_get(table, "product_id", str, f"{where} [target]"),
            positive=tuple(str(v) for v in table.get("positive", ["1"])),
        )
    raise SpecError(f"spec {where}: key 'target.kind' must be 'added' or 'column', got {kind!r}")


def parse_spec(raw: dict[str, Any], *, where: str = "<dict>") -> DatasetSpec:
    """Validate a parsed TOML document into a DatasetSpec; errors name the key."""
    cols = _get(raw, "columns", dict, where)
    holdings = cols.get("holdings", {})
    if not isinstance(holdings, dict) or not all(isinstance(v, str) for v in holdings.values()):
        raise SpecError(f"spec {where}: key 'columns.holdings' must map column -> product id")
    target = _target(raw, where)
    codes = cols.get("missing_codes", {})
    if not isinstance(codes, dict) or not all(
        isinstance(v, list) and all(isinstance(x, int | float) for x in v) for v in codes.values()
    ):
        raise SpecError(f"spec {where}: key 'columns.missing_codes' must map column -> [numbers]")
    snapshot = cols.get("snapshot")
    if target.kind == TARGET_ADDED and (not snapshot or not holdings):
        raise SpecError(
            f"spec {where}: target 'added' needs 'columns.snapshot' and 'columns.holdings'"
        )
    for key in ("split", "model", "baselines"):
        if not isinstance(raw.get(key, {}), dict):
            raise SpecError(f"spec {where}: key {key!r} must be a table")
    return DatasetSpec(
        name=_get(raw, "name", str, where),
        loader=str(raw.get("loader", "table")),
        source=_source(raw, where),
        id_column=cols.get("id"),
        snapshot_column=snapshot,
        numeric=_str_list(cols, "numeric", f"{where} [columns]"),
        categorical=_str_list(cols, "categorical", f"{where} [columns]"),
        holdings=dict(holdings),
        target=target,
        missing_codes={k: tuple(float(x) for x in v) for k, v in codes.items()},
        split=dict(raw.get("split", {})),
        model=dict(raw.get("model", {})),
        baselines=dict(raw.get("baselines", {})),
        extra={k: v for k, v in raw.items() if k not in _KNOWN},
        raw=raw,
    )


_KNOWN = {"name", "loader", "source", "columns", "target", "split", "model", "baselines"}


def load_spec(name_or_path: str | Path) -> DatasetSpec:
    """Load a spec by name (training/specs/<name>.toml) or from a path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SPECS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in SPECS_DIR.glob("*.toml"))
        raise SpecError(f"dataset spec {str(name_or_path)!r} not found (known: {known})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"spec {path}: invalid TOML: {exc}") from exc
    return parse_spec(raw, where=str(path))
