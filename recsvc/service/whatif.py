"""What-if before a change: the teller's decision for a sample of stored customers, made twice
-- as configured, and with an overlay applied (recsvc.service.overlay) -- and compared.

The same pipeline as CrossSellService's answer to a teller (the rules, the contact policy,
the experiment arm's model, arbitration, the first product whose sentence passes the wording
check), in batches: customers read by chunk, one score() call per chunk and arm. Read-only:
nothing is pitched, audited or logged; the store is only read."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from recsvc.catalog.product import Product, check_locale
from recsvc.config import Settings
from recsvc.customers.profile import Customer
from recsvc.models.runtime import LoadedModel
from recsvc.pitch import first_clean_pitch
from recsvc.rules import Verdict, evaluate
from recsvc.service.arbitration import Ranked, arbitrate
from recsvc.service.config import DAILY_PITCH_LIMIT, FAMILY_LIMIT
from recsvc.service.experiment import HOLDOUT, Experiment, assign
from recsvc.service.experiments import ExperimentSource
from recsvc.service.law import Law, load_law
from recsvc.service.overlay import DecisionConfig, apply_overlay, parse_overlay
from recsvc.service.recommend import DecidesPitches, ServedArm
from recsvc.service.whatif_report import TELLER, Comparison, Decision, Job
from recsvc.service.wiring import Services, build_services
from recsvc.store.contact_plan import acceptances_of, customers_by_ids, declines_of
from recsvc.store.sample import pitched_on, sample_customer_ids

DEFAULT_CHUNK = 2000
DEFAULT_EXAMPLES = 10


@dataclass(frozen=True)
class _Context:
    """What the store knows of a chunk's customers beside their profiles."""

    declines: Mapping[str, Mapping[str, dt.date]]
    accepted: Mapping[str, Mapping[str, dt.date]]
    pitched: Mapping[str, list[str]]


@dataclass
class _Scored:
    """One customer's model view: features (for a reason, if one is needed) and propensities."""

    loaded: LoadedModel | None
    x: np.ndarray | None
    propensities: dict[str, float] | None


def _parts(ids: list[str], workers: int, chunk_size: int) -> list[list[str]]:
    """Runs of consecutive ids, one per worker, none shorter than a chunk."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    n = max(1, min(workers, len(ids) // max(chunk_size, 1)))
    size = -(-len(ids) // n) if ids else 0
    return [ids[i : i + size] for i in range(0, len(ids), size)] if size else [ids]


def _compare_part(args: tuple[Settings, Job, list[str]]) -> Comparison:
    """One worker process's share: its own wiring over the same store and settings."""
    settings, job, ids = args
    services = build_services(settings)
    try:
        engine = WhatIf(services)
        after, _ = engine.overlaid(job.overlay)
        return engine.compare(ids, after, job)
    finally:
        services.engine.dispose()


class WhatIf(DecidesPitches):
    """Runs the service's teller decision in batches, as configured and with an overlay."""

    def __init__(
        self,
        services: Services,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        experiments: ExperimentSource | None = None,
        law: Law | None = None,
    ) -> None:
        super().__init__(services, clock=clock, experiments=experiments)
        self.law = law or load_law()

    def configured(self) -> DecisionConfig:
        return DecisionConfig(
            catalogue=self.catalogue, rules=self.rules, service_config=self.service_config
        )

    def overlaid(self, overlay: str | bytes) -> tuple[DecisionConfig, dict[str, Any]]:
        """The configuration with the overlay's YAML applied (OverlayError, IllegalOverlay)."""
        data = parse_overlay(overlay)
        after = apply_overlay(self.configured(), data, bank=self.bank, law=self.law)
        return after, data

    # ---- the report ----------------------------------------------------------------------

    def run(
        self,
        *,
        sample: int,
        overlay: str | bytes,
        seed: int = 0,
        as_of: dt.date | None = None,
        locale: str = "zh-CN",
        chunk_size: int = DEFAULT_CHUNK,
        examples: int = DEFAULT_EXAMPLES,
        workers: int = 1,
    ) -> dict[str, Any]:
        """Before and after over `sample` stored customers (seeded); a JSON-able report.

        With `workers` > 1 the sample is cut into that many runs of consecutive ids, each
        decided in a fresh process (spawned: a process with LightGBM's threads must not fork)
        over the same store, settings, overlay, day and experiment; the parts add up."""
        after, data = self.overlaid(overlay)  # a bad overlay fails before any reading
        as_of = as_of or self.today()
        ids = sample_customer_ids(self.engine, sample, seed=seed)
        experiment = self.experiments.current()
        job = Job(overlay, as_of, locale, chunk_size, examples, experiment)
        parts = _parts(ids, workers, chunk_size)
        if len(parts) > 1:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=len(parts), mp_context=context) as pool:
                settings = self.services.settings
                found = list(pool.map(_compare_part, [(settings, job, p) for p in parts]))
        else:
            found = [self.compare(ids, after, job)]
        total = Comparison.merged(found, examples)
        return total.report(sample=sample, seed=seed, job=job, data=data)

    def compare(self, ids: Sequence[str], after: DecisionConfig, job: Job) -> Comparison:
        """Both sides over these customers, summed."""
        out = Comparison()
        for old, new in self.decisions(ids, (self.configured(), after), as_of=job.as_of,
                                       locale=job.locale, chunk_size=job.chunk_size,
                                       experiment=job.experiment,
                                       models=out.models):  # fmt: skip
            out.add(old, new, job.examples)
        return out

    # ---- the decisions -------------------------------------------------------------------

    def decisions(
        self,
        customer_ids: Sequence[str],
        configs: Sequence[DecisionConfig],
        *,
        as_of: dt.date,
        locale: str = "zh-CN",
        chunk_size: int = DEFAULT_CHUNK,
        experiment: Experiment | None = None,
        models: set[str | None] | None = None,
    ) -> Iterator[tuple[Decision, ...]]:
        """Per stored customer (in the order given; ids no longer stored are skipped), one
        decision per configuration. Every arm's model is pinned for the whole run."""
        check_locale(locale)
        if not 1 <= chunk_size <= 10_000:
            raise ValueError(f"chunk_size must be in 1..10000, got {chunk_size}")
        served: dict[str, ServedArm] = {}
        for start in range(0, len(customer_ids), chunk_size):
            ids = list(customer_ids[start : start + chunk_size])
            stored = customers_by_ids(self.engine, ids)
            chunk = [stored[i] for i in ids if i in stored]
            context = self._context([c.customer_id for c in chunk], configs, as_of)
            arms = [self._arm(served, experiment, c.customer_id) for c in chunk]
            if models is not None:
                models.update(a.loaded.version if a.loaded else None for a in arms)
            scored = self._score(chunk, arms, as_of)
            for customer, arm, view in zip(chunk, arms, scored, strict=True):
                yield self._decide_all(customer, arm, view, context, configs, as_of, locale)

    def _arm(
        self, served: dict[str, ServedArm], experiment: Experiment | None, customer_id: str
    ) -> ServedArm:
        """The customer's arm (the API's salted hash) and its model, fixed at first use."""
        arm = assign(experiment, customer_id)
        if arm not in served:
            served[arm] = self.arms.arm(experiment, customer_id)
        return served[arm]

    def _context(
        self, ids: list[str], configs: Sequence[DecisionConfig], as_of: dt.date
    ) -> _Context:
        """Declines and acceptances over the longest window any configuration reads (the rules
        compare the days themselves), and the products pitched today (the daily cap)."""
        tz = self.service_config.timezone
        fatigue = max(c.rules.declined_fatigue_days for c in configs)
        opening = max(c.rules.opening_days for c in configs)
        with Session(self.engine) as session:
            declines = declines_of(session, ids, as_of - dt.timedelta(days=fatigue), tz=tz)
            accepted = acceptances_of(session, ids, as_of - dt.timedelta(days=opening), tz=tz)
            pitched = pitched_on(session, ids, as_of)
        return _Context(declines, accepted, pitched)

    def _score(self, chunk: list[Customer], arms: list[ServedArm], as_of: dt.date) -> list[_Scored]:
        """Stacked feature rows, one runtime.score call per model in the chunk."""
        out = [_Scored(None, None, None) for _ in chunk]
        groups: dict[str, list[int]] = {}
        models: dict[str, LoadedModel] = {}
        for i, arm in enumerate(arms):
            if arm.loaded is not None:
                groups.setdefault(arm.loaded.model_hash, []).append(i)
                models[arm.loaded.model_hash] = arm.loaded
        for key, rows in groups.items():
            loaded = models[key]
            x = np.vstack([self.featurizer.transform_one(chunk[i], as_of) for i in rows])
            probs = self.runtime.score(loaded, x)
            index = list(loaded.product_index.items())
            for k, i in enumerate(rows):
                row = probs[k]
                out[i] = _Scored(loaded, x[k : k + 1], {p: float(row[j]) for p, j in index})
        return out

    def _decide_all(
        self,
        customer: Customer,
        arm: ServedArm,
        scored: _Scored,
        context: _Context,
        configs: Sequence[DecisionConfig],
        as_of: dt.date,
        locale: str,
    ) -> tuple[Decision, ...]:
        cid = customer.customer_id
        declines = context.declines.get(cid) or {}
        accepted = context.accepted.get(cid) or {}
        verdicts: list[tuple[DecisionConfig, Verdict]] = []
        grouped: dict[int, list[tuple[str, tuple[str, ...]]]] = {}  # id(verdict) -> exclusions
        sayable: dict[int, bool] = {}  # id(product) -> its sentence passes the wording check
        out = []
        for config in configs:
            verdict = next(
                (v for c, v in verdicts
                 if c.catalogue is config.catalogue and c.rules is config.rules),
                None,
            )  # fmt: skip
            if verdict is None:
                verdict = evaluate(
                    customer, config.catalogue, channel=TELLER, as_of=as_of, rules=config.rules,
                    bank=self.bank, recent_declines=declines, recent_acceptances=accepted,
                )  # fmt: skip
                verdicts.append((config, verdict))
            if id(verdict) not in grouped:
                grouped[id(verdict)] = _grouped(verdict)
            out.append(self._decide(customer, arm, scored, context.pitched.get(cid, []),
                                    config, verdict, grouped[id(verdict)], locale,
                                    sayable))  # fmt: skip
        return tuple(out)

    def _decide(
        self,
        customer: Customer,
        arm: ServedArm,
        scored: _Scored,
        pitched_today: list[str],
        config: DecisionConfig,
        verdict: Verdict,
        excluded_by_rules: list[tuple[str, tuple[str, ...]]],
        locale: str,
        sayable: dict[int, bool],
    ) -> Decision:
        """CrossSellService._answer for a teller without a transaction at the counter: the
        contact policy (the daily cap), arbitration, then the first ranked product whose
        sentence passes the wording check (its text is not built here)."""
        eligible = list(verdict.eligible)
        capped: list[str] = []
        if len(pitched_today) >= config.service_config.max_products_per_day:
            capped = [p.product_id for p in eligible if p.product_id not in pitched_today]
            eligible = [p for p in eligible if p.product_id in pitched_today]
        ranked, dropped = arbitrate(
            eligible, propensities=scored.propensities, transaction_weights={},
            config=config.service_config, order=config.order,
        )  # fmt: skip
        excluded = (
            excluded_by_rules
            + [(r.product.product_id, (FAMILY_LIMIT,)) for r in dropped]
            + [(p, (DAILY_PITCH_LIMIT,)) for p in capped]
        )
        cid = customer.customer_id
        if arm.assignment.arm == HOLDOUT:  # suitability computed, nothing offered
            return Decision(cid, None, (), tuple(excluded), 0.0, None)
        pitch: Ranked | None = None
        for entry in ranked:
            key = id(entry.product)
            if key not in sayable:
                sayable[key] = self._sayable(entry.product, customer, scored, locale, config)
            if sayable[key]:
                pitch = entry
                break
        return Decision(
            customer_id=cid,
            pitch=pitch.product.product_id if pitch else None,
            ranking=tuple(r.product.product_id for r in ranked),
            excluded=tuple(excluded),
            expected_value=pitch.expected_value if pitch else 0.0,
            propensity=pitch.propensity if pitch else None,
        )

    def _sayable(
        self, product: Product, customer: Customer, scored: _Scored, locale: str,
        config: DecisionConfig,
    ) -> bool:  # fmt: skip
        """Whether the request path would find a clean sentence for the product. Without its
        reason first (no SHAP call); only if that fails, with the reason the teller would get
        (first_clean_pitch tries the reason's templates, then the ones without)."""
        if first_clean_pitch(product, customer, locale=locale, reason=None,
                             config=self.pitch_config) is not None:  # fmt: skip
            return True
        reason = self._short_reason(product, scored, config, locale)
        if reason is None:
            return False
        text = first_clean_pitch(product, customer, locale=locale, reason=reason,
                                 config=self.pitch_config)  # fmt: skip
        return text is not None

    def _short_reason(
        self, product: Product, scored: _Scored, config: DecisionConfig, locale: str
    ) -> str | None:
        """The reason phrase CrossSellService._recommendation gives the pitch (no transaction)."""
        loaded, x = scored.loaded, scored.x
        if loaded is None or x is None or product.product_id not in loaded.product_index:
            return None
        contrib = self.runtime.contributions(loaded, x, product.product_id)
        top = config.service_config.reasons_per_product
        reasons = self.explainer.explain(x[0], contrib[0], top=top)
        return reasons[0].short(locale) if reasons else None


def _grouped(verdict: Verdict) -> list[tuple[str, tuple[str, ...]]]:
    """The verdict's exclusions per product, primary reason first (the answer's `excluded`)."""
    codes: dict[str, list[str]] = {}
    for exclusion in verdict.excluded:
        codes.setdefault(exclusion.product_id, []).append(exclusion.code)
    return [(p, tuple(c)) for p, c in codes.items()]
