"""The data scientist's what-if page (issue 13): an uploaded overlay's report, read-only; a bad
overlay shown under the field, field by field; an illegal loosening refused naming the rule;
both languages; CSRF and roles as on every console page."""

from __future__ import annotations

import io
from typing import Any

import pytest
from console_support import csrf_from, sign_in
from flask.testing import FlaskClient
from sqlalchemy import func, select

from recsvc.store import make_engine
from recsvc.store.tables import AuditLogRow, FeedbackRow, PitchLogRow

DOUBLE_CARD = b"service:\n  arbitration:\n    product_weights: {credit_card: 2.0}\n"


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def counts(env: Any) -> dict[str, int]:
    engine = make_engine(env.settings.database_url)
    with engine.connect() as conn:
        found = {
            t.__tablename__: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (AuditLogRow, PitchLogRow, FeedbackRow)
        }
    engine.dispose()
    return found


@pytest.fixture
def scientist(env: Any, service_client: FlaskClient) -> FlaskClient:
    sign_in(service_client, env.key("data_scientist", staff_id="DS7"))
    return service_client


def run(client: FlaskClient, overlay: bytes | None, *, lang: str = "", **form: str) -> Any:
    token = csrf_from(html(client.get(f"/console/what-if{lang}")))
    data: dict[str, Any] = {"csrf_token": token, "sample": "300", "seed": "1", **form}
    if overlay is not None:
        data["overlay"] = (io.BytesIO(overlay), "overlay.yaml")
    return client.post("/console/what-if", data=data, content_type="multipart/form-data")


def test_an_uploaded_overlay_shows_before_and_after_and_writes_nothing(
    env: Any, scientist: FlaskClient
) -> None:
    page = html(scientist.get("/console/models"))
    assert 'href="/console/what-if"' in page  # reachable from the data scientist's pages
    before = counts(env)
    response = run(scientist, DOUBLE_CARD)
    assert response.status_code == 200
    page = html(response)
    assert 'id="whatif-report"' in page and "300 位存量客户" in page
    card = page.split('data-product="credit_card"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in card.split('<td class="num">')[1:]]
    assert int(cells[1]) > int(cells[0]) and cells[2].startswith("+")
    assert 'data-metric="expected_value_per_customer"' in page
    assert 'id="examples"' in page and 'id="exclusions"' in page
    assert counts(env) == before  # nothing pitched, audited or recorded


def test_the_page_speaks_english_too(scientist: FlaskClient) -> None:
    page = html(run(scientist, DOUBLE_CARD, lang="?lang=en"))
    assert "300 stored customers" in page and "Product mix of pitches" in page
    assert "Customers whose pitch changed" in page


@pytest.mark.parametrize(
    ("overlay", "field"),
    [(b"rules: {assessment: {validity_dayz: 300}}", "rules.assessment.validity_dayz"),
     (b"service: {arbitration: {product_weights: {credit_card: two}}}",
      "service.arbitration.product_weights.credit_card"),
     (b"catalogue: {platinum_card: {channels: [teller]}}", "catalogue.platinum_card")],
)  # fmt: skip
def test_a_bad_overlay_is_shown_under_the_field_naming_each_bad_field(
    scientist: FlaskClient, overlay: bytes, field: str
) -> None:
    response = run(scientist, overlay)
    assert response.status_code == 422
    page = html(response)
    assert 'id="overlay-error"' in page and 'aria-invalid="true"' in page
    assert f'data-field="{field}"' in page and "变更文件有误" in page
    assert 'id="whatif-report"' not in page


def test_an_illegal_loosening_is_refused_naming_the_rule(scientist: FlaskClient) -> None:
    response = run(scientist, b"rules:\n  age:\n    elderly: [{from_age: 70, max_risk: R5}]\n",
                   lang="?lang=en")  # fmt: skip
    assert response.status_code == 422
    page = html(response)
    assert 'id="refused"' in page and "loosens a suitability rule the law sets" in page
    assert '<code class="rule">AGE_ELDERLY</code>' in page
    assert 'data-field="rules.age.elderly"' in page and "from age 65" in page
    assert 'id="whatif-report"' not in page


def test_what_was_typed_is_escaped(scientist: FlaskClient) -> None:
    page = html(run(scientist, b"rules: {'<script>alert(1)</script>': 1}"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("overlay", "form", "field"),
    [(None, {}, "overlay"),
     (b"\xff\xfe not utf-8", {}, "overlay"),
     (b"x" * (32 * 1024 + 1), {}, "overlay"),
     (DOUBLE_CARD, {"sample": "0"}, "sample"),
     (DOUBLE_CARD, {"sample": "20001"}, "sample"),
     (DOUBLE_CARD, {"seed": "-1"}, "seed"),
     (DOUBLE_CARD, {"sample": "١٠"}, "sample")],
)  # fmt: skip
def test_a_missing_file_or_a_number_out_of_range_is_shown_under_its_field(
    scientist: FlaskClient, overlay: bytes | None, form: dict[str, str], field: str
) -> None:
    response = run(scientist, overlay, **form)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html(response)


def test_a_form_without_the_session_token_is_refused(scientist: FlaskClient) -> None:
    response = scientist.post(
        "/console/what-if",
        data={"sample": "10", "seed": "0", "overlay": (io.BytesIO(DOUBLE_CARD), "o.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["teller", "manager", "compliance"])
def test_other_roles_may_not_open_the_page(
    env: Any, service_client: FlaskClient, role: str
) -> None:
    sign_in(service_client, env.key(role, staff_id="S9", manager_id="M000011001"))
    assert service_client.get("/console/what-if").status_code == 403


def test_signed_out_is_sent_to_sign_in(service_client: FlaskClient) -> None:
    response = service_client.get("/console/what-if")
    assert response.status_code == 302 and "/console/signin" in response.headers["Location"]
