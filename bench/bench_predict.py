"""Benchmark: the serving path of the model (ModelRuntime) on a synthetic bank.

Builds a synthetic bank and trains the `synthetic` spec's model in a temp dir, publishes it to a
temp registry and loads it the way a worker does. Prints the machine, 1-row latency
(transform_one + score, p50/p99 over --calls calls, one thread) and batch throughput over the
whole catalogue (customers/s, num_threads 1 and 2). Asserts nothing.

Run: python bench/bench_predict.py [--customers 20000] [--train-customers 5000] [--calls 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from machine import best_seconds, machine

from recsvc.config import Settings
from recsvc.features.customer import CustomerFeaturizer
from recsvc.models.ranker import ProductRanker
from recsvc.models.registry import Registry
from recsvc.models.runtime import LoadedModel, ModelRuntime
from training.datasets import load_spec
from training.pipeline import build_ranker
from training.synth.generate import generate_bank
from training.synth.reader import customers_from_frames, read_bank
from training.synthetic import featurizer_for, frames_to_dataset


def _percentiles(seconds: list[float]) -> str:
    us = np.asarray(seconds) * 1e6
    p50, p99 = np.percentile(us, [50, 99])
    return f"p50 {p50:7.1f} us  p99 {p99:7.1f} us"


def build_model(
    root: Path, *, customers: int, train_customers: int, featurizer: CustomerFeaturizer
) -> tuple[Path, np.ndarray]:
    """Bank -> features -> the synthetic spec's ranker (fit on the first `train_customers`,
    which sets the model's size, not its speed), saved; returns (model dir, X of everyone)."""
    t0 = time.perf_counter()
    generate_bank(root / "bank", customers=customers, seed=1)
    spec = load_spec("synthetic")
    frame = frames_to_dataset(read_bank(root / "bank"), spec, featurizer=featurizer)
    X = frame.features.to_numpy(dtype=np.float32)
    print(f"bank: {len(X)} customers x {X.shape[1]} features in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    ranker = build_ranker(spec, seed=0, num_threads=2)
    n = min(train_customers, len(X))
    ranker.fit(
        X[:n],
        frame.held[:n],
        frame.labels[:n],
        feature_names=list(featurizer.names),
        products=frame.products,
        feature_schema=featurizer.feature_schema(),
    )
    dataset = {"name": spec.name, "spec": spec.to_dict(), "data_sha256": "0" * 64}
    out = ranker.save(root / "model", extra={"dataset": dataset})
    trees = sum(b.num_trees() for b in ranker.boosters_ if not isinstance(b, float))
    print(
        f"model: {ranker.kind}, {len(ranker.products_)} products, {trees} trees, "
        f"fit on {n} customers {time.perf_counter() - t0:.1f} s"
    )
    return out, X


def bench_latency(
    runtime: ModelRuntime, root: Path, *, calls: int, featurizer: CustomerFeaturizer
) -> None:
    """One request's model work: current() + transform_one + score, one thread."""
    frames = read_bank(root / "bank")
    as_of = frames.snapshot_dates[0]
    customers = [c for _, c in zip(range(calls), customers_from_frames(frames), strict=False)]
    features: list[float] = []
    scoring: list[float] = []
    total: list[float] = []
    for _ in range(2):  # first pass warms caches; the second is measured
        for times in (features, scoring, total):
            times.clear()
        for i in range(calls):
            customer = customers[i % len(customers)]
            t0 = time.perf_counter()
            loaded = runtime.current()
            assert isinstance(loaded, LoadedModel)
            X = featurizer.transform_one(customer, as_of)
            t1 = time.perf_counter()
            runtime.score(loaded, X)
            t2 = time.perf_counter()
            features.append(t1 - t0)
            scoring.append(t2 - t1)
            total.append(t2 - t0)
    print(f"1-row latency over {calls} calls, 1 thread:")
    print(f"  current + transform_one  {_percentiles(features)}")
    print(f"  score (calibrated, n x P) {_percentiles(scoring)}")
    print(f"  together                 {_percentiles(total)}")


def bench_batch(model_dir: Path, X: np.ndarray, *, repeats: int) -> None:
    """Whole catalogue for every customer at once, as a nightly batch would."""
    for threads in (1, 2):
        ranker = ProductRanker.load(model_dir, num_threads=threads)
        best = best_seconds(partial(ranker.predict_proba, X), repeats)
        print(
            f"batch predict_proba {len(X)} customers x {len(ranker.products_)} products, "
            f"{threads} thread(s): {len(X) / best:,.0f} customers/s (best of {repeats})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--train-customers", type=int, default=5_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("machine:", machine())
    featurizer = featurizer_for(Settings())
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        root = Path(tmp)
        model_dir, X = build_model(
            root,
            customers=args.customers,
            train_customers=args.train_customers,
            featurizer=featurizer,
        )
        registry = Registry(root / "registry")
        version = registry.publish(model_dir)
        runtime = ModelRuntime(registry.root, featurizer=featurizer)
        t0 = time.perf_counter()
        loaded = runtime.current()
        print(f"runtime: first current() (verify + load + check) {time.perf_counter() - t0:.3f} s")
        assert loaded is not None and loaded.version == version, runtime.status()
        bench_latency(runtime, root, calls=args.calls, featurizer=featurizer)
        bench_batch(model_dir, X, repeats=args.repeats)


if __name__ == "__main__":
    main()
