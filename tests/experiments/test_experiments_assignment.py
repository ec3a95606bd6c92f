"""The arm assignment: a salted hash of the customer id, stable, in proportion to the split,
independent across salts; and the split a data scientist may set."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsvc.service.experiment import (
    ARMS,
    BUCKETS,
    Experiment,
    InvalidSplit,
    arm_for,
    assign,
    bucket,
    check_split,
)

ids = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=1, max_size=20)
salts = st.text(alphabet="0123456789abcdef", min_size=8, max_size=32)


@st.composite
def splits(draw: st.DrawFn) -> dict[str, int]:
    """Four whole percentages summing to 100."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=3, max_size=3)))
    edges = [0, *cuts, 100]
    return {arm: edges[i + 1] - edges[i] for i, arm in enumerate(ARMS)}


@settings(max_examples=300, deadline=None)
@given(split=splits(), salt=salts, customer_id=ids)
def test_the_arm_depends_only_on_salt_split_and_id(
    split: dict[str, int], salt: str, customer_id: str
) -> None:
    arm = arm_for(split, salt, customer_id)
    assert arm in ARMS and split[arm] > 0  # an arm with no share never gets anyone
    # the same on every call, in any process: nothing but the salt and the id goes in
    assert arm_for(dict(reversed(split.items())), salt, customer_id) == arm
    assert Experiment("e", split, salt).arm_of(customer_id) == arm
    assert 0 <= bucket(salt, customer_id) < BUCKETS


@settings(max_examples=25, deadline=None)
@given(split=splits(), salt=salts)
def test_the_split_is_kept_within_sampling_error(split: dict[str, int], salt: str) -> None:
    n = 20_000
    counts = dict.fromkeys(ARMS, 0)
    for i in range(n):
        counts[arm_for(split, salt, f"C{i:09d}")] += 1
    for arm in ARMS:
        p = split[arm] / 100
        sd = math.sqrt(n * p * (1 - p))
        assert abs(counts[arm] - n * p) <= 5 * sd + 1, (arm, counts, split)


def test_a_new_salt_reassigns_customers_independently() -> None:
    split = {"champion": 50, "challenger": 0, "rules": 0, "holdout": 50}
    a = [arm_for(split, "salt-one", f"C{i:09d}") for i in range(10_000)]
    b = [arm_for(split, "salt-two", f"C{i:09d}") for i in range(10_000)]
    same = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    assert abs(same - 0.5) < 0.03  # independent: agreement as by chance, not 1


def test_no_experiment_is_everyone_champion() -> None:
    assert {assign(None, f"C{i}") for i in range(100)} == {"champion"}


@pytest.mark.parametrize(
    ("split", "field"),
    [
        ({"champion": 80, "challenger": 10, "rules": 5}, "split"),  # sums to 95
        ({"champion": 80, "challenger": 30}, "split"),
        ({"champion": 100, "bandit": 0}, "split.bandit"),
        ({"champion": 99.5, "holdout": 0.5}, "split.champion"),
        ({"champion": True}, "split.champion"),
        ({"champion": "100"}, "split.champion"),
        ({"champion": 110, "holdout": -10}, "split.champion"),
        ({}, "split"),
    ],
)
def test_a_bad_split_names_its_field(split: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSplit) as caught:
        check_split(split)
    assert caught.value.field == field


def test_a_good_split_lists_every_arm() -> None:
    assert check_split({"holdout": 5, "champion": 95}) == {
        "champion": 95, "challenger": 0, "rules": 0, "holdout": 5,
    }  # fmt: skip
