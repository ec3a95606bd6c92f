"""GET /v1/experiment and PUT /v1/experiment: the split of customers over the arms (issue 12)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from recsvc.api.auth import requires
from recsvc.api.context import request_id
from recsvc.api.extensions import extensions
from recsvc.api.recommend import caller
from recsvc.api.wire import Blueprint
from recsvc.service.experiment import ARMS, CHAMPION
from recsvc.service.experiments import NOTE_LIMIT

blp = Blueprint("experiment", __name__, url_prefix="/v1", description="Experiment arms")


class ExperimentIn(Schema):
    class Meta:
        unknown = RAISE

    split = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={
            "description": f"percent of customers per arm ({', '.join(ARMS)}), whole numbers "
            "summing to 100; arms left out get 0",
            "example": {"champion": 80, "challenger": 10, "rules": 5, "holdout": 5},
        },
    )
    note = fields.String(load_default="", validate=validate.Length(max=NOTE_LIMIT))


class ExperimentOut(Schema):
    experiment_id = fields.String(
        allow_none=True, metadata={"description": "null: no experiment set, everyone champion"}
    )
    split = fields.Dict(keys=fields.String(), values=fields.Integer())
    salt = fields.String(
        allow_none=True,
        metadata={"description": "assignment: sha256(salt 0x1f customer_id), see README"},
    )
    created_at = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


def _none() -> dict[str, Any]:
    split = {arm: 100 if arm == CHAMPION else 0 for arm in ARMS}
    return {"experiment_id": None, "split": split, "salt": None, "created_at": None,
            "created_by": None, "note": None}  # fmt: skip


@blp.route("/experiment")
@blp.response(200, ExperimentOut)
@requires("data_scientist", "admin", "compliance")
def get_experiment() -> dict[str, Any]:
    """The experiment in force (as every worker sees it within about a second)."""
    experiment = extensions().service.experiments.current()
    return _none() if experiment is None else experiment.to_dict()


@blp.route("/experiment", methods=["PUT"])
@blp.arguments(ExperimentIn())
@blp.response(200, ExperimentOut)
@requires("data_scientist", "admin")
def put_experiment(body: dict[str, Any]) -> dict[str, Any]:
    """Start a new experiment with this split (a new id and salt); audited."""
    experiment = extensions().service.experiments.set_split(
        body["split"], caller=caller(), request_id=request_id(), note=body["note"]
    )
    return experiment.to_dict()
