"""Benchmark: ranker training time and batch predict throughput (customers/s) on santander.

Run: python bench/bench_train.py [--data PATH] [--repeats 3]
Prints numbers and the machine; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
from machine import best_seconds, machine

from recsvc.models.ranker import BINARY, MULTICLASS, ProductRanker
from training.datasets import load_dataset, load_spec
from training.pipeline import build_encoder

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, default=DATA / "santander" / "train_ver2_mar_apr_2016_sample.csv.gz"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("machine:", machine())
    spec = load_spec("santander")
    t0 = time.perf_counter()
    frame = load_dataset(spec, args.data)
    print(f"load: {len(frame)} customers in {time.perf_counter() - t0:.1f} s")
    encoder = build_encoder(spec, frame).fit(frame.features)
    X = encoder.transform(frame.features)
    lgb_params = dict(spec.model.get("lightgbm", {}))
    n_products = 19
    rounds = int(spec.model.get("num_boost_round", 150))
    for kind, products in ((MULTICLASS, len(frame.products)), (BINARY, n_products)):
        held, labels = frame.held[:, :products], frame.labels[:, :products]
        if kind == BINARY:
            # the 19 products with the most additions, as a stand-in for a ~19-product catalogue
            top = np.argsort(-frame.labels.sum(axis=0), kind="stable")[:products]
            held, labels = frame.held[:, top], frame.labels[:, top]
        ranker = ProductRanker(
            kind=kind, params=lgb_params, num_boost_round=rounds, seed=0, num_threads=1
        )
        t0 = time.perf_counter()
        ranker.fit(X, held, labels, feature_names=encoder.feature_names)
        fit_s = time.perf_counter() - t0
        print(
            f"{kind}: {products} products, {rounds} rounds, "
            f"fit (with calibration + refit) {fit_s:.1f} s"
        )
        for threads in (1, 2):
            ranker.num_threads = threads
            best = best_seconds(partial(ranker.predict_proba, X), args.repeats)
            print(
                f"  predict_proba {len(X)} customers, {threads} thread(s): "
                f"{len(X) / best:,.0f} customers/s (best of {args.repeats})"
            )
    t0 = time.perf_counter()
    records = [
        {str(k): v for k, v in r.items()} for r in frame.features.iloc[:2000].to_dict("records")
    ]
    for r in records:
        encoder.transform_one(r)
    per = (time.perf_counter() - t0) / len(records) * 1e6
    print(f"encoder.transform_one: {per:.1f} us per record")


if __name__ == "__main__":
    main()
