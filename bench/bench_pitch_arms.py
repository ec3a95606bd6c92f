"""Benchmark: POST /v1/pitch in-process (Flask test client), before/after the experiment arms.

Run: PYTHONPATH=<checkout> python bench/bench_pitch_arms.py --work DIR [--requests 2000]
DIR holds a bank (bank/) and a registry (registry/) with a champion and a challenger (as
bench_experiment.py builds them). A fresh SQLite store is loaded from the bank; then, timed,
--requests pitches for customers drawn at random (a new request id each): with no experiment
set, and (when the checkout has experiments) with an 80/10/5/5 split and with each arm alone.
Run it once with PYTHONPATH at an older checkout for the "before" line. Prints p50/p90/mean in
ms per request and the machine; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
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
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    import csv

    from sqlalchemy.orm import Session

    import recsvc
    from recsvc import create_app
    from recsvc.config import Settings
    from recsvc.security import create_key
    from recsvc.store import load_customers, make_engine, upgrade

    print(machine())
    print(f"recsvc from {Path(recsvc.__file__).parent}")
    db = Path(tempfile.mkdtemp(prefix="bench_pitch_")) / "bench.db"
    settings = dataclasses.replace(
        Settings(), database_url=f"sqlite:///{db}", registry_dir=args.work / "registry",
        rate_limit="1000000000 per minute", log_level="WARNING",
    )  # fmt: skip
    engine = make_engine(settings.database_url)
    upgrade(engine)
    load_customers(engine, args.work / "bank")
    with Session(engine) as session:
        key = create_key(session, role="teller", staff_id="T0000101")
        session.commit()
    with (args.work / "bank" / "customers.csv").open(encoding="utf-8") as handle:
        ids = [row["customer_id"] for row in csv.DictReader(handle)]
    app = create_app({"SETTINGS": settings})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(1)
    counter = iter(range(10**9))

    def run(label: str) -> None:
        times = []
        for _ in range(args.requests):
            rid = f"bench-{next(counter):09d}"
            body = {"customer_id": rng.choice(ids)}
            start = time.perf_counter()
            reply = client.post("/v1/pitch", json=body, headers={**headers, "X-Request-ID": rid})
            times.append(time.perf_counter() - start)
            assert reply.status_code == 200, reply.get_data(as_text=True)
        times.sort()
        ms = [t * 1e3 for t in times]
        print(f"{label:<34} p50 {ms[len(ms) // 2]:6.2f}  p90 {ms[int(len(ms) * 0.9)]:6.2f}  "
              f"mean {statistics.fmean(ms):6.2f} ms  ({args.requests} pitches)")  # fmt: skip

    run("warm-up")
    run("no experiment (everyone champion)")
    try:
        from recsvc.api.extensions import extensions
        from recsvc.service.answers import Caller
        from recsvc.service.experiments import ExperimentSource
    except ImportError:
        print("(this checkout has no experiments)")
        return
    service = extensions(app).service
    splits = {
        "split 80/10/5/5": {"champion": 80, "challenger": 10, "rules": 5, "holdout": 5},
        "champion 100": {"champion": 100},
        "challenger 100": {"challenger": 100},
        "rules 100": {"rules": 100},
        "holdout 100": {"holdout": 100},
    }
    for label, split in splits.items():
        ExperimentSource(engine).set_split(
            split, caller=Caller("admin", "A1"), request_id=f"bench-split-{label}"
        )
        service.experiments.invalidate()
        run(label)


if __name__ == "__main__":
    main()
