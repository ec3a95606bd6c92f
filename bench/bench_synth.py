"""Time and peak memory of the synthetic bank generator: 100k customers (and 1M with --big).

Each size runs in its own child process so peak RSS is that run's alone.
Usage: python bench/bench_synth.py [--big] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _one(customers: int, seed: int, out: Path) -> None:
    from training.synth.generate import generate_bank

    start = time.perf_counter()
    manifest = generate_bank(out, customers=customers, seed=seed)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    size = sum(p.stat().st_size for p in out.iterdir())
    rows = {name: f["rows"] for name, f in manifest["files"].items()}
    print(json.dumps({"customers": customers, "seconds": round(seconds, 2),
                      "peak_rss_mib": round(peak_kib / 1024, 1),
                      "output_mib": round(size / 2**20, 1), "rows": rows}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", action="store_true", help="also run 1,000,000 customers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.seed, args.out)
        return
    print(f"machine: {platform.platform()} processor={platform.processor() or '?'} "
          f"nproc={os.cpu_count()} python={platform.python_version()}", flush=True)  # fmt: skip
    sizes = [100_000, 1_000_000] if args.big else [100_000]
    root = Path(__file__).resolve().parents[1]
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--seed",
                str(args.seed),
                "--out",
                tmp,
            ]
            env = {**os.environ, "PYTHONPATH": str(root)}
            result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
            if result.returncode:
                sys.exit(f"{n} customers failed:\n{result.stderr}")
            print(result.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
