"""Tiny dataset specs and files written to tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.datasets import DatasetSpec, parse_spec

SNAPSHOT_CSV = """\
month,cid,age,seg,h_a,h_b,h_c
2016-01-28,1,30,X,1,0,0
2016-01-28,2,40,Y,0,0,0
2016-02-28,1,30,X,1,0,0
2016-02-28,2,40,Y,0,1,0
2016-02-28,3,50,X,0,0,0
2016-03-28,1,31,X,1,1,1
2016-03-28,2,41,Y,0,1,0
2016-03-28,4,22,Z,1,0,0
"""


def snapshot_raw(**source: Any) -> dict[str, Any]:
    """A snapshot-style spec as a TOML-shaped dict."""
    return {
        "name": "tiny_snapshots",
        "loader": "snapshots",
        "source": {"separator": ",", "chunk_rows": 2, **source},
        "columns": {
            "id": "cid",
            "snapshot": "month",
            "numeric": ["age"],
            "categorical": ["seg"],
            "holdings": {"h_a": "a", "h_b": "b", "h_c": "c"},
        },
        "target": {"kind": "added"},
    }


@pytest.fixture
def snapshot_csv() -> str:
    return SNAPSHOT_CSV


@pytest.fixture
def snapshot_spec() -> DatasetSpec:
    return parse_spec(snapshot_raw())


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    path = tmp_path / "snap.csv"
    path.write_text(SNAPSHOT_CSV, encoding="utf-8")
    return path


@pytest.fixture
def table_spec() -> DatasetSpec:
    return parse_spec(
        {
            "name": "tiny_table",
            "loader": "table",
            "source": {"separator": ";", "header": False, "column_names": ["x", "c", "p", "y"]},
            "columns": {"numeric": ["x", "p"], "categorical": ["c"], "missing_codes": {"p": [999]}},
            "target": {
                "kind": "column",
                "column": "y",
                "product_id": "deposit",
                "positive": ["yes"],
            },
        }
    )
