"""Dataset specs and loaders, looked up by name so other sources can register their own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from training.datasets.frame import DatasetError, DatasetFrame
from training.datasets.loaders import load_snapshots, load_table
from training.datasets.spec import DatasetSpec, SpecError, load_spec, parse_spec

Loader = Callable[..., DatasetFrame]


def _load_recsvc_bank(spec: DatasetSpec, data_path: Path, **options: Any) -> DatasetFrame:
    """The synthetic bank / bank export; imported late (it builds on this package)."""
    from training.synthetic import load_bank_dataset

    return load_bank_dataset(spec, data_path, **options)


def _load_recsvc_bank_response(spec: DatasetSpec, data_path: Path, **options: Any) -> DatasetFrame:
    """A store export's response target (accepted given pitched); imported late."""
    from training.response import load_response_dataset

    return load_response_dataset(spec, data_path, **options)


LOADERS: dict[str, Loader] = {
    "table": load_table,
    "snapshots": load_snapshots,
    "recsvc-bank": _load_recsvc_bank,
    "recsvc-bank-response": _load_recsvc_bank_response,
}


def register_loader(name: str, loader: Loader) -> None:
    """Make `loader = "<name>"` in a spec resolve to `loader(spec, data_path, **options)`."""
    LOADERS[name] = loader


def load_dataset(spec: DatasetSpec, data_path: str | Path, **options: Any) -> DatasetFrame:
    """Load a data set with the loader its spec names (options: as_of=, labelled=)."""
    try:
        loader = LOADERS[spec.loader]
    except KeyError:
        raise SpecError(
            f"spec {spec.name}: key 'loader' = {spec.loader!r} is not registered "
            f"(known: {sorted(LOADERS)})"
        ) from None
    return loader(spec, Path(data_path), **options)


__all__ = [
    "LOADERS",
    "DatasetError",
    "DatasetFrame",
    "DatasetSpec",
    "SpecError",
    "load_dataset",
    "load_spec",
    "parse_spec",
    "register_loader",
]
