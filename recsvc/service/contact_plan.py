"""The nightly contact plan: every customer scored in chunks, the API's rules and contact policy
applied, each client manager's week written at once. Never calls CrossSellService per customer.

Feedback on a plan entry: each entry gets an audit record whose request id is
`cp-<week>-<run>-<customer_id>` and whose answer lists the suggested products, so the manager
reports the outcome through the existing POST /v1/feedback; declines then feed the contact
policy of the API and of the next night's plan."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from recsvc.catalog import Catalogue
from recsvc.catalog.product import LOCALES
from recsvc.config import PACKAGE_DATA, Settings
from recsvc.customers.bank import BankConfig
from recsvc.customers.profile import Customer
from recsvc.customers.segments import tier_of, value_class_of
from recsvc.models.runtime import LoadedModel
from recsvc.rules import RulesConfig, codes, customer_facts, evaluate
from recsvc.service.answers import Caller
from recsvc.service.arbitration import Ranked, arbitrate
from recsvc.service.contact_triggers import (
    HIGH_PROPENSITY,
    REASSIGN,
    SUGGESTION,
    TRIGGER_CODES,
    ContactPlanConfig,
    Found,
    load_contact_plan_config,
    preferred_channel,
    profile_triggers,
)
from recsvc.service.errors import NotFound
from recsvc.service.wiring import Services, UsesServices, build_services
from recsvc.store.contact_plan import (
    acceptances_of,
    contacted_between,
    count_customers,
    customers_by_ids,
    declines_of,
    iter_contactable,
    manager_levels,
    plan_of,
    replace_week,
)

CHANNEL = "manager"
DEFAULT_CONFIG = PACKAGE_DATA / "contact_plan.yaml"
_WEEK = re.compile(r"\A([0-9]{4})-W([0-9]{2})\Z")  # ASCII digits, no trailing newline


def week_start(week: str) -> dt.date:
    """Monday of an ISO week written YYYY-Www; ValueError names a bad week."""
    match = _WEEK.match(week)
    try:
        if match is None:
            raise ValueError
        return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"week must be an ISO week like 2026-W48, got {week!r}") from None


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class PlanEntry:
    """One customer to contact: why, what to suggest, what to say, how, and how urgent."""

    customer_id: str
    manager_id: str
    triggers: tuple[str, ...]
    products: tuple[str, ...]
    talking_points: tuple[dict[str, str], ...]
    priority: float
    channel: str
    flag: str | None = None


@dataclass
class PlanSummary:
    week: str
    as_of: dt.date
    run_id: str
    customers: int = 0
    candidates: int = 0
    entries: int = 0
    reassign: int = 0
    per_manager: dict[str, int] = field(default_factory=dict)


def _best_first(entries: list[PlanEntry]) -> list[PlanEntry]:
    return sorted(entries, key=lambda e: (-e.priority, e.customer_id))


class _Books:
    """Each manager's best entries so far, never more than 2 x cap kept (bounded memory)."""

    def __init__(self, caps: Callable[[str], int]) -> None:
        self.caps = caps
        self.kept: dict[tuple[str, bool], list[PlanEntry]] = {}

    def add(self, entry: PlanEntry) -> None:
        key = (entry.manager_id, entry.flag == REASSIGN)
        kept = self.kept.setdefault(key, [])
        kept.append(entry)
        cap = self.caps(entry.manager_id)
        if len(kept) > 2 * cap:
            self.kept[key] = _best_first(kept)[:cap]

    def final(self) -> list[PlanEntry]:
        """Top `cap` per manager; REASSIGN entries take no cap slot of the current manager."""
        out: list[PlanEntry] = []
        for (manager_id, _), kept in sorted(self.kept.items()):
            out += _best_first(kept)[: self.caps(manager_id)]
        return out


def build_planner(settings: Settings, *, config_path: Path = DEFAULT_CONFIG) -> ContactPlanner:
    """The planner over the same wiring as the API's service: same rules, catalogue, model."""
    return ContactPlanner(build_services(settings), load_contact_plan_config(config_path))


class ContactPlanner(UsesServices):
    """Builds and stores the weekly contact plans of all client managers."""

    def __init__(self, services: Services, config: ContactPlanConfig) -> None:
        super().__init__(services)
        self.config = config

    def plan_week(
        self,
        week: str,
        *,
        as_of: dt.date | None = None,
        chunk_size: int = 2000,
        progress: Callable[[int], None] | None = None,
    ) -> PlanSummary:
        """Plan the week (triggers counted from as_of, default its Monday) and replace it."""
        monday = week_start(week)
        as_of = as_of or monday
        summary = PlanSummary(week, as_of, uuid.uuid4().hex[:8])
        with Session(self.engine) as session:
            managers = manager_levels(session)
        books = _Books(lambda m: managers.get(m, (0, self.config.default_book_cap))[1])
        loaded = self.runtime.current()
        summary.customers = count_customers(self.engine)
        for chunk in iter_contactable(self.engine, chunk_size):
            for entry in self.plan_chunk(chunk, week, as_of, managers, loaded, summary):
                books.add(entry)
            if progress is not None:
                progress(len(chunk))
        entries = books.final()
        self._write(entries, summary, loaded)
        return summary

    def plan_chunk(
        self,
        chunk: Sequence[Customer],
        week: str,
        as_of: dt.date,
        managers: dict[str, tuple[int, int]],
        loaded: LoadedModel | None,
        summary: PlanSummary,
    ) -> Iterable[PlanEntry]:
        """Entries for one chunk: contact policy first, one score() call, rules per candidate."""
        open_ = [c for c in chunk if c.manager_id and c.consent_marketing and not c.open_complaint]
        if not open_:
            return []
        ids = [c.customer_id for c in open_]
        monday = week_start(week)
        tz = self.service_config.timezone
        start = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
        since = as_of - dt.timedelta(days=self.rules.declined_fatigue_days)
        with Session(self.engine) as session:
            contacted = contacted_between(
                session, ids, start, start + dt.timedelta(days=7), monday,
                monday + dt.timedelta(days=6),
            )  # fmt: skip
            declines = declines_of(session, ids, since, tz=tz)
            opened_since = as_of - dt.timedelta(days=self.rules.opening_days)
            accepted = acceptances_of(session, ids, opened_since, tz=tz)
        candidates = [c for c in open_ if c.customer_id not in contacted]
        summary.candidates += len(candidates)
        probs = self._score(candidates, as_of, loaded)
        bounds = self._value_bounds(probs, loaded, len(candidates))
        out = []
        for i, customer in enumerate(candidates):
            propensities = None
            if loaded is not None and probs is not None:
                row = probs[i]
                propensities = {p: float(row[j]) for p, j in loaded.product_index.items()}
            entry = self._entry(
                customer, as_of, propensities, declines.get(customer.customer_id),
                value_bound=float(bounds[i]), accepted=accepted.get(customer.customer_id),
            )  # fmt: skip
            if entry is not None:
                level = managers.get(str(customer.manager_id), (0, 0))[0]
                if tier_of(customer.aum, self.bank).manager_level > level:
                    entry = self._reassign(entry)
                out.append(entry)
        return out

    def _score(
        self, customers: Sequence[Customer], as_of: dt.date, loaded: LoadedModel | None
    ) -> np.ndarray | None:
        if loaded is None or not customers:
            return None
        x = np.vstack([self.featurizer.transform_one(c, as_of) for c in customers])
        return self.runtime.score(loaded, x)

    def _value_bounds(
        self, probs: np.ndarray | None, loaded: LoadedModel | None, n: int
    ) -> np.ndarray:
        """Per customer, the best propensity x value over the whole catalogue: rules only take
        products away, so below the HIGH_PROPENSITY threshold it cannot fire (skip the rules).
        Without a model there is no propensity: HIGH_PROPENSITY never fires."""
        values = np.array([p.value for p in self.catalogue.products])
        if probs is None or loaded is None:
            return np.zeros(n)
        columns = [loaded.product_index[p.product_id] for p in self.catalogue.products]
        return np.asarray((probs[:, columns] * values[None, :]).max(axis=1, initial=0.0))

    def _entry(
        self,
        customer: Customer,
        as_of: dt.date,
        propensities: dict[str, float] | None,
        declines: dict[str, dt.date] | None,
        *,
        value_bound: float = float("inf"),
        accepted: dict[str, dt.date] | None = None,
    ) -> PlanEntry | None:
        """The plan entry of one customer who may be contacted, or None without a trigger."""
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
        ranked, _ = arbitrate(
            verdict.eligible, propensities=propensities, transaction_weights={},
            config=self.service_config, order=self.order,
        )  # fmt: skip
        best_value = max((r.expected_value for r in ranked), default=0.0)
        modelled = propensities is not None
        if ranked and modelled and best_value >= self.config.high_propensity_value:
            top = max(ranked, key=lambda r: r.expected_value)
            found.append(Found(HIGH_PROPENSITY, top.product.product_id))
        if not found:
            return None
        found.sort(key=lambda f: TRIGGER_CODES.index(f.code))
        priority = best_value + sum(self.config.trigger_weights[f.code] for f in found)
        if value_class_of(customer, self.bank, as_of) == "BZC":
            priority *= self.config.bzc_factor
        products = tuple(r.product.product_id for r in ranked[: self.config.max_products])
        return PlanEntry(
            customer_id=customer.customer_id,
            manager_id=str(customer.manager_id),
            triggers=tuple(f.code for f in found),
            products=products,
            talking_points=self._talking_points(found, ranked),
            priority=round(priority, 4),
            channel=preferred_channel(customer, self.config),
        )

    def _talking_points(
        self, found: list[Found], ranked: list[Ranked]
    ) -> tuple[dict[str, str], ...]:
        """One sentence per trigger (most urgent first), topped up with the best suggestion."""
        points = [self._text(f.code, f.product_id, f.days) for f in found]
        if len(points) < 2 and ranked:
            points.append(self._text(SUGGESTION, ranked[0].product.product_id, None))
        return tuple(points[: self.config.max_talking_points])

    def _text(self, code: str, product_id: str | None, days: int | None) -> dict[str, str]:
        product = self.catalogue.get(product_id) if product_id else None
        out = {"code": code}
        for locale in LOCALES:
            name = product.name(locale) if product is not None else ""
            out[locale] = self.config.texts[code][locale].format(product=name, days=days)
        return out

    def _reassign(self, entry: PlanEntry) -> PlanEntry:
        point = self._text(REASSIGN, None, None)
        points = (point, *entry.talking_points)[: self.config.max_talking_points]
        return PlanEntry(**{**entry.__dict__, "flag": REASSIGN, "talking_points": points})

    def _write(
        self, entries: list[PlanEntry], summary: PlanSummary, loaded: LoadedModel | None
    ) -> None:
        """The week's plan and one audit record per entry, in one transaction."""
        now = dt.datetime.now(dt.UTC)
        rows, audits = [], []
        ranks: dict[str, int] = {}
        for entry in _best_first(entries):
            rank = ranks[entry.manager_id] = ranks.get(entry.manager_id, 0) + 1
            request_id = f"cp-{summary.week}-{summary.run_id}-{entry.customer_id}"
            rows.append(_row(entry, summary.week, rank, request_id, now))
            audits.append(_audit(entry, summary, request_id, loaded, now))
            summary.per_manager[entry.manager_id] = rank
            summary.reassign += entry.flag == REASSIGN
        with Session(self.engine) as session:
            replace_week(session, summary.week, rows, audits)
            session.commit()
        summary.entries = len(rows)


def _row(
    entry: PlanEntry, week: str, rank: int, request_id: str, now: dt.datetime
) -> dict[str, object]:
    return {
        "week": week, "customer_id": entry.customer_id, "manager_id": entry.manager_id,
        "rank": rank, "priority": entry.priority, "flag": entry.flag,
        "triggers": list(entry.triggers), "products": list(entry.products),
        "talking_points": list(entry.talking_points), "channel": entry.channel,
        "request_id": request_id, "created_at": now,
    }  # fmt: skip


def _audit(
    entry: PlanEntry, summary: PlanSummary, request_id: str, loaded: LoadedModel | None,
    now: dt.datetime,
) -> dict[str, object]:  # fmt: skip
    """The audit row of an entry: what the plan put in front of the manager; POST /v1/feedback
    accepts outcomes for exactly these products."""
    recommendations = [{"product_id": p} for p in entry.products]
    return {
        "request_id": request_id,
        "created_at": now,
        "caller_role": "batch",
        "staff_id": None,
        "customer_id": entry.customer_id,
        "model_version": loaded.version if loaded else None,
        "model_hash": loaded.model_hash if loaded else None,
        "degraded": loaded is None,
        "payload": {
            "source": "contact_plan",
            "week": summary.week,
            "as_of": summary.as_of.isoformat(),
            "triggers": list(entry.triggers),
            "answer": {"recommendations": recommendations, "pitch": None},
        },
    }


def manager_plan(
    engine: Engine, caller: Caller, manager_id: str, week: str
) -> list[dict[str, Any]]:
    """A manager's plan, best first; a manager asking for another's book gets 404, not 403."""
    week_start(week)
    if caller.role == "manager" and caller.manager_id != manager_id:
        raise NotFound(f"no contact plan of manager {manager_id!r} in your book")
    with Session(engine) as session:
        return plan_of(session, week, manager_id)


def recheck_plan(
    engine: Engine,
    entries: list[dict[str, Any]],
    *,
    manager_id: str,
    as_of: dt.date,
    catalogue: Catalogue,
    rules: RulesConfig,
    bank: BankConfig,
    tz: dt.tzinfo,
) -> list[dict[str, Any]]:
    """A stored plan checked again against the customers as they are now, when it is served.

    A customer no longer in the manager's book (or no longer stored) is dropped. A customer who
    may not be contacted now (opted out, open complaint) stays listed, marked `blocked` with the
    reason codes, with nothing to suggest or say. A product that no longer passes the rules
    (declined, accepted and being opened, held, assessment expired...) moves from `products` to
    `withdrawn`, with its reason codes."""
    ids = [e["customer_id"] for e in entries]
    customers = customers_by_ids(engine, ids) if ids else {}
    with Session(engine) as session:
        since = as_of - dt.timedelta(days=rules.declined_fatigue_days)
        declines = declines_of(session, ids, since, tz=tz) if ids else {}
        opened_since = as_of - dt.timedelta(days=rules.opening_days)
        accepted = acceptances_of(session, ids, opened_since, tz=tz) if ids else {}
    out = []
    for entry in entries:
        customer = customers.get(entry["customer_id"])
        if customer is None or customer.manager_id != manager_id:
            continue
        verdict = evaluate(
            customer, catalogue, channel=CHANNEL, as_of=as_of, rules=rules, bank=bank,
            recent_declines=declines.get(customer.customer_id, {}),
            recent_acceptances=accepted.get(customer.customer_id, {}),
        )  # fmt: skip
        blocked = [
            code
            for code, applies in (
                (codes.NO_CONSENT, not customer.consent_marketing),
                (codes.OPEN_COMPLAINT, customer.open_complaint),
            )
            if applies
        ]
        eligible = set(verdict.eligible_ids)
        products = [p for p in entry["products"] if p in eligible]
        withdrawn = [
            {"product_id": p, "codes": [e.code for e in verdict.reasons_for(p)]}
            for p in entry["products"]
            if p not in eligible
        ]
        checked = {**entry, "products": products, "withdrawn": withdrawn, "blocked": blocked}
        if blocked:
            checked.update(products=[], talking_points=[])
        out.append(checked)
    return out
