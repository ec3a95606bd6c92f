"""POST /v1/pitch (teller), POST /v1/recommendations, POST /v1/feedback."""

from __future__ import annotations

import functools
from typing import Any

from flask import Response, jsonify
from marshmallow import Schema

from recsvc.api.auth import current_principal, requires
from recsvc.api.context import request_id
from recsvc.api.extensions import extensions
from recsvc.api.reco_schemas import (
    FeedbackIn,
    FeedbackOut,
    PitchAnswerOut,
    PitchIn,
    RecommendationsAnswerOut,
    RecommendationsIn,
)
from recsvc.api.wire import Blueprint
from recsvc.customers.profile import Transaction
from recsvc.service.answers import Answer, Caller, RecommendRequest

blp = Blueprint("recommend", __name__, url_prefix="/v1", description="Suggestions and pitches")


def caller() -> Caller:
    """The authenticated caller (views are behind @requires, so there is one)."""
    p = current_principal()
    assert p is not None
    return Caller(role=p.role, staff_id=p.staff_id, branch_id=p.branch_id, manager_id=p.manager_id)


def transaction(data: dict[str, Any] | None) -> Transaction | None:
    return None if data is None else Transaction(**data)


@functools.cache
def _top_fields(schema: type[Schema]) -> tuple[str, ...]:
    return tuple(schema._declared_fields)


def answer_response(answer: Answer, schema: type[Schema]) -> Response:
    """The answer as `schema` documents it, written once: the service's own JSON form cut to
    the schema's top-level fields, not dumped a second time through marshmallow (flask-smorest
    passes a Response through). The nested shapes are the dataclasses' own; a test holds the
    bytes equal to the schema's dump."""
    body = answer.to_dict()
    return jsonify({name: body[name] for name in _top_fields(schema)})


@blp.route("/pitch", methods=["POST"])
@requires("teller", "manager")
@blp.arguments(PitchIn())  # an instance: webargs makes a new one per request from a class
@blp.response(200, PitchAnswerOut)
def pitch(body: dict[str, Any]) -> Response:
    """The teller's one product and one sentence for the customer at the counter, or null."""
    request = RecommendRequest(
        request_id=request_id(),
        caller=caller(),
        channel="teller",
        customer_id=body["customer_id"],
        transaction=transaction(body["transaction"]),
        limit=1,
        locale=body["locale"],
    )
    return answer_response(extensions().service.recommend(request, pitch_only=True), PitchAnswerOut)


@blp.route("/recommendations", methods=["POST"])
@requires("teller", "manager")
@blp.arguments(RecommendationsIn())
@blp.response(200, RecommendationsAnswerOut)
def recommendations(body: dict[str, Any]) -> Response:
    """Ranked suitable products with reasons, everything excluded with its rule, and a pitch.

    Reading is not pitching: nothing is logged against the daily cap. The channel is the
    caller's role's own unless the role may act for the one asked (else 403). An inline profile
    of a stored customer is answered with the store's regulated attributes; a prospect counts
    as unassessed, with no assets, income or holdings verified."""
    request = RecommendRequest(
        request_id=request_id(),
        caller=caller(),
        channel=body["channel"],
        customer_id=body["customer_id"],
        customer=body["customer"],
        transaction=transaction(body["transaction"]),
        limit=body["limit"],
        locale=body["locale"],
    )
    return answer_response(extensions().service.recommend(request), RecommendationsAnswerOut)


@blp.route("/feedback", methods=["POST"])
@requires("teller", "manager")
@blp.arguments(FeedbackIn())
@blp.response(201, FeedbackOut)
@blp.alt_response(200, schema=FeedbackOut, description="a repeat of recorded feedback")
def feedback(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The customer's answer to a pitch; idempotent on (request_id, product_id).

    Only the caller who got the answer, or the client manager of the customer's book, may give
    it; it is recorded under the caller's staff id (a different `staff_id` in the body is 403).
    An answer the customer heard (accepted, declined, not interested) logs the pitch for the
    daily cap: this is how a client manager records a contact."""
    created = extensions().service.record_feedback(caller=caller(), **body)
    return {**body, "created": created}, 201 if created else 200
