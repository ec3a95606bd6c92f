"""Write a whole synthetic bank, chunk by chunk, with per-chunk RNGs derived from the seed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
from tqdm import tqdm

from recsvc.models.manifest import file_digest
from training.synth import writer
from training.synth.activity import (
    TX,
    Rows,
    declined_recently,
    digital_habits,
    flag,
    pitches,
    transactions,
)
from training.synth.holdings import Book, maturing, next_book, stock_book
from training.synth.managers import assign_managers
from training.synth.people import make_people
from training.synth.pii import id_numbers, names, phones
from training.synth.propensity import (
    Events,
    addition_logits,
    eligible,
    sigmoid,
    static_logits,
)
from training.synth.world import World, load_world

FORMAT = "recsvc-bank"
FORMAT_VERSION = 1
CHUNK_SIZE = 50_000
FILES = ("customers.csv", "holdings.csv", "transactions.csv", "pitches.csv", "managers.csv")
PART2 = "holdings.part2"  # second-snapshot rows, appended to holdings.csv at the end
BRANCHES_PER_CHUNK = 100  # branch numbers are chunk * 100 + j + 1


@dataclass(frozen=True)
class Snapshots:
    first: dt.date
    second: dt.date

    @property
    def days(self) -> tuple[int, int]:
        epoch = dt.date(1970, 1, 1)
        return (self.first - epoch).days, (self.second - epoch).days


def snapshots_for(as_of: dt.date) -> Snapshots:
    """The second snapshot is the last day of the month after the first."""
    after_next = dt.date(as_of.year + (as_of.month + 1) // 12, (as_of.month + 1) % 12 + 1, 1)
    return Snapshots(as_of, after_next - dt.timedelta(days=1))


def _events(tx: Rows, pit: Rows, book: Book, world: World, n: int, as_of: int) -> Events:
    """The sales triggers a branch would see: cash, repayments, maturities, declines."""
    pop = world.population
    at_counter = tx.channel == 0
    termed = ("time_deposit", "large_cd", "wealth_r2", "wealth_r3", "wealth_r4", "wealth_r5")
    cash_out = (tx.kind == TX["cash_withdrawal"]) & (tx.amount < pop["small_cash_withdrawal"])
    cash_in = (tx.kind == TX["cash_deposit"]) & (tx.amount >= pop["large_cash_deposit"])
    return Events(
        small_cash_at_counter=flag(tx, n, cash_out & at_counter),
        repaid_at_counter=flag(tx, n, (tx.kind == TX["credit_card_repayment"]) & at_counter),
        large_cash_deposit=flag(tx, n, cash_in),
        maturing=maturing(book, world, as_of, termed),
        maturing_deposit=maturing(book, world, as_of, ("time_deposit", "large_cd")),
        declined=declined_recently(pit, n, len(world.product_ids), as_of),
    )


def _simulate(
    k: int, first: int, n: int, seed: int, snaps: Snapshots, world: World
) -> dict[str, pd.DataFrame]:
    """One chunk of customers, from profile to second snapshot, as the files' rows."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
    as_of, next_as_of = snaps.days
    people = make_people(rng, world, first, n, as_of, k * BRANCHES_PER_CHUNK + 1)
    staff = assign_managers(rng, people, world)
    book = stock_book(rng, people, world, as_of)
    digital_habits(rng, people, world, book.held)
    tx = transactions(rng, people, world, book.held, as_of)
    ok = eligible(people, world, as_of, book.held, stock=False)
    taste = static_logits(people, world, stock=False)
    tellers = world.branches["tellers_per_branch"]
    pit = pitches(rng, people, book, staff.of_customer >= 0, ok | book.held, taste, as_of, tellers)
    events = _events(tx, pit, book, world, n, as_of)
    mood = 0.5 * rng.standard_normal(n)
    logit = addition_logits(people, world, events, mood)
    logit += 0.3 * rng.standard_normal(logit.shape)
    added = ok & ~book.held & (rng.random(logit.shape) < sigmoid(logit))
    book2 = next_book(rng, people, world, book, added, as_of, next_as_of)
    pii = {
        "name": names(rng, n),
        "id_number": id_numbers(rng, people.birth, people.gender),
        "phone": phones(rng, n),
    }
    return {
        "customers.csv": writer.customers_frame(people, staff, pii),
        "holdings.csv": writer.holdings_frame(people, world, book, snaps.first.isoformat()),
        PART2: writer.holdings_frame(people, world, book2, snaps.second.isoformat()),
        "transactions.csv": writer.transactions_frame(people, tx),
        "pitches.csv": writer.pitches_frame(people, world, pit, staff),
        "managers.csv": writer.managers_frame(staff),
    }


@dataclass
class _Out:
    """An output file being appended to, and its data-row count."""

    path: Path
    fh: TextIO
    rows: int = 0


def generate_bank(
    out: Path,
    *,
    customers: int,
    seed: int,
    as_of: dt.date = dt.date(2026, 9, 30),
    chunk_size: int = CHUNK_SIZE,
    progress: bool = False,
    world: World | None = None,
) -> dict[str, Any]:
    """Write the bank's CSV files and manifest.json into `out`; same arguments, same bytes."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if not 1 <= chunk_size <= 500_000:
        raise ValueError(f"chunk_size must be in 1..500000, got {chunk_size}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    world = world or load_world()
    snaps = snapshots_for(as_of)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names_ = (*FILES, PART2)
    files = {
        name: _Out(out / name, (out / name).open("w", encoding="utf-8", newline=""))
        for name in names_
    }
    try:
        starts = range(0, customers, chunk_size)
        bar = tqdm(starts, total=len(starts), desc="synth", unit="chunk", file=sys.stderr,
                   disable=not progress)  # fmt: skip
        for k, first in enumerate(bar):
            chunk = _simulate(k, first, min(chunk_size, customers - first), seed, snaps, world)
            for name, frame in chunk.items():
                files[name].rows += writer.write_frame(
                    frame, files[name].fh, k == 0 and name != PART2
                )
        part2 = files.pop(PART2)
        part2.fh.close()
        with part2.path.open("r", encoding="utf-8") as src:
            shutil.copyfileobj(src, files["holdings.csv"].fh)
        files["holdings.csv"].rows += part2.rows
        part2.path.unlink()
    finally:
        for f in files.values():
            f.fh.close()
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "seed": seed, "customers": customers,
        "snapshot_dates": [snaps.first.isoformat(), snaps.second.isoformat()],
        "files": {n: {"rows": files[n].rows, "sha256": file_digest(files[n].path)[0]}
                  for n in FILES},
    }  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
