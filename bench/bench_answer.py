"""Benchmark: the answer's way out of the service, in-process (issue 15, item 3).

Times, on a synthetic store with a trained champion, one worker, Flask's test client:
1. building the answer's JSON-able form (`Answer.to_dict()` on a fresh answer),
2. turning a built answer into the HTTP body: the views' own path (`answer_response`, when the
   tree has it) and the old one (flask-smorest dumping the dict again through the schema),
3. whole `POST /v1/pitch` and `POST /v1/recommendations` requests (rules, model, reasons,
   audit, pitch log, commit included).
Run it on two trees to compare them; it prints the machine and asserts nothing.

Run: python bench/bench_answer.py [--workdir /tmp/recsvc-bench-answer] [--requests 1500]
     [--dataset synthetic_history]  (a champion with the decision history: its store read)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench_durability import pct
from bench_http import prepare, sample_ids, service_env
from machine import machine


def per_call_us(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Best of `rounds` means, microseconds per call."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - started) / n)
    return best * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workdir = Path(tempfile.gettempdir()) / "recsvc-bench-answer"
    for flag, kind, default in (("--workdir", Path, workdir), ("--customers", int, 5000),
                                ("--seed", int, 7), ("--requests", int, 1500)):  # fmt: skip
        parser.add_argument(flag, type=kind, default=default)
    parser.add_argument(
        "--dataset",
        default="synthetic",
        help="the champion's spec (synthetic_history: with the decision history)",
    )
    args = parser.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    print(f"machine: {machine()}\ntree: {head.stdout.strip()}", flush=True)
    env = dict(os.environ, RECSVC_LOG_LEVEL="WARNING")
    args.workdir.mkdir(parents=True, exist_ok=True)
    bank, model = prepare(args.workdir, args.customers, args.seed, env, args.dataset)
    with tempfile.TemporaryDirectory(prefix="bench-answer-", dir=args.workdir) as name:
        senv = service_env(Path(name), bank, model, env)
        os.environ.update(
            DATABASE_URL=senv["DATABASE_URL"], RECSVC_REGISTRY_DIR=senv["RECSVC_REGISTRY_DIR"],
            RECSVC_LOG_LEVEL="WARNING", RECSVC_RATE_LIMIT="1000000 per second",
        )  # fmt: skip
        ids = sample_ids(senv["DATABASE_URL"], 2000, args.seed)
        run(ids, args.requests)
    return 0


def run(ids: list[str], requests: int) -> None:
    from flask import jsonify
    from sqlalchemy.orm import Session

    from recsvc import create_app
    from recsvc.api import recommend as views
    from recsvc.api.reco_schemas import PitchAnswerOut, RecommendationsAnswerOut
    from recsvc.api.warmup import warm_up
    from recsvc.security import create_key
    from recsvc.service.answers import Caller, RecommendRequest

    app = create_app()
    warm_up(app)
    service = app.extensions["recsvc"].service if "recsvc" in app.extensions else None
    service = service or app.extensions["recsvc.service"]
    with Session(service.engine) as session:
        key = create_key(session, role="teller", staff_id="T001")
        session.commit()
    headers = {"Authorization": f"Bearer {key}"}
    caller = Caller(role="teller", staff_id="T001")
    answers = [
        service.recommend(RecommendRequest(request_id=uuid.uuid4().hex, caller=caller,
                                           channel="teller", customer_id=cid, limit=5))
        for cid in ids[:200]
    ]  # fmt: skip
    n = len(answers)
    print(f"\n1-2. per answer, {n} real answers (teller channel, limit 5), microseconds:")
    fresh = [dataclasses.replace(a) for a in answers]
    t0 = time.perf_counter()
    for a in fresh:
        a.to_dict()
    print(f"  Answer.to_dict() on a fresh answer      {(time.perf_counter() - t0) / n * 1e6:7.1f}")
    with app.app_context():
        for schema in (PitchAnswerOut, RecommendationsAnswerOut):
            again = iter(answers * 10_000)
            dumped = per_call_us(lambda s=schema, a=again: jsonify(s().dump(next(a).to_dict())), n)
            print(f"  {schema.__name__:<24} dumped again + jsonify   {dumped:7.1f}")
            if hasattr(views, "answer_response"):
                once_ = iter(answers * 10_000)
                once = per_call_us(lambda s=schema, a=once_: views.answer_response(next(a), s), n)
                print(f"  {schema.__name__:<24} answer_response          {once:7.1f}")
    client = app.test_client()
    print(f"\n3. whole requests through Flask's test client, {requests} each, microseconds:")
    print("| endpoint | mean | p50 | p99 |\n|---|---:|---:|---:|")
    for path, extra in (("/v1/pitch", {}), ("/v1/recommendations", {"limit": 5})):
        times = []
        for i in range(requests):
            body = {"customer_id": ids[i % len(ids)], **extra}
            started = time.perf_counter()
            response = client.post(path, json=body, headers=headers)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_json()
        mean = statistics.fmean(times) * 1e6
        print(f"| POST {path} | {mean:.0f} | {pct(times, 0.5):.0f} | {pct(times, 0.99):.0f} |")


if __name__ == "__main__":
    sys.exit(main())
