"""Holdings at both snapshots: amounts, open and maturity dates, value changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.synth.people import NO_DATE, People
from training.synth.propensity import eligible, sigmoid, static_logits
from training.synth.world import World

MONEY_CATEGORIES = ("deposit", "investment")
# value_change_pct ~ N(mean, sd) by product, for holdings whose value moves
VALUE_MOVES = {
    "wealth_r2": (1.5, 1.5),
    "wealth_r3": (2.0, 5.0),
    "wealth_r4": (3.0, 12.0),
    "wealth_r5": (4.0, 20.0),
    "fund_plan": (1.0, 10.0),
    "gold_plan": (8.0, 6.0),
    "physical_gold": (8.0, 6.0),
}
MATURING_WINDOW_DAYS = 60  # a maturity this close to the snapshot is a sales event


@dataclass
class Book:
    """Per (customer, product) matrices; NO_DATE / NaN where not applicable."""

    held: np.ndarray
    amount: np.ndarray
    open: np.ndarray
    maturity: np.ndarray
    value_change: np.ndarray


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Calendar-month arithmetic on day numbers (day of month clipped to the month's end)."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    dom = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months.astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    return (target.astype("datetime64[D]").astype(np.int64) + np.minimum(dom, length - 1)).astype(
        np.int64
    )


def _money_mask(world: World) -> np.ndarray:
    return np.array(
        [c in MONEY_CATEGORIES and p != "securities_depository"
         for p, c in zip(world.product_ids, world.category, strict=True)]
    )  # fmt: skip


def _amounts(
    rng: np.random.Generator, people: People, world: World, held: np.ndarray, share: np.ndarray
) -> np.ndarray:
    """Money products get a share of AUM; insurance a yearly premium; services nothing."""
    money = _money_mask(world)
    amount = np.where(held & money, people.aum[:, None] * share, 0.0)
    amount = np.maximum(
        amount, np.where(held & money, np.minimum(world.min_aum, people.aum[:, None]), 0)
    )
    reg, prot = world.index("insurance_regular"), world.index("insurance_protection")
    n = len(people)
    amount[:, reg] = np.where(
        held[:, reg], np.maximum(people.income * rng.uniform(0.5, 2, n), 1000), 0
    )
    amount[:, prot] = np.where(held[:, prot], rng.uniform(100, 800, n), 0)
    return np.round(amount, 2) + 0.0


def _value_change(rng: np.random.Generator, world: World, held: np.ndarray) -> np.ndarray:
    out = np.full(held.shape, np.nan)
    for product, (mean, sd) in VALUE_MOVES.items():
        j = world.index(product)
        rows = held[:, j]
        out[rows, j] = rng.normal(mean, sd, int(rows.sum()))
    return np.round(out, 2) + 0.0


def _dates(
    rng: np.random.Generator, world: World, held: np.ndarray, start: np.ndarray, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """Open dates in [start, end]; termed products opened within their term mature later."""
    n, p = held.shape
    span = np.maximum(end - start, 0)[:, None]
    term = np.broadcast_to(world.term_months, (n, p))
    term_days = term * 30 - 3  # shorter than any calendar term: still open at `end`
    window = np.where(term > 0, np.minimum(term_days, span), span)
    opened = end - (rng.random((n, p)) * (window + 1)).astype(np.int64)
    opened = np.maximum(opened, start[:, None])
    matures = np.where(term > 0, add_months(opened.ravel(), term.ravel()).reshape(n, p), NO_DATE)
    opened = np.where(held, opened, NO_DATE)
    return opened, np.where(held, matures, NO_DATE)


def stock_book(rng: np.random.Generator, people: People, world: World, as_of: int) -> Book:
    """What customers hold at the first snapshot, from the same tastes that drive additions."""
    n, p = len(people), len(world.product_ids)
    logit = static_logits(people, world, stock=True) + 0.7 * rng.standard_normal((n, p))
    ok = eligible(people, world, as_of, np.ones((n, p), dtype=bool), stock=True)
    services = np.array([c == "service" for c in world.category])
    ok &= (people.age >= 18)[:, None] | services
    held = ok & (rng.random((n, p)) < sigmoid(logit))
    for product, needed in world.requires.items():
        for other in needed:
            held[:, world.index(product)] &= held[:, world.index(other)]
    weights = rng.gamma(1.0, 1.0, (n, p))
    current = rng.gamma(1.5, 1.0, n)
    share = weights / (current + (weights * (held & _money_mask(world))).sum(axis=1))[:, None]
    opened, matures = _dates(rng, world, held, people.since, as_of - 1)
    return Book(held, _amounts(rng, people, world, held, share), opened, matures,
                _value_change(rng, world, held))  # fmt: skip


def maturing(book: Book, world: World, as_of: int, products: tuple[str, ...]) -> np.ndarray:
    """Customers with one of these products maturing within the sales window."""
    cols = [world.index(p) for p in products]
    m = book.maturity[:, cols]
    return ((m != NO_DATE) & (m <= as_of + MATURING_WINDOW_DAYS)).any(axis=1)


def next_book(
    rng: np.random.Generator,
    people: People,
    world: World,
    book: Book,
    added: np.ndarray,
    as_of: int,
    next_as_of: int,
) -> Book:
    """Second snapshot: matured products leave (time deposits may roll over), additions arrive."""
    n, p = book.held.shape
    matured = book.held & (book.maturity != NO_DATE) & (book.maturity <= next_as_of)
    td = world.index("time_deposit")
    rolls = np.zeros((n, p), dtype=bool)
    rolls[:, td] = matured[:, td] & (rng.random(n) < 0.5)
    held = (book.held & ~(matured & ~rolls)) | added
    opened = np.where(rolls, book.maturity, book.open)
    matures = np.where(rolls, add_months(book.maturity.ravel(), np.full(n * p, 12)).reshape(n, p),
                       book.maturity)  # fmt: skip
    new_open, new_mat = _dates(rng, world, added, np.full(n, as_of + 1), next_as_of)
    opened = np.where(added, new_open, np.where(held, opened, NO_DATE))
    matures = np.where(added, new_mat, np.where(held, matures, NO_DATE))
    new_amount = _amounts(rng, people, world, added, rng.uniform(0.1, 0.4, (n, p)))
    amount = np.where(added, new_amount, np.where(held, book.amount, 0.0))
    drift = np.round(book.value_change + rng.normal(0, 1.0, (n, p)), 2) + 0.0
    value = np.where(added, _value_change(rng, world, added) / 10, drift)
    value = np.where(held, np.round(value, 2) + 0.0, np.nan)
    return Book(held, amount, opened, matures, value)
