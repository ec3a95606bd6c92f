"""Built-in loaders: one-table files with a binary target, and monthly product snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.datasets.frame import DatasetError, DatasetFrame
from training.datasets.reading import iter_chunks, to_ids, typed_features
from training.datasets.spec import DatasetSpec
from training.datasets.split import content_keys


def _concat_features(parts: list[pd.DataFrame], spec: DatasetSpec) -> pd.DataFrame:
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for c in spec.categorical:
        df[c] = df[c].astype("str").where(df[c].notna()).astype("category")
    return df


def _frame(
    spec: DatasetSpec,
    *,
    ids: np.ndarray,
    snapshot: str | None,
    features: pd.DataFrame,
    held: np.ndarray,
    labels: np.ndarray,
    keys: np.ndarray | None = None,
) -> DatasetFrame:
    return DatasetFrame(
        ids=ids,
        snapshot=snapshot,
        features=features,
        held=held.astype(np.uint8),
        labels=labels.astype(np.uint8),
        products=spec.products,
        numeric=spec.numeric,
        categorical=spec.categorical,
        holding_features=tuple(f"held_{p}" for p in spec.holdings.values()),
        keys=keys,
    )


def load_table(
    spec: DatasetSpec, data_path: Path, *, labelled: bool = True, **_: Any
) -> DatasetFrame:
    """A single table, one row per customer, the target a binary column (absent if unlabelled)."""
    target = spec.target.column
    if target is None:
        raise DatasetError(f"spec {spec.name}: loader 'table' needs target.kind = 'column'")
    positive = set(spec.target.positive)
    ids, feats, labels = [], [], []
    for first, chunk in iter_chunks(spec, data_path, labelled=labelled):
        if spec.id_column:
            ids.append(
                to_ids(
                    chunk[spec.id_column], path=data_path, column=spec.id_column, first_row=first
                )
            )
        else:
            ids.append(np.arange(first, first + len(chunk), dtype=np.int64))
        if not labelled:
            labels.append(np.zeros(len(chunk), dtype=bool))
            feats.append(typed_features(chunk, spec=spec, path=data_path, first_row=first))
            continue
        raw = chunk[target].str.strip()
        if raw.isna().any():
            pos = int(np.flatnonzero(raw.isna().to_numpy())[0])
            raise DatasetError(f"{data_path}: column {target!r} row {first + pos}: missing target")
        labels.append(raw.isin(positive).to_numpy())
        feats.append(typed_features(chunk, spec=spec, path=data_path, first_row=first))
    y = np.concatenate(labels).reshape(-1, 1)
    features = _concat_features(feats, spec)
    return _frame(
        spec,
        ids=np.concatenate(ids),
        snapshot=None,
        features=features,
        held=np.zeros_like(y, dtype=np.uint8),
        labels=y,
        # no id column: a customer is known by its row's content, not its row number
        keys=None if spec.id_column else content_keys(features),
    )


class _SnapshotBuffer:
    """Keeps compact per-snapshot pieces only for the snapshots that may still be needed."""

    def __init__(self, *, as_of: str | None, keep: int) -> None:
        self.as_of = as_of
        self.keep = keep
        self.pieces: dict[str, list[tuple[np.ndarray, pd.DataFrame, np.ndarray]]] = {}

    def wanted(self, snapshots: list[str]) -> set[str]:
        if self.as_of is None:
            return set(sorted(snapshots)[-self.keep :])
        later = sorted(s for s in snapshots if s > self.as_of)
        return {self.as_of, *later[: self.keep - 1]}

    def add(self, snap: str, piece: tuple[np.ndarray, pd.DataFrame, np.ndarray]) -> None:
        self.pieces.setdefault(snap, []).append(piece)

    def prune(self, seen: set[str]) -> None:
        keep = self.wanted(sorted(seen))
        for s in list(self.pieces):
            if s not in keep:
                del self.pieces[s]


def load_snapshots(
    spec: DatasetSpec, data_path: Path, *, as_of: str | None = None, labelled: bool = True
) -> DatasetFrame:
    """Monthly snapshots: features and holdings at as-of, labels = products added by the next."""
    snap_col, id_col = spec.snapshot_column, spec.id_column
    if not snap_col or not id_col:
        raise DatasetError(f"spec {spec.name}: loader 'snapshots' needs id and snapshot columns")
    buf = _SnapshotBuffer(as_of=as_of, keep=2 if labelled else 1)
    seen: set[str] = set()
    for first, chunk in iter_chunks(spec, data_path):
        snaps = chunk[snap_col].str.strip()
        if snaps.isna().any():
            pos = int(np.flatnonzero(snaps.isna().to_numpy())[0])
            raise DatasetError(f"{data_path}: column {snap_col!r} row {first + pos}: missing")
        seen.update(snaps.unique().tolist())
        wanted = buf.wanted(sorted(seen))
        for snap in sorted(set(snaps.unique().tolist()) & wanted):
            rows = np.flatnonzero((snaps == snap).to_numpy())
            sub = chunk.iloc[rows]
            ids = to_ids(sub[id_col], path=data_path, column=id_col, first_row=first)
            feats = typed_features(sub, spec=spec, path=data_path, first_row=first)
            held = np.nan_to_num(feats[[f"held_{p}" for p in spec.holdings.values()]].to_numpy())
            buf.add(snap, (ids, feats.reset_index(drop=True), (held > 0).astype(np.uint8)))
        buf.prune(seen)
    chosen = sorted(buf.pieces)
    if as_of is not None and as_of not in buf.pieces:
        raise DatasetError(f"{data_path}: column {snap_col!r}: snapshot {as_of!r} not present")
    if labelled and len(chosen) < 2:
        raise DatasetError(f"{data_path}: column {snap_col!r}: need two snapshots, found {chosen}")
    return _join(spec, buf.pieces, chosen, labelled=labelled)


def _join(
    spec: DatasetSpec,
    pieces: dict[str, list[tuple[np.ndarray, pd.DataFrame, np.ndarray]]],
    chosen: list[str],
    *,
    labelled: bool,
) -> DatasetFrame:
    as_of = chosen[0]
    ids = np.concatenate([p[0] for p in pieces[as_of]])
    feats = _concat_features([p[1] for p in pieces[as_of]], spec)
    held = np.concatenate([p[2] for p in pieces[as_of]])
    if not labelled or len(chosen) < 2:
        return _frame(
            spec, ids=ids, snapshot=as_of, features=feats, held=held, labels=np.zeros_like(held)
        )
    nxt_ids = np.concatenate([p[0] for p in pieces[chosen[1]]])
    nxt_held = np.concatenate([p[2] for p in pieces[chosen[1]]])
    order = np.argsort(nxt_ids, kind="stable")
    pos = np.searchsorted(nxt_ids[order], ids)
    pos = np.minimum(pos, len(order) - 1)
    found = nxt_ids[order][pos] == ids
    keep = np.flatnonzero(found)
    later = nxt_held[order][pos[keep]]
    labels = (later > 0) & (held[keep] == 0)
    return _frame(
        spec,
        ids=ids[keep],
        snapshot=as_of,
        features=feats.iloc[keep].reset_index(drop=True),
        held=held[keep],
        labels=labels,
    )
