"""The what-if's numbers: one customer's decision as it is compared, the sums of one side,
and the before/after comparison that parts of a run (worker processes) add up to."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from recsvc.service.experiment import Experiment

TELLER = "teller"  # the what-if asks what the teller at the counter would be told


@dataclass(frozen=True)
class Decision:
    """One customer's answer to a teller, as far as the what-if compares it."""

    customer_id: str
    pitch: str | None  # the product the teller would say, None: no pitch
    ranking: tuple[str, ...]  # arbitration's order (empty for the experiment's hold-out)
    excluded: tuple[tuple[str, tuple[str, ...]], ...]  # (product, reason codes, primary first)
    expected_value: float  # the pitch's propensity x value (0 without a pitch)
    propensity: float | None  # the model's probability that the pitch is accepted


@dataclass
class Tally:
    """One side of the what-if, summed over the sample."""

    customers: int = 0
    pitches: int = 0
    mix: Counter[str] = field(default_factory=Counter)
    expected_value: float = 0.0
    predicted_acceptances: float = 0.0
    exclusions: Counter[str] = field(default_factory=Counter)

    def add(self, decision: Decision) -> None:
        self.customers += 1
        self.exclusions.update(chain.from_iterable(codes for _, codes in decision.excluded))
        if decision.pitch is None:
            return
        self.pitches += 1
        self.mix[decision.pitch] += 1
        self.expected_value += decision.expected_value
        self.predicted_acceptances += decision.propensity or 0.0

    def to_dict(self) -> dict[str, Any]:
        n = max(self.customers, 1)
        return {
            "customers": self.customers,
            "pitches": self.pitches,
            "pitch_rate": round(self.pitches / n, 6),
            "product_mix": {
                p: {"pitches": c, "share": round(c / max(self.pitches, 1), 6)}
                for p, c in sorted(self.mix.items(), key=lambda kv: (-kv[1], kv[0]))
            },
            "expected_value_total": round(self.expected_value, 4),
            "expected_value_per_customer": round(self.expected_value / n, 6),
            "predicted_acceptances": round(self.predicted_acceptances, 4),
            "exclusions": dict(sorted(self.exclusions.items())),
        }


@dataclass(frozen=True)
class Job:
    """What every part of one what-if shares (picklable: sent to worker processes)."""

    overlay: str | bytes
    as_of: dt.date
    locale: str
    chunk_size: int
    examples: int
    experiment: Experiment | None


@dataclass
class Comparison:
    """Before and after summed over some customers; parts of one run add up."""

    before: Tally = field(default_factory=Tally)
    after: Tally = field(default_factory=Tally)
    transitions: Counter[tuple[str | None, str | None]] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    models: set[str | None] = field(default_factory=set)

    def add(self, old: Decision, new: Decision, examples: int) -> None:
        self.before.add(old)
        self.after.add(new)
        if old.pitch != new.pitch:
            self.transitions[(old.pitch, new.pitch)] += 1
            if len(self.examples) < examples:
                self.examples.append(example(old, new))

    @classmethod
    def merged(cls, parts: Sequence[Comparison], examples: int) -> Comparison:
        """The parts in id order: sums, and the first examples of the whole sample."""
        out = cls()
        for part in parts:
            for mine, theirs in ((out.before, part.before), (out.after, part.after)):
                mine.customers += theirs.customers
                mine.pitches += theirs.pitches
                mine.mix.update(theirs.mix)
                mine.expected_value += theirs.expected_value
                mine.predicted_acceptances += theirs.predicted_acceptances
                mine.exclusions.update(theirs.exclusions)
            out.transitions.update(part.transitions)
            out.examples.extend(part.examples[: examples - len(out.examples)])
            out.models |= part.models
        return out

    def report(self, *, sample: int, seed: int, job: Job, data: Any) -> dict[str, Any]:
        changed = sum(self.transitions.values())
        return {
            "as_of": job.as_of.isoformat(),
            "sample": {"asked": sample, "seed": seed, "customers": self.before.customers},
            "channel": TELLER,
            "locale": job.locale,
            "model_versions": sorted(m or "none (rules only)" for m in self.models),
            "experiment": job.experiment.experiment_id if job.experiment else None,
            "overlay": data,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "changed": {
                "customers": changed,
                "share": round(changed / max(self.before.customers, 1), 6),
                "transitions": [
                    {"before": b, "after": a, "customers": n}
                    for (b, a), n in sorted(
                        self.transitions.items(), key=lambda kv: (-kv[1], str(kv[0]))
                    )
                ],
                "examples": self.examples,
            },
        }


def example(old: Decision, new: Decision) -> dict[str, Any]:
    """A customer whose pitch changed: the identifier only, and why the old pitch went."""
    why: list[str] = []
    if old.pitch is not None:
        codes = dict(new.excluded).get(old.pitch)
        if codes:
            why = list(codes)
        elif old.pitch in new.ranking:
            why = ["OUTRANKED"]
    return {
        "customer_id": old.customer_id,
        "before": old.pitch,
        "after": new.pitch,
        "before_expected_value": round(old.expected_value, 4),
        "after_expected_value": round(new.expected_value, 4),
        "why": why,  # the old pitch's reason codes after the change, or OUTRANKED
    }
