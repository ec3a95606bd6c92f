"""One simulated run's hidden state: who would open what on their own, and who a pitch moves.

Latent per pair (customer c, product p), drawn once per run from the truth:
`organic[c, p]`, the day c opens p on their own (geometric with `base_daily`, day 0 = the first
simulated day; a large number for never), and `persuadable[c, p]` (Bernoulli `uplift`).
A pitch on day t of a product c does not hold yet is accepted iff persuadable or
`organic <= t + window_days`; it then opens p on day t. See training/synth/truth.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.synth.truth import Truth

NEVER = np.iinfo(np.int32).max // 2
DECLINES = ("declined", "not_interested")


@dataclass
class Answer:
    outcome: str  # a PITCH_OUTCOMES value
    adopted: bool  # the pitch opened the product today


class World:
    """The run's latent state and the adoptions so far (day numbers from 0)."""

    def __init__(self, truth: Truth, *, rng: np.random.Generator, window_days: int = 30) -> None:
        self.truth = truth
        self.window_days = window_days
        self.rng = rng
        h = truth.base_daily
        u = rng.random(h.shape)
        with np.errstate(divide="ignore"):
            days = np.floor(np.log(u) / np.log1p(-np.minimum(h, 1 - 1e-12)))
        self.organic = np.where(h > 0, np.minimum(days, NEVER), NEVER).astype(np.int64)
        self.persuadable = rng.random(h.shape) < truth.uplift
        self.accepted_day = np.full(h.shape, NEVER, dtype=np.int64)
        self.accepted_request: dict[tuple[int, int], str] = {}
        self.column = {p: j for j, p in enumerate(truth.product_ids)}

    def holds(self, c: int, j: int, day: int) -> bool:
        """c holds p on `day` (opened on their own by the start of it, or at an earlier pitch)."""
        return bool(self.organic[c, j] <= day or self.accepted_day[c, j] <= day)

    def answer(self, c: int, product_id: str, day: int, request_id: str) -> Answer:
        """The customer's answer to a pitch of product_id on day (from the hidden truth)."""
        j = self.column.get(product_id)
        if j is not None and self.holds(c, j, day):
            return Answer("not_interested", adopted=False)  # they have it already
        if j is not None and (
            self.persuadable[c, j] or self.organic[c, j] <= day + self.window_days
        ):
            self.accepted_day[c, j] = day
            self.accepted_request[(c, j)] = request_id
            return Answer("accepted", adopted=True)
        return Answer(DECLINES[int(self.rng.random() < 0.4)], adopted=False)

    def adoption_day(self, days: int) -> np.ndarray:
        """Day each pair was opened within the run (NEVER if not): the earlier of the two ways."""
        return adoption_days(self.organic, self.accepted_day, days)

    def visits(self, rates: np.ndarray) -> np.ndarray:
        """Indices of the customers who come to the counter today, in arrival order."""
        come = np.flatnonzero(self.rng.random(len(rates)) < -np.expm1(-rates))
        return self.rng.permutation(come)


def adoption_days(organic: np.ndarray, accepted_day: np.ndarray, days: int) -> np.ndarray:
    """Day each pair was opened within `days` (NEVER if not): the earlier of the two ways."""
    first = np.minimum(organic, accepted_day)
    return np.where(first < days, first, NEVER)
