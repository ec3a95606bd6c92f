"""The teller's screen (issue 9): focus, normalised ids, post/redirect/get, why there is no
pitch, errors under the field in the page's language, the language switch on the result page,
an ended session keeping the input, a mis-click corrected, and GET / to the console."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from console_support import csrf_from, page_token, sign_in
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from store_reference import corrections_of

from recsvc.api.extensions import extensions
from recsvc.security import revoke_key
from recsvc.service.desk import no_pitch_reason, normalise_customer_id
from recsvc.store import get_audit, make_engine
from recsvc.store.feedback_corrections import feedback_of

PLAIN_CUSTOMER = "C00000002"
NO_CONSENT_CUSTOMER = "C00000010"
COMPLAINT_CUSTOMER = "C00000664"
_RESULT = re.compile(r"/console/teller/pitch/([0-9a-f]{32})$")


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def ask(client: FlaskClient, customer_id: str, **form: str) -> Any:
    token = page_token(client, "/console/teller")
    data = {"customer_id": customer_id, "txn_type": "", "amount": "", **form, "csrf_token": token}
    return client.post("/console/teller/pitch", data=data)


def pitched(client: FlaskClient, customer_id: str) -> tuple[str, str]:
    """(request id, page) of a pitch asked through the form (post, then redirect, then get)."""
    response = ask(client, customer_id)
    assert response.status_code == 303, response.status_code
    match = _RESULT.search(response.location)
    assert match, response.location
    page = client.get(response.location)
    assert page.status_code == 200
    return match.group(1), html(page)


def answer(client: FlaskClient, page: str, outcome: str) -> Any:
    rid = page.split('name="request_id" value="')[1].split('"')[0]
    product_id = page.split('name="product_id" value="')[1].split('"')[0]
    form = {"request_id": rid, "product_id": product_id, "outcome": outcome}
    return client.post("/console/teller/feedback", data={**form, "csrf_token": csrf_from(page)})


def stored_outcome(env: Any, rid: str) -> tuple[str, list[tuple[str, str, str]]]:
    engine = make_engine(env.settings.database_url)
    with Session(engine) as session:
        (row,) = feedback_of(session, [rid])
        chain = corrections_of(session, row.id)
    engine.dispose()
    return row.outcome, chain


def test_the_customer_id_field_has_focus(env: Any, service_client: FlaskClient) -> None:
    sign_in(service_client, env.key("teller"))
    page = html(service_client.get("/console/teller"))
    field = page.split('id="customer_id"')[1].split(">")[0]
    assert "autofocus" in field


@pytest.mark.parametrize(
    ("typed", "stored"),
    [(" c0000 0002 ", "C00000002"), ("Ｃ００００００02", "C00000002"), ("c00000002\t", "C00000002"),
     ("C0000@02", None), ("   ", None)],
)  # fmt: skip
def test_customer_ids_are_normalised(typed: str, stored: str | None) -> None:
    assert normalise_customer_id(typed) == stored


def test_a_typed_id_in_lower_case_with_spaces_finds_the_customer(
    env: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, env.key("teller"))
    rid, page = pitched(service_client, "  c0000 0002 ")
    engine = make_engine(env.settings.database_url)
    with Session(engine) as session:
        audit = get_audit(session, rid)
    engine.dispose()
    assert audit is not None and audit.customer_id == PLAIN_CUSTOMER
    assert f'value="{PLAIN_CUSTOMER}"' in page and 'class="say"' in page


def test_post_redirect_get_for_the_pitch_and_for_the_answer(
    env: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, env.key("teller", staff_id="T610"))
    rid, page = pitched(service_client, PLAIN_CUSTOMER)
    recorded = answer(service_client, page, "declined")
    assert recorded.status_code == 303 and recorded.location.endswith(f"/teller/pitch/{rid}")
    again = service_client.get(recorded.location)  # what Back or reload shows: a plain GET
    assert again.status_code == 200 and "已记录客户反馈：拒绝" in html(again)
    assert 'id="recorded" data-outcome="declined"' in html(again)
    # a pitch page is its session's own: another teller's session cannot open it
    other = service_client.application.test_client()
    sign_in(other, env.key("teller", staff_id="T611"))
    assert other.get(f"/console/teller/pitch/{rid}").status_code == 404


@pytest.mark.parametrize(
    ("customer_id", "reason", "zh"),
    [(NO_CONSENT_CUSTOMER, "no_consent", "客户未同意营销"),
     (COMPLAINT_CUSTOMER, "open_complaint", "客户有未结投诉")],
)  # fmt: skip
def test_no_pitch_says_why_in_one_phrase(
    env: Any, service_client: FlaskClient, customer_id: str, reason: str, zh: str
) -> None:
    sign_in(service_client, env.key("teller"))
    _, page = pitched(service_client, customer_id)
    assert 'class="say"' not in page
    assert f'id="why" data-reason="{reason}">{zh}' in page


def test_no_pitch_after_a_decline_today_says_declined_today(
    env: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, env.key("teller"))
    _, page = pitched(service_client, PLAIN_CUSTOMER)
    answer(service_client, page, "declined")
    _, again = pitched(service_client, PLAIN_CUSTOMER)
    assert 'id="why" data-reason="declined_today">客户今天已拒绝' in again


@pytest.mark.parametrize(
    ("codes", "reason"),
    [([["NO_CONSENT", "AGE_MINOR"], ["NO_CONSENT"]], "no_consent"),
     ([["OPEN_COMPLAINT"], ["ALREADY_HELD"]], "open_complaint"),
     ([["RECENTLY_DECLINED"], ["DAILY_PITCH_LIMIT"]], "declined_today"),
     ([["DAILY_PITCH_LIMIT"], ["ALREADY_HELD"]], "offered_today"),
     ([["ALREADY_HELD"], ["RISK_ABOVE_CUSTOMER_LEVEL"], ["RECENTLY_DECLINED"]], "nothing_suitable"),
     ([], "nothing_suitable")],
)  # fmt: skip
def test_the_reason_comes_from_the_exclusion_codes(codes: list[list[str]], reason: str) -> None:
    excluded = [{"product_id": f"p{i}", "code": c[0], "codes": c} for i, c in enumerate(codes)]
    assert no_pitch_reason(excluded) == reason


@pytest.mark.parametrize(
    ("lang", "typed", "status", "message"),
    [("zh-CN", "C0000@02", 422, "客户号格式不对"), ("en", "C0000@02", 422, "Not a customer ID"),
     ("zh-CN", "c9999 9999", 404, "没有这个客户号的客户"),
     ("en", "c9999 9999", 404, "No customer with this ID")],
)  # fmt: skip
def test_errors_show_under_the_field_in_the_page_language_with_the_input_kept(
    env: Any, service_client: FlaskClient, lang: str, typed: str, status: int, message: str
) -> None:
    sign_in(service_client, env.key("teller"))
    service_client.get(f"/console/teller?lang={lang}")
    response = ask(service_client, typed, txn_type="cash_deposit", amount="5000")
    page = html(response)
    assert response.status_code == status and response.content_type.startswith("text/html")
    field = page.split('id="customer_id"')[1]
    assert f'value="{typed.replace("@", "@")}"' in field.split(">")[0]
    assert 'aria-invalid="true"' in field.split(">")[0]
    assert f'<p class="field-error" id="customer_id-error" role="alert">{message}' in page
    assert 'value="cash_deposit" selected' in page and 'value="5000"' in page


def test_a_bad_amount_is_shown_under_the_amount(env: Any, service_client: FlaskClient) -> None:
    sign_in(service_client, env.key("teller"))
    response = ask(service_client, PLAIN_CUSTOMER, txn_type="cash_deposit", amount="12abc")
    page = html(response)
    assert response.status_code == 422
    assert 'id="amount-error" role="alert">金额须为' in page and 'value="12abc"' in page


def test_the_language_switch_works_on_the_result_page(
    env: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, env.key("teller"))
    rid, page = pitched(service_client, PLAIN_CUSTOMER)
    link = page.split('class="lang" href="')[1].split('"')[0]
    assert link == "?lang=en"
    english = service_client.get(f"/console/teller/pitch/{rid}{link}")
    assert english.status_code == 200 and "Say to the customer" in html(english)
    # the form's own address answers a GET too (an old tab's language link): no 405
    old = service_client.get("/console/teller/pitch?lang=zh-CN")
    assert old.status_code == 302 and old.location.endswith("/console/teller")


def test_a_revoked_key_says_the_session_ended_and_keeps_the_input(
    env: Any, service_client: FlaskClient
) -> None:
    key = env.key("teller", staff_id="T620")
    sign_in(service_client, key)
    token = page_token(service_client, "/console/teller")
    engine = make_engine(env.settings.database_url)
    with Session(engine) as session:
        assert revoke_key(session, key.split("_")[1])
        session.commit()
    engine.dispose()
    form = {"customer_id": "c0000 0002", "txn_type": "cash_deposit", "amount": "5000"}
    response = service_client.post("/console/teller/pitch", data={**form, "csrf_token": token})
    assert response.status_code == 303 and response.location.endswith("/console/signin")
    signin = html(service_client.get(response.location))
    assert 'id="session-ended"' in signin and "密钥已吊销" in signin
    page = sign_in(service_client, env.key("teller", staff_id="T620"))
    assert 'value="c0000 0002"' in page and 'value="cash_deposit" selected' in page


def test_a_timed_out_session_says_so_and_keeps_the_input(
    env: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, env.key("teller"))
    token = page_token(service_client, "/console/teller")
    service_client.delete_cookie("recsvc_console")  # what the browser does once it expires
    response = service_client.post(
        "/console/teller/pitch", data={"customer_id": PLAIN_CUSTOMER, "csrf_token": token}
    )
    assert response.status_code == 303 and response.location.endswith("/console/signin")
    signin = html(service_client.get(response.location))
    assert 'id="session-ended"' in signin and "超时" in signin
    page = sign_in(service_client, env.key("teller"))
    assert f'value="{PLAIN_CUSTOMER}"' in page


def test_the_same_teller_corrects_a_mis_click_and_the_original_is_kept(
    env: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, env.key("teller", staff_id="T630"))
    rid, page = pitched(service_client, PLAIN_CUSTOMER)
    answer(service_client, page, "declined")
    shown = html(service_client.get(f"/console/teller/pitch/{rid}"))
    assert "分钟内可由您本人更正" in shown and 'data-outcome="accepted"' in shown
    fixed = service_client.get(answer(service_client, shown, "accepted").location)
    assert "已更正客户反馈（原为拒绝）：接受" in html(fixed)
    assert stored_outcome(env, rid) == ("accepted", [("declined", "accepted", "T630")])


def test_a_correction_after_the_window_is_refused_and_changes_nothing(
    env: Any, service_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(service_client, env.key("teller", staff_id="T640"))
    rid, page = pitched(service_client, PLAIN_CUSTOMER)
    answer(service_client, page, "declined")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    monkeypatch.setattr(extensions(service_client.application).service, "clock", lambda: later)
    shown = html(service_client.get(f"/console/teller/pitch/{rid}"))
    assert 'data-outcome="accepted"' not in shown  # no buttons once it is too late
    refused = service_client.get(answer(service_client, page, "accepted").location)
    assert "不能再更正" in html(refused)
    assert stored_outcome(env, rid) == ("declined", [])


def test_root_sends_a_browser_to_the_console(service_client: FlaskClient) -> None:
    response = service_client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 302 and response.location.endswith("/console/")
    assert service_client.get(response.location).location.endswith("/console/signin")


@pytest.mark.parametrize(("path", "status"), [("/console/plan/contact", 405),
                                              ("/console/no-such-page", 404)])  # fmt: skip
def test_console_addresses_that_do_not_fit_get_a_page_not_json(
    env: Any, service_client: FlaskClient, path: str, status: int
) -> None:
    sign_in(service_client, env.key("teller"))
    service_client.get("/console/teller?lang=en")
    response = service_client.get(path)
    assert response.status_code == status and response.content_type.startswith("text/html")
    assert "Not found." in html(response)
    api = service_client.get("/v1/no-such-thing")
    assert api.status_code == 404 and api.content_type == "application/problem+json"
