"""train -> evaluate -> predict on a small generated snapshot file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from training.datasets import DatasetSpec, parse_spec
from training.pipeline import evaluate, predict, train

PRODUCTS = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def snapshot_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[DatasetSpec, Path]:
    rng = np.random.default_rng(0)
    n = 1500
    age = rng.integers(18, 80, n)
    seg = rng.choice(["X", "Y"], n)
    march = (rng.random((n, 4)) < 0.2).astype(int)
    p_add = np.stack(
        [0.05 + 0.2 * (age > 50), 0.1 * (seg == "X"), np.full(n, 0.08), np.full(n, 0.02)], 1
    )
    april = np.maximum(march, rng.random((n, 4)) < p_add)
    lines = ["month,cid,age,seg,h_a,h_b,h_c,h_d"]
    for month, held in (("2016-03-28", march), ("2016-04-28", april)):
        for i in range(n):
            flags = ",".join(str(int(v)) for v in held[i])
            lines.append(f"{month},{1000 + i},{age[i]},{seg[i]},{flags}")
    path = tmp_path_factory.mktemp("pipe") / "snap.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = parse_spec(
        {
            "name": "tiny_pipeline",
            "loader": "snapshots",
            "columns": {
                "id": "cid",
                "snapshot": "month",
                "numeric": ["age"],
                "categorical": ["seg"],
                "holdings": {f"h_{p}": p for p in PRODUCTS},
            },
            "target": {"kind": "added"},
            "split": {"method": "customer", "test_fraction": 0.3},
            "baselines": {"segment": "seg"},
            "model": {
                "kind": "multiclass",
                "num_boost_round": 20,
                "lightgbm": {"num_leaves": 4, "min_data_in_leaf": 10},
            },
        }
    )
    return spec, path


def test_train_evaluate_predict(snapshot_data: tuple[DatasetSpec, Path], tmp_path: Path) -> None:
    spec, path = snapshot_data
    model_dir = train(spec, path, tmp_path / "model", seed=3, progress=False)
    desc = json.loads((model_dir / "model.json").read_text())
    assert desc["dataset"]["name"] == "tiny_pipeline" and len(desc["dataset"]["data_sha256"]) == 64
    assert desc["dataset"]["spec"]["name"] == "tiny_pipeline"
    assert set(desc["metrics"]["baselines"]) == {"popularity", "logistic", "segment_popularity"}

    report = evaluate(model_dir, spec, path, n_boot=50)
    json.dumps(report)  # JSON-able
    assert report["split_seed"] == 3
    assert report["model"]["map@7"] == pytest.approx(desc["metrics"]["model"]["map@7"])
    ci = report["model"]["map@7_ci"]
    assert ci["low"] <= ci["mean"] <= ci["high"]
    assert "precision@1_ci" in report["baselines"]["popularity"]

    out = predict(model_dir, spec, path, top_k=2, out_csv=tmp_path / "pred.csv")
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert list(rows[0]) == ["customer_id", "rank", "product_id", "score"]
    april_held = {}
    for line in path.read_text().splitlines()[1:]:
        month, cid, _, _, *flags = line.split(",")
        if month == "2016-04-28":
            april_held[cid] = {p for p, f in zip(PRODUCTS, flags, strict=True) if f == "1"}
    assert rows and all(r["product_id"] not in april_held[r["customer_id"]] for r in rows)
    assert {r["rank"] for r in rows} <= {"1", "2"}
    first = [r for r in rows if r["customer_id"] == rows[0]["customer_id"]]
    scores = [float(r["score"]) for r in first]
    assert scores == sorted(scores, reverse=True)


def test_predict_as_of_uses_that_snapshot(
    snapshot_data: tuple[DatasetSpec, Path], tmp_path: Path
) -> None:
    spec, path = snapshot_data
    model_dir = train(spec, path, tmp_path / "model", seed=0, progress=False)
    out = predict(model_dir, spec, path, top_k=4, out_csv=tmp_path / "p.csv", as_of="2016-03-28")
    rows = list(csv.DictReader(out.read_text().splitlines()))
    held_march = {}
    for line in path.read_text().splitlines()[1:]:
        month, cid, _, _, *flags = line.split(",")
        if month == "2016-03-28":
            held_march[cid] = sum(f == "1" for f in flags)
    per_customer: dict[str, int] = {}
    for r in rows:
        per_customer[r["customer_id"]] = per_customer.get(r["customer_id"], 0) + 1
    assert all(per_customer.get(c, 0) == 4 - h for c, h in held_march.items())
