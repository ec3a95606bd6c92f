"""Benchmark: the synthetic bank at scale — synth, train (time and peak memory), batch predict.

Run: python bench/bench_scale.py [--customers 1000000] [--threads 2] [--work DIR]
Targets (issue "Model"): train on 1,000,000 customers in <= 5 minutes with peak memory <= 4 GB;
batch predict >= 20,000 customers/s over the whole catalogue. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def predict_rate(model_dir: Path, bank: Path, threads: int) -> tuple[int, float]:
    """Customers per second scoring the whole catalogue from the feature matrix (batch path)."""
    from recsvc.models.ranker import ProductRanker
    from training.datasets import load_dataset, load_spec

    frame = load_dataset(load_spec("synthetic"), bank)
    X = frame.features.to_numpy(dtype="float32")
    ranker = ProductRanker.load(model_dir, num_threads=threads)
    start = time.perf_counter()
    ranker.predict_proba(X)
    return len(X), len(X) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="recsvc-scale-"))
    bank, model = work / "bank", work / "model"
    py = sys.executable
    print(f"machine: {machine()}")
    if not (bank / "manifest.json").exists():
        secs, peak = timed([py, "-m", "training", "synth", "--customers", str(args.customers),
                            "--seed", "1", "--out", str(bank), "--quiet"])  # fmt: skip
        print(f"synth {args.customers:,} customers: {secs:.1f} s, peak RSS {peak:.0f} MiB")
    train = ["train", "--dataset", "synthetic", "--data", str(bank), "--out", str(model)]
    secs, peak = timed([py, "-m", "training", *train, "--threads", str(args.threads), "--quiet"])
    print(f"train (incl. hold-out evaluation and baselines): {secs:.1f} s, peak RSS {peak:.0f} MiB")
    for threads in (1, args.threads):
        n, rate = predict_rate(model, bank, threads)
        print(f"batch predict, {threads} thread(s): {n:,} customers, {rate:,.0f} customers/s")


if __name__ == "__main__":
    main()
