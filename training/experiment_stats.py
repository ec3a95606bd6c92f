"""Anytime-valid comparison of two experiment arms: a 95% confidence *sequence* for the
difference of their means, so that the report may be read every day without inflating false
positives.

Method (stated in every report as METHOD): the asymptotic confidence sequence of
Waudby-Smith, Arnold, Wu, McAuliffe and Ramdas, "Time-uniform central limit theory and
asymptotic confidence sequences" (Annals of Statistics, 2024), for the average treatment
effect in a randomized experiment. Units (customers) enter in the order of their first
decision; after t units of the two arms A and B (n_A + n_B = t, each at least MIN_PER_ARM),

    estimate = mean_A - mean_B
    sigma^2  = t * (var_A / n_A + var_B / n_B)          (the variance of the units'
               inverse-propensity pseudo-outcomes, propensity n_A / t, per-arm variances)
    margin   = sigma * sqrt( 2 (t rho^2 + 1) / (t^2 rho^2) * log( sqrt(t rho^2 + 1) / alpha ) )

which is Robbins' two-sided normal-mixture boundary; `rho^2 = (-2 log alpha + log(-2 log alpha
+ 1)) / t_opt` makes it tightest near t_opt units. The band [estimate - margin, estimate +
margin] covers the true difference at all t simultaneously with probability >= 1 - alpha
asymptotically, which is what makes peeking safe. Before both arms have MIN_PER_ARM units the
interval is unbounded (reported as null).

The confseq package (Howard et al.) implements related boundaries, but it needs a C++ compiler
and Boost to install and calls itself early-stage; the formula above is a few lines of numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
T_OPT = 2_000
MIN_PER_ARM = 30
METHOD = (
    "asymptotic confidence sequence (Waudby-Smith, Arnold, Wu, McAuliffe & Ramdas 2024, "
    "'Time-uniform central limit theory and asymptotic confidence sequences'): difference of "
    "arm means over customers in order of their first decision, per-arm variances, Robbins' "
    f"two-sided normal mixture tuned at {T_OPT} customers; anytime-valid 95% intervals, safe to "
    "read daily"
)


@dataclass(frozen=True)
class Interval:
    """estimate with an anytime-valid interval (low/high None while it is unbounded)."""

    estimate: float | None
    low: float | None
    high: float | None
    n_a: int
    n_b: int

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def as_json(self) -> dict[str, float | int | None]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 6)

        return {"estimate": r(self.estimate), "low": r(self.low), "high": r(self.high),
                "n": self.n_a, "n_baseline": self.n_b}  # fmt: skip


def rho_squared(t_opt: float = T_OPT, alpha: float = ALPHA) -> float:
    """The mixture's precision, chosen to make the band tightest at t_opt."""
    la = -2.0 * math.log(alpha)
    return (la + math.log(la + 1.0)) / t_opt


def margin(t: np.ndarray, *, alpha: float = ALPHA, t_opt: float = T_OPT) -> np.ndarray:
    """Half-width of the confidence sequence for a mean of unit-variance terms after t."""
    t = np.asarray(t, dtype=np.float64)
    r2 = rho_squared(t_opt, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(2.0 * (t * r2 + 1.0) / (t * t * r2) * np.log(np.sqrt(t * r2 + 1.0) / alpha))


def difference_path(
    y: np.ndarray, in_a: np.ndarray, *, alpha: float = ALPHA, t_opt: float = T_OPT
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """After each unit (in the given order) of arms A (in_a) and B (~in_a): estimate, low,
    high, n_a, n_b. low/high are nan while either arm has fewer than MIN_PER_ARM units."""
    y = np.asarray(y, dtype=np.float64)
    a = np.asarray(in_a, dtype=bool)
    n_a = np.cumsum(a)
    n_b = np.cumsum(~a)
    s_a, s_b = np.cumsum(np.where(a, y, 0.0)), np.cumsum(np.where(a, 0.0, y))
    q_a, q_b = np.cumsum(np.where(a, y * y, 0.0)), np.cumsum(np.where(a, 0.0, y * y))
    with np.errstate(divide="ignore", invalid="ignore"):
        m_a, m_b = s_a / n_a, s_b / n_b
        v_a = np.maximum(q_a / n_a - m_a * m_a, 0.0) * n_a / np.maximum(n_a - 1, 1)
        v_b = np.maximum(q_b / n_b - m_b * m_b, 0.0) * n_b / np.maximum(n_b - 1, 1)
        t = n_a + n_b
        sigma = np.sqrt(t * (v_a / n_a + v_b / n_b))
        est = m_a - m_b
        half = sigma * margin(t, alpha=alpha, t_opt=t_opt)
    ready = (n_a >= MIN_PER_ARM) & (n_b >= MIN_PER_ARM)
    low = np.where(ready, est - half, np.nan)
    high = np.where(ready, est + half, np.nan)
    return est, low, high, n_a, n_b


def difference(
    y_a: np.ndarray, y_b: np.ndarray, *, alpha: float = ALPHA, t_opt: float = T_OPT
) -> Interval:
    """The band at the last unit, for outcomes of arm A and arm B (any order within arms:
    the final band depends on the sums only)."""
    y = np.concatenate([np.asarray(y_a, dtype=np.float64), np.asarray(y_b, dtype=np.float64)])
    a = np.concatenate([np.ones(len(y_a), dtype=bool), np.zeros(len(y_b), dtype=bool)])
    if len(y) == 0:
        return Interval(None, None, None, 0, 0)
    est, low, high, n_a, n_b = difference_path(y, a, alpha=alpha, t_opt=t_opt)
    e = float(est[-1]) if n_a[-1] and n_b[-1] else None

    def f(x: float) -> float | None:
        return None if math.isnan(x) else float(x)

    return Interval(e, f(low[-1]), f(high[-1]), int(n_a[-1]), int(n_b[-1]))


def fixed_n_interval(
    y_a: np.ndarray, y_b: np.ndarray, *, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """The classical (fixed-sample) z interval: NOT valid under peeking; for comparison only."""
    from statistics import NormalDist

    y_a, y_b = np.asarray(y_a, dtype=np.float64), np.asarray(y_b, dtype=np.float64)
    est = float(y_a.mean() - y_b.mean())
    se = math.sqrt(y_a.var(ddof=1) / len(y_a) + y_b.var(ddof=1) / len(y_b))
    z = NormalDist().inv_cdf(1 - alpha / 2)
    return est, est - z * se, est + z * se
