"""The response target (accepted given pitched): labels from the answers to the pitches made
between the export's snapshots, unpitched pairs masked, trained and graded by the pipeline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from export_planting import DATE, TZ, at
from sqlalchemy import Engine, insert, select

from recsvc.store.tables import AuditLogRow, CustomerRow, FeedbackRow, PitchLogRow
from training.datasets import DatasetError, load_dataset, load_spec
from training.export import export_bank
from training.pipeline import train
from training.report import write_report
from training.response import response_labels

PRODUCTS = ["credit_card", "fund_plan", "time_deposit"]


def test_labels_mask_what_was_never_pitched() -> None:
    responses = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "x"],
        "product_id": ["credit_card", "credit_card", "fund_plan", "time_deposit", "fund_plan",
                       "fund_plan"],
        "arm": ["champion", "rules", "rules", "champion", "rules", "rules"],
        "outcome": ["declined", "accepted", "no_answer", "accepted", "", "accepted"],
    })  # fmt: skip
    ids = np.array(["a", "b", "c"])
    pitched, accepted = response_labels(responses, ids, PRODUCTS, None)
    assert pitched.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]  # c: never answered
    assert accepted.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]  # a: accepted the second time
    pitched, accepted = response_labels(responses, ids, PRODUCTS, ["rules"])
    assert pitched.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert accepted.tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]


def _pitch_everyone(engine: Engine) -> None:
    """Every customer pitched each product once after DATE; the young accept the credit card,
    the old the time deposit, nobody the fund plan (one in four answers is recorded after the
    label date: unknown then)."""
    with engine.begin() as conn:
        people = conn.execute(
            select(CustomerRow.customer_id, CustomerRow.birth_date).order_by(
                CustomerRow.customer_id
            )
        ).all()
        audits, logs, answers = [], [], []
        for i, (cid, born) in enumerate(people):
            young = born > dt.date(1981, 1, 1)
            day = DATE + dt.timedelta(days=1 + i % 20)
            for k, product in enumerate(PRODUCTS):
                rid = f"w-{i}-{k}"
                audits.append({
                    "request_id": rid, "created_at": at(day), "caller_role": "teller",
                    "staff_id": "T1", "customer_id": cid, "model_version": "v1",
                    "model_hash": None, "degraded": False, "experiment_id": "e",
                    "arm": "rules" if i % 2 else "champion",
                    "payload": {"answer": {"as_of": day.isoformat()}},
                })  # fmt: skip
                logs.append({
                    "request_id": rid, "customer_id": cid, "product_id": product, "day": day,
                    "channel": "teller", "slot": k, "experiment_id": "e",
                    "arm": "rules" if i % 2 else "champion", "model_version": "v1",
                })  # fmt: skip
                yes = (product == "credit_card" and young) or (
                    product == "time_deposit" and not young
                )
                late = i % 4 == 3
                answers.append({
                    "request_id": rid, "product_id": product, "customer_id": cid,
                    "outcome": "accepted" if yes else "declined", "staff_id": "T1",
                    "recorded_at": at(dt.date(2027, 1, 5) if late else day),
                })  # fmt: skip
        conn.execute(insert(AuditLogRow), audits)
        conn.execute(insert(PitchLogRow), logs)
        conn.execute(insert(FeedbackRow), answers)


def test_the_response_target_trains_and_is_graded_on_pitched_pairs(
    sqlite_store: Engine, tmp_path: Path
) -> None:
    data = tmp_path / "export"
    export_bank(sqlite_store, data, as_of=DATE, tz=TZ)
    with pytest.raises(DatasetError, match="answered pitches"):
        load_dataset(load_spec("synthetic_response"), data)
    _pitch_everyone(sqlite_store)
    export_bank(sqlite_store, data, as_of=DATE, tz=TZ)
    frame = load_dataset(load_spec("synthetic_response"), data)
    assert len(frame) == 300  # 400 customers, a quarter answered only after the label date
    assert list(frame.products) == ["credit_card", "fund_plan", "time_deposit"]  # catalogue order
    assert (frame.held == 0).all()  # every customer left was pitched all three
    model = train(load_spec("synthetic_response"), data, tmp_path / "m", seed=0, progress=False,
                  refit=False)  # fmt: skip
    card = json.loads((model / "model.json").read_text())
    graded = card["evaluation"]["per_product"]["credit_card"]
    assert graded["eligible"] == card["metrics"]["n_test"]  # hold-out customers' pitches only
    assert graded["auc_low"] > 0.9  # age decides the answer: learnt from the pitched pairs alone
    assert card["metrics"]["n_train"] + card["metrics"]["n_test"] == 300
    assert card["decision_log"]["used_for"].startswith("Response target")
    by_arm = {g["arms"]: g for g in card["decision_log"]["response_by_arm"]}
    rules, model_chosen = by_arm["model-independent (rules, holdout)"], by_arm["chosen by a model"]
    assert rules["pitches"] + model_chosen["pitches"] == 3 * card["metrics"]["n_test"]
    assert rules["customers"] + model_chosen["customers"] == card["metrics"]["n_test"]
    assert rules["pitches"] > 0 and model_chosen["pitches"] > 0
    assert rules["auc_low"] > 0.8 and rules["auc"] <= rules["auc_high"]
    page = write_report(model, tmp_path / "card.html").read_text()
    assert "by who chose them" in page
