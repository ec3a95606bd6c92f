"""The branch console through Flask's test client: sign-in, CSRF, roles, the key kept secret."""

from __future__ import annotations

from typing import Any

import pytest
from console_support import MANAGER, csrf_from, page_token, sign_in
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from recsvc.security import revoke_key
from recsvc.store import get_customer, make_engine

DUAL_CUSTOMER, PLAIN_CUSTOMER = "C00000001", "C00000002"
BOOK_CUSTOMER, OTHER_BOOK_CUSTOMER = "C00000099", "C00000002"


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_sign_in_sets_a_hardened_session_cookie_without_the_key(
    env: Any, service_client: FlaskClient
) -> None:
    key = env.key("teller", staff_id="T100")
    page = sign_in(service_client, key)
    assert "柜面营销" in page and "T100" in page
    cookie = service_client.get_cookie("recsvc_console")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    key_id, secret = key.split("_")[1], key.split("_", 2)[2]
    assert secret not in cookie.value and key not in cookie.value
    assert key_id  # the session holds the key id only (signed, not encrypted): never the secret


def test_a_bad_key_is_refused_and_not_echoed(service_client: FlaskClient) -> None:
    token = page_token(service_client, "/console/signin")
    bad = "rk_0123456789abcdef_" + "x" * 40
    response = service_client.post("/console/signin", data={"api_key": bad, "csrf_token": token})
    assert response.status_code == 401
    assert bad not in html(response) and "密钥无效" in html(response)
    assert service_client.get("/console/teller").status_code == 302


def test_sign_in_without_the_csrf_token_is_rejected(env: Any, service_client: FlaskClient) -> None:
    service_client.get("/console/signin")
    response = service_client.post("/console/signin", data={"api_key": env.key("teller")})
    assert response.status_code == 400 and "表单已过期" in html(response)
    assert service_client.get("/console/teller").status_code == 302


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/console/teller/pitch", {"customer_id": PLAIN_CUSTOMER}),
        ("/console/teller/feedback", {"request_id": "r" * 32, "product_id": "credit_card",
                                      "outcome": "accepted"}),
        ("/console/signout", {}),
    ],
)  # fmt: skip
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_posts_with_a_missing_or_wrong_token_are_rejected(
    env: Any, service_client: FlaskClient, path: str, data: dict[str, str], token: str | None
) -> None:
    sign_in(service_client, env.key("teller"))
    form = dict(data) if token is None else {**data, "csrf_token": token}
    response = service_client.post(path, data=form)
    assert response.status_code == 400
    assert service_client.get("/console/teller").status_code == 200  # still signed in


def test_the_token_of_another_session_is_rejected(env: Any, service_app: Any) -> None:
    first, second = service_app.test_client(), service_app.test_client()
    sign_in(first, env.key("teller"))
    sign_in(second, env.key("teller"))
    foreign = page_token(first, "/console/teller")
    response = second.post(
        "/console/teller/pitch", data={"customer_id": PLAIN_CUSTOMER, "csrf_token": foreign}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("teller", "/console/teller", 200),
        ("teller", "/console/models", 403),
        ("teller", "/console/plan", 403),
        ("teller", "/console/models/rollback", 403),
        ("manager", "/console/models", 403),
        ("data_scientist", "/console/models", 200),
        ("data_scientist", "/console/teller", 403),
        ("data_scientist", "/console/plan", 403),
        ("compliance", "/console/models", 200),
        ("compliance", "/console/models/rollback", 403),
    ],
)
def test_roles_open_only_their_pages(
    env: Any, service_client: FlaskClient, role: str, path: str, status: int
) -> None:
    sign_in(service_client, env.key(role, manager_id=MANAGER if role == "manager" else None))
    response = service_client.get(path)
    assert response.status_code == status
    if status == 403:
        assert "无权访问" in html(response)


def test_pages_need_a_session(service_client: FlaskClient) -> None:
    for path in ("/console/teller", "/console/plan", "/console/models", "/console/"):
        response = service_client.get(path)
        assert response.status_code == 302 and response.location.endswith("/console/signin")


def test_sign_out_ends_the_session(env: Any, service_client: FlaskClient) -> None:
    sign_in(service_client, env.key("teller"))
    token = page_token(service_client, "/console/teller")
    assert service_client.post("/console/signout", data={"csrf_token": token}).status_code == 303
    assert service_client.get("/console/teller").status_code == 302


def test_a_revoked_key_ends_its_session(env: Any, service_client: FlaskClient) -> None:
    key = env.key("teller")
    sign_in(service_client, key)
    engine = make_engine(env.settings.database_url)
    with Session(engine) as session:
        assert revoke_key(session, key.split("_")[1])
    engine.dispose()
    assert service_client.get("/console/teller").status_code == 302


def test_the_teller_gets_a_pitch_with_dual_recording_and_records_the_answer(
    env: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, env.key("teller", staff_id="T200"))
    token = page_token(service_client, "/console/teller")
    # no transaction: the model's own first choice for this customer needs dual recording
    form = {"customer_id": DUAL_CUSTOMER, "txn_type": "", "amount": ""}
    response = service_client.post(
        "/console/teller/pitch", data={**form, "csrf_token": token}, follow_redirects=True
    )
    page = html(response)
    assert response.status_code == 200
    assert 'class="say"' in page and "须双录" in page and "风险提示" in page
    assert all(f"outcome_{o}" not in page for o in ("accepted",))  # labels, not keys
    for label in ("接受", "拒绝", "不感兴趣", "未回应"):
        assert f">{label}</button>" in page
    request_id = page.split('name="request_id" value="')[1].split('"')[0]
    product_id = page.split('name="product_id" value="')[1].split('"')[0]
    answer = {"request_id": request_id, "product_id": product_id, "outcome": "declined"}
    first = service_client.post(
        "/console/teller/feedback", data={**answer, "csrf_token": csrf_from(page)},
        follow_redirects=True,
    )  # fmt: skip
    assert "已记录客户反馈：拒绝" in html(first)
    again = service_client.post(
        "/console/teller/feedback", data={**answer, "csrf_token": csrf_from(page)},
        follow_redirects=True,
    )  # fmt: skip
    assert "此前已记录" in html(again)


def test_a_pitch_without_dual_recording_shows_no_alert(
    env: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, env.key("teller"))
    token = page_token(service_client, "/console/teller")
    response = service_client.post(
        "/console/teller/pitch",
        data={"customer_id": PLAIN_CUSTOMER, "csrf_token": token},
        follow_redirects=True,
    )
    assert response.status_code == 200 and 'class="say"' in html(response)
    assert "须双录" not in html(response)


def test_an_unknown_customer_is_an_html_404(env: Any, service_client: FlaskClient) -> None:
    sign_in(service_client, env.key("teller"))
    token = page_token(service_client, "/console/teller")
    response = service_client.post(
        "/console/teller/pitch", data={"customer_id": "C99999999", "csrf_token": token}
    )
    assert response.status_code == 404 and response.content_type.startswith("text/html")


def test_the_manager_sees_the_plan_and_a_masked_customer(
    planned: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, planned.key("manager", manager_id=MANAGER))
    plan = html(service_client.get("/console/plan"))
    assert 'table class="sortable"' in plan
    first = plan.split('href="/console/customers/')[1].split('"')[0]
    response = service_client.get(f"/console/customers/{first}")
    page = html(response)
    assert response.status_code == 200
    assert "<svg" in page or "没有带到期日" in page
    assert 'id="excluded"' in page and "推荐产品" in page
    engine = make_engine(planned.settings.database_url)
    with Session(engine) as session:
        customer = get_customer(session, first)
    engine.dispose()
    assert customer is not None
    for secret in (customer.name, customer.phone, customer.id_number):
        assert not secret or secret not in page


def test_the_timeline_is_drawn_for_a_customer_with_maturities(
    planned: Any, service_client: FlaskClient
) -> None:
    sign_in(service_client, planned.key("manager", manager_id=MANAGER))
    engine = make_engine(planned.settings.database_url)
    with Session(engine) as session:
        customer = get_customer(session, BOOK_CUSTOMER)
    engine.dispose()
    assert customer is not None
    page = html(service_client.get(f"/console/customers/{BOOK_CUSTOMER}"))
    bars = page.count('class="bar')
    assert bars >= 2
    assert bars == sum(1 for h in customer.holdings if h.maturity_date is not None)


def test_a_manager_cannot_open_another_book(planned: Any, service_client: FlaskClient) -> None:
    sign_in(service_client, planned.key("manager", manager_id=MANAGER))
    response = service_client.get(f"/console/customers/{OTHER_BOOK_CUSTOMER}")
    assert response.status_code == 404


def test_promote_needs_confirmation_then_rollback(env: Any, service_client: FlaskClient) -> None:
    challenger = env.registry.publish(env.model_dir, note="challenger")
    champion = env.registry.alias_state().champion
    sign_in(service_client, env.key("data_scientist"))
    page = html(service_client.get("/console/models"))
    assert challenger in page and "map@7" in page and "popularity" in page
    confirm = service_client.get(f"/console/models/{challenger}/promote")
    assert confirm.status_code == 200 and env.registry.alias_state().champion == champion
    done = service_client.post(
        f"/console/models/{challenger}/promote",
        data={"csrf_token": csrf_from(html(confirm))},
        follow_redirects=True,
    )
    assert env.registry.alias_state().champion == challenger
    assert f"已设为冠军：{challenger}" in html(done)
    confirm = service_client.get("/console/models/rollback")
    service_client.post("/console/models/rollback", data={"csrf_token": csrf_from(html(confirm))})
    assert env.registry.alias_state().champion == champion


def test_english_is_remembered_in_the_session(env: Any, service_client: FlaskClient) -> None:
    sign_in(service_client, env.key("teller"))
    assert "Get the pitch" in html(service_client.get("/console/teller?lang=en"))
    assert "Get the pitch" in html(service_client.get("/console/teller"))
    assert "获取一句话营销" in html(service_client.get("/console/teller?lang=zh-CN"))


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        ("teller", ["/console/teller"]),
        ("manager", ["/console/plan", f"/console/customers/{BOOK_CUSTOMER}", "/console/teller"]),
        ("data_scientist", ["/console/models", "/console/models/rollback"]),
    ],
)
def test_the_key_never_appears_in_any_page_or_header(
    planned: Any, service_client: FlaskClient, role: str, paths: list[str]
) -> None:
    key = planned.key(role, manager_id=MANAGER if role == "manager" else None)
    secret = key.split("_", 2)[2]
    seen = [sign_in(service_client, key)]
    for path in paths:
        for lang in ("zh-CN", "en"):
            response = service_client.get(f"{path}?lang={lang}")
            # one champion, nothing to roll back to: the rollback page is a 409 page then
            assert response.status_code == (409 if path.endswith("rollback") else 200), path
            seen.append(html(response))
            seen.extend(f"{k}: {v}" for k, v in response.headers.items())
    assert all(secret not in text and key not in text for text in seen)
