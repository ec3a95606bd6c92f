"""The cross-sell use case: candidates -> rules -> contact policy -> model -> arbitration ->
reasons -> pitch -> audit. No score ever overrides a rule: the model only orders what the
rules let through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from recsvc.catalog import Catalogue
from recsvc.catalog.product import Product
from recsvc.customers.bank import BankConfig
from recsvc.customers.profile import Customer, Transaction
from recsvc.features.customer import CustomerFeaturizer
from recsvc.models.reasons import ReasonExplainer
from recsvc.models.runtime import LoadedModel, ModelRuntime
from recsvc.pitch import PitchConfig, Trigger, first_clean_pitch, transaction_triggers
from recsvc.rules import RulesConfig, Verdict, evaluate
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
from recsvc.service.config import DAILY_PITCH_LIMIT, FAMILY_LIMIT, ServiceConfig
from recsvc.service.errors import Conflict, NotFound, Unavailable
from recsvc.service.feedback import save_feedback
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

PITCH_CHANNELS = ("teller", "manager")


@dataclass(frozen=True)
class Scored:
    """The model's view of one customer: propensities and what explains them."""

    loaded: LoadedModel | None
    x: np.ndarray
    propensities: dict[str, float] | None


class CrossSellService:
    """Answers recommendation and pitch requests; one instance per worker process."""

    def __init__(
        self,
        *,
        engine: Engine,
        catalogue: Catalogue,
        rules: RulesConfig,
        bank: BankConfig,
        config: ServiceConfig,
        pitch_config: PitchConfig,
        featurizer: CustomerFeaturizer,
        runtime: ModelRuntime,
        explainer: ReasonExplainer,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.catalogue = catalogue
        self.rules = rules
        self.bank = bank
        self.config = config
        self.pitch_config = pitch_config
        self.featurizer = featurizer
        self.runtime = runtime
        self.explainer = explainer
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.order = {p.product_id: i for i, p in enumerate(catalogue.products)}

    def today(self) -> dt.date:
        """The branches' calendar day."""
        return self.clock().astimezone(self.config.timezone).date()

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
        """The customer asked about and what the store knows of them (declines, today's
        pitches); a manager's inline profile of a stored customer must be in their book too
        (its declines and pitches are read from the store)."""
        inline = request.customer
        customer_id = str(request.customer_id) if inline is None else inline.customer_id
        context = get_request_context(
            connection, customer_id,
            since=as_of - dt.timedelta(days=self.rules.declined_fatigue_days), day=as_of,
            tz=self.config.timezone,
            with_customer=inline is None or request.caller.role == "manager",
        )  # fmt: skip
        stored = context.customer
        if stored is not None and not _in_book(request.caller, stored):
            raise NotFound(f"no customer {customer_id!r} in your book")
        if inline is not None:
            return inline, context
        if stored is None:
            raise NotFound(f"no customer {customer_id!r} in your book")
        return stored, context

    def record_feedback(self, **fields: str) -> bool:
        """The customer's answer to a pitch (see service.feedback)."""
        return save_feedback(self.engine, **fields)

    # ---- before the first request ----------------------------------------------------------

    def warm_up(self) -> None:
        """Build what the request path otherwise builds on first use, so that no request pays
        for it: the model (its load check builds the one-row scoring and SHAP paths), a pooled
        connection, every prepared statement, and one rehearsal of a teller's pitch for a
        stored customer -- rules, features, reasons, pitch text, audit payload -- in a read
        transaction that is rolled back. Nothing is written or audited."""
        self.runtime.current()
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
                answer = self._answer(request, customer, context, as_of, pitch_only=False)
                audit_payload(request, customer, answer, self.catalogue.ids, pitch_only=False)
            connection.rollback()

    # ---- the use case -----------------------------------------------------------------------

    def recommend(self, request: RecommendRequest, *, pitch_only: bool = False) -> Answer:
        """Rank what the rules allow, say it in one sentence, audit it, then answer."""
        as_of = request.as_of or self.today()
        try:
            with self.engine.connect() as connection:
                customer, context = self._requested_customer(connection, request, as_of)
                answer = self._answer(request, customer, context, as_of, pitch_only=pitch_only)
                end_read_transaction(connection)
                self._audit(connection, request, customer, answer, pitch_only=pitch_only)
                connection.commit()
        except IntegrityError as exc:
            raise Conflict(f"request id {request.request_id!r} was already used") from exc
        except SQLAlchemyError as exc:
            raise Unavailable(
                "the audit store is unavailable; no unaudited answer is given"
            ) from exc
        return answer

    def _answer(
        self,
        request: RecommendRequest,
        customer: Customer,
        context: RequestContext,
        as_of: dt.date,
        *,
        pitch_only: bool,
    ) -> Answer:
        customer = _with_transaction(customer, request.transaction, as_of)
        verdict = evaluate(
            customer, self.catalogue, channel=request.channel, as_of=as_of,
            rules=self.rules, bank=self.bank, recent_declines=context.declines,
        )  # fmt: skip
        scored = self._score(customer, as_of)
        triggers = {
            t.product_id: t for t in transaction_triggers(request.transaction, self.pitch_config)
        } if request.transaction else {}  # fmt: skip
        ranked, same_family = arbitrate(
            verdict.eligible,
            propensities=scored.propensities,
            transaction_weights={pid: t.weight for pid, t in triggers.items()},
            config=self.config,
            order=self.order,
        )
        limit = min(max(request.limit, 1), self.config.max_limit)
        cache: dict[str, tuple[RecommendationOut, str | None]] = {}

        def explained(entry: Ranked) -> tuple[RecommendationOut, str | None]:
            """Reasons cost a pred_contrib call: only for what is shown or pitched."""
            key = entry.product.product_id
            if key not in cache:
                cache[key] = self._recommendation(entry, scored, triggers, request.locale)
            return cache[key]

        shown = [] if pitch_only else ranked[:limit]
        recommendations = [explained(r)[0] for r in shown]
        excluded = _excluded(verdict, request.locale) + self._family_limited(
            same_family, request.locale
        )
        next_actions = [
            NextActionOut(a.code, a.message(request.locale)) for a in verdict.next_actions
        ]
        pitch = None
        if request.channel in PITCH_CHANNELS:
            # the transaction at the counter comes first: a large deposit is pitched a deposit
            # or wealth product before anything else that ranks higher on value alone
            spoken = [r for r in ranked if r.product.product_id in triggers]
            spoken += [r for r in ranked if r.product.product_id not in triggers]
            pitch, capped = self._pitch(customer, context.pitched, spoken, explained, request)
            excluded += capped
        loaded = scored.loaded
        return Answer(
            request_id=request.request_id,
            model_version=loaded.version if loaded else None,
            model_hash=loaded.model_hash if loaded else None,
            degraded=loaded is None,
            as_of=as_of,
            recommendations=recommendations,
            excluded=excluded,
            pitch=_with_next_action(pitch, next_actions),
            next_actions=next_actions,
        )

    def _score(self, customer: Customer, as_of: dt.date) -> Scored:
        x = self.featurizer.transform_one(customer, as_of)
        loaded = self.runtime.current()
        if loaded is None:
            return Scored(None, x, None)
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
            top = self.config.reasons_per_product
            for reason in self.explainer.explain(scored.x[0], contrib[0], top=top):
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
            reasons=reasons[: self.config.reasons_per_product],
            requires_dual_recording=product.dual_recording,
        )
        return out, short

    def _family_limited(self, dropped: list[Ranked], locale: str) -> list[ExcludedOut]:
        """Suitable, but a better product of the same family is offered instead."""
        text = self.config.policy_texts[FAMILY_LIMIT][locale]
        codes = [FAMILY_LIMIT]
        return [ExcludedOut(r.product.product_id, FAMILY_LIMIT, text, codes) for r in dropped]

    def _pitch(
        self,
        customer: Customer,
        already: list[str],
        ranked: list[Ranked],
        explained: Callable[[Ranked], tuple[RecommendationOut, str | None]],
        request: RecommendRequest,
    ) -> tuple[PitchOut | None, list[ExcludedOut]]:
        """The one product to say, within the daily contact cap (`already`: the products
        pitched to the customer today); same product again if capped."""
        capped: list[ExcludedOut] = []
        allowed = {r.product.product_id for r in ranked}
        if len(already) >= self.config.max_products_per_day:
            text = self.config.policy_texts[DAILY_PITCH_LIMIT][request.locale]
            capped = [
                ExcludedOut(pid, DAILY_PITCH_LIMIT, text, [DAILY_PITCH_LIMIT])
                for pid in sorted(allowed - set(already), key=self.order.__getitem__)
            ]
            allowed &= set(already)
        for entry in ranked:
            if entry.product.product_id in allowed:
                out, short = explained(entry)
                pitch = self._render(entry.product, customer, out, short, request.locale)
                if pitch is not None:
                    return pitch, capped
        return None, capped

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
        """Audit record first (a reused request id fails at once), then the pitch log."""
        customer_id = customer.customer_id
        write_audit(
            connection,
            AuditRecord(
                request_id=request.request_id,
                caller_role=request.caller.role,
                staff_id=request.caller.staff_id,
                customer_id=customer_id,
                model_version=answer.model_version,
                model_hash=answer.model_hash,
                degraded=answer.degraded,
                payload=audit_payload(
                    request, customer, answer, self.catalogue.ids, pitch_only=pitch_only
                ),
            ),
        )
        if answer.pitch is not None and request.customer is None:
            record_pitch(
                connection, request_id=request.request_id, customer_id=customer_id,
                product_id=answer.pitch.product_id, day=answer.as_of, channel=request.channel,
            )  # fmt: skip


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
