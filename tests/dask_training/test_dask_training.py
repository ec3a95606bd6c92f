"""`python -m training train --dask`: the model trained on a Dask cluster against the
single-process one, on the same synthetic bank and the same hold-out customers.

What parity holds, measured (docs/model.md, "Training on Dask"):
- one Dask worker: every product's hold-out AUC and the MAP@7 equal the single-process
  model's exactly (same rows, same bins, same trees);
- two workers: LightGBM's data-parallel learner, with the bins shared (each worker's Dataset
  takes them from one sample, as one machine bins) and the spec's learner one it reproduces
  (leaves bounded by hessian, no L2: `parity_limits`): the single-process trees, so within
  the issue's TWO_WORKER_AUC per product and MAP_TOLERANCE (measured: 0 and 0), and the same
  SHAP reasons once the leaf counts are made exact. LightGBM's own DaskLGBMClassifier (bins
  found per worker) does not (0.04 on the same bank).
The spec as written also samples (negatives, calibration fold, bagging); the Dask path draws
those by customer key, the single-process path by row, so the two are different draws: at
20,000 customers two single-process draws (seed 0 vs 1) already differ by up to 0.13 AUC on a
rare product. The parity runs therefore switch sampling and calibration off and keep the spec's
learner; the spec as written is trained too, and must give an ordinary, publishable model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recsvc.features.tabular import TabularEncoder
from recsvc.models.ranker import ProductRanker
from recsvc.models.registry import Registry
from training.dask_train import DaskTrainingError, build_part, check_supported
from training.datasets import DatasetSpec, load_dataset, load_spec, parse_spec
from training.datasets.split import holdout_mask
from training.pipeline import evaluate, read_training_customers, train
from training.synth.generate import generate_bank
from training.synthetic import featurizer_for

CUSTOMERS = 20_000
SEED = 7
MAP_TOLERANCE = 0.001
# The bound per product. Measured with the spec's learner (hessian-based leaf minimum, no
# L2, see docs/model.md): the two-worker trees are the single-process ones, gap 0 on all 19
# products. Before (min_data_in_leaf = 200, lambda_l2 = 5): 0.0225 (physical_gold), 5 of 19.
TWO_WORKER_AUC = 0.002


def parity_spec(**lightgbm: Any) -> DatasetSpec:
    """The synthetic spec's learner with its sampling and calibration switched off (no
    negative sampling, no bagging, no calibration fold): both paths fit the same rows."""
    raw = load_spec("synthetic").to_dict()
    raw["model"].pop("negatives_per_positive", None)
    raw["model"]["calibration"] = None
    raw["model"]["lightgbm"].update(bagging_fraction=1.0, bagging_freq=0, **lightgbm)
    return parse_spec(raw)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bank20k")
    generate_bank(directory, customers=CUSTOMERS, seed=SEED)
    return directory


def scored(model_dir: Path, spec: DatasetSpec, bank: Path) -> dict[str, Any]:
    """The model graded by `training evaluate` on the bank's hold-out customers."""
    report = evaluate(model_dir, spec, bank, n_boot=10)
    desc = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    return {
        "auc": report["model"]["auc"],
        "map@7": report["model"]["map@7"],
        "n": report["n_test"],
        "trained_on": read_training_customers(model_dir),
        "counted": {k: desc["metrics"][k] for k in ("n_train", "n_test")},
    }


@pytest.fixture(scope="module")
def single(bank: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = parity_spec()
    out = train(spec, bank, tmp_path_factory.mktemp("single"), progress=False, refit=False)
    return {**scored(out, spec, bank), "dir": out}


def dask_model(bank: Path, out: Path, address: str, spec: DatasetSpec) -> Path:
    from training.dask_train import train_dask

    return train_dask(spec, bank, out, address=address, progress=False, refit=False)


def auc_gaps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    return {p: abs(float(a["auc"][p] or 0.5) - float(b["auc"][p] or 0.5)) for p in a["auc"]}


def test_one_worker_gives_the_single_process_trees(
    bank: Path, single: dict[str, Any], tmp_path: Path
) -> None:
    spec = parity_spec()
    out = dask_model(bank, tmp_path / "dask1", "local:1", spec)
    got = scored(out, spec, bank)
    assert got["n"] == single["n"]
    # no customer lost or doubled: the same training customers, the same counts on both sides
    assert np.array_equal(got["trained_on"], single["trained_on"])
    assert got["counted"] == single["counted"]
    gaps = auc_gaps(single, got)
    assert max(gaps.values()) <= 1e-12, gaps
    assert abs(got["map@7"] - single["map@7"]) <= 1e-12


@pytest.fixture(scope="module")
def two_workers(bank: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dask_model(bank, tmp_path_factory.mktemp("dask2"), "local:2", parity_spec())


def test_two_workers_stay_close_to_the_single_process_model(
    bank: Path, single: dict[str, Any], two_workers: Path
) -> None:
    got = scored(two_workers, parity_spec(), bank)
    assert got["n"] == single["n"]
    assert np.array_equal(got["trained_on"], single["trained_on"])
    assert got["counted"] == single["counted"]
    gaps = auc_gaps(single, got)
    assert max(gaps.values()) <= TWO_WORKER_AUC, gaps
    assert abs(got["map@7"] - single["map@7"]) <= MAP_TOLERANCE, (got, single)
    desc = json.loads((two_workers / "model.json").read_text(encoding="utf-8"))
    assert desc["distributed"]["workers"] == 2
    for booster in two_workers.glob("model_*.txt"):  # every booster trained on both workers
        assert "[num_machines: 2]" in booster.read_text(encoding="utf-8"), booster.name
    assert all(mb > 0 for mb in desc["distributed"]["peak_rss_mb_per_worker"].values())


def test_two_workers_write_the_single_process_model_files(
    single: dict[str, Any], two_workers: Path
) -> None:
    """Same data and spec, same bytes: the trees are the single process's, and the parameters
    name the learner (data-parallel, on 2 machines; threads) but no host or port, so the
    manifest's hashes do not change from one run, or one cluster, to the next."""
    learner = {"tree_learner", "num_machines", "time_out", "num_threads"}
    for two in sorted(two_workers.glob("model_*.txt")):
        one = (single["dir"] / two.name).read_text(encoding="utf-8")
        text = two.read_text(encoding="utf-8")
        trees, _, params = text.partition("\nparameters:\n")
        assert trees == one.partition("\nparameters:\n")[0], two.name
        theirs = set(one.partition("\nparameters:\n")[2].splitlines())
        ours = set(params.splitlines())
        hosts = {ln for ln in ours if ln.startswith(("[machines: ", "[local_listen_port: "))}
        assert not hosts, (two.name, hosts)  # the single process writes LightGBM's defaults
        differ = {ln.strip("[]").split(":")[0] for ln in ours ^ theirs}
        assert differ - {"machines", "local_listen_port"} <= learner, (two.name, differ)


def test_two_workers_give_the_single_process_reasons(
    bank: Path, single: dict[str, Any], two_workers: Path
) -> None:
    """The service's reasons are TreeSHAP contributions, which weigh each branch by the rows
    the tree recorded there; the data-parallel learner records hessian-based estimates (off by
    up to 20%), so the Dask path writes the counts of rows that reach each leaf instead."""
    spec = parity_spec()
    frame = load_dataset(spec, bank)
    test = frame.take(holdout_mask(frame, spec, seed=0))
    one, two = ProductRanker.load(single["dir"]), ProductRanker.load(two_workers)
    desc = json.loads((single["dir"] / "model.json").read_text(encoding="utf-8"))
    X = TabularEncoder.from_schema(desc["feature_schema"]).transform(test.features)[:2000]
    for j, product in enumerate(one.products_):
        gap = np.abs(one.contributions(X, j) - two.contributions(X, j)).max()
        assert gap <= 1e-9, (product, gap)


@pytest.fixture(scope="module")
def as_written(bank: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic spec as written (isotonic calibration on a keyed fold, sampled negatives,
    bagging), shipped as a refit on every customer, on two workers."""
    from training.dask_train import train_dask

    out = tmp_path_factory.mktemp("as_written")
    return train_dask(load_spec("synthetic"), bank, out, address="local:2", progress=False)


def test_the_dask_model_is_an_ordinary_model_directory(as_written: Path, tmp_path: Path) -> None:
    """LightGBM text boosters and isotonic maps, loadable, publishable into the registry."""
    ranker = ProductRanker.load(as_written)
    assert ranker.products_ == list(load_spec("synthetic").products)
    assert "identity" not in {c["method"] for c in ranker.calibrators_}
    names = sorted(p.name for p in as_written.iterdir())
    assert {"model.json", "calibration.json", "training_customers.bin"} <= set(names)
    boosters = [n for n in names if n.startswith("model_")]
    assert boosters and all(
        (as_written / n).read_text(encoding="utf-8").startswith("tree") for n in boosters
    )
    desc = json.loads((as_written / "model.json").read_text(encoding="utf-8"))
    assert desc["shipped_model"]["customers"] == CUSTOMERS
    assert desc["training_customers"]["count"] == CUSTOMERS
    assert desc["metrics"]["model"]["map@7"] > desc["metrics"]["baselines"]["popularity"]["map@7"]
    # the spec's learner grows one machine's trees; only its bagging is a per-machine draw
    assert [n.split(":")[0] for n in desc["distributed"]["differs_from_one_machine"]] == ["bagging"]
    registry = Registry(tmp_path / "registry")
    version = registry.publish(as_written, note="trained on Dask")
    assert registry.resolve("champion") == version


def test_customers_of_another_partition_are_refused() -> None:
    """A partition's holdings must belong to its own customers (files partitioned alike)."""
    from training.synth.reader import BankFormatError

    spec = load_spec("synthetic")
    customers = pd.DataFrame({"customer_id": ["C1"], "_part": [0]})
    holdings = pd.DataFrame({"customer_id": ["C2"], "_part": [0]})
    for frame in (customers, holdings):
        for column in ("snapshot_date", "product_id", "amount", "open_date", "maturity_date"):
            frame[column] = ""
    with pytest.raises(BankFormatError):
        build_part(
            customers, holdings, holdings.iloc[:0], holdings.iloc[:0],
            managers=pd.DataFrame(), manifest={}, spec=spec, featurizer=featurizer_for(), seed=0,
        )  # fmt: skip


@pytest.mark.parametrize("name", ["santander", "bank_marketing", "coil2000"])
def test_other_loaders_are_refused(name: str) -> None:
    with pytest.raises(DaskTrainingError, match="--dask"):
        check_supported(load_spec(name))


def test_decision_history_features_are_refused_not_skipped() -> None:
    """synthetic_history's model needs recsvc.features.history's columns; the partitions build
    the customer features only, so a --dask run would silently train without them."""
    with pytest.raises(DaskTrainingError, match="history"):
        check_supported(load_spec("synthetic_history"))


def test_a_search_is_refused_not_skipped() -> None:
    raw = load_spec("synthetic").to_dict()
    raw["search"] = {
        "candidates": [{"name": "as written"}, {"name": "small", "lightgbm": {"num_leaves": 3}}]
    }
    with pytest.raises(DaskTrainingError, match=r"\[search\]"):
        check_supported(parse_spec(raw))


def test_multiclass_is_refused() -> None:
    raw = load_spec("synthetic").to_dict()
    raw["model"]["kind"] = "multiclass"
    with pytest.raises(DaskTrainingError, match="multiclass"):
        check_supported(parse_spec(raw))


def test_cli_names_a_bad_address(tmp_path: Path, bank: Path, capsys: Any) -> None:
    from training.cli import main

    argv = ["train", "--data", str(bank), "--out", str(tmp_path / "m"), "--quiet"]
    assert main([*argv, "--dask", "localhost:1"]) == 2
    assert "--dask 'localhost:1'" in capsys.readouterr().err
    assert main([*argv, "--partitions", "4"]) == 2
    assert "--partitions needs --dask" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_the_card_says_which_samples_were_used(as_written: Path, tmp_path: Path) -> None:
    from training.report import write_report

    html = write_report(as_written, tmp_path / "card.html").read_text(encoding="utf-8")
    assert "evaluation sample (Dask)" in html and "calibration sample (Dask)" in html
    desc = json.loads((as_written / "model.json").read_text(encoding="utf-8"))
    assert "keyed samples" in desc["distributed"]["evaluation"]


def test_two_local_clusters_run_side_by_side() -> None:
    """Two trainings (or a training and a score-book) on one machine: each LocalCluster's
    scheduler takes any free HTTP port instead of failing on 8787."""
    from recsvc.cluster import dask_client

    with dask_client("local:1") as first, dask_client("local:1") as second:
        assert first.submit(sum, [1, 2]).result() == second.submit(sum, [3]).result()  # type: ignore[attr-defined]


def test_the_spec_learner_is_one_the_data_parallel_learner_reproduces() -> None:
    """The two LightGBM behaviours that make data-parallel trees differ from one machine's are
    named in model.json (`distributed.differs_from_one_machine`); the synthetic spec avoids
    both, and its bagging (per-machine draws) is the only entry left."""
    from training.dask_train import parity_limits
    from training.pipeline import build_ranker

    params = build_ranker(load_spec("synthetic"), seed=0)._lgb_params({})
    assert [note.split(":")[0] for note in parity_limits(params)] == ["bagging"]
    assert parity_limits(build_ranker(parity_spec(), seed=0)._lgb_params({})) == []
    old = parity_limits({**params, "min_data_in_leaf": 200, "lambda_l2": 5.0})
    assert [note.split(" ")[0] for note in old] == ["min_data_in_leaf", "lambda_l2", "bagging:"]


def test_exact_counts_writes_the_rows_that_reach_each_leaf() -> None:
    """One machine's booster records the true counts: rewriting them from `leaf_counts` gives
    the same text; counts spoiled as the data-parallel learner spoils them are put back, and
    the text still loads (tree_sizes recomputed)."""
    import lightgbm as lgb

    from training.dask_train import exact_counts, leaf_counts

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=3000) > 1.2).astype(np.float32)
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": 0}
    text = lgb.train(params, lgb.Dataset(X, y), num_boost_round=5).model_to_string()
    counts = leaf_counts(lgb.Booster(model_str=text), X, chunk=700)
    assert exact_counts(text, counts) == text
    spoiled = "\n".join(
        "leaf_count=" + " ".join(str(int(v) + 7) for v in ln.split("=")[1].split())
        if ln.startswith("leaf_count=")
        else ln
        for ln in text.split("\n")
    )
    assert spoiled != text
    assert exact_counts(spoiled, counts) == text
    assert lgb.Booster(model_str=exact_counts(spoiled, counts)).num_trees() == 5
