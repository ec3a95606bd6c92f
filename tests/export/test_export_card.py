"""The model card of a model trained on a store export says how much of the data the service
pitched under each arm, and which arms are model-independent."""

from __future__ import annotations

import json
from pathlib import Path

from export_planting import DATE, TZ, plant_past
from sqlalchemy import Engine

from training.datasets import load_spec
from training.export import export_bank
from training.pipeline import train
from training.report import write_report


def test_the_card_counts_the_pitches_of_each_arm(sqlite_store: Engine, tmp_path: Path) -> None:
    plant_past(sqlite_store)
    data = tmp_path / "export"
    export_bank(sqlite_store, data, as_of=DATE, tz=TZ)
    model = train(load_spec("synthetic"), data, tmp_path / "model", seed=0, progress=False,
                  refit=False)  # fmt: skip
    log = json.loads((model / "model.json").read_text())["decision_log"]
    products = len(load_spec("synthetic").products)
    assert (log["customers"], log["all_pairs"], log["pitched_pairs"]) == (400, 400 * products, 6)
    counts = {
        arm: (a["decisions"], a["customers"], a["pitched_pairs"], a["answered"], a["accepted"])
        for arm, a in log["arms"].items()
    }
    # r1 declined, r3 unanswered by DATE, r5 no_answer | r2 accepted, r6 not_interested | r4
    assert counts == {
        "champion": (3, 3, 3, 2, 0), "rules": (2, 2, 2, 2, 1), "challenger": (1, 1, 1, 1, 0),
        "holdout": (0, 0, 0, 0, 0),
    }  # fmt: skip
    assert log["arms"]["rules"]["share_of_pairs"] == 2 / (400 * products)
    assert [a for a, v in log["arms"].items() if v["model_independent"]] == ["rules", "holdout"]
    page = write_report(model, tmp_path / "card.html").read_text()
    assert "Counterfactual risk: what the service pitched, per arm" in page
    assert "The holdout and rules arms give unbiased, model-independent data" in page
    assert f"pitched 6 of the {400 * products} customer x product pairs" in page


def test_no_decisions_no_section(synthetic_bank: Path) -> None:
    from training.decision_log import decision_log_for

    assert decision_log_for(load_spec("synthetic"), synthetic_bank, object()) is None
