"""Property-based API fuzzing from the app's own OpenAPI document: no 5xx, and every error is
problem+json. Each operation is called with a key of a role it admits."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import schemathesis
from apptesting import ServiceEnv
from flask import Flask
from hostile import body_with, hostile_json, leaf_paths, unicode_digit_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from service_support import PROBLEM_JSON

EXAMPLES_PER_OPERATION = 25


def role_for(operation: Any) -> str:
    roles = operation.definition.raw.get("x-roles") or ["admin"]
    return "admin" if "admin" in roles else roles[0]


def operations(app: Flask) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation of the document is usable
        found.append(result.ok())
    return found


def check(response: Any, label: str) -> None:
    status = response.status_code
    assert status < 500, (label, status, response.text[:500])
    if status >= 400:
        assert response.headers["content-type"][0].startswith(PROBLEM_JSON), (label, status)
        body = response.json()
        assert body["status"] == status and body["type"] and body["title"], (label, body)


def test_no_operation_answers_5xx_or_a_non_problem_error(
    module_env: ServiceEnv, module_app: Flask
) -> None:
    ops = operations(module_app)
    assert len(ops) >= 13, [op.label for op in ops]
    keys = {
        role: module_env.headers(role, manager_id="M000011001")
        for role in ("admin", "teller", "manager")
    }
    failures: list[str] = []
    for op in ops:
        headers = keys.get(role_for(op), keys["admin"])

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            check(case.call(headers=headers), op.label)  # noqa: B023

        try:
            run()
        except AssertionError as exc:
            failures.append(f"{op.label}: {exc}")
    assert failures == []


@pytest.mark.parametrize("status", [401, 404])
def test_the_check_itself_rejects_a_plain_json_error(status: int) -> None:
    class Plain:
        status_code = status
        headers: ClassVar[dict[str, list[str]]] = {"content-type": ["application/json"]}
        text = "{}"

        def json(self) -> dict[str, Any]:
            return {}

    with pytest.raises(AssertionError):
        check(Plain(), "fake")


HOSTILE_EXAMPLES_PER_OPERATION = 15


def test_hostile_values_in_generated_requests_are_4xx_problems(
    module_env: ServiceEnv, module_app: Flask
) -> None:
    """Schemathesis' cases with one leaf of the body (or one query value) replaced by a hostile
    value: a lone surrogate, a huge numeral, deep nesting, non-ASCII digits."""
    keys = {
        role: module_env.headers(role, manager_id="M000011001")
        for role in ("admin", "teller", "manager")
    }
    client = module_app.test_client()
    ops = [op for op in operations(module_app) if op.method.upper() in ("POST", "GET")]
    failures: list[str] = []
    for op in ops:
        headers = keys.get(role_for(op), keys["admin"])

        @settings(
            max_examples=HOSTILE_EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy(), data=st.data())
        def run(case: Any, data: st.DataObject) -> None:
            query = dict(case.query or {})
            body = case.body if isinstance(case.body, dict | list) else None
            paths = leaf_paths(body) if body is not None else []
            if paths and data.draw(st.booleans()):
                text = body_with(body, data.draw(st.sampled_from(paths)), data.draw(hostile_json()))
                sent = {"data": text.encode(), "content_type": "application/json"}
            else:
                if query:
                    name = data.draw(st.sampled_from(sorted(query)))
                    query[name] = data.draw(
                        st.one_of(unicode_digit_text("####-W##"), unicode_digit_text("C#"))
                    )
                sent = {} if body is None else {"json": body}
            response = client.open(
                case.formatted_path, method=case.method, query_string=query,
                headers=headers, **sent,  # noqa: B023
            )  # fmt: skip
            label = op.label  # noqa: B023
            assert response.status_code < 500, (label, response.get_data()[:300])
            if response.status_code >= 400:
                assert response.mimetype == PROBLEM_JSON, (label, response.status_code)

        try:
            run()
        except AssertionError as exc:
            failures.append(f"{op.label}: {exc}")
    assert failures == []
