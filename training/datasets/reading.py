"""Chunked, typed CSV reading: only the needed columns, errors naming file, column and row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.datasets.frame import DatasetError
from training.datasets.spec import DatasetSpec


def needed_columns(spec: DatasetSpec, *, labelled: bool = True) -> list[str]:
    """Every source column the spec uses, in a stable order without duplicates."""
    cols: list[str] = []
    target = spec.target.column if labelled else None
    for c in (spec.id_column, spec.snapshot_column, target):
        if c:
            cols.append(c)
    cols += [*spec.numeric, *spec.categorical, *spec.holdings]
    return list(dict.fromkeys(cols))


def _header(spec: DatasetSpec, path: Path, *, labelled: bool) -> list[str]:
    if not spec.source.header:
        names = list(spec.source.column_names)
        target = spec.target.column
        if not labelled and target in names and _field_count(spec, path) == len(names) - 1:
            names.remove(target)  # e.g. CoIL's ticeval2000.txt: same columns minus the target
        return names
    try:
        head = pd.read_csv(path, sep=spec.source.separator, compression=_compression(spec), nrows=0)
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(f"{path}: file is empty") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    return [str(c) for c in head.columns]


def _field_count(spec: DatasetSpec, path: Path) -> int:
    head = pd.read_csv(
        path, sep=spec.source.separator, compression=_compression(spec), header=None, nrows=1
    )
    return len(head.columns)


def _compression(spec: DatasetSpec) -> Any:
    comp = spec.source.compression
    return None if comp == "none" else comp


def iter_chunks(
    spec: DatasetSpec, path: Path, *, labelled: bool = True
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Yield (first data row number, chunk) with needed columns as raw strings."""
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    header = _header(spec, path, labelled=labelled)
    cols = needed_columns(spec, labelled=labelled)
    missing = [c for c in cols if c not in header]
    if missing:
        raise DatasetError(f"{path}: missing column {missing[0]!r} (row 0, header)")
    start = 1
    seen = False
    with pd.read_csv(
        path,
        sep=spec.source.separator,
        compression=_compression(spec),
        header=0 if spec.source.header else None,
        names=None if spec.source.header else header,
        usecols=cols,
        dtype=dict.fromkeys(cols, "str"),
        na_values=list(spec.source.na_values),
        keep_default_na=False,
        chunksize=spec.source.chunk_rows,
    ) as reader:
        try:
            for chunk in reader:
                seen = True
                yield start, chunk
                start += len(chunk)
        except pd.errors.ParserError as exc:
            raise DatasetError(f"{path}: malformed CSV near row {start}: {exc}") from exc
    if not seen:
        raise DatasetError(f"{path}: file has a header but no data rows")


def to_numeric(
    values: pd.Series, *, path: Path, column: str, first_row: int, dtype: type = np.float32
) -> np.ndarray:
    """Parse a text column to numbers; text that is not a number raises naming the row."""
    stripped = values.str.strip()
    parsed = pd.to_numeric(stripped, errors="coerce")
    bad = parsed.isna().to_numpy() & stripped.notna().to_numpy() & (stripped != "").to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{path}: column {column!r} row {first_row + pos}: "
            f"expected a number, got {values.iloc[pos]!r}"
        )
    return parsed.to_numpy(dtype=dtype, na_value=np.nan)


def to_ids(values: pd.Series, *, path: Path, column: str, first_row: int) -> np.ndarray:
    """Parse the id column to int64; a missing or non-integer id raises naming the row."""
    parsed = to_numeric(values, path=path, column=column, first_row=first_row, dtype=np.float64)
    bad = np.isnan(parsed) | (parsed != np.round(parsed))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{path}: column {column!r} row {first_row + pos}: "
            f"expected an integer id, got {values.iloc[pos]!r}"
        )
    return parsed.astype(np.int64)


def typed_features(
    chunk: pd.DataFrame, *, spec: DatasetSpec, path: Path, first_row: int
) -> pd.DataFrame:
    """Numeric columns as float32, categoricals as pandas categories, holdings as float32."""
    out: dict[str, object] = {}
    for c in spec.numeric:
        values = to_numeric(chunk[c], path=path, column=c, first_row=first_row)
        codes = spec.missing_codes.get(c)
        if codes:
            values[np.isin(values, np.asarray(codes, dtype=np.float32))] = np.nan
        out[c] = values
    for c in spec.categorical:
        out[c] = chunk[c].str.strip().astype("category")
    for c, pid in spec.holdings.items():
        out[f"held_{pid}"] = to_numeric(chunk[c], path=path, column=c, first_row=first_row)
    return pd.DataFrame(out, index=chunk.index)
