"""The answer's JSON-able form is exactly what dataclasses.asdict gives (one new field missed
by the hand-written form fails here)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from flask import Flask, jsonify
from hypothesis import given, settings
from hypothesis import strategies as st

from recsvc.api import jsonio
from recsvc.api.reco_schemas import PitchAnswerOut, RecommendationsAnswerOut
from recsvc.api.recommend import answer_response
from recsvc.service.answers import (
    Answer,
    ExcludedOut,
    NextActionOut,
    PitchOut,
    ReasonOut,
    RecommendationOut,
)
from recsvc.service.experiment import ARMS, Assignment

text = st.text(max_size=8)
maybe_text = st.none() | text
number = st.floats(allow_nan=False, allow_infinity=False)
reasons = st.lists(st.builds(ReasonOut, code=text, text=text), max_size=3)
actions = st.builds(NextActionOut, code=text, text=text)
recommendations = st.builds(
    RecommendationOut, product_id=text, name=text, family=text, risk_level=maybe_text,
    propensity=st.none() | number, expected_value=number, score=number, reasons=reasons,
    requires_dual_recording=st.booleans(),
)  # fmt: skip
excluded = st.builds(
    ExcludedOut, product_id=text, code=text, text=text, codes=st.lists(text, max_size=3)
)
pitches = st.builds(
    PitchOut, product_id=text, name=text, text=text, risk_notice=maybe_text,
    requires_dual_recording=st.booleans(), reasons=reasons, next_action=st.none() | actions,
)  # fmt: skip
answers = st.builds(
    Answer, request_id=text, model_version=maybe_text, model_hash=maybe_text,
    degraded=st.booleans(), as_of=st.dates(), recommendations=st.lists(recommendations, max_size=3),
    excluded=st.lists(excluded, max_size=4), pitch=st.none() | pitches,
    next_actions=st.lists(actions, max_size=2),
    experiment=st.none() | st.builds(Assignment, id=maybe_text, arm=st.sampled_from(ARMS),
                                     served=st.sampled_from(ARMS), fallback=maybe_text),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(answer=answers)
def test_as_dict_is_asdict_with_an_iso_date(answer: Answer) -> None:
    expected = dataclasses.asdict(answer)
    expected["as_of"] = answer.as_of.isoformat()
    got = answer.to_dict()
    assert got == expected
    assert list(got) == list(expected)  # field order kept (the audit stores it as written)
    if answer.pitch is not None:
        assert list(got["pitch"]) == list(expected["pitch"])


def test_as_dict_lists_are_fresh() -> None:
    codes = ["A"]
    answer = Answer(
        "r", None, None, True, dt.date(2026, 12, 1), [], [ExcludedOut("p", "A", "t", codes)], None
    )
    answer.to_dict()["excluded"][0]["codes"].append("B")
    assert codes == ["A"]


WIRE_APP = Flask(__name__)
jsonio.init_app(WIRE_APP)


@settings(max_examples=300, deadline=None)
@given(answer=answers)
def test_the_answer_is_written_once_as_the_schemas_would_dump_it(answer: Answer) -> None:
    """The views send the dataclasses' form cut to the schema's fields instead of a second
    marshmallow dump: the bytes are the same for both answer schemas."""
    with WIRE_APP.app_context():
        for schema in (PitchAnswerOut, RecommendationsAnswerOut):
            dumped = jsonify(schema().dump(answer.to_dict())).get_data()
            assert answer_response(answer, schema).get_data() == dumped
