"""Recent transactions, channel habits and the past-pitch history of one chunk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsvc.customers.profile import TRANSACTION_TYPES
from training.synth.holdings import Book
from training.synth.people import NO_DATE, People, _pick
from training.synth.propensity import sigmoid
from training.synth.world import World

TX = {name: i for i, name in enumerate(TRANSACTION_TYPES)}
TX_CHANNELS = ("counter", "self_service", "mobile", "online")
PITCH_CHANNELS = ("teller", "manager", "self_service")
OUTCOMES = ("accepted", "declined", "not_interested", "no_answer")
HISTORY_DAYS = 90
PITCH_DAYS = 365
DECLINE_MEMORY_DAYS = 180


@dataclass
class Rows:
    """Long-format rows: `who` is the customer's position in the chunk."""

    who: np.ndarray
    kind: np.ndarray  # transaction type / product column
    amount: np.ndarray
    date: np.ndarray
    channel: np.ndarray
    outcome: np.ndarray | None = None
    staff: np.ndarray | None = None  # teller number (>= 0), -1 = manager, -2 = none


def digital_habits(
    rng: np.random.Generator, people: People, world: World, held: np.ndarray
) -> None:
    """Log-ins only for customers who hold the e-banking product; the young log in more."""
    n = len(people)
    mob = held[:, world.index("mobile_banking")]
    onl = held[:, world.index("online_banking")]
    lam_m = 2 + 45 * np.exp(-np.maximum(people.age - 22, 0) / 25)
    people.mobile = np.where(mob, rng.poisson(lam_m * rng.lognormal(0, 0.4, n)), 0)
    people.online = np.where(
        onl, rng.poisson(np.where(people.age < 60, 8, 2) * rng.lognormal(0, 0.5, n)), 0
    )


def transactions(
    rng: np.random.Generator, people: People, world: World, held: np.ndarray, as_of: int
) -> Rows:
    """A handful of transactions per customer in the 90 days before the snapshot."""
    n = len(people)
    count = np.minimum(rng.poisson(0.8 + 0.5 * np.sqrt(people.counter) + people.mobile / 25), 12)
    who = np.repeat(np.arange(n), count)
    has_card = held[:, world.index("credit_card")]
    has_wealth = held[
        :, [i for i, p in enumerate(world.product_ids) if p.startswith("wealth")]
    ].any(axis=1)
    w = np.zeros((n, len(TRANSACTION_TYPES)))
    w[:, TX["cash_withdrawal"]] = 2.5 + 0.3 * people.counter
    w[:, TX["cash_deposit"]] = 1.5
    w[:, TX["transfer"]] = 2 + 2.0 * (people.mobile > 0)
    w[:, TX["credit_card_repayment"]] = 3.0 * has_card
    w[:, TX["account_opening"]] = 0.1
    w[:, TX["wealth_purchase"]] = 1.5 * has_wealth
    w[:, TX["bill_payment"]] = 1.5
    kind = _pick(rng, w[who])
    m = len(who)
    income, aum = people.income[who], people.aum[who]
    amount = np.select(
        [kind == TX["cash_withdrawal"], kind == TX["cash_deposit"],
         kind == TX["credit_card_repayment"], kind == TX["wealth_purchase"],
         kind == TX["account_opening"]],
        [2000 * rng.lognormal(0, 1.0, m), np.maximum(1000, aum * 0.03) * rng.lognormal(0, 1.3, m),
         income * rng.uniform(0.1, 0.6, m) + 100,
         np.maximum(10000, aum * rng.uniform(0.05, 0.3, m)),
         np.zeros(m)],
        default=np.maximum(500, income * 0.3) * rng.lognormal(0, 0.8, m),
    )  # fmt: skip
    cw = np.stack([people.counter + 0.5, people.self_service * 0.5 + 0.2,
                   people.mobile * 0.2, people.online * 0.2], axis=1)[who]  # fmt: skip
    cash = (kind == TX["cash_withdrawal"]) | (kind == TX["cash_deposit"])
    cw[cash, 2:] = 0.0
    cw[kind == TX["account_opening"], 1:] = 0.0
    channel = _pick(rng, cw)
    date = as_of - rng.integers(1, HISTORY_DAYS + 1, m)
    date = np.maximum(date, people.since[who])
    order = np.lexsort((kind, date, who))
    rows = Rows(who[order], kind[order], np.round(amount[order], 2), date[order], channel[order])
    for c, attr in enumerate(("counter", "self_service", "mobile", "online")):
        used = np.bincount(rows.who[rows.channel == c], minlength=n)
        setattr(people, attr, np.maximum(getattr(people, attr), used))
    return rows


def flag(rows: Rows, n: int, mask: np.ndarray) -> np.ndarray:
    """Customers with at least one row matching the mask."""
    return np.bincount(rows.who[mask], minlength=n) > 0


def pitches(
    rng: np.random.Generator,
    people: People,
    book: Book,
    has_manager: np.ndarray,
    ok: np.ndarray,
    taste: np.ndarray,
    as_of: int,
    tellers: int,
) -> Rows:
    """Past pitches, aimed at eligible products; accepted ones are what the customer now holds."""
    n = len(people)
    count = np.minimum(rng.poisson(0.6 + 1.2 * has_manager), 6) * ok.any(axis=1)
    who = np.repeat(np.arange(n), count)
    m = len(who)
    product = _pick(rng, (ok * (0.2 + sigmoid(taste + 4.5)))[who])
    held = book.held[who, product]
    accepted = held & (rng.random(m) < 0.85)
    other = _pick(rng, np.tile([0.0, 0.4, 0.35, 0.25], (m, 1)))
    outcome = np.where(accepted, 0, np.maximum(other, 1))
    since = people.since[who]
    date = np.maximum(as_of - rng.integers(1, PITCH_DAYS + 1, m), since)
    opened = book.open[who, product]
    date = np.where(accepted & (opened != NO_DATE), opened, date)
    chan = np.where(has_manager[who] & (rng.random(m) < 0.7), 1,
                    np.where(rng.random(m) < 0.8, 0, 2))  # fmt: skip
    staff = np.where(chan == 1, -1, np.where(chan == 0, rng.integers(0, tellers, m), -2))
    order = np.lexsort((product, date, who))
    return Rows(who[order], product[order], np.zeros(m), date[order], chan[order],
                outcome[order], staff[order])  # fmt: skip


def declined_recently(rows: Rows, n: int, p: int, as_of: int) -> np.ndarray:
    """(customer, product) pairs declined in the last months: contact fatigue lowers the odds."""
    assert rows.outcome is not None
    out = np.zeros((n, p), dtype=bool)
    recent = np.isin(rows.outcome, (1, 2)) & (rows.date >= as_of - DECLINE_MEMORY_DAYS)
    out[rows.who[recent], rows.kind[recent]] = True
    return out
