"""The synthetic bank's hidden truth for the branch simulator: who adopts what, with and without
being asked.

For every customer c and product p that c may buy (the generator's own eligibility rules at the
simulation's start, and not held then) the truth has two numbers:

- `base_daily[c, p]`, the **base propensity**: the probability that c opens p on a given day on
  their own, with no pitch. It comes from the generator's monthly addition logit
  (`training.synth.propensity.addition_logits`, rebuilt from the bank export's files) plus a
  hidden per-customer mood and per-pair noise, turned into a daily hazard:
  `base_daily = 1 - (1 - sigmoid(logit)) ** (1 / 30)`.
- `uplift[c, p]`, the **pitch uplift**: the probability that a pitch of p makes c a buyer who
  would not have bought otherwise (a "persuadable"). It differs by customer and product:
  a quarter of customers are deaf to pitches (uplift 0: they buy anyway or never, whatever is
  said); for the rest `uplift = sigmoid(-3.4 + 0.9 z_c + 0.6 z_cp + 0.35 taste_cp)`, where
  `z_c` (how much c listens to a teller) and `z_cp` are hidden standard normals and `taste_cp`
  is the profile part of the generator's logit, centred per product, so a model that learns who
  adopts learns part, not all, of who is persuadable. Opted-out customers have uplift 0 and an
  open complaint divides it by 4.

How the simulator uses them (`training.simulate.world`), per simulated run and pair (c, p):
an organic adoption day `O ~ Geometric(base_daily)` counted from day 0, and a persuadable flag
`P ~ Bernoulli(uplift)`. A pitch of p on day t (c not holding p yet) is **accepted** iff
`P` or `O <= t + window_days` (a customer who would have bought within the window anyway
says yes: such a sale is pulled forward, not created); an accepted pitch opens p on day t.
Otherwise c opens p on day O if O falls inside the run. So the probability that a pitch on day
t is accepted is `1 - (1 - uplift) * (1 - base_daily) ** (window_days + 1)`, and the truth
knows the expected adoptions of any pitching policy exactly (`training.simulate.expected`).

The truth is written by `write_truth` to its own directory (`truth.parquet` + `truth.json`,
see docs/simulator.md), never into a bank export: the service never reads it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsvc.customers.profile import INCOME_STABILITY, OCCUPATIONS
from training.synth.people import NO_DATE, People, ages_on
from training.synth.propensity import Events, addition_logits, eligible, sigmoid, static_logits
from training.synth.reader import BankFrames
from training.synth.world import World, load_world

TRUTH_FORMAT = "recsvc-truth"
TRUTH_FORMAT_VERSION = 1
DEAF_SHARE = 0.25  # customers whom no pitch moves
UPLIFT_INTERCEPT = -3.4
DECLINE_MEMORY_DAYS = 180
MATURING_WINDOW_DAYS = 30
TERMED = ("time_deposit", "large_cd", "wealth_r2", "wealth_r3", "wealth_r4", "wealth_r5")
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Truth:
    """Aligned arrays: row = customer (in `customer_ids` order), column = product."""

    customer_ids: np.ndarray  # str
    product_ids: tuple[str, ...]
    start: dt.date  # the day before the first simulated day (the bank's last snapshot)
    seed: int
    base_daily: np.ndarray  # (n, P) float64, 0 where c may not buy p or holds it
    uplift: np.ndarray  # (n, P) float64, 0 where c may not buy p or holds it

    def __len__(self) -> int:
        return len(self.customer_ids)

    def subset(self, rows: np.ndarray) -> Truth:
        """The truth of some customers (rows), in that order."""
        return Truth(self.customer_ids[rows], self.product_ids, self.start, self.seed,
                     self.base_daily[rows], self.uplift[rows])  # fmt: skip

    def accept_probability(self, window_days: int) -> np.ndarray:
        """Probability that a first pitch of p to c is accepted (c not holding p)."""
        stay = (1.0 - self.base_daily) ** (window_days + 1)
        return 1.0 - (1.0 - self.uplift) * stay


def _days(col: pd.Series) -> np.ndarray:
    """datetime64 column -> day numbers, NO_DATE for missing."""
    values = col.to_numpy(dtype="datetime64[D]")
    out = values.astype(np.int64)
    out[np.isnat(values)] = NO_DATE
    return out


def people_from_frames(frames: BankFrames, as_of: int) -> People:
    """The generator's People arrays rebuilt from a bank export's customers.csv."""
    c = frames.customers
    n = len(c)
    birth = _days(c["birth_date"])
    occ = {name: i for i, name in enumerate(OCCUPATIONS)}
    stab = {name: i for i, name in enumerate(INCOME_STABILITY)}
    branch = c["branch_id"].str.slice(2).astype("int64").to_numpy()
    return People(
        index=np.arange(n),
        birth=birth,
        age=ages_on(birth, as_of),
        gender=(c["gender"] == "F").to_numpy(dtype=np.int64),
        occupation=c["occupation"].map(occ).to_numpy(dtype=np.int64),
        income=c["monthly_income"].to_numpy(dtype=np.float64),
        stability=c["income_stability"].map(stab).to_numpy(dtype=np.int64),
        salaried=c["salary_via_bank"].to_numpy(dtype=bool),
        aum=c["aum"].to_numpy(dtype=np.float64),
        risk=c["risk_level"].fillna(0).to_numpy(dtype=np.int64),
        assessed=_days(c["assessment_date"]),
        since=_days(c["customer_since"]),
        consent=c["consent_marketing"].to_numpy(dtype=bool),
        complaint=c["open_complaint"].to_numpy(dtype=bool),
        branch=branch,
        counter=c["counter_visits_90d"].to_numpy(dtype=np.int64),
        self_service=c["self_service_visits_90d"].to_numpy(dtype=np.int64),
        mobile=c["mobile_logins_90d"].to_numpy(dtype=np.int64),
        online=c["online_logins_90d"].to_numpy(dtype=np.int64),
    )


def held_at(frames: BankFrames, world: World, snapshot: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """(held, maturity day) matrices at a snapshot; maturity NO_DATE where none."""
    h = frames.holdings[frames.holdings["snapshot_date"] == pd.Timestamp(snapshot)]
    pos = pd.Index(frames.customers["customer_id"]).get_indexer(pd.Index(h["customer_id"]))
    col = pd.Index(world.product_ids).get_indexer(pd.Index(h["product_id"]))
    keep = (pos >= 0) & (col >= 0)
    shape = (len(frames.customers), len(world.product_ids))
    held = np.zeros(shape, dtype=bool)
    held[pos[keep], col[keep]] = True
    maturity = np.full(shape, NO_DATE, dtype=np.int64)
    maturity[pos[keep], col[keep]] = _days(h["maturity_date"])[keep]
    return held, maturity


def events_from_frames(
    frames: BankFrames, world: World, maturity: np.ndarray, as_of: int
) -> Events:
    """The sales triggers the generator's logit uses, read from the export's files."""
    n, pop = len(frames.customers), world.population
    ids = pd.Index(frames.customers["customer_id"])
    tx = frames.transactions
    who = ids.get_indexer(tx["customer_id"])
    counter = (tx["channel"] == "counter").to_numpy()
    kind, amount = tx["type"].to_numpy(dtype=object), tx["amount"].to_numpy()

    def flag(mask: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[who[mask & (who >= 0)]] = True
        return out

    termed = [world.index(p) for p in TERMED]
    deposits = [world.index(p) for p in ("time_deposit", "large_cd")]

    def soon(cols: list[int]) -> np.ndarray:
        m = maturity[:, cols]
        return ((m != NO_DATE) & (m <= as_of + MATURING_WINDOW_DAYS)).any(axis=1)

    p = frames.pitches
    declined = np.zeros((n, len(world.product_ids)), dtype=bool)
    recent = p["outcome"].isin(["declined", "not_interested"]).to_numpy() & (
        _days(p["date"]) >= as_of - DECLINE_MEMORY_DAYS
    )
    pw = ids.get_indexer(pd.Index(p["customer_id"]))
    pc = pd.Index(world.product_ids).get_indexer(pd.Index(p["product_id"]))
    ok = recent & (pw >= 0) & (pc >= 0)
    declined[pw[ok], pc[ok]] = True
    return Events(
        small_cash_at_counter=flag(
            (kind == "cash_withdrawal") & (amount < pop["small_cash_withdrawal"]) & counter
        ),
        repaid_at_counter=flag((kind == "credit_card_repayment") & counter),
        large_cash_deposit=flag((kind == "cash_deposit") & (amount >= pop["large_cash_deposit"])),
        maturing=soon(termed),
        maturing_deposit=soon(deposits),
        declined=declined,
    )


def build_truth(frames: BankFrames, *, seed: int, world: World | None = None) -> Truth:
    """The hidden truth for a simulation starting the day after the bank's last snapshot."""
    world = world or load_world()
    start = frames.snapshot_dates[-1]
    as_of = (start - EPOCH).days
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7_120,)))
    people = people_from_frames(frames, as_of)
    held, maturity = held_at(frames, world, start)
    events = events_from_frames(frames, world, maturity, as_of)
    n, k = held.shape
    mood = 0.5 * np.asarray(rng.standard_normal(n))
    logit = addition_logits(people, world, events, mood) + 0.3 * rng.standard_normal((n, k))
    may = eligible(people, world, as_of, held, stock=False) & ~held
    monthly = np.where(may, sigmoid(logit), 0.0)
    base_daily = 1.0 - (1.0 - monthly) ** (1.0 / 30.0)
    taste = static_logits(people, world, stock=False)
    taste = taste - taste.mean(axis=0, keepdims=True)
    listens = np.asarray(rng.standard_normal(n))
    pair = rng.standard_normal((n, k))
    uplift = sigmoid(UPLIFT_INTERCEPT + 0.9 * listens[:, None] + 0.6 * pair + 0.35 * taste)
    deaf = rng.random(n) < DEAF_SHARE
    uplift[deaf | ~people.consent] = 0.0
    uplift[people.complaint] /= 4.0
    uplift = np.where(may, uplift, 0.0)
    return Truth(
        customer_ids=frames.customers["customer_id"].to_numpy(dtype=str),
        product_ids=world.product_ids,
        start=start,
        seed=seed,
        base_daily=base_daily,
        uplift=uplift,
    )


def write_truth(truth: Truth, directory: Path) -> Path:
    """`truth.parquet` (one row per pair c may buy) and `truth.json` (what the columns mean)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    who, col = np.nonzero((truth.base_daily > 0) | (truth.uplift > 0))
    frame = pd.DataFrame({
        "customer_id": truth.customer_ids[who],
        "product_id": np.asarray(truth.product_ids, dtype=object)[col],
        "base_daily": truth.base_daily[who, col],
        "uplift": truth.uplift[who, col],
    })  # fmt: skip
    frame.to_parquet(directory / "truth.parquet", index=False)
    meta = {
        "format": TRUTH_FORMAT, "format_version": TRUTH_FORMAT_VERSION, "seed": truth.seed,
        "start": truth.start.isoformat(), "customers": len(truth), "rows": len(frame),
        "product_ids": list(truth.product_ids),
        "columns": {
            "base_daily": "P(open the product on a given day without a pitch)",
            "uplift": "P(a pitch makes the customer a buyer who would not have bought)",
        },
        "acceptance": "accepted iff persuadable (p=uplift) or the organic day is within "
                      "window_days of the pitch; see training/synth/truth.py",
    }  # fmt: skip
    (directory / "truth.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return directory


def read_truth(directory: Path) -> Truth:
    """The truth written by write_truth (pairs absent from the file are zero)."""
    directory = Path(directory)
    meta = json.loads((directory / "truth.json").read_text(encoding="utf-8"))
    if meta.get("format") != TRUTH_FORMAT or meta.get("format_version") != TRUTH_FORMAT_VERSION:
        raise ValueError(f"{directory / 'truth.json'}: not {TRUTH_FORMAT} v1")
    frame = pd.read_parquet(directory / "truth.parquet")
    ids = np.unique(frame["customer_id"].to_numpy(dtype=str))
    products = tuple(meta["product_ids"])
    base = np.zeros((len(ids), len(products)))
    uplift = np.zeros_like(base)
    r = np.searchsorted(ids, frame["customer_id"].to_numpy(dtype=str))
    c = pd.Index(products).get_indexer(frame["product_id"])
    base[r, c] = frame["base_daily"].to_numpy()
    uplift[r, c] = frame["uplift"].to_numpy()
    return Truth(ids, products, dt.date.fromisoformat(meta["start"]), int(meta["seed"]), base,
                 uplift)  # fmt: skip
