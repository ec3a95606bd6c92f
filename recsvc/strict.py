"""The one strict marshmallow base: every configuration file and request body refuses unknown
keys (a typo is an error naming the key, never a silently ignored setting)."""

from __future__ import annotations

from marshmallow import RAISE, Schema


class Strict(Schema):
    class Meta:
        unknown = RAISE
