"""The batch path (frames, rules on whole columns) writes the same plan as the per-customer path
it replaced (transform_one and evaluate() per customer, kept here as OldPlanner), on the seeded
synthetic bank with its champion, with and without an experiment (champion, challenger without
a model, rules and hold-out arms)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pgtesting import BACKENDS, postgres_database
from sqlalchemy import select
from sqlalchemy.orm import Session

from recsvc.catalog.product import Product
from recsvc.config import Settings
from recsvc.customers import Customer
from recsvc.customers.segments import value_class_of
from recsvc.models.runtime import LoadedModel
from recsvc.rules import customer_facts, evaluate
from recsvc.service.answers import Caller
from recsvc.service.arbitration import arbitrate
from recsvc.service.contact_plan import ContactPlanner, build_planner
from recsvc.service.contact_triggers import (
    HIGH_PROPENSITY,
    SUGGESTION,
    Found,
    preferred_channel,
    profile_triggers,
)
from recsvc.service.experiment import CHAMPION, HOLDOUT, assign
from recsvc.service.experiments import ExperimentSource
from recsvc.service.plan_read import CHANNEL
from recsvc.service.plan_rows import HOLDOUT_FLAG, PlanEntry, PlanSummary
from recsvc.store import load_customers, make_engine, upgrade
from recsvc.store.contact_plan import (
    iter_contactable,
)
from recsvc.store.tables import AuditLogRow, ContactPlanRow

WEEK = "2026-W40"  # the synthetic pitch history (declines) ends on 29 Sep
AS_OF = dt.date(2026, 9, 30)


class OldPlanner(ContactPlanner):
    """The per-customer path as it was before the batch rules (commit 39bd792)."""

    def _chunks(self, chunk_size: int, span: Any, as_of: dt.date) -> Iterator[Any]:
        return iter_contactable(self.engine, chunk_size)

    def plan_chunk(  # type: ignore[override]
        self,
        chunk: Sequence[Customer],
        week: str,
        as_of: dt.date,
        managers: dict[str, tuple[int, int]],
        loaded: LoadedModel | None,
        summary: PlanSummary,
    ) -> Iterable[PlanEntry]:
        open_ = [c for c in chunk if c.manager_id and c.consent_marketing and not c.open_complaint]
        if not open_:
            return []
        ids = [c.customer_id for c in open_]
        contacted, declines, accepted = self._history(ids, week, as_of)
        candidates = [c for c in open_ if c.customer_id not in contacted]
        summary.candidates += len(candidates)
        out = []
        for arm, group in self._old_by_arm(candidates):
            model = self._model_of(arm, loaded)
            probs = None
            if model is not None and group:
                x = np.vstack([self.featurizer.transform_one(c, as_of) for c in group])
                probs = self.runtime.score(model, x)
            bounds = self._value_bounds(probs, model, len(group))
            for i, customer in enumerate(group):
                propensities = None
                if model is not None and probs is not None:
                    row = probs[i]
                    propensities = {p: float(row[j]) for p, j in model.product_index.items()}
                entry = self._old_entry(
                    customer, as_of, propensities, declines.get(customer.customer_id),
                    value_bound=float(bounds[i]), accepted=accepted.get(customer.customer_id),
                    holdout=arm == HOLDOUT,
                )  # fmt: skip
                if entry is not None:
                    entry = self._placed(entry, customer, managers)
                    out.append(dataclasses.replace(
                        entry, arm=arm, model_version=model.version if model else None,
                        model_hash=model.model_hash if model else None,
                    ))  # fmt: skip
        return out

    def _old_by_arm(self, customers: list[Customer]) -> list[tuple[str, list[Customer]]]:
        if self.experiment is None:
            return [(CHAMPION, list(customers))]
        groups: dict[str, list[Customer]] = {}
        for c in customers:
            groups.setdefault(assign(self.experiment, c.customer_id), []).append(c)
        return sorted(groups.items())

    def _old_entry(
        self,
        customer: Customer,
        as_of: dt.date,
        propensities: dict[str, float] | None,
        declines: dict[str, dt.date] | None,
        *,
        value_bound: float,
        accepted: dict[str, dt.date] | None,
        holdout: bool,
    ) -> PlanEntry | None:
        facts = customer_facts(customer, as_of=as_of, rules=self.rules, bank=self.bank)
        found = profile_triggers(
            customer, as_of=as_of, days_to_expiry=facts.days_to_expiry, config=self.config
        )
        if not found and value_bound < self.config.high_propensity_value:
            return None
        verdict = evaluate(
            customer, self.catalogue, channel=CHANNEL, as_of=as_of, rules=self.rules,
            bank=self.bank, recent_declines=declines or {}, recent_acceptances=accepted or {},
        )  # fmt: skip
        return self._old_entry_of(
            customer, as_of, found, list(verdict.eligible), propensities, holdout=holdout
        )

    def _old_entry_of(
        self,
        customer: Customer,
        as_of: dt.date,
        found: list[Found],
        eligible: Sequence[Product],
        propensities: dict[str, float] | None,
        *,
        holdout: bool,
    ) -> PlanEntry | None:
        """ContactPlanner._entry_of as it was before arbitrate_columns: arbitrate() per
        customer on the products the rules allow."""
        ranked, _ = arbitrate(
            eligible, propensities=propensities, transaction_weights={},
            config=self.service_config, order=self.order,
        )  # fmt: skip
        best_value = max((r.expected_value for r in ranked), default=0.0)
        modelled = propensities is not None
        if ranked and modelled and best_value >= self.config.high_propensity_value:
            top = max(ranked, key=lambda r: r.expected_value)
            found.append(Found(HIGH_PROPENSITY, top.product.product_id))
        if not found:
            return None
        found.sort(key=lambda f: self.config.codes.index(f.code))
        priority = best_value + sum(self.config.trigger_weights[f.code] for f in found)
        if value_class_of(customer, self.bank, as_of) == "BZC":
            priority *= self.config.bzc_factor
        if holdout:
            ranked = []
        points = [self._text(f.code, f.product_id, f.days) for f in found]
        if len(points) < 2 and ranked:
            points.append(self._text(SUGGESTION, ranked[0].product.product_id, None))
        return PlanEntry(
            customer_id=customer.customer_id,
            manager_id=str(customer.manager_id),
            triggers=tuple(f.code for f in found),
            products=tuple(r.product.product_id for r in ranked[: self.config.max_products]),
            talking_points=tuple(points[: self.config.max_talking_points]),
            priority=round(priority, 4),
            channel=preferred_channel(customer, self.config),
            flag=HOLDOUT_FLAG if holdout else None,
        )


def _stored(planner: ContactPlanner) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The week's plan rows and their audit rows, without the run's ids and clock."""
    with Session(planner.engine) as session:
        plan = session.scalars(select(ContactPlanRow).where(ContactPlanRow.week == WEEK)).all()
        rows = sorted(
            (r.customer_id, r.manager_id, r.rank, r.priority, r.flag, r.triggers, r.products,
             r.talking_points, r.channel)
            for r in plan
        )  # fmt: skip
        request_ids = {r.request_id for r in plan}
        audit = session.scalars(
            select(AuditLogRow).where(AuditLogRow.request_id.in_(request_ids))
        ).all()
        audits = sorted(
            (a.customer_id, a.model_version, a.model_hash, a.degraded, a.experiment_id, a.arm,
             a.payload["triggers"], a.payload["answer"])
            for a in audit
        )  # fmt: skip
    return rows, audits


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, env: Any, synthetic_bank: Path) -> Iterator[Settings]:
    """The synthetic bank with its champion: env's SQLite copy, or the same bank loaded into a
    private PostgreSQL database (the batch path reads and writes each its own way)."""
    if request.param == "sqlite":
        yield env.settings
        return
    with postgres_database("the contact plan's batch parity") as url:
        engine = make_engine(url)
        upgrade(engine)
        load_customers(engine, synthetic_bank, progress=False)
        engine.dispose()
        yield dataclasses.replace(env.settings, database_url=url)


@pytest.mark.parametrize("split", [None, {"champion": 40, "challenger": 20, "rules": 20,
                                          "holdout": 20}])  # fmt: skip
def test_batch_path_writes_the_plan_the_per_customer_path_wrote(
    store: Settings, split: dict[str, int] | None
) -> None:
    new = build_planner(store)
    old = OldPlanner(new.services, new.config)
    if split is not None:
        ExperimentSource(new.engine).set_split(
            split, caller=Caller("data_scientist", "DS1"), request_id="req-split", salt="s"
        )
    new.plan_week(WEEK, as_of=AS_OF, chunk_size=300)
    batch = _stored(new)
    old.plan_week(WEEK, as_of=AS_OF, chunk_size=300)
    reference = _stored(old)
    rows = reference[0]
    assert len(rows) > 50  # a real plan: many managers, every trigger kind, models at work
    assert any("HIGH_PROPENSITY" in r[5] for r in rows)
    assert batch == reference
    new.engine.dispose()
    old.engine.dispose()
