"""Responses written by orjson are the documents Flask's own provider would write."""

from __future__ import annotations

import datetime as dt
import json

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from recsvc.api.jsonio import OrjsonProvider


def test_same_documents_as_flasks_provider(app: Flask) -> None:
    ours, flasks = OrjsonProvider(app), DefaultJSONProvider(app)
    doc = {"b": [1, 2.5, None, True], "a": {"文本": "理财非存款，产品有风险", "z": 0, "y": -1e-7},
           "when": dt.date(2026, 12, 1)}  # fmt: skip
    assert json.loads(ours.dumps(doc)) == json.loads(flasks.dumps(doc))
    assert ours.dumps({"b": 1, "a": 2}) == '{"a":2,"b":1}'  # keys sorted, as Flask sorts them


def test_what_orjson_cannot_write_goes_through_flasks_provider(app: Flask) -> None:
    ours = OrjsonProvider(app)
    assert json.loads(ours.dumps({"n": 10**40})) == {"n": 10**40}
    assert ours.dumps({"a": 1}, indent=2) == DefaultJSONProvider(app).dumps({"a": 1}, indent=2)
    assert isinstance(app.json, OrjsonProvider)
