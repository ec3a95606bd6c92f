"""Parity: the batch what-if without an overlay decides exactly what the request path decides
for a teller, for each of 1,000 stored customers -- the pitched product, the ranking, the
exclusions with every reason code, the pitch's propensity and expected value.

The request path's answer is taken where CrossSellService.recommend makes it, before anything
is logged or audited (its `_answer`, read in a transaction that is rolled back, as its
warm-up does). The store is seeded so that every part of the decision shows: customers on the
day their assessment expires or they turn 18 or 65, today's pitches (the daily cap), recent
declines and acceptances, and an experiment with hold-out and rules arms."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from sqlalchemy import insert, update
from whatif_support import AS_OF

from recsvc.service.answers import Answer, Caller, RecommendRequest
from recsvc.service.recommend import CrossSellService
from recsvc.service.whatif import WhatIf
from recsvc.service.whatif_report import Decision
from recsvc.service.wiring import Services
from recsvc.store.sample import sample_customer_ids
from recsvc.store.tables import CustomerRow, FeedbackRow, PitchHistoryRow, PitchLogRow

SAMPLE = 1000


def _years_before(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year - years)


def seed_edges(services: Services, ids: list[str]) -> None:
    """Customers on every boundary the as-of date decides, and the store's contact history."""
    rng = random.Random(5)
    products = list(services.catalogue.ids)
    validity = services.rules.assessment_validity_days
    minor, elderly = services.rules.minor_below, services.rules.elderly[0].from_age
    tz = services.service_config.timezone
    with services.engine.begin() as conn:
        for i, cid in enumerate(ids[0:40]):  # valid today, expired tomorrow (and the day after)
            days = validity - (i % 2)
            conn.execute(update(CustomerRow).where(CustomerRow.customer_id == cid).values(
                assessment_date=AS_OF - dt.timedelta(days=days), risk_level=4,
            ))  # fmt: skip
        for i, cid in enumerate(ids[40:80]):  # an 18th or 65th birthday today or tomorrow
            age = minor if i % 2 else elderly
            born = _years_before(AS_OF, age) + dt.timedelta(days=i % 3 - 1)
            conn.execute(update(CustomerRow).where(CustomerRow.customer_id == cid).values(
                birth_date=born,
            ))  # fmt: skip
        for i, cid in enumerate(ids[80:140]):  # pitched today: the daily cap
            conn.execute(insert(PitchLogRow).values(
                request_id=f"seed-{i}", customer_id=cid, product_id=rng.choice(products),
                day=AS_OF, channel="teller", slot=0,
            ))  # fmt: skip
        for cid in ids[140:220]:  # declined in the bank's history, some within the fatigue days
            conn.execute(insert(PitchHistoryRow).values(
                customer_id=cid, product_id=rng.choice(products), channel="teller",
                date=AS_OF - dt.timedelta(days=rng.randint(0, 45)), outcome="declined",
            ))  # fmt: skip
        for i, cid in enumerate(ids[220:300]):  # accepted through the API: being opened
            at = dt.datetime.combine(AS_OF - dt.timedelta(days=rng.randint(0, 40)),
                                     dt.time(10), tzinfo=tz)  # fmt: skip
            conn.execute(insert(FeedbackRow).values(
                request_id=f"seed-fb-{i}", product_id=rng.choice(products), outcome="accepted",
                staff_id="S001", customer_id=cid, recorded_at=at,
            ))  # fmt: skip


def request_path(service: CrossSellService, customer_id: str) -> Answer:
    """The answer recommend() would give a teller, taken before its pitch log and audit."""
    request = RecommendRequest(
        request_id=f"parity-{customer_id}", caller=Caller(role="teller", staff_id="S001"),
        channel="teller", customer_id=customer_id, limit=service.service_config.max_limit,
        as_of=AS_OF,
    )  # fmt: skip
    with service.engine.connect() as connection:
        customer, context = service._requested_customer(connection, request, AS_OF)
        arm = service.arms.arm(service.experiments.current(), customer.customer_id)
        answer = service._answer(request, customer, context, AS_OF, arm, pitch_only=False)
        connection.rollback()
    return answer


def as_decision(answer: Answer, customer_id: str) -> Decision:
    pitch = answer.pitch.product_id if answer.pitch else None
    shown = {r.product_id: r for r in answer.recommendations}
    pitched = shown.get(pitch) if pitch else None
    return Decision(
        customer_id=customer_id,
        pitch=pitch,
        ranking=tuple(r.product_id for r in answer.recommendations),
        excluded=tuple((e.product_id, tuple(e.codes)) for e in answer.excluded),
        expected_value=pitched.expected_value if pitched else 0.0,
        propensity=pitched.propensity if pitched else None,
    )


def rounded(decision: Decision) -> Decision:
    """The batch decision as the answer shows its numbers (propensity 6, value 4 places)."""
    p = decision.propensity
    return Decision(
        decision.customer_id, decision.pitch, decision.ranking, decision.excluded,
        round(decision.expected_value, 4), None if p is None else round(p, 6),
    )  # fmt: skip


def test_batch_what_if_decides_exactly_what_the_request_path_answers(
    services: Services, whatif: WhatIf, service: CrossSellService
) -> None:
    ids = sample_customer_ids(services.engine, SAMPLE, seed=1)
    assert len(ids) == SAMPLE
    seed_edges(services, ids)
    split = {"champion": 70, "challenger": 10, "rules": 10, "holdout": 10}
    service.experiments.set_split(
        split, caller=Caller(role="data_scientist", staff_id="DS1"), request_id="parity-exp"
    )
    whatif.experiments.invalidate()
    experiment = whatif.experiments.current()
    assert experiment is not None

    batch = {
        d[0].customer_id: rounded(d[0])
        for d in whatif.decisions(
            ids, [whatif.configured()], as_of=AS_OF, chunk_size=128, experiment=experiment
        )
    }
    assert list(batch) == ids
    mismatched = []
    codes: Counter[str] = Counter()
    arms: Counter[str | None] = Counter()
    for cid in ids:
        answer = request_path(service, cid)
        arms[answer.experiment.arm if answer.experiment else None] += 1
        expected = as_decision(answer, cid)
        codes.update(code for _, c in expected.excluded for code in c)
        if batch[cid] != expected:
            mismatched.append((cid, batch[cid], expected))
    assert not mismatched, f"{len(mismatched)} customers differ, first: {mismatched[0]}"
    # the comparison covered every part of the decision, not only the easy customers
    for code in (
        "DAILY_PITCH_LIMIT",
        "RECENTLY_DECLINED",
        "BEING_OPENED",
        "FAMILY_LIMIT",
        "ASSESSMENT_EXPIRED",
        "AGE_MINOR",
        "AGE_ELDERLY",
        "RISK_ABOVE_CUSTOMER_LEVEL",
    ):
        assert codes[code] > 0, code  # fmt: skip
    assert {"champion", "rules", "holdout", "challenger"} <= set(arms)
    pitched = sum(d.pitch is not None for d in batch.values())
    assert 0 < pitched < SAMPLE
