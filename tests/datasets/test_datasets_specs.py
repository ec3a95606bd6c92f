"""Shipped specs load by name; malformed specs fail naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.datasets import (
    LOADERS,
    SpecError,
    load_dataset,
    load_spec,
    parse_spec,
    register_loader,
)


@pytest.mark.parametrize(
    ("name", "n_products"), [("santander", 24), ("coil2000", 1), ("bank_marketing", 1)]
)
def test_shipped_specs_load_by_name(name: str, n_products: int) -> None:
    spec = load_spec(name)
    assert spec.name == name
    assert len(spec.products) == n_products
    assert spec.model, "tuned parameters live in the spec's [model] table"


def test_bank_marketing_never_uses_duration() -> None:
    spec = load_spec("bank_marketing")
    assert "duration" not in (*spec.numeric, *spec.categorical)


def test_unknown_spec_name_lists_known_ones() -> None:
    with pytest.raises(SpecError, match=r"'nope'.*santander"):
        load_spec("nope")


def _raw() -> dict[str, Any]:
    return {
        "name": "x",
        "columns": {"numeric": ["a"]},
        "target": {"kind": "column", "column": "y", "product_id": "p"},
    }


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda r: r.pop("name"), "'name'"),
        (lambda r: r.pop("columns"), "'columns'"),
        (lambda r: r["target"].pop("column"), "'column'"),
        (lambda r: r["target"].update(kind="odd"), "target.kind"),
        (lambda r: r["columns"].update(numeric="a"), "'numeric'"),
        (lambda r: r.update(source={"header": False}), "column_names"),
        (lambda r: r.update(target={"kind": "added"}), "columns.snapshot"),
    ],
)
def test_bad_spec_names_the_key(mutate: Any, key: str) -> None:
    raw = _raw()
    mutate(raw)
    with pytest.raises(SpecError, match=key.replace(".", r"\.")):
        parse_spec(raw)


def test_bad_toml_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"broken\.toml"):
        load_spec(path)


def test_loader_registry_is_extensible(tmp_path: Path) -> None:
    calls: list[Path] = []

    def fake(spec: Any, data_path: Path, **options: Any) -> Any:
        calls.append(data_path)
        return "frame"

    raw = {**_raw(), "loader": "fake-test-loader"}
    register_loader("fake-test-loader", fake)
    try:
        assert load_dataset(parse_spec(raw), tmp_path) == "frame"
    finally:
        LOADERS.pop("fake-test-loader")
    assert calls == [tmp_path]
    with pytest.raises(SpecError, match="fake-test-loader"):
        load_dataset(parse_spec(raw), tmp_path)
