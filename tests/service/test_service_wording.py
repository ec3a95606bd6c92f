"""Every pitch the service says passes the wording rules, fits a breath in Chinese, and names the
customer by surname only."""

from __future__ import annotations

import pytest
from apptesting import ServiceEnv
from flask.testing import FlaskClient

from recsvc.catalog.wording import find_banned_wording

ZH_MAX_CHARS = 60
SAMPLE = 40


@pytest.fixture(scope="module")
def named_customers(customers: list[dict[str, str]]) -> list[dict[str, str]]:
    rows = [
        c
        for c in customers
        if c["consent_marketing"] == "1" and c["open_complaint"] == "0" and len(c["name"]) >= 2
    ]
    return rows[:: max(1, len(rows) // SAMPLE)][:SAMPLE]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_pitches_are_clean_short_and_never_use_the_full_name(
    module_env: ServiceEnv,
    module_client: FlaskClient,
    named_customers: list[dict[str, str]],
    locale: str,
) -> None:
    teller = module_env.headers("teller")
    said = 0
    for row in named_customers:
        for path, body in (
            ("/v1/pitch", {"customer_id": row["customer_id"], "locale": locale}),
            (
                "/v1/recommendations",
                {"customer_id": row["customer_id"], "channel": "teller", "locale": locale},
            ),
        ):
            reply = module_client.post(path, json=body, headers=teller)
            assert reply.status_code == 200, reply.get_json()
            pitch = reply.get_json()["pitch"]
            if pitch is None:
                continue
            said += 1
            text = pitch["text"]
            assert find_banned_wording(text, locale) == [], text
            if locale == "zh-CN":
                assert len(text) <= ZH_MAX_CHARS, text
            assert row["name"] not in text, text
            assert row["name"][1:] not in text, text  # the given name
    assert said >= len(named_customers), "too few pitches to say anything"
