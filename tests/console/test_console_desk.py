"""The client manager's desk (issue 9): the plan with masked names, filters, pages, weeks and a
contact recorded through the feedback path; a customer's matured products, expired assessment
and the phone number revealed only by an explicit, audited action."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pytest
from console_support import MANAGER, csrf_from, sign_in
from flask.testing import FlaskClient
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from recsvc.api.extensions import extensions
from recsvc.service.desk import PAGE_SIZE
from recsvc.service.weeks import week_of, week_start
from recsvc.store import get_customer, make_engine
from recsvc.store.tables import AuditLogRow, FeedbackRow

MATURED_CUSTOMER = "C00000311"  # a wealth product that matured on 2026-11-01
EXPIRED_CUSTOMER = "C00000411"  # assessed 2022-10-23
ASSESSED_CUSTOMER = "C00000096"  # assessed 2026-07-12
OTHER_BOOK_CUSTOMER = "C00000002"
_ROW = re.compile(r'<tr id="entry-(\w+)" data-triggers="([^"]*)" data-channel="(\w+)">')


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def rows(page: str) -> list[tuple[str, str, str]]:
    return _ROW.findall(page)


def stored(env: Any, customer_id: str) -> Any:
    engine = make_engine(env.settings.database_url)
    with Session(engine) as session:
        customer = get_customer(session, customer_id)
    engine.dispose()
    return customer


def stored_rows(env: Any, statement: Select[Any]) -> list[Any]:
    """The rows the statement selects from the env's store."""
    engine = make_engine(env.settings.database_url)
    with Session(engine) as session:
        found = list(session.scalars(statement).all())
    engine.dispose()
    return found


@pytest.fixture
def manager(planned: Any, service_client: FlaskClient) -> FlaskClient:
    sign_in(service_client, planned.key("manager", staff_id="M310", manager_id=MANAGER))
    return service_client


def test_the_plan_shows_masked_names_never_the_names(planned: Any, manager: FlaskClient) -> None:
    page = html(manager.get("/console/plan"))
    shown = rows(page)
    assert shown
    for customer_id, _, _ in shown:
        name = stored(planned, customer_id).name
        block = page.split(f'id="entry-{customer_id}"')[1].split("</tr>")[0]
        assert f'<span class="masked name">{name[0]}{"*" * (len(name) - 1)}</span>' in block
        assert name not in page


def test_the_plan_filters_by_trigger_and_by_channel(manager: FlaskClient) -> None:
    everyone = html(manager.get("/console/plan"))
    total = int(re.search(r'id="count">共 (\d+) 位客户', everyone).group(1))  # type: ignore[union-attr]
    maturing = html(manager.get("/console/plan?trigger=MATURING"))
    assert rows(maturing) and all("MATURING" in t.split() for _, t, _ in rows(maturing))
    assert int(re.search(r'id="count">共 (\d+)', maturing).group(1)) < total  # type: ignore[union-attr]
    phone = html(manager.get("/console/plan?channel=phone&trigger=MATURING"))
    assert all(c == "phone" and "MATURING" in t.split() for _, t, c in rows(phone))
    assert 'value="phone" selected' in phone and 'value="MATURING" selected' in phone
    assert manager.get("/console/plan?trigger=NOPE").status_code == 400


def test_the_plan_is_paged(manager: FlaskClient) -> None:
    first = html(manager.get("/console/plan"))
    total = int(re.search(r'id="count">共 (\d+) 位客户', first).group(1))  # type: ignore[union-attr]
    assert total > PAGE_SIZE, "the test book must need more than one page"
    assert len(rows(first)) == PAGE_SIZE and 'id="next-page"' in first
    second_link = first.split('id="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = html(manager.get(second_link.replace("&amp;", "&")))
    assert not {r[0] for r in rows(first)} & {r[0] for r in rows(second)}
    assert "第 2 / " in second and 'id="prev-page"' in second


def test_previous_and_next_week(manager: FlaskClient) -> None:
    this = week_of(extensions(manager.application).service.today())
    page = html(manager.get("/console/plan"))
    before = week_of(week_start(this) - dt.timedelta(days=7))
    after = week_of(week_start(this) + dt.timedelta(days=7))
    assert f'href="/console/plan?week={before}" id="prev-week"' in page
    assert f'href="/console/plan?week={after}" id="next-week"' in page
    nxt = html(manager.get(f"/console/plan?week={after}"))
    assert f'<span id="week">{after}</span>' in nxt and f"week={this}" in nxt


def test_a_contact_is_recorded_through_the_feedback_path(
    planned: Any, manager: FlaskClient
) -> None:
    page = html(manager.get("/console/plan"))
    customer_id = rows(page)[0][0]
    block = page.split(f'id="entry-{customer_id}"')[1].split("</tr>")[0]
    product_id = block.split('name="product_id"')[1].split('value="')[1].split('"')[0]
    week = page.split('name="week" value="')[1][:8]
    form = {"csrf_token": csrf_from(page), "week": week, "customer_id": customer_id,
            "product_id": product_id, "outcome": "not_interested"}  # fmt: skip
    done = manager.post("/console/plan/contact", data=form)
    assert done.status_code == 303
    after = html(manager.get(done.location))
    assert f"已记录联系 {customer_id}：不感兴趣" in after
    assert f'data-product="{product_id}" data-outcome="not_interested"' in after
    (row,) = stored_rows(planned, select(FeedbackRow).where(FeedbackRow.customer_id == customer_id))
    assert row.request_id.startswith("cp-") and (row.product_id, row.outcome, row.staff_id) == (
        product_id, "not_interested", "M310",
    )  # fmt: skip
    stranger = {**form, "customer_id": OTHER_BOOK_CUSTOMER}
    assert manager.post("/console/plan/contact", data=stranger).status_code == 404


def test_the_timeline_flags_matured_products_and_shows_amounts(
    planned: Any, manager: FlaskClient
) -> None:
    customer = stored(planned, MATURED_CUSTOMER)
    page = html(manager.get(f"/console/customers/{MATURED_CUSTOMER}"))
    timeline = page.split('id="timeline"')[1].split("</svg>")[0]
    for holding in customer.holdings:
        if holding.maturity_date is None:
            continue
        group = timeline.split(f'data-product="{holding.product_id}"')[0].rsplit("<g ", 1)[1]
        text = timeline.split(f'data-product="{holding.product_id}"')[1].split("</g>")[0]
        assert f"{holding.amount:,.0f}" in text
        matured = holding.maturity_date.isoformat() < "2026-12-01"
        assert ('class="holding matured"' in group) == matured
        if matured:
            assert f"已到期 {holding.maturity_date.isoformat()}" in text
    assert '<tr class="matured" data-product="wealth_r4">' in page


@pytest.mark.parametrize(("customer_id", "expired"), [(EXPIRED_CUSTOMER, True),
                                                      (ASSESSED_CUSTOMER, False)])  # fmt: skip
def test_an_expired_assessment_is_highlighted(
    manager: FlaskClient, customer_id: str, expired: bool
) -> None:
    page = html(manager.get(f"/console/customers/{customer_id}"))
    assert ('id="assessment-expired"' in page) == expired
    assert ("风险评估已过期" in page) == expired


def test_the_full_phone_number_is_an_explicit_audited_action(
    planned: Any, manager: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    phone = stored(planned, MATURED_CUSTOMER).phone
    page = html(manager.get(f"/console/customers/{MATURED_CUSTOMER}"))
    assert phone not in page and 'id="reveal-phone"' in page
    path = f"/console/customers/{MATURED_CUSTOMER}/phone"
    assert manager.post(path, data={}).status_code == 400  # no CSRF token: nothing shown
    assert phone not in html(manager.get(f"/console/customers/{MATURED_CUSTOMER}"))
    done = manager.post(path, data={"csrf_token": csrf_from(page)})
    assert done.status_code == 303
    shown = html(manager.get(done.location))
    assert f'<strong class="full-phone">{phone}</strong>' in shown
    audits = stored_rows(
        planned, select(AuditLogRow).where(AuditLogRow.customer_id == MATURED_CUSTOMER)
    )
    reveals = [a for a in audits if a.payload.get("endpoint") == "reveal_phone"]
    assert len(reveals) == 1 and reveals[0].staff_id == "M310"
    assert phone not in str(reveals[0].payload)
    assert all(phone not in record.getMessage() and phone not in str(record.__dict__)
               for record in caplog.records)  # fmt: skip
    other = manager.post(
        f"/console/customers/{OTHER_BOOK_CUSTOMER}/phone", data={"csrf_token": csrf_from(page)}
    )
    assert other.status_code == 404
