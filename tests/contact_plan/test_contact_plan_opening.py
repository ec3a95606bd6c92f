"""Issue 9, item 7 in the nightly batch: a product the customer accepted lately, and does not hold
yet, is being opened: the plan does not suggest it again."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from contact_plan_support import MONDAY, WEEK, book_customer, store_book
from sqlalchemy.orm import Session

from recsvc.service.contact_plan import ContactPlanner
from recsvc.store import record_feedback

FAVOURITE = "sms_alert"


def test_an_accepted_product_is_not_planned_again_while_being_opened(
    planner: ContactPlanner, plan_of: Callable[[str], dict[str, dict[str, Any]]]
) -> None:
    store_book(
        planner.engine,
        [book_customer(c, "M1", birth_date="1980-11-25") for c in ("CX", "CY")],
        {"M1": (3, 10)},
    )
    planner.service_config = dataclasses.replace(
        planner.service_config, degraded_propensity=0.01, product_weights={FAVOURITE: 1000.0}
    )
    accepted_at = dt.datetime.combine(MONDAY - dt.timedelta(days=3), dt.time(10), tzinfo=dt.UTC)
    with Session(planner.engine) as session:
        record_feedback(session, request_id="r-acc", product_id=FAVOURITE, outcome="accepted",
                        customer_id="CX", staff_id="M1", recorded_at=accepted_at)  # fmt: skip
        session.commit()
    planner.plan_week(WEEK)
    plan = plan_of("M1")
    assert plan["CY"]["products"][0] == FAVOURITE  # the weight puts it first when suitable
    assert FAVOURITE not in plan["CX"]["products"]
