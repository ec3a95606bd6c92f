"""The synthetic bank looks like a bank: proportions, suitability of sales, the hidden signal."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from recsvc.customers import BankConfig, tier_of, value_class_of
from training.synth.reader import BankFrames, customers_from_frames
from training.synth.world import load_world

FIRST = pd.Timestamp("2026-09-30")


def _ages(frames: BankFrames) -> pd.Series:
    born = frames.customers["birth_date"]
    years = FIRST.year - born.dt.year
    before = (born.dt.month > FIRST.month) | (
        (born.dt.month == FIRST.month) & (born.dt.day > FIRST.day)
    )
    return (years - before.astype(int)).set_axis(frames.customers["customer_id"])


def test_synth_tiers_are_plausible(frames: BankFrames, bank_config: BankConfig) -> None:
    tiers = Counter(tier_of(a, bank_config).code for a in frames.customers["aum"])
    share = {k: v / len(frames.customers) for k, v in tiers.items()}
    assert 0.72 <= share["ordinary"] <= 0.88
    assert 0.05 <= share["gold"] <= 0.14
    assert 0.02 <= share["gold_plus"] <= 0.08
    assert 0.015 <= share["platinum"] <= 0.07
    top = share.get("platinum_plus", 0) + share.get("diamond", 0) + share.get("black_gold", 0)
    assert 0.005 <= top <= 0.04


def test_synth_value_classes_all_occur(frames: BankFrames, bank_config: BankConfig) -> None:
    classes = Counter(
        value_class_of(c, bank_config, FIRST.date()) for c in customers_from_frames(frames)
    )
    assert set(classes) == {"MVC", "MGC", "standard", "BZC"}
    assert classes["standard"] + classes["BZC"] > classes["MVC"]


def test_synth_profile_shares(frames: BankFrames) -> None:
    c = frames.customers
    ages = _ages(frames)
    assert ages.min() >= 12 and ages.max() <= 90 and 0.003 < (ages < 18).mean() < 0.04
    assert 0.10 <= c["risk_level"].isna().mean() <= 0.22
    assessed = c["assessment_date"].dropna()
    expired = (FIRST - assessed).dt.days > 365
    assert 0.12 <= expired.mean() <= 0.28
    assert ((FIRST - assessed).dt.days.between(336, 365)).any()
    employees = c[c["occupation"] == "employee"]
    assert 0.28 <= employees["salary_via_bank"].mean() <= 0.42
    assert 0.05 <= (~c["consent_marketing"]).mean() <= 0.11
    assert c["open_complaint"].sum() > 0
    old, young = ages.to_numpy() >= 65, (ages.to_numpy() < 30) & (ages.to_numpy() >= 18)
    assert c["counter_visits_90d"][old].mean() > 2 * c["counter_visits_90d"][young].mean()
    assert c["mobile_logins_90d"][young].mean() > 3 * c["mobile_logins_90d"][old].mean()


def test_synth_minors_hold_only_services(frames: BankFrames) -> None:
    minors = set(_ages(frames)[lambda a: a < 18].index)
    held = frames.holdings[frames.holdings["customer_id"].isin(minors)]
    assert set(held["product_id"]) <= {
        "sms_alert",
        "online_banking",
        "mobile_banking",
        "time_deposit",
    }
    first = held[held["snapshot_date"] == FIRST]
    assert set(first["product_id"]) <= {"sms_alert", "online_banking", "mobile_banking"}


def test_synth_additions_rate(frames: BankFrames, additions: pd.DataFrame) -> None:
    rate = additions["customer_id"].nunique() / len(frames.customers)
    assert 0.07 <= rate <= 0.14
    assert additions["product_id"].nunique() >= 16  # the rarest (wealth_r5) needs a larger bank


def test_synth_additions_are_suitable(frames: BankFrames, additions: pd.DataFrame) -> None:
    world = load_world()
    risk = dict(zip(world.product_ids, world.risk.tolist(), strict=True))
    min_age = dict(zip(world.product_ids, world.min_age.tolist(), strict=True))
    min_aum = dict(zip(world.product_ids, world.min_aum.tolist(), strict=True))
    c = frames.customers.set_index("customer_id")
    rows = additions.merge(c, left_on="customer_id", right_index=True, how="left")
    ages = _ages(frames).reindex(rows["customer_id"]).to_numpy()
    valid = rows["assessment_date"].notna() & ((FIRST - rows["assessment_date"]).dt.days <= 365)
    level = np.where(valid, rows["risk_level"].fillna(1).astype(int), 1)
    product_risk = rows["product_id"].map(risk).to_numpy()
    assert (product_risk <= level).all()
    assert (ages >= rows["product_id"].map(min_age).to_numpy()).all()
    assert (rows["aum"].to_numpy() >= rows["product_id"].map(min_aum).to_numpy()).all()
    assert (product_risk[ages >= 65] <= 3).all()
    cards = rows[rows["product_id"] == "credit_card"]
    assert (cards["monthly_income"] >= 3000).all()


def test_synth_young_salaried_add_credit_cards_far_above_base(
    frames: BankFrames, additions: pd.DataFrame
) -> None:
    c = frames.customers.set_index("customer_id")
    ages = _ages(frames)
    target = c["salary_via_bank"] & (c["income_stability"] == "stable") & ages.between(18, 29)
    added = c.index.isin(additions.loc[additions["product_id"] == "credit_card", "customer_id"])
    assert target.sum() > 50
    assert added[target.to_numpy()].mean() >= 3 * added.mean()


def test_synth_elderly_lean_to_deposits_and_bonds(
    frames: BankFrames, additions: pd.DataFrame
) -> None:
    ages = _ages(frames)
    old = additions[additions["customer_id"].map(ages) >= 60]
    young = additions[additions["customer_id"].map(ages) < 40]
    share = lambda rows: rows["product_id"].isin(["time_deposit", "gov_bond"]).mean()  # noqa: E731
    assert share(old) > 2 * share(young)


def test_synth_accepted_pitches_are_held(frames: BankFrames) -> None:
    p = frames.pitches
    first = frames.holdings[frames.holdings["snapshot_date"] == FIRST]
    held = set(zip(first["customer_id"], first["product_id"], strict=True))
    accepted = p[p["outcome"] == "accepted"]
    assert len(accepted) > 0
    assert all(k in held for k in zip(accepted["customer_id"], accepted["product_id"], strict=True))
    assert (p["date"] < FIRST).all()
    assert set(p["outcome"]) == {"accepted", "declined", "not_interested", "no_answer"}


def test_synth_holdings_dates_and_value_changes(frames: BankFrames) -> None:
    h = frames.holdings[frames.holdings["snapshot_date"] == FIRST]
    termed = h[h["product_id"].isin(["time_deposit", "large_cd", "wealth_r2", "wealth_r3"])]
    assert termed["maturity_date"].notna().all()
    days = (termed["maturity_date"] - FIRST).dt.days
    assert (days > 0).all() and (days <= 31).any() and (days <= 31).mean() < 0.5
    assert (h["open_date"] <= FIRST).all()
    moving = h["product_id"].isin(["wealth_r2", "wealth_r3", "fund_plan", "gold_plan"])
    assert h.loc[moving, "value_change_pct"].notna().all()
    assert h.loc[h["product_id"] == "credit_card", "value_change_pct"].isna().all()


def test_synth_managers_serve_their_tiers(frames: BankFrames, bank_config: BankConfig) -> None:
    m = frames.managers.set_index("manager_id")
    c = frames.customers
    managed = c[c["manager_id"].notna()]
    levels = managed["manager_id"].map(m["level"])
    expected = [max(1, tier_of(a, bank_config).manager_level) for a in managed["aum"]]
    assert (levels.to_numpy() == np.array(expected)).all()
    book = managed["manager_id"].value_counts()
    assert (book <= m.loc[book.index, "book_size_cap"]).all()
    gold_plus = c["aum"] >= bank_config.tiers[0].min_aum
    assert c.loc[gold_plus, "manager_id"].notna().mean() > 0.8
    assert c.loc[~gold_plus, "manager_id"].notna().mean() < 0.05


@pytest.mark.slow
def test_synth_every_product_is_added_in_a_larger_bank(tmp_path: object) -> None:
    from pathlib import Path

    from training.synth.generate import generate_bank
    from training.synth.reader import read_bank

    out = Path(str(tmp_path))
    generate_bank(out, customers=60_000, seed=5, as_of=dt.date(2026, 9, 30))
    f = read_bank(out)
    h = f.holdings
    s1 = set(
        zip(
            h.loc[h["snapshot_date"] == FIRST, "customer_id"],
            h.loc[h["snapshot_date"] == FIRST, "product_id"],
            strict=True,
        )
    )
    s2 = h[h["snapshot_date"] != FIRST]
    added = {
        p for cid, p in zip(s2["customer_id"], s2["product_id"], strict=True) if (cid, p) not in s1
    }
    assert added == set(load_world().product_ids)
