"""Client managers: hired per branch and level to fill books, assigned by tier."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.synth.people import People
from training.synth.world import World


@dataclass
class Staff:
    """The chunk's managers (aligned arrays) and each customer's manager (-1 = none)."""

    branch: np.ndarray
    level: np.ndarray
    number: np.ndarray  # within (branch, level), from 1
    cap: np.ndarray
    of_customer: np.ndarray  # index into the arrays above, -1 = no manager


def tier_index(aum: np.ndarray, world: World) -> np.ndarray:
    """0 = ordinary, 1.. = position in bank.yaml's tiers plus one."""
    mins = np.array([t.min_aum for t in world.bank.tiers])
    return np.searchsorted(mins, aum, side="right")


def assign_managers(rng: np.random.Generator, people: People, world: World) -> Staff:
    """Gold+ customers mostly get a manager of their tier's level; a few ordinary get level 1."""
    cfg = world.managers
    levels = np.array([0] + [t.manager_level for t in world.bank.tiers])
    level = levels[tier_index(people.aum, world)]
    n = len(people)
    lucky = (level == 0) & (people.aum >= cfg["ordinary_min_aum"])
    lucky &= rng.random(n) < cfg["ordinary_coverage"]
    level = np.where(lucky, 1, level)
    served = (level > 0) & ((level > 0) & lucky | (rng.random(n) < cfg["tiered_coverage"]))
    caps = {int(k): int(v) for k, v in cfg["book_size_cap"].items()}
    of_customer = np.full(n, -1)
    rows: list[tuple[int, int, int, int]] = []
    for branch in np.unique(people.branch[served]):
        for lvl in sorted(caps):
            members = np.flatnonzero(served & (people.branch == branch) & (level == lvl))
            if len(members) == 0:
                continue
            count = int(np.ceil(len(members) / (caps[lvl] * cfg["fill"])))
            first = len(rows)
            rows.extend((int(branch), lvl, k + 1, caps[lvl]) for k in range(count))
            of_customer[members] = first + rng.permutation(len(members)) % count
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return Staff(table[:, 0], table[:, 1], table[:, 2], table[:, 3], of_customer)
