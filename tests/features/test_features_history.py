import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsvc.catalog import load_catalogue
from recsvc.features.history import DAYS_SINCE_LAST_PITCH, HistoryFeaturizer, PitchRecord
from training.synth.generate import generate_bank
from training.synth.reader import read_bank

AS_OF = dt.date(2026, 10, 1)
PRODUCTS = {"credit_card": "credit_card", "wealth_r2": "wealth", "wealth_r3": "wealth",
            "time_deposit": "time_deposit"}  # fmt: skip
OUTCOMES = ("accepted", "declined", "not_interested", "no_answer", None, "")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def _frame(rows: list[tuple[str, PitchRecord]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [c for c, _ in rows],
            "product_id": [r.product_id for _, r in rows],
            "date": [r.date.isoformat() for _, r in rows],
            "channel": "teller",
            "outcome": [r.outcome for _, r in rows],
            "staff_id": "T1",
        },
        columns=["customer_id", "product_id", "date", "channel", "outcome", "staff_id"],
    )


@pytest.fixture(scope="module")
def history() -> HistoryFeaturizer:
    return HistoryFeaturizer(PRODUCTS)


records = st.builds(
    PitchRecord,
    date=st.integers(-400, 30).map(lambda d: AS_OF + dt.timedelta(days=d)),
    product_id=st.sampled_from([*PRODUCTS, "not_in_catalogue"]),
    outcome=st.sampled_from(OUTCOMES),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3", "C9"]), records), max_size=40),
    st.integers(-5, 5),
)
def test_request_and_frames_paths_give_identical_vectors(rows, shift) -> None:
    history = HistoryFeaturizer(PRODUCTS)
    as_of = AS_OF + dt.timedelta(days=shift)
    ids = ["C1", "C2", "C3", "C4"]  # C9's records belong to nobody asked for; C4 has none
    batch = history.transform_frames(ids, _frame(rows), as_of)
    one = np.vstack([history.transform_one([r for c, r in rows if c == i], as_of) for i in ids])
    assert batch.shape == one.shape == (len(ids), len(history.names))
    assert batch.dtype == one.dtype == np.float32
    assert _same(batch, one)


@settings(max_examples=150, deadline=None)
@given(st.lists(records, max_size=30), st.lists(st.integers(0, 60), min_size=1, max_size=10))
def test_records_on_or_after_the_as_of_date_never_count(past, future_days) -> None:
    """A planted future pitch (the as-of day itself included) changes no feature on either path."""
    history = HistoryFeaturizer(PRODUCTS)
    before = [r for r in past if r.date < AS_OF]
    planted = [
        PitchRecord(AS_OF + dt.timedelta(days=d), p, o)
        for d, p, o in zip(
            future_days, [*PRODUCTS] * 10, ["declined", "accepted"] * 10, strict=False
        )
    ]
    clean = history.transform_one(before, AS_OF)
    assert _same(history.transform_one(before + planted, AS_OF), clean)
    frames = history.transform_frames(["C1"], _frame([("C1", r) for r in before + planted]), AS_OF)
    assert _same(frames, clean)


def test_vector_reads_the_history(history) -> None:
    day = lambda n: AS_OF - dt.timedelta(days=n)  # noqa: E731
    records = [
        PitchRecord(day(1), "wealth_r2", "declined"),
        PitchRecord(day(30), "wealth_r3", "not_interested"),
        PitchRecord(day(31), "wealth_r3", "no_answer"),
        PitchRecord(day(90), "credit_card", "accepted"),
        PitchRecord(day(91), "time_deposit", "declined"),
        PitchRecord(day(400), "time_deposit", "accepted"),
        PitchRecord(AS_OF, "credit_card", "declined"),  # today: not yet
    ]
    row = dict(zip(history.names, history.transform_one(records, AS_OF)[0], strict=True))
    assert row["pitched_30d_wealth"] == 2 and row["pitched_90d_wealth"] == 3
    assert row["declined_30d_wealth"] == 2 and row["declined_90d_wealth"] == 2
    assert row["pitched_30d_credit_card"] == 0 and row["pitched_90d_credit_card"] == 1
    assert row["declined_90d_credit_card"] == 0 and row["accepted_before_credit_card"] == 1
    assert row["pitched_90d_time_deposit"] == 0 and row["accepted_before_time_deposit"] == 1
    assert row["accepted_before_wealth"] == 0
    assert row[DAYS_SINCE_LAST_PITCH] == 1
    never = history.transform_one([], AS_OF)[0]
    assert np.isnan(never[-1]) and (never[:-1] == 0).all()


def test_families_follow_the_catalogue(settings) -> None:
    catalogue = load_catalogue(settings.catalogue_path)
    history = HistoryFeaturizer.for_catalogue(catalogue.products)
    families = list(dict.fromkeys(p.family for p in catalogue.products))
    assert history.families == tuple(families)
    assert len(history.names) == 5 * len(families) + 1
    assert len(set(history.names)) == len(history.names)


def test_synthetic_bank_pitches_give_the_same_vectors_on_both_paths(settings, tmp_path) -> None:
    generate_bank(tmp_path, customers=400, seed=5)
    frames = read_bank(tmp_path)
    history = HistoryFeaturizer.for_catalogue(load_catalogue(settings.catalogue_path).products)
    as_of = dt.date.fromisoformat(frames.manifest["snapshot_dates"][0])
    ids = frames.customers["customer_id"].to_numpy()
    p = frames.pitches
    batch = history.transform_frames(ids, p, as_of)
    by_customer: dict[str, list[PitchRecord]] = {}
    for c, prod, d, o in zip(
        p["customer_id"], p["product_id"], p["date"], p["outcome"], strict=True
    ):
        by_customer.setdefault(c, []).append(PitchRecord(pd.Timestamp(d).date(), prod, o))
    one = np.vstack([history.transform_one(by_customer.get(c, []), as_of) for c in ids])
    assert _same(batch, one)
    assert (batch[:, :-1].sum(axis=0) > 0).sum() >= 5  # the bank's history reaches the features


def test_the_history_spec_asks_for_it_and_a_bad_value_names_the_key() -> None:
    from training.datasets import DatasetError, load_spec, parse_spec
    from training.synthetic import wants_history

    assert wants_history(load_spec("synthetic_history"))
    assert not wants_history(load_spec("synthetic"))
    raw = dict(load_spec("synthetic_history").raw, features={"history": "yes"})
    with pytest.raises(DatasetError, match=r"features\.history"):
        wants_history(parse_spec(raw))
