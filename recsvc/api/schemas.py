"""Wire schemas shared by every endpoint: the problem document."""

from __future__ import annotations

from marshmallow import Schema, fields


class ProblemSchema(Schema):
    """RFC 9457 problem details, plus the request id to quote and per-field errors."""

    type = fields.String(metadata={"description": "URI naming the kind of problem"})
    title = fields.String(metadata={"description": "Short summary of the kind of problem"})
    status = fields.Integer(metadata={"description": "HTTP status code"})
    detail = fields.String(metadata={"description": "What went wrong here; no customer data"})
    instance = fields.String(metadata={"description": "The request path"})
    request_id = fields.String(metadata={"description": "Quote this when reporting a problem"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages per field (dotted path), for 400/422"},
    )
