import datetime as dt

import numpy as np
import pytest
from factories import AS_OF, make_customer

from recsvc.catalog import load_catalogue
from recsvc.features.customer import CustomerFeaturizer
from training.synth.generate import generate_bank
from training.synth.reader import customers_from_frames, read_bank


@pytest.fixture(scope="module")
def featurizer(settings, bank) -> CustomerFeaturizer:
    catalogue = load_catalogue(settings.catalogue_path)
    return CustomerFeaturizer(product_ids=catalogue.ids, bank=bank)


@pytest.fixture(scope="module")
def small_bank(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank")
    generate_bank(out, customers=1500, seed=3)
    return read_bank(out)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def test_batch_and_request_paths_give_identical_vectors(featurizer, small_bank) -> None:
    frames = small_bank
    as_of = dt.date.fromisoformat(frames.manifest["snapshot_dates"][0])
    dates = frames.holdings["snapshot_date"].astype(str)
    now = frames.holdings[dates == as_of.isoformat()]
    batch = featurizer.transform_frames(frames.customers, now, frames.transactions, as_of)
    one = np.vstack([featurizer.transform_one(c, as_of) for c in customers_from_frames(frames, 0)])
    assert batch.shape == one.shape == (len(frames.customers), len(featurizer.names))
    mismatched = sorted({featurizer.names[j] for j in np.argwhere(~_same(batch, one))[:, 1]})
    assert mismatched == []
    assert batch.dtype == one.dtype == np.float32


def test_vector_reads_the_profile(featurizer) -> None:
    customer = make_customer(
        holdings=[
            {"product_id": "time_deposit", "amount": 50000, "maturity_date": "2026-10-15"},
            {"product_id": "credit_card"},
        ]
    )
    row = dict(zip(featurizer.names, featurizer.transform_one(customer, AS_OF)[0], strict=True))
    assert row["age"] == 28
    assert row["risk_level"] == 3
    assert row["held_time_deposit"] == 1 and row["held_credit_card"] == 1
    assert row["held_mobile_banking"] == 0
    assert row["days_to_next_maturity"] == 15
    assert row["n_maturing_30d"] == 1
    assert row["n_small_cash_withdrawal"] == 1
    assert row["assessment_valid"] == 1


def test_missing_facts_become_nan_not_errors(featurizer) -> None:
    customer = make_customer(
        risk_level=None, assessment_date=None, customer_since=None, recent_transactions=[]
    )
    row = dict(zip(featurizer.names, featurizer.transform_one(customer, AS_OF)[0], strict=True))
    assert np.isnan(row["risk_level"]) and np.isnan(row["assessment_age_days"])
    assert row["assessment_valid"] == 0
    assert np.isnan(row["counter_txn_share"])


def test_schema_fingerprint_changes_with_the_features(featurizer, bank) -> None:
    fewer = CustomerFeaturizer(product_ids=featurizer.product_ids[:-1], bank=bank)
    assert featurizer.feature_schema()["fingerprint"] != fewer.feature_schema()["fingerprint"]
    assert featurizer.feature_schema() == featurizer.feature_schema()
