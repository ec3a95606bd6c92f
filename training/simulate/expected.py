"""What the hidden truth expects of each customer who came to the counter: adoptions with the
pitches they were given, and with no pitch at all (the arms' true values).

For customer c with first decision on day f, the outcome window is days `f .. e-1`,
`e = min(f + window_days + 1, days)`. With `S(m) = (1 - base_daily) ** m` the probability that
c has not opened p on their own before day m, and uplift u:

- pitch nothing:   P(c opens p in the window) = S(f) - S(e)
- pitched p first on day t in the window: S(f) - (1 - u) * S(max(e, t + window_days + 1))
  (c opens p on their own in the window, or is persuadable, or would have bought by t + window
  and so accepts at t);
- any product: 1 - prod_p (1 - P_p); value: sum_p value_p * P_p.

Only the first pitch of each product counts (the service's 30-day decline fatigue keeps a
declined product from being pitched again inside a 30-day run). The expectation is taken given
the day of each first pitch, which does not depend on that pair's own latent answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.synth.truth import Truth


def expected_outcomes(
    truth: Truth,
    decisions: pd.DataFrame,
    *,
    days: int,
    window_days: int,
    values: np.ndarray,
) -> pd.DataFrame:
    """One row per customer with a decision: arm, first_day, and the truth's expectations.

    `decisions` columns: customer (row index into truth), day, arm, product (column index
    into truth.product_ids, -1 for no pitch). An arm is the first decision's arm.
    """
    first = decisions.sort_values(["customer", "day"], kind="stable").groupby("customer", sort=True)
    head = first.first()
    who = head.index.to_numpy()
    f = head["day"].to_numpy(dtype=np.int64)
    e = np.minimum(f + window_days + 1, days)
    h = truth.base_daily[who]
    u = truth.uplift[who]
    log_stay = np.log1p(-np.minimum(h, 1 - 1e-12))
    s_f = np.exp(log_stay * f[:, None])
    s_e = np.exp(log_stay * e[:, None])
    nothing = np.clip(s_f - s_e, 0.0, 1.0)
    row = pd.Index(who)
    pitched = decisions[(decisions["product"] >= 0)]
    pitched = pitched.assign(first=f[row.get_indexer(pitched["customer"])],
                             end=e[row.get_indexer(pitched["customer"])])  # fmt: skip
    pitched = pitched[(pitched["day"] >= pitched["first"]) & (pitched["day"] < pitched["end"])]
    firsts = pitched.groupby(["customer", "product"], sort=False)["day"].min().reset_index()
    policy = nothing.copy()
    if len(firsts):
        r = row.get_indexer(firsts["customer"])
        j = firsts["product"].to_numpy(dtype=np.int64)
        t = firsts["day"].to_numpy(dtype=np.int64)
        until = np.maximum(e[r], t + window_days + 1)
        policy[r, j] = np.clip(
            s_f[r, j] - (1.0 - u[r, j]) * np.exp(log_stay[r, j] * until), 0.0, 1.0
        )
    return pd.DataFrame({
        "customer": who, "arm": head["arm"].to_numpy(), "first_day": f,
        "any_policy": 1.0 - np.prod(1.0 - policy, axis=1),
        "any_nothing": 1.0 - np.prod(1.0 - nothing, axis=1),
        "value_policy": policy @ values, "value_nothing": nothing @ values,
    })  # fmt: skip


def true_lifts(expected: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per arm: mean expected adoption with its pitches and with none, the effect on the
    arm's own customers (policy - nothing), for adoption of any product and for value, and
    (when those arms ran) the expected difference from `holdout` and `rules` (the report's
    vs_holdout / vs_rules target)."""
    out: dict[str, dict[str, float]] = {}
    policy = expected.groupby("arm")["any_policy"].mean()
    for arm, g in expected.groupby("arm", sort=True):
        out[str(arm)] = {
            "customers": len(g),
            "adoption_policy": float(g["any_policy"].mean()),
            "adoption_nothing": float(g["any_nothing"].mean()),
            "lift_vs_nothing": float((g["any_policy"] - g["any_nothing"]).mean()),
            "value_policy": float(g["value_policy"].mean()),
            "value_nothing": float(g["value_nothing"].mean()),
            "value_lift_vs_nothing": float((g["value_policy"] - g["value_nothing"]).mean()),
        }
        for base in ("holdout", "rules"):
            if base in policy.index and base != arm:
                # what the report's vs_<base> estimate is expected to be, given who came when
                out[str(arm)][f"expected_vs_{base}"] = float(policy[arm] - policy[base])
    return out
