"""The nightly contact plan: every customer scored in chunks, the API's rules and contact policy
applied, each client manager's week written at once. Never calls CrossSellService per customer.

Feedback on a plan entry: each entry gets an audit record whose request id is
`cp-<week>-<run>-<customer_id>` and whose answer lists the suggested products, so the manager
reports the outcome through the existing POST /v1/feedback; declines then feed the contact
policy of the API and of the next night's plan."""

from __future__ import annotations

import calendar
import datetime as dt
import gc
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session, configure_mappers

from recsvc.config import PACKAGE_DATA, Settings
from recsvc.customers.profile import Customer
from recsvc.customers.segments import tier_of, value_class_of
from recsvc.features.customer import HISTORY_DAYS, CustomerFeaturizer
from recsvc.models.runtime import LoadedModel
from recsvc.rules.batch import evaluate_batch
from recsvc.service.arbitration import RankedColumns, arbitrate_columns
from recsvc.service.contact_triggers import (
    ASSESSMENT_EXPIRING,
    FOLLOW_UP,
    HIGH_PROPENSITY,
    KEY_DATE,
    MATURED,
    MATURING,
    MODEL_TRIGGERS,
    REASSIGN,
    SUGGESTION,
    VALUE_SWING,
    ContactPlanConfig,
    Found,
    TriggerSpec,
    load_contact_plan_config,
    preferred_channel,
    profile_triggers,
)
from recsvc.service.experiment import CHALLENGER, CHAMPION, HOLDOUT, Experiment, assign
from recsvc.service.history import history_rows
from recsvc.service.plan_read import CHANNEL
from recsvc.service.plan_rows import (
    HOLDOUT_FLAG,
    PlanEntry,
    PlanSummary,
    plan_audit_row,
    plan_row,
)
from recsvc.service.weeks import week_start
from recsvc.service.wiring import Services, UsesServices, build_services
from recsvc.store.contact_plan import (
    ALL_MANAGERS,
    ContactableChunk,
    ManagerSpan,
    acceptances_of,
    contacted_between,
    count_customers,
    declines_of,
    iter_contactable_chunks,
    manager_levels,
    replace_managers,
)

DEFAULT_CONFIG = PACKAGE_DATA / "contact_plan.yaml"


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
        # the ORM's mappers are configured on first use: here, at start-up, not in a plan
        configure_mappers()
        self.config = config
        self.challenger = services.challenger
        # the design in force, read once per plan (the API's assignment: same arms)
        self.experiment: Experiment | None = None
        self.experiment_id: str | None = None
        self._texts: dict[tuple[str, str | None, int | None], dict[str, str]] = {}

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
        summary = PlanSummary(week, as_of or monday, uuid.uuid4().hex[:8])
        with _few_collections():
            self._use(current_experiment(self.engine))
            summary.customers = count_customers(self.engine)
            entries = self._book(summary, chunk_size, progress, ALL_MANAGERS)
            self._write(entries, summary, ALL_MANAGERS)
        return summary

    def plan_span(
        self,
        week: str,
        *,
        as_of: dt.date,
        run_id: str,
        span: ManagerSpan,
        experiment: Experiment | None,
        chunk_size: int = 2000,
    ) -> PlanSummary:
        """One partition of a run (recsvc.service.plan_dask): the books of the managers in
        `span`, planned as plan_week plans them and written in place of the week's rows of
        those managers. run_id and the experiment are the driver's, so a retried partition
        writes the same request ids and the same arms (summary.customers is left 0)."""
        summary = PlanSummary(week, as_of, run_id)
        self._use(experiment)
        with _few_collections():
            entries = self._book(summary, chunk_size, None, span)
            self._write(entries, summary, span)
        return summary

    def _use(self, experiment: Experiment | None) -> None:
        self._texts = {}  # this plan's talking points (the config may change between plans)
        self.experiment = experiment
        self.experiment_id = experiment.experiment_id if experiment else None

    def _book(
        self,
        summary: PlanSummary,
        chunk_size: int,
        progress: Callable[[int], None] | None,
        span: ManagerSpan,
    ) -> list[PlanEntry]:
        """Every contactable customer of the span's managers scored; each manager's best."""
        with Session(self.engine) as session:
            managers = manager_levels(session)
        books = _Books(lambda m: managers.get(m, (0, self.config.default_book_cap))[1])
        loaded = self.runtime.current()
        for chunk in self._chunks(chunk_size, span, summary.as_of):
            for entry in self.plan_chunk(
                chunk, summary.week, summary.as_of, managers, loaded, summary
            ):
                books.add(entry)
            if progress is not None:
                progress(len(chunk))
        return books.final()

    def _chunks(
        self, chunk_size: int, span: ManagerSpan, as_of: dt.date
    ) -> Iterator[ContactableChunk]:
        """The span's contactable customers by chunk, with the transactions the model's
        features count (HISTORY_DAYS up to as_of) and no others."""
        window = (as_of - dt.timedelta(days=HISTORY_DAYS), as_of)
        return iter_contactable_chunks(
            self.engine, chunk_size, managers=span, transactions_within=window
        )

    def plan_chunk(
        self,
        chunk: ContactableChunk,
        week: str,
        as_of: dt.date,
        managers: dict[str, tuple[int, int]],
        loaded: LoadedModel | None,
        summary: PlanSummary,
    ) -> Iterable[PlanEntry]:
        """Entries for one chunk: contact policy first, the features on whole columns and one
        score() call per arm; then only for the customers a trigger may fire for (a superset,
        _may_trigger) or whose best propensity x value may reach HIGH_PROPENSITY: Customer
        objects, the triggers, the rules on whole columns, the entries."""
        manager, consent, complaint = (
            chunk.values[c] for c in ("manager_id", "consent_marketing", "open_complaint")
        )
        open_ = [i for i in range(len(chunk)) if manager[i] and consent[i] and not complaint[i]]
        if not open_:
            return []
        contacted, declines, accepted = self._history([chunk.ids[i] for i in open_], week, as_of)
        candidates = [i for i in open_ if chunk.ids[i] not in contacted]
        summary.candidates += len(candidates)
        features = _Features(self.featurizer, chunk, as_of)
        may_trigger = self._may_trigger(chunk, as_of)
        out = []
        for arm, positions in self._by_arm(chunk.ids, candidates):
            if not positions:
                continue
            model = self._model_of(arm, loaded)
            probs = None if model is None else self._score(model, features, positions, as_of)
            bounds = self._value_bounds(probs, model, len(positions))
            keep = np.flatnonzero(
                may_trigger[positions] | (bounds >= self.config.high_propensity_value)
            )
            group = chunk.build(positions[k] for k in keep)
            verdicts = evaluate_batch(
                group, self.catalogue, channel=CHANNEL, as_of=as_of, rules=self.rules,
                bank=self.bank, recent_declines=declines, recent_acceptances=accepted,
            )  # fmt: skip
            ranking = arbitrate_columns(
                self.catalogue.products, verdicts.eligible,
                propensities=self._catalogue_columns(model, probs, keep),
                config=self.service_config, order=self.order,
            )  # fmt: skip
            expiries = verdicts.days_to_expiry.tolist()
            kept_bounds = bounds[keep].tolist()
            high, holdout = self.config.high_propensity_value, arm == HOLDOUT
            for i, customer in enumerate(group):
                expiry = expiries[i]
                found = profile_triggers(
                    customer, as_of=as_of, config=self.config,
                    days_to_expiry=None if math.isnan(expiry) else int(expiry),
                )  # fmt: skip
                if not found and kept_bounds[i] < high:
                    continue
                entry = self._entry_of(customer, as_of, found, ranking, i,
                                       holdout=holdout, arm=arm, model=model)  # fmt: skip
                if entry is not None:
                    out.append(self._placed(entry, customer, managers))
        return out

    def _history(
        self, ids: list[str], week: str, as_of: dt.date
    ) -> tuple[set[str], dict[str, dict[str, dt.date]], dict[str, dict[str, dt.date]]]:
        """Of these customers: those already contacted in the week, and per customer the
        products declined within the fatigue window and accepted within the opening window
        (days in the bank's time zone)."""
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
        return contacted, declines, accepted

    def _placed(
        self, entry: PlanEntry, customer: Customer, managers: dict[str, tuple[int, int]]
    ) -> PlanEntry:
        """The entry, handed to a senior manager when the customer's tier needs a higher level
        than their manager's."""
        level = managers.get(str(customer.manager_id), (0, 0))[0]
        if tier_of(customer.aum, self.bank).manager_level > level:
            entry = self._reassign(entry)
        return entry

    def _may_trigger(self, chunk: ContactableChunk, as_of: dt.date) -> np.ndarray:
        """Per customer of the chunk: may a profile trigger fire? A superset of
        profile_triggers (every window it checks, matured holdings included), on the chunk's
        columns without building a Customer; profile_triggers decides for those kept."""
        triggers = self.config.triggers
        if set(triggers) - _PREFILTERED - set(MODEL_TRIGGERS):
            # a trigger this pre-filter does not know (added in contact_plan.yaml with its
            # detector): keep every customer and let profile_triggers decide, slower but right
            return np.ones(len(chunk), dtype=bool)
        matured_days, maturing_days = _window(triggers[MATURED]), _window(triggers[MATURING])
        swing = triggers[VALUE_SWING].threshold
        follow_up_days, key_date_days = _window(triggers[FOLLOW_UP]), _window(triggers[KEY_DATE])
        expiring_days = _window(triggers[ASSESSMENT_EXPIRING])
        validity = self.rules.assessment_validity_days
        today = np.datetime64(as_of, "D")
        # holdings: maturing or matured lately, a value swing, bought lately
        matures, opened = chunk.holding_dates["maturity_date"], chunk.holding_dates["open_date"]
        ahead = _days_between(today, matures)
        hit = ~np.isnat(matures) & (-matured_days <= ahead) & (ahead <= maturing_days)
        if swing is not None:
            change = np.array(chunk.holding_values["value_change_pct"], dtype=float)
            with np.errstate(invalid="ignore"):
                hit |= np.abs(change) >= swing  # nan (unknown) compares false
        since_opened = _days_between(opened, today)
        hit |= ~np.isnat(opened) & (since_opened >= 0) & (since_opened <= follow_up_days)
        may = np.zeros(len(chunk), dtype=bool)
        may[chunk.holder_at[hit]] = True
        # birthdays and anniversaries as a customer
        key = _days_to_next(chunk.dates["birth_date"], as_of)
        since = chunk.dates["customer_since"]
        anniversary = ~np.isnat(since) & (since < today)
        key = np.where(anniversary, np.minimum(key, _days_to_next(since, as_of)), key)
        may |= key <= key_date_days
        # a valid assessment expiring soon
        assessed = chunk.dates["assessment_date"]
        rated = np.array([r is not None for r in chunk.values["risk_level"]], dtype=bool)
        age = _days_between(assessed, today)
        may |= (
            rated & ~np.isnat(assessed) & (age >= 0) & (age <= validity)
            & (validity - age <= expiring_days)
        )  # fmt: skip
        return may

    def _by_arm(self, ids: Sequence[str], positions: list[int]) -> list[tuple[str, list[int]]]:
        """The positions per experiment arm (the API's salted hash); all champion if none."""
        if self.experiment is None:
            return [(CHAMPION, positions)]
        groups: dict[str, list[int]] = {}
        for i in positions:
            groups.setdefault(assign(self.experiment, ids[i]), []).append(i)
        return sorted(groups.items())

    def _model_of(self, arm: str, champion: LoadedModel | None) -> LoadedModel | None:
        """The arm's model: champion's, the challenger's (rules if none), none for rules and
        holdout (ranked by value and the rules' order, as the API's rules arm)."""
        if arm == CHAMPION:
            return champion
        if arm == CHALLENGER:
            return self.challenger.current()
        return None

    def _score(
        self, model: LoadedModel, features: _Features, positions: list[int], as_of: dt.date
    ) -> np.ndarray:
        """The arm's propensities for the chunk's customers at `positions`; a model trained
        with the decision history (issue 13) gets the request path's history rows appended."""
        x = features.at(positions)
        if model.history:
            ids = [features.chunk.ids[i] for i in positions]
            x = np.hstack([x, history_rows(self.engine, self.featurizer, ids, as_of)])
        return self.runtime.score(model, x)

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

    def _catalogue_columns(
        self, model: LoadedModel | None, probs: np.ndarray | None, keep: np.ndarray
    ) -> np.ndarray | None:
        """The propensities of the arm's rows `keep`, one column per catalogue product in
        catalogue order (None: no model, arbitrate's degraded ranking)."""
        if model is None or probs is None:
            return None
        columns = np.array([model.product_index[p.product_id] for p in self.catalogue.products])
        return probs[np.ix_(keep, columns)]

    def _entry_of(
        self,
        customer: Customer,
        as_of: dt.date,
        found: list[Found],
        ranking: RankedColumns,
        row: int,
        *,
        holdout: bool,
        arm: str = CHAMPION,
        model: LoadedModel | None = None,
    ) -> PlanEntry | None:
        """The entry from the triggers found and the group's ranking (arbitrate's, on whole
        columns) of the products the rules allow, with the arm and the model (None: no model)
        that chose them."""
        ranked = ranking.ranked[row]
        best_value = ranking.best_value[row]
        products = self.catalogue.products
        if ranked and model is not None and best_value >= self.config.high_propensity_value:
            found.append(Found(HIGH_PROPENSITY, products[ranking.top[row]].product_id))
        if not found:
            return None
        found.sort(key=lambda f: self.config.codes.index(f.code))
        priority = best_value + sum(self.config.trigger_weights[f.code] for f in found)
        if value_class_of(customer, self.bank, as_of) == "BZC":
            priority *= self.config.bzc_factor
        if holdout:  # the experiment's hold-out: the triggers, nothing to suggest
            ranked = []
        ids = [products[j].product_id for j in ranked[: self.config.max_products]]  # >= 1
        return PlanEntry(
            customer_id=customer.customer_id,
            manager_id=str(customer.manager_id),
            triggers=tuple(f.code for f in found),
            products=tuple(ids),
            talking_points=self._talking_points(found, ids[0] if ids else None),
            priority=round(priority, 4),
            channel=preferred_channel(customer, self.config),
            flag=HOLDOUT_FLAG if holdout else None,
            arm=arm,
            model_version=model.version if model else None,
            model_hash=model.model_hash if model else None,
        )

    def _talking_points(self, found: list[Found], first: str | None) -> tuple[dict[str, str], ...]:
        """One sentence per trigger (most urgent first), topped up with the best suggestion."""
        points = [self._text(f.code, f.product_id, f.days) for f in found]
        if len(points) < 2 and first is not None:
            points.append(self._text(SUGGESTION, first, None))
        return tuple(points[: self.config.max_talking_points])

    def _text(self, code: str, product_id: str | None, days: int | None) -> dict[str, str]:
        """The talking point in every locale; the same few (code, product, days) recur all
        night, so each is composed once per plan (entries share the dict: never mutated)."""
        key = (code, product_id, days)
        out = self._texts.get(key)
        if out is None:
            product = self.catalogue.get(product_id) if product_id else None
            out = {"code": code}
            for locale, text in self.config.texts[code].items():
                name = product.name(locale) if product is not None else ""
                out[locale] = text.format(product=name, days=days)
            self._texts[key] = out
        return out

    def _reassign(self, entry: PlanEntry) -> PlanEntry:
        """Flagged for a senior manager (a hold-out entry keeps its HOLDOUT flag and gets the
        reassign talking point)."""
        point = self._text(REASSIGN, None, None)
        points = (point, *entry.talking_points)[: self.config.max_talking_points]
        flag = HOLDOUT_FLAG if entry.flag == HOLDOUT_FLAG else REASSIGN
        return PlanEntry(**{**entry.__dict__, "flag": flag, "talking_points": points})

    def _write(self, entries: list[PlanEntry], summary: PlanSummary, span: ManagerSpan) -> None:
        """The span's plan (the whole week's for ALL_MANAGERS) and one audit record per entry,
        in one transaction; run again with the same run id, it leaves the same rows."""
        now = dt.datetime.now(dt.UTC)
        rows, audits = [], []
        ranks: dict[str, int] = {}
        for entry in _best_first(entries):
            rank = ranks[entry.manager_id] = ranks.get(entry.manager_id, 0) + 1
            request_id = f"cp-{summary.week}-{summary.run_id}-{entry.customer_id}"
            rows.append(plan_row(entry, summary.week, rank, request_id, now))
            audits.append(plan_audit_row(entry, summary, request_id, self.experiment_id, now))
            summary.per_manager[entry.manager_id] = rank
            summary.reassign += entry.flag == REASSIGN
        with Session(self.engine) as session:
            replace_managers(session, summary.week, span, rows, audits)
            session.commit()
        summary.entries = len(rows)


# the profile triggers _may_trigger knows how to pre-filter (a superset test on plain rows)
_PREFILTERED = frozenset({MATURED, MATURING, VALUE_SWING, FOLLOW_UP, KEY_DATE, ASSESSMENT_EXPIRING})


def _days_between(start: np.ndarray | np.datetime64, end: np.ndarray | np.datetime64) -> np.ndarray:
    """end - start in days, elementwise (meaningless where either is NaT: mask those)."""
    return np.asarray(end - start).astype(np.int64)


def _days_to_next(days: np.ndarray, as_of: dt.date) -> np.ndarray:
    """contact_triggers.days_to_next on a datetime64[D] array: days until the next yearly
    return of each day (0 today; 29 Feb falls on 28 Feb in other years); NaT gives garbage."""
    months = days.astype("datetime64[M]")
    month = months.astype(np.int64) % 12  # 0: January
    day_of_month = (days - months).astype(np.int64)  # 0: the 1st
    today = np.datetime64(as_of, "D")
    ahead = []
    for year in (as_of.year, as_of.year + 1):
        day = day_of_month
        if not calendar.isleap(year):
            day = np.where((month == 1) & (day_of_month == 28), 27, day_of_month)
        first = np.datetime64(f"{year:04d}-01", "M") + month
        ahead.append(_days_between(today, first.astype("datetime64[D]") + day))
    return np.where(ahead[0] >= 0, ahead[0], ahead[1])


def _window(spec: TriggerSpec) -> int:
    assert spec.window_days is not None  # loading refuses a window trigger's entry without it
    return spec.window_days


class _Features:
    """The model's features of a chunk, computed once on its frames (transform_frames) the
    first time an arm with a model asks, then picked by position."""

    def __init__(self, featurizer: CustomerFeaturizer, chunk: ContactableChunk, as_of: dt.date):
        self.featurizer, self.chunk, self.as_of = featurizer, chunk, as_of
        self.x: np.ndarray | None = None

    def at(self, positions: list[int]) -> np.ndarray:
        if self.x is None:
            chunk = self.chunk
            self.x = self.featurizer.transform_frames(
                chunk.customer_frame, chunk.holding_frame, chunk.transaction_frame, self.as_of
            )
        return self.x[positions]


@contextmanager
def _few_collections(gen0: int = 200_000) -> Iterator[None]:
    """The batch allocates millions of small acyclic objects (rows, holdings, entries): with
    CPython's default threshold (700) the cyclic collector ran often enough to cost ~20% of the
    plan's CPU, rescanning the model and catalogue each time. Freeze what exists (they are
    never garbage during a plan) and collect less often: a young collection scans the live
    chunk, so at 50,000 the two that ran in the 100k bench still cost ~3% of its CPU; at
    200,000 none ran there. Memory stays bounded: acyclic objects go as soon as they are
    dropped, and a collection still runs every 200,000 net new container objects."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(gen0, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def current_experiment(engine: Engine) -> Experiment | None:
    """The design in force in the store (the API reads the same one)."""
    from recsvc.service.experiments import ExperimentSource

    return ExperimentSource(engine).current()
