"""The next snapshot as a bank export (docs/data-contract.md), with the run's adoptions.

`snapshot_dates` are the input's last snapshot and the last simulated day. customers.csv and
managers.csv are copied; holdings.csv has the input's last snapshot and the new one (holdings
matured before it dropped, adoptions added with open_date = the day opened); transactions.csv
and pitches.csv keep the input's rows and add the counter transactions and teller pitches of
the simulated days.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from recsvc.models.manifest import file_digest
from training.synth import writer
from training.synth.reader import BankFrames
from training.synth.world import World

FILES = ("customers.csv", "holdings.csv", "transactions.csv", "pitches.csv", "managers.csv")
VALUED = ("wealth_r2", "wealth_r3", "wealth_r4", "wealth_r5", "fund_plan", "gold_plan",
          "physical_gold")  # fmt: skip


def _iso(col: pd.Series) -> np.ndarray:
    return writer.dates(col.to_numpy(dtype="datetime64[D]").astype(np.int64))


def _holding_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed holdings -> the contract's text columns."""
    return pd.DataFrame({
        "snapshot_date": _iso(frame["snapshot_date"]), "customer_id": frame["customer_id"],
        "product_id": frame["product_id"], "amount": frame["amount"].round(2),
        "open_date": _iso(frame["open_date"]), "maturity_date": _iso(frame["maturity_date"]),
        "value_change_pct": frame["value_change_pct"],
    }, columns=list(writer.HOLDING_COLUMNS))  # fmt: skip


def _amounts(frames: BankFrames, world: World, who: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Indicative amounts: 10% of AUM (at least 1,000) for deposits and investments, 5% of a
    year's income for insurance premiums, 0 for services and the credit card."""
    aum = frames.customers["aum"].to_numpy()[who]
    income = frames.customers["monthly_income"].to_numpy()[who]
    category = np.asarray(world.category)[col]
    invest = np.isin(category, ("deposit", "investment"))
    out = np.where(invest, np.maximum(0.1 * aum, 1000.0), 0.0)
    return np.round(np.where(category == "insurance", 0.6 * income, out), 2)


def next_holdings(
    frames: BankFrames, world: World, adopted: pd.DataFrame, snapshot: dt.date
) -> pd.DataFrame:
    """Last snapshot's holdings carried to `snapshot` (matured ones dropped) plus adoptions.

    `adopted`: customer (row), product (column), date (the day opened).
    """
    last = frames.snapshot_dates[-1]
    old = frames.holdings[frames.holdings["snapshot_date"] == pd.Timestamp(last)]
    carried = old[~(old["maturity_date"] < pd.Timestamp(snapshot))].assign(
        snapshot_date=pd.Timestamp(snapshot)
    )
    who = adopted["customer"].to_numpy(dtype=np.int64)
    col = adopted["product"].to_numpy(dtype=np.int64)
    opened = pd.to_datetime(adopted["date"]).to_numpy(dtype="datetime64[D]")
    months = world.term_months[col]
    maturity = (opened.astype("datetime64[M]") + months.astype("timedelta64[M]")).astype(
        "datetime64[D]"
    ) + (opened - opened.astype("datetime64[M]").astype("datetime64[D]"))
    pids = np.asarray(world.product_ids, dtype=object)[col]
    new = pd.DataFrame({
        "snapshot_date": pd.Timestamp(snapshot),
        "customer_id": frames.customers["customer_id"].to_numpy(dtype=object)[who],
        "product_id": pids, "amount": _amounts(frames, world, who, col),
        "open_date": opened.astype("datetime64[s]"),
        "maturity_date": np.where(months > 0, maturity, np.datetime64("NaT")).astype(
            "datetime64[s]"),
        "value_change_pct": np.where(np.isin(pids, VALUED), 0.0, np.nan),
    })  # fmt: skip
    both = pd.concat([carried, new], ignore_index=True)
    both = both.drop_duplicates(["customer_id", "product_id"], keep="first")
    return both


def write_next_export(
    source: Path,
    out: Path,
    frames: BankFrames,
    world: World,
    *,
    snapshot: dt.date,
    adopted: pd.DataFrame,
    transactions: pd.DataFrame,
    pitches: pd.DataFrame,
    seed: int,
) -> dict[str, object]:
    """Write the export into `out`; `transactions`/`pitches` are the simulated days' rows in
    the contract's columns (text)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("customers.csv", "managers.csv"):
        shutil.copyfile(source / name, out / name)
    last = frames.snapshot_dates[-1]
    old = frames.holdings[frames.holdings["snapshot_date"] == pd.Timestamp(last)]
    holdings = pd.concat(
        [_holding_rows(old), _holding_rows(next_holdings(frames, world, adopted, snapshot))],
        ignore_index=True,
    ).sort_values(["snapshot_date", "customer_id", "product_id"], kind="stable")
    tx = frames.transactions
    old_tx = pd.DataFrame({"customer_id": tx["customer_id"], "date": _iso(tx["date"]),
                           "type": tx["type"], "amount": tx["amount"],
                           "channel": tx["channel"]})  # fmt: skip
    all_tx = pd.concat([old_tx, transactions], ignore_index=True).sort_values(
        ["customer_id", "date"], kind="stable"
    )
    p = frames.pitches
    old_p = pd.DataFrame({"customer_id": p["customer_id"], "product_id": p["product_id"],
                          "date": _iso(p["date"]), "channel": p["channel"],
                          "outcome": p["outcome"],
                          "staff_id": p["staff_id"].fillna("")})  # fmt: skip
    all_p = pd.concat([old_p, pitches], ignore_index=True).sort_values(
        ["customer_id", "date"], kind="stable"
    )
    rows = {}
    for name, frame in (("holdings.csv", holdings), ("transactions.csv", all_tx),
                        ("pitches.csv", all_p)):  # fmt: skip
        with (out / name).open("w", encoding="utf-8", newline="") as fh:
            rows[name] = writer.write_frame(frame, fh, True)
    rows["customers.csv"] = len(frames.customers)
    rows["managers.csv"] = len(frames.managers)
    manifest = {
        "format": "recsvc-bank", "format_version": 1, "seed": seed,
        "customers": len(frames.customers),
        "snapshot_dates": [last.isoformat(), snapshot.isoformat()],
        "files": {n: {"rows": rows[n], "sha256": file_digest(out / n)[0]} for n in FILES},
        "source": "python -m training simulate",
    }  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
