"""The cross-sell use case: candidates -> rules -> contact policy -> model -> arbitration ->
reasons -> pitch -> audit. No score ever overrides a rule: the model only orders what the
rules let through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from recsvc.catalog.product import Product
from recsvc.customers.profile import Customer, Transaction
from recsvc.models.runtime import LoadedModel, ModelRuntime
from recsvc.pitch import (
    Trigger,
    first_clean_pitch,
    surname_of,
    transaction_triggers,
)
from recsvc.rules import Verdict, evaluate
from recsvc.service.answers import (
    Answer,
    Caller,
    ExcludedOut,
    NextActionOut,
    PitchOut,
    ReasonOut,
    RecommendationOut,
    RecommendRequest,
)
from recsvc.service.arbitration import Ranked, arbitrate
from recsvc.service.audit import audit_payload
from recsvc.service.config import (
    DAILY_PITCH_LIMIT,
    FAMILY_LIMIT,
    ChannelNotAllowed,
)
from recsvc.service.errors import Conflict, Forbidden, NotFound, Unavailable
from recsvc.service.experiment import (
    CHALLENGER,
    CHAMPION,
    HOLDOUT,
    RULES,
    Assignment,
    Experiment,
    assign,
)
from recsvc.service.experiments import ExperimentSource
from recsvc.service.feedback import save_feedback
from recsvc.service.inline import used_profile
from recsvc.service.plan_read import manager_plan, recheck_plan
from recsvc.service.wiring import Services, UsesServices
from recsvc.store import (
    AuditRecord,
    RequestContext,
    first_customer_id,
    get_customer,
    get_request_context,
    prepare_all,
    record_pitch,
    write_audit,
)
from recsvc.store.history_read import pitch_records

# Channels where a person speaks the pitch, so the daily pitch cap applies (not
# catalog.PITCH_CHANNELS, every channel a product may be pitched on).
SPOKEN_CHANNELS = ("teller", "manager")


@dataclass(frozen=True)
class Scored:
    """The model's view of one customer: propensities and what explains them."""

    loaded: LoadedModel | None
    x: np.ndarray
    propensities: dict[str, float] | None


class DecidesPitches(UsesServices):
    """A use case that decides pitches as the service would today: its clock, the experiment
    (read through `experiments`), each arm's model, the explainer and the pitch wording."""

    def __init__(
        self,
        services: Services,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        experiments: ExperimentSource | None = None,
    ) -> None:
        super().__init__(services)
        self.pitch_config = services.pitch_config
        self.explainer = services.explainer
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.arms = ArmModels(services.runtime, services.challenger)
        self.experiments = experiments or ExperimentSource(services.engine)

    def today(self) -> dt.date:
        """The branches' calendar day."""
        return self.clock().astimezone(self.service_config.timezone).date()


class CrossSellService(DecidesPitches):
    """Answers recommendation and pitch requests; one instance per worker process."""

    # ---- reading customers ---------------------------------------------------------------

    def customer(self, session: Session, caller: Caller, customer_id: str) -> Customer:
        """A stored customer the caller may see: a manager sees their own book only (else 404)."""
        customer = get_customer(session, customer_id)
        if customer is None or not _in_book(caller, customer):
            raise NotFound(f"no customer {customer_id!r} in your book")
        return customer

    def _requested_customer(
        self, connection: Connection, request: RecommendRequest, as_of: dt.date
    ) -> tuple[Customer, RequestContext]:
        """The customer asked about and what the store knows of them (declines, acceptances,
        today's pitches). An inline profile is answered with `used_profile`: the store's
        regulated attributes win, a prospect counts as unverified. A manager's inline profile
        of a stored customer must be in their book too."""
        inline = request.customer
        customer_id = str(request.customer_id) if inline is None else inline.customer_id
        context = get_request_context(
            connection, customer_id,
            since=as_of - dt.timedelta(days=self.rules.declined_fatigue_days), day=as_of,
            tz=self.service_config.timezone,
            accepted_since=as_of - dt.timedelta(days=self.rules.opening_days),
        )  # fmt: skip
        stored = context.customer
        if stored is not None and not _in_book(request.caller, stored):
            raise NotFound(f"no customer {customer_id!r} in your book")
        if inline is not None:
            return used_profile(inline, stored), context
        if stored is None:
            raise NotFound(f"no customer {customer_id!r} in your book")
        return stored, context

    def channel_for(self, caller: Caller, requested: str | None) -> str:
        """The channel the caller's answer follows (service.yaml `channels`); 403 naming the
        field `channel` when the caller's role may not act for the one requested."""
        try:
            return self.service_config.channel_for(caller.role, requested)
        except ChannelNotAllowed as exc:
            raise Forbidden(str(exc), extensions={"errors": {"channel": [str(exc)]}}) from exc

    def record_feedback(
        self, *, request_id: str, product_id: str, outcome: str, caller: Caller,
        staff_id: str | None = None,
    ) -> bool:  # fmt: skip
        """The customer's answer to a pitch (see service.feedback): from the caller who got the
        answer or the manager whose book holds the customer; it logs the pitch (a contact)."""
        return save_feedback(
            self.engine, request_id=request_id, product_id=product_id, outcome=outcome,
            caller=caller, staff_id=staff_id, day=self.today(),
            slots=self.service_config.max_products_per_day, recorded_at=self.clock(),
        )  # fmt: skip

    def contact_plan(self, caller: Caller, manager_id: str, week: str) -> list[dict[str, Any]]:
        """A manager's stored plan for the week, each entry checked again against the customer
        as they are today (see service.plan_read.recheck_plan)."""
        entries = manager_plan(self.engine, caller, manager_id, week)
        return recheck_plan(
            self.engine, entries, manager_id=manager_id, as_of=self.today(),
            catalogue=self.catalogue, rules=self.rules, bank=self.bank,
            tz=self.service_config.timezone,
        )  # fmt: skip

    # ---- before the first request ----------------------------------------------------------

    def warm_up(self) -> None:
        """Build what the request path otherwise builds on first use, so that no request pays
        for it: the model (its load check builds the one-row scoring and SHAP paths), a pooled
        connection, every prepared statement, and one rehearsal of a teller's pitch for a
        stored customer -- rules, features, reasons, pitch text, audit payload -- in a read
        transaction that is rolled back. Nothing is written or audited."""
        for runtime in self.arms.runtimes.values():  # every arm's model: champion, challenger
            runtime.current()
        experiment = self.experiments.current()
        with self.engine.connect() as connection:
            prepare_all(connection)
            customer_id = first_customer_id(connection)
            if customer_id is not None:
                request = RecommendRequest(
                    request_id="warm-up", caller=Caller(role="teller", staff_id="warm-up"),
                    channel="teller", customer_id=customer_id,
                )  # fmt: skip
                as_of = self.today()
                customer, context = self._requested_customer(connection, request, as_of)
                arm = self.arms.arm(experiment, customer.customer_id)
                history = self.history_row(connection, customer.customer_id, as_of, arm.loaded)
                answer = self._answer(request, customer, context, as_of, arm, pitch_only=False,
                                      history=history)  # fmt: skip
                audit_payload(request, customer, answer, self.catalogue.ids, pitch_only=False)
            connection.rollback()

    def reload_in_background(self) -> None:
        """A serving worker: every arm's runtime loads a promoted model on a thread of its own."""
        for runtime in self.arms.runtimes.values():
            runtime.reload_in_background()

    # ---- the use case -----------------------------------------------------------------------

    def recommend(self, request: RecommendRequest, *, pitch_only: bool = False) -> Answer:
        """Rank what the rules allow, say it in one sentence, audit it, then answer.

        Only a pitch (`pitch_only`: the teller's /v1/pitch) is logged against the daily cap:
        reading suggestions is not pitching. The pitch takes a slot of the customer's day in the
        same transaction as the audit record; if another request took the last slot first, the
        answer is given again with what that request pitched."""
        as_of = request.as_of or self.today()
        request = replace(request, channel=self.channel_for(request.caller, request.channel))
        try:
            with self.engine.connect() as connection:
                customer, context = self._requested_customer(connection, request, as_of)
                arm = self.arms.arm(self.experiments.current(), customer.customer_id)
                history = self.history_row(connection, customer.customer_id, as_of, arm.loaded)
                answer = self._answer(request, customer, context, as_of, arm,
                                      pitch_only=pitch_only, history=history)  # fmt: skip
                end_read_transaction(connection)
                if pitch_only and answer.pitch is not None:
                    pitched = self._log_pitch(connection, request, customer, context, answer)
                    if answer.pitch.product_id not in pitched:
                        context = replace(context, pitched=pitched)
                        answer = self._answer(request, customer, context, as_of, arm,
                                              pitch_only=True, history=history)  # fmt: skip
                self._audit(connection, request, customer, answer, pitch_only=pitch_only)
                connection.commit()
        except IntegrityError as exc:
            raise Conflict(f"request id {request.request_id!r} was already used") from exc
        except SQLAlchemyError as exc:
            raise Unavailable(
                "the audit store is unavailable; no unaudited answer is given"
            ) from exc
        return answer

    def _log_pitch(
        self,
        connection: Connection,
        request: RecommendRequest,
        customer: Customer,
        context: RequestContext,
        answer: Answer,
    ) -> list[str]:
        """Claim the pitch's slot of the customer's day (insert-or-read); the products found."""
        assert answer.pitch is not None
        product_id = answer.pitch.product_id
        if product_id in context.pitched:
            return context.pitched  # a repeat of today's pitch: already logged
        arm = answer.experiment
        return record_pitch(
            connection, request_id=request.request_id, customer_id=customer.customer_id,
            product_id=product_id, day=answer.as_of, channel=str(request.channel),
            slots=self.service_config.max_products_per_day, model_version=answer.model_version,
            experiment_id=arm.id if arm else None, arm=arm.arm if arm else None,
        )  # fmt: skip

    def _answer(
        self,
        request: RecommendRequest,
        customer: Customer,
        context: RequestContext,
        as_of: dt.date,
        arm: ServedArm,
        *,
        pitch_only: bool,
        history: np.ndarray | None = None,
    ) -> Answer:
        channel = str(request.channel)
        customer = _with_transaction(customer, request.transaction, as_of)
        verdict = evaluate(
            customer, self.catalogue, channel=channel, as_of=as_of, rules=self.rules,
            bank=self.bank, recent_declines=context.declines,
            recent_acceptances=context.accepted,
        )  # fmt: skip
        scored = self._score(customer, as_of, arm.loaded, history)
        triggers = {
            t.product_id: t for t in transaction_triggers(request.transaction, self.pitch_config)
        } if request.transaction else {}  # fmt: skip
        eligible = list(verdict.eligible)
        capped: list[ExcludedOut] = []
        if channel in SPOKEN_CHANNELS:
            eligible, capped = self._daily_cap(eligible, context.pitched, request.locale)
        ranked, same_family = arbitrate(
            eligible,
            propensities=scored.propensities,
            transaction_weights={pid: t.weight for pid, t in triggers.items()},
            config=self.service_config,
            order=self.order,
        )
        limit = min(max(request.limit, 1), self.service_config.max_limit)
        cache: dict[str, tuple[RecommendationOut, str | None]] = {}

        def explained(entry: Ranked) -> tuple[RecommendationOut, str | None]:
            """Reasons cost a pred_contrib call: only for what is shown or pitched."""
            key = entry.product.product_id
            if key not in cache:
                cache[key] = self._recommendation(entry, scored, triggers, request.locale)
            return cache[key]

        holdout = arm.assignment.arm == HOLDOUT  # suitability audited, nothing offered
        shown = [] if pitch_only or holdout else ranked[:limit]
        recommendations = [explained(r)[0] for r in shown]
        excluded = (
            _excluded(verdict, request.locale)
            + self._family_limited(same_family, request.locale)
            + capped
        )
        next_actions = [
            NextActionOut(a.code, a.message(request.locale)) for a in verdict.next_actions
        ]
        pitch = None
        if channel in SPOKEN_CHANNELS and not holdout:
            # the transaction at the counter comes first: a large deposit is pitched a deposit
            # or wealth product before anything else that ranks higher on value alone
            spoken = [r for r in ranked if r.product.product_id in triggers]
            spoken += [r for r in ranked if r.product.product_id not in triggers]
            pitch = self._pitch(customer, spoken, explained, request)
        loaded = scored.loaded
        return Answer(
            request_id=request.request_id,
            model_version=loaded.version if loaded else None,
            model_hash=loaded.model_hash if loaded else None,
            degraded=arm.degraded,
            as_of=as_of,
            recommendations=recommendations,
            excluded=excluded,
            pitch=_with_next_action(pitch, next_actions),
            next_actions=next_actions,
            experiment=arm.assignment,
        )

    def history_row(
        self, connection: Connection, customer_id: str, as_of: dt.date, loaded: LoadedModel | None
    ) -> np.ndarray | None:
        """The decision-history features (1 x H) from the store, read only for a model trained
        with them (recsvc.features.history); None otherwise."""
        history = self.featurizer.history
        if loaded is None or not loaded.history or history is None:
            return None
        return history.transform_one(pitch_records(connection, customer_id, as_of), as_of)

    def _score(
        self,
        customer: Customer,
        as_of: dt.date,
        loaded: LoadedModel | None,
        history: np.ndarray | None = None,
    ) -> Scored:
        """The arm's model's view of the customer; none (the rules' own order) without one.
        A model trained with the decision history gets `history_row`'s features appended."""
        if loaded is None:
            return Scored(None, _NO_FEATURES, None)
        x = self.featurizer.transform_one(customer, as_of)
        if loaded.history:
            if history is None:
                raise ValueError(f"model {loaded.version} needs the customer's decision history")
            x = np.hstack([x, history])
        probs = self.runtime.score(loaded, x)[0]
        return Scored(loaded, x, {p: float(probs[j]) for p, j in loaded.product_index.items()})

    def _recommendation(
        self, ranked: Ranked, scored: Scored, triggers: dict[str, Trigger], locale: str
    ) -> tuple[RecommendationOut, str | None]:
        """The product as the caller sees it, and a short reason phrase for the pitch."""
        product = ranked.product
        reasons: list[ReasonOut] = []
        short: str | None = None
        if product.product_id in triggers:
            trigger = triggers[product.product_id]
            reasons.append(ReasonOut(trigger.code, trigger.text(locale)))
            short = trigger.text(locale)
        if scored.loaded is not None and product.product_id in scored.loaded.product_index:
            contrib = self.runtime.contributions(scored.loaded, scored.x, product.product_id)
            top = self.service_config.reasons_per_product
            n = len(self.featurizer.names)  # reasons explain the profile's features only
            x_row, c_row = scored.x[0, :n], np.append(contrib[0, :n], contrib[0, -1])
            for reason in self.explainer.explain(x_row, c_row, top=top):
                reasons.append(ReasonOut(reason.code, reason.text(locale)))
                short = short or reason.short(locale)
        out = RecommendationOut(
            product_id=product.product_id,
            name=product.name(locale),
            family=product.family,
            risk_level=f"R{product.risk_level}" if product.risk_level else None,
            propensity=None if ranked.propensity is None else round(ranked.propensity, 6),
            expected_value=round(ranked.expected_value, 4),
            score=round(ranked.score, 4),
            reasons=reasons[: self.service_config.reasons_per_product],
            requires_dual_recording=product.dual_recording,
        )
        return out, short

    def _family_limited(self, dropped: list[Ranked], locale: str) -> list[ExcludedOut]:
        """Suitable, but a better product of the same family is offered instead."""
        text = self.service_config.policy_texts[FAMILY_LIMIT].in_locale(locale)
        codes = [FAMILY_LIMIT]
        return [ExcludedOut(r.product.product_id, FAMILY_LIMIT, text, codes) for r in dropped]

    def _daily_cap(
        self, eligible: list[Product], already: list[str], locale: str
    ) -> tuple[list[Product], list[ExcludedOut]]:
        """Once the customer's day is used up (`already`: the products pitched today), only
        those products may be said again (before arbitration, so that a better product of the
        same family never hides them); the others are excluded, not suggested."""
        if len(already) < self.service_config.max_products_per_day:
            return eligible, []
        text = self.service_config.policy_texts[DAILY_PITCH_LIMIT].in_locale(locale)
        kept = [p for p in eligible if p.product_id in already]
        capped = [
            ExcludedOut(p.product_id, DAILY_PITCH_LIMIT, text, [DAILY_PITCH_LIMIT])
            for p in eligible
            if p.product_id not in already
        ]
        return kept, capped

    def _pitch(
        self,
        customer: Customer,
        ranked: list[Ranked],
        explained: Callable[[Ranked], tuple[RecommendationOut, str | None]],
        request: RecommendRequest,
    ) -> PitchOut | None:
        """The one product to say (the first whose sentence passes the wording check)."""
        for entry in ranked:
            out, short = explained(entry)
            pitch = self._render(entry.product, customer, out, short, request.locale)
            if pitch is not None:
                return pitch
        return None

    def _render(
        self,
        product: Product,
        customer: Customer,
        out: RecommendationOut,
        short: str | None,
        locale: str,
    ) -> PitchOut | None:
        """The sentence for one product, or None if no template passes the wording check."""
        text = first_clean_pitch(
            product, customer, locale=locale, reason=short, config=self.pitch_config
        )
        if text is None:
            return None
        return PitchOut(
            product_id=product.product_id,
            name=out.name,
            text=text.text,
            risk_notice=text.risk_notice,
            requires_dual_recording=product.dual_recording,
            reasons=out.reasons,
            next_action=None,
        )

    def _audit(
        self,
        connection: Connection,
        request: RecommendRequest,
        customer: Customer,
        answer: Answer,
        *,
        pitch_only: bool,
    ) -> None:
        """The audit record, in the transaction that logged the pitch (a reused request id
        fails here and rolls the pitch back)."""
        customer_id = customer.customer_id
        write_audit(
            connection,
            AuditRecord(
                request_id=request.request_id,
                created_at=self.clock(),
                caller_role=request.caller.role,
                staff_id=request.caller.staff_id,
                customer_id=customer_id,
                model_version=answer.model_version,
                model_hash=answer.model_hash,
                degraded=answer.degraded,
                experiment_id=answer.experiment.id if answer.experiment else None,
                arm=answer.experiment.arm if answer.experiment else None,
                payload=audit_payload(
                    request,
                    customer,
                    answer,
                    self.catalogue.ids,
                    pitch_only=pitch_only,
                    surname=surname_of(customer.name, self.pitch_config),
                ),
            ),
        )


_NO_FEATURES = np.zeros((1, 0), dtype=np.float32)


@dataclass(frozen=True)
class ServedArm:
    """The arm a request is served in and the model it scores with (None: rules' own order)."""

    assignment: Assignment
    loaded: LoadedModel | None
    degraded: bool  # a model was meant to answer and none could


class ArmModels:
    """The model each arm scores with: champion and challenger runtimes (each loads lazily,
    after fork, with hash verification and polling, see recsvc.models.runtime); `rules` and
    `holdout` use none. An arm whose model is unusable is served as `rules` and says why."""

    def __init__(self, champion: ModelRuntime, challenger: ModelRuntime | None) -> None:
        self.runtimes = {CHAMPION: champion}
        if challenger is not None:
            self.runtimes[CHALLENGER] = challenger

    def arm(self, experiment: Experiment | None, customer_id: str) -> ServedArm:
        arm = assign(experiment, customer_id)
        exp_id = experiment.experiment_id if experiment else None
        if arm not in self.runtimes:
            if arm == CHALLENGER:  # a service built without a challenger runtime
                return ServedArm(Assignment(exp_id, arm, RULES, "no challenger runtime"),
                                 None, True)  # fmt: skip
            return ServedArm(Assignment(exp_id, arm, arm), None, False)
        loaded = self.runtimes[arm].current()
        if loaded is None:
            why = f"no usable {arm} model"
            return ServedArm(Assignment(exp_id, arm, RULES, why), None, True)
        return ServedArm(Assignment(exp_id, arm, arm), loaded, False)


def _in_book(caller: Caller, customer: Customer) -> bool:
    """Managers see only their own book; a manager key without a manager id sees no one."""
    if caller.role != "manager":
        return True
    return caller.manager_id is not None and customer.manager_id == caller.manager_id


def end_read_transaction(connection: Connection) -> None:
    """End the reads' transaction so the writes begin a short one of their own.

    SQLite (WAL) cannot turn a read transaction into a write once another worker has committed
    since it began: it fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT) instead
    of waiting. A transaction whose first statement writes waits for the lock (busy_timeout).
    """
    connection.commit()


def _with_transaction(customer: Customer, txn: Transaction | None, as_of: dt.date) -> Customer:
    """The transaction in progress counts as recent history for the features."""
    if txn is None:
        return customer
    now = replace(txn, date=txn.date or as_of)
    return replace(customer, recent_transactions=(*customer.recent_transactions, now))


def _excluded(verdict: Verdict, locale: str) -> list[ExcludedOut]:
    out: list[ExcludedOut] = []
    seen: dict[str, ExcludedOut] = {}
    for exclusion in verdict.excluded:
        if exclusion.product_id in seen:
            seen[exclusion.product_id].codes.append(exclusion.code)
            continue
        entry = ExcludedOut(
            exclusion.product_id, exclusion.code, exclusion.message(locale), [exclusion.code]
        )
        seen[exclusion.product_id] = entry
        out.append(entry)
    return out


def _with_next_action(pitch: PitchOut | None, actions: list[NextActionOut]) -> PitchOut | None:
    if pitch is None or not actions:
        return pitch
    return replace(pitch, next_action=actions[0])
