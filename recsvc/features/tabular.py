"""Generic tabular encoder shared by training (batch) and serving (one record, numpy only)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

N_HELD = "n_held"


class FeatureSchemaError(ValueError):
    """A feature schema does not match what the encoder or model expects."""


def schema_fingerprint(*, names: Sequence[str], categorical: Mapping[str, Sequence[str]]) -> str:
    """sha256 of the canonical JSON of names + categorical vocabularies."""
    doc = {"names": list(names), "categorical": {k: list(v) for k, v in categorical.items()}}
    canon = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


class TabularEncoder:
    """Numeric as float32, categoricals as vocabulary codes (unseen -> NaN), holdings + count."""

    def __init__(
        self,
        *,
        numeric: Sequence[str] = (),
        categorical: Sequence[str] = (),
        holdings: Sequence[str] = (),
        count_held: bool = True,
    ) -> None:
        self.numeric = tuple(numeric)
        self.categorical = tuple(categorical)
        self.holdings = tuple(holdings)
        self.count_held = count_held

    @property
    def feature_names(self) -> list[str]:
        """Column names of the encoded matrix, in order."""
        derived = [N_HELD] if self.count_held and self.holdings else []
        return [*self.numeric, *self.categorical, *self.holdings, *derived]

    def fit(self, df: pd.DataFrame) -> TabularEncoder:
        """Learn each categorical's vocabulary (sorted distinct non-missing values)."""
        self._check_columns(df)
        self.vocabulary_: dict[str, list[str]] = {}
        for c in self.categorical:
            values = df[c].dropna().astype(str)
            self.vocabulary_[c] = sorted(v for v in values.unique().tolist() if v != "")
        self._build_index()
        return self

    def _build_index(self) -> None:
        self._index = {
            c: {v: float(i) for i, v in enumerate(voc)} for c, voc in self.vocabulary_.items()
        }

    def _check_columns(self, df: pd.DataFrame) -> None:
        missing = [c for c in (*self.numeric, *self.categorical, *self.holdings) if c not in df]
        if missing:
            raise FeatureSchemaError(f"input is missing feature column {missing[0]!r}")

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Batch path: a DataFrame -> (n x F) float32 matrix."""
        self._check_columns(df)
        out = np.empty((len(df), len(self.feature_names)), dtype=np.float32)
        col = 0
        for c in self.numeric:
            out[:, col] = pd.to_numeric(df[c], errors="raise").to_numpy(np.float32, na_value=np.nan)
            col += 1
        for c in self.categorical:
            values = df[c].astype("str").where(df[c].notna())
            codes = pd.Index(self.vocabulary_[c], dtype="str").get_indexer(pd.Index(values))
            out[:, col] = np.where(codes < 0, np.nan, codes).astype(np.float32)
            col += 1
        start = col
        for c in self.holdings:
            out[:, col] = pd.to_numeric(df[c], errors="raise").to_numpy(np.float32, na_value=np.nan)
            col += 1
        if self.count_held and self.holdings:
            out[:, col] = (np.nan_to_num(out[:, start:col]) > 0).sum(axis=1)
        return out

    def transform_one(self, record: Mapping[str, Any]) -> np.ndarray:
        """Serving path: one record -> (1 x F) float32, no pandas; missing keys become NaN."""
        row: list[float] = []
        for c in self.numeric:
            row.append(self._number(record, c))
        for c in self.categorical:
            value = record.get(c)
            row.append(math.nan if _is_missing(value) else self._index[c].get(str(value), math.nan))
        held = 0
        for c in self.holdings:
            v = self._number(record, c)
            held += v > 0
            row.append(v)
        if self.count_held and self.holdings:
            row.append(float(held))
        return np.asarray(row, dtype=np.float32).reshape(1, -1)

    @staticmethod
    def _number(record: Mapping[str, Any], name: str) -> float:
        value: Any = record.get(name)
        if _is_missing(value):
            return math.nan
        try:
            return float(value)
        except (TypeError, ValueError):
            raise FeatureSchemaError(f"feature {name!r} must be a number, got {value!r}") from None

    def feature_schema(self) -> dict[str, Any]:
        """Names, vocabularies and fingerprint: everything needed to rebuild the encoder."""
        names = self.feature_names
        return {
            "names": names,
            "categorical": {c: list(v) for c, v in self.vocabulary_.items()},
            "fingerprint": schema_fingerprint(names=names, categorical=self.vocabulary_),
            "numeric": list(self.numeric),
            "holdings": list(self.holdings),
            "count_held": self.count_held,
        }

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any]) -> TabularEncoder:
        """Rebuild a fitted encoder from its JSON schema (checks the fingerprint)."""
        categorical = {str(k): [str(x) for x in v] for k, v in schema["categorical"].items()}
        enc = cls(
            numeric=schema.get("numeric", ()),
            categorical=list(categorical),
            holdings=schema.get("holdings", ()),
            count_held=bool(schema.get("count_held", True)),
        )
        enc.vocabulary_ = categorical
        enc._build_index()
        if enc.feature_names != list(schema["names"]):
            raise FeatureSchemaError(f"schema names {schema['names']!r} do not match its roles")
        expected = schema_fingerprint(names=enc.feature_names, categorical=categorical)
        if schema.get("fingerprint") not in (None, expected):
            raise FeatureSchemaError(f"schema fingerprint {schema.get('fingerprint')!r} mismatch")
        return enc
