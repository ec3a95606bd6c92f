"""GET /v1/models, POST /v1/models/{version}/promote, POST /v1/models/rollback."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from recsvc.api.auth import requires
from recsvc.api.extensions import extensions
from recsvc.api.wire import Blueprint
from recsvc.service.models import ModelAdmin

blp = Blueprint("models", __name__, url_prefix="/v1", description="Published model versions")


class VersionOut(Schema):
    version = fields.String()
    created_at = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    aliases = fields.List(fields.String())
    metrics = fields.Dict()


class ModelsOut(Schema):
    champion = fields.String(allow_none=True)
    challenger = fields.String(allow_none=True)
    revision = fields.Integer()
    serving = fields.Dict(metadata={"description": "what this worker serves, and its last error"})
    versions = fields.List(fields.Nested(VersionOut))


class AliasesOut(Schema):
    champion = fields.String(allow_none=True)
    challenger = fields.String(allow_none=True)
    revision = fields.Integer()


def admin() -> ModelAdmin:
    runtime = extensions().services.runtime
    return ModelAdmin(runtime.registry_root, runtime=runtime)


@blp.route("/models")
@blp.response(200, ModelsOut)
@requires("data_scientist", "admin", "compliance")
def list_models() -> dict[str, Any]:
    """Versions with their metrics against baselines, champion and challenger."""
    return admin().overview()


@blp.route("/models/<string:version>/promote", methods=["POST"])
@blp.response(200, AliasesOut)
@requires("data_scientist", "admin")
def promote(version: str) -> dict[str, Any]:
    """Make a verified version champion; every worker follows within seconds."""
    return admin().promote(version)


@blp.route("/models/rollback", methods=["POST"])
@blp.response(200, AliasesOut)
@requires("data_scientist", "admin")
def rollback() -> dict[str, Any]:
    """Champion back to the previous champion."""
    return admin().rollback()
