"""Benchmark: what the decision history adds to one request (issue 13), in-process, SQLite.

Times per customer, on a store with a synthetic bank loaded (its pitch_history) plus one
service pitch with feedback for each sampled customer (pitch_log + feedback):
1. `pitch_records` (the two prepared statements of recsvc.store.history_read),
2. `HistoryFeaturizer.transform_one` on those records,
3. for scale, `CustomerFeaturizer.transform_one` (what every model-scored request already does).
Asserts nothing; prints the machine.

Run: python bench/bench_history_read.py [--customers 5000] [--sample 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args()
    print(machine(), flush=True)

    from sqlalchemy import insert, select

    from recsvc.catalog import load_catalogue
    from recsvc.config import Settings
    from recsvc.customers import load_bank_config
    from recsvc.features.customer import CustomerFeaturizer
    from recsvc.features.history import HistoryFeaturizer
    from recsvc.store import get_request_context, load_customers, make_engine, upgrade
    from recsvc.store.history_read import pitch_records
    from recsvc.store.tables import CustomerRow, FeedbackRow, PitchLogRow
    from training.synth.generate import generate_bank

    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_path)
    history = HistoryFeaturizer.for_catalogue(catalogue.products)
    featurizer = CustomerFeaturizer(product_ids=catalogue.ids,
                                    bank=load_bank_config(settings.bank_config_path))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        generate_bank(Path(tmp) / "bank", customers=args.customers, seed=7)
        engine = make_engine(f"sqlite:///{tmp}/store.db")
        upgrade(engine)
        load_customers(engine, Path(tmp) / "bank")
        as_of = dt.date(2026, 12, 1)
        with engine.begin() as connection:
            ids = [r[0] for r in connection.execute(select(CustomerRow.customer_id))]
            ids = ids[: args.sample]
            at = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
            connection.execute(insert(PitchLogRow), [
                {"request_id": f"r{i}", "customer_id": c, "product_id": "credit_card",
                 "day": at.date(), "channel": "teller", "slot": 0} for i, c in enumerate(ids)
            ])  # fmt: skip
            connection.execute(insert(FeedbackRow), [
                {"request_id": f"r{i}", "product_id": "credit_card", "outcome": "declined",
                 "staff_id": "T1", "customer_id": c, "recorded_at": at}
                for i, c in enumerate(ids)
            ])  # fmt: skip
        with engine.connect() as connection:
            for c in ids[:50]:  # warm: prepare the statements, fill the page cache
                pitch_records(connection, c, as_of)
            read, build, base, records_n = [], [], [], []
            for c in ids:
                t0 = time.perf_counter()
                records = pitch_records(connection, c, as_of)
                t1 = time.perf_counter()
                history.transform_one(records, as_of)
                t2 = time.perf_counter()
                read.append(t1 - t0)
                build.append(t2 - t1)
                records_n.append(len(records))
            contexts = [
                get_request_context(connection, c, since=as_of, day=as_of).customer
                for c in ids[:500]
            ]
            for customer in contexts:
                assert customer is not None
                t0 = time.perf_counter()
                featurizer.transform_one(customer, as_of)
                base.append(time.perf_counter() - t0)
        engine.dispose()
    print(f"{len(ids)} customers, {statistics.fmean(records_n):.2f} pitch records each "
          f"(max {max(records_n)}); microseconds per customer, mean / p50 / p99:")  # fmt: skip
    for label, times in (("pitch_records (store read)", read),
                         ("HistoryFeaturizer.transform_one", build),
                         ("CustomerFeaturizer.transform_one", base)):  # fmt: skip
        ordered = sorted(times)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(f"  {label:<34} {statistics.fmean(times) * 1e6:8.1f} "
              f"{statistics.median(times) * 1e6:8.1f} {p99 * 1e6:8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
