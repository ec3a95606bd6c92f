"""Issue 9, item 6 in the nightly batch: a policy that matured before the plan's day is no longer
held: the plan calls the customer to renew it (MATURED) and may suggest it again."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from contact_plan_support import WEEK, book_customer, days, store_book

from recsvc.service.contact_plan import ContactPlanner
from recsvc.service.contact_triggers import MATURED

POLICY = "insurance_protection"


def test_a_matured_policy_is_a_renewal_and_may_be_suggested_again(
    planner: ContactPlanner, plan_of: Callable[[str], dict[str, dict[str, Any]]]
) -> None:
    matured = [{"product_id": POLICY, "amount": 3000, "maturity_date": days(-12)}]
    held = [{"product_id": POLICY, "amount": 3000, "maturity_date": days(200)}]
    store_book(
        planner.engine,
        [book_customer("CM", "M1", holdings=matured),
         book_customer("CH", "M1", holdings=held, birth_date="1980-11-25")],
        {"M1": (3, 10)},
    )  # fmt: skip
    # rank the policy first whenever it is suitable, so that the plan shows whether it is
    planner.service_config = dataclasses.replace(
        planner.service_config, degraded_propensity=0.01, product_weights={POLICY: 1000.0}
    )
    planner.plan_week(WEEK)
    plan = plan_of("M1")
    assert plan["CM"]["triggers"][0] == MATURED
    assert plan["CM"]["products"][0] == POLICY, plan["CM"]
    assert POLICY not in plan["CH"]["products"]
