"""train -> evaluate -> predict on a small generated snapshot file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from training.cli import main
from training.datasets import DatasetSpec, load_dataset, load_spec, parse_spec
from training.datasets.split import holdout_mask
from training.pipeline import OverlapError, evaluate, fit_on, predict, train

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
    model_dir = train(spec, path, tmp_path / "model", seed=3, progress=False, refit=False)
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
            april_held[cid] = {f"h_{p}" for p, f in zip(PRODUCTS, flags, strict=True) if f == "1"}
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


def test_predict_writes_the_data_sets_own_product_ids(
    snapshot_data: tuple[DatasetSpec, Path], tmp_path: Path
) -> None:
    # The spec's short ids (a, b, ...) are labels for charts; files name the source columns.
    spec, path = snapshot_data
    model_dir = train(spec, path, tmp_path / "model", seed=0, progress=False)
    out = predict(model_dir, spec, path, top_k=4, out_csv=tmp_path / "p.csv")
    written = {r["product_id"] for r in csv.DictReader(out.read_text().splitlines())}
    assert written == {f"h_{p}" for p in PRODUCTS}


def test_santander_predictions_are_keyed_on_kaggle_column_names() -> None:
    ids = load_spec("santander").source_ids
    assert ids["cco"] == "ind_cco_fin_ult1" and ids["nomina"] == "ind_nomina_ult1"
    assert len(set(ids.values())) == 24
    assert all(v.startswith("ind_") for v in ids.values())


def _reordered(path: Path, out: Path, *, shift_ids: int = 0) -> Path:
    header, *lines = path.read_text().splitlines()
    lines = lines[::-1]  # same customers, rows in another order
    if shift_ids:
        lines = [",".join([m, str(int(c) + shift_ids), *rest]) for m, c, *rest in
                 (line.split(",") for line in lines)]  # fmt: skip
    out.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return out


def test_holdout_is_chosen_by_customer_not_by_row_order(
    snapshot_data: tuple[DatasetSpec, Path], tmp_path: Path
) -> None:
    spec, path = snapshot_data
    copy = _reordered(path, tmp_path / "reordered.csv")
    held_out = []
    for p in (path, copy):
        frame = load_dataset(spec, p)
        held_out.append(set(frame.ids[holdout_mask(frame, spec, seed=3)].tolist()))
    assert held_out[0] == held_out[1]
    assert 0.2 < len(held_out[0]) / 1500 < 0.4


def test_evaluate_refuses_the_models_own_training_customers(
    snapshot_data: tuple[DatasetSpec, Path], tmp_path: Path
) -> None:
    spec, path = snapshot_data
    model_dir = train(spec, path, tmp_path / "model", seed=3, progress=False)  # refit on all
    copy = _reordered(path, tmp_path / "reordered.csv")
    for data in (path, copy):
        with pytest.raises(OverlapError, match="were among the model's training customers"):
            evaluate(model_dir, spec, data, n_boot=20)
    forced = evaluate(model_dir, spec, copy, n_boot=20, allow_overlap=True)
    assert forced["overlap_with_training_customers"] == forced["n_test"] > 0

    others = _reordered(path, tmp_path / "others.csv", shift_ids=10_000)
    report = evaluate(model_dir, spec, others, n_boot=20)
    assert report["overlap_with_training_customers"] == 0
    assert report["same_file_as_training"] is False


def test_cli_evaluate_overlap_is_a_clear_error(
    snapshot_data: tuple[DatasetSpec, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, path = snapshot_data
    model_dir = train(spec, path, tmp_path / "model", seed=0, progress=False)
    spec_file = tmp_path / "tiny.toml"
    spec_file.write_text(_toml(spec.to_dict()), encoding="utf-8")
    argv = ["evaluate", "--model", str(model_dir), "--dataset", str(spec_file), "--data", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "refusing to evaluate" in err and "--allow-overlap" in err
    assert main([*argv, "--allow-overlap"]) == 0
    assert json.loads(capsys.readouterr().out)["overlap_with_training_customers"] > 0


def _toml(raw: dict[str, object], prefix: str = "") -> str:
    """A tiny TOML writer for the nested spec dict (tables after plain keys)."""
    plain = [f"{k} = {json.dumps(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    text = (f"[{prefix}]\n" if prefix else "") + "\n".join(plain) + "\n"
    for k, v in raw.items():
        if isinstance(v, dict):
            text += _toml(v, f"{prefix}.{k}" if prefix else k)
    return text


def test_shipped_model_is_refit_on_every_customer(
    snapshot_data: tuple[DatasetSpec, Path], tmp_path: Path
) -> None:
    spec, path = snapshot_data
    model_dir = train(spec, path, tmp_path / "model", seed=3, progress=False)
    desc = json.loads((model_dir / "model.json").read_text())
    frame = load_dataset(spec, path)
    n_holdout = int(holdout_mask(frame, spec, seed=3).sum())
    assert desc["shipped_model"]["customers"] == len(frame)
    assert desc["training_customers"]["count"] == len(frame)
    # the recorded figures are the hold-out ones of the evaluation model, and say so
    assert desc["metrics"]["n_test"] == n_holdout
    assert desc["metrics"]["n_train"] == len(frame) - n_holdout
    assert "hold-out" in desc["metrics"]["measured_on"]
    # the shipped boosters are the ones a fit on all customers gives
    encoder, full = fit_on(spec, frame, seed=3)
    from recsvc.models.ranker import ProductRanker

    shipped = ProductRanker.load(model_dir)
    X = encoder.transform(frame.features)
    np.testing.assert_allclose(shipped.predict_proba(X), full.predict_proba(X))
