"""Reading request bodies defensively: whatever a client sends is a 4xx, never a 500.

- JSON is read by the standard library with two guards: a numeral longer than MAX_NUMERAL_DIGITS
  becomes a float (inf past ~308 digits), which every numeric field then rejects by its range,
  naming the field (Python refuses to turn more than 4,300 digits into an int, with a ValueError
  that is not a JSON error); nesting deep enough to exhaust the parser's recursion is a 400.
- A lone UTF-16 surrogate (`"\\ud800"`) is legal JSON but not text: it cannot be stored, logged or
  written back out. It is a 422 naming the field it was sent in.
- A chunked body (no Content-Length) is read here up to the size limit + 1 byte and handed on
  with its length, so an oversized one is 413 like any other (werkzeug's stream would silently
  cut it at the limit, and the truncated JSON would be a 400).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import flask
import flask_smorest
import marshmallow as ma
from flask import Flask
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

MAX_NUMERAL_DIGITS = 100
MAX_DEPTH = 64
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
SURROGATE_MESSAGE = "contains a lone UTF-16 surrogate; send valid Unicode text"


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= MAX_NUMERAL_DIGITS else float(text)


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _children(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (f"{path}.{key}" if path else str(key)), inner
            if isinstance(key, str) and has_lone_surrogate(key):
                yield (path or "_body"), key
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (f"{path}.{index}" if path else str(index)), inner


def surrogate_field(document: Any) -> str | None:
    """The dotted path of the first string holding a lone surrogate, else None (iterative)."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if has_lone_surrogate(value):
                return path or "_body"
        else:
            stack.extend(_children(value, path))
    return None


def _depth_exceeds(document: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            inner = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in inner if isinstance(v, dict | list))
    return False


class BodyTooDeep(ValueError):
    """The JSON nests arrays/objects deeper than MAX_DEPTH."""


def read_json(data: bytes | str) -> Any:
    """Parse a request body; json.JSONDecodeError/UnicodeDecodeError for malformed text,
    BodyTooDeep for nesting past MAX_DEPTH (numerals as in the module docstring)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        document = json.loads(text, parse_int=_parse_int)  # floats: linear, saturate at inf
    except RecursionError:
        raise BodyTooDeep(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth_exceeds(document, MAX_DEPTH):
        raise BodyTooDeep(f"nested deeper than {MAX_DEPTH} levels")
    return document


class WireParser(FlaskParser):
    """webargs' Flask parser reading JSON through read_json (errors as in the module docstring)."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        try:
            document = read_json(data)
        except BodyTooDeep as exc:
            abort(400, exc=exc, messages={"json": {"_body": [str(exc)]}})
        if _MAYBE_SURROGATE.search(data):
            field = surrogate_field(document)
            if field is not None:
                raise ma.ValidationError({field: [SURROGATE_MESSAGE]})
        return document


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the defensive parser; every API blueprint uses it."""

    ARGUMENTS_PARSER = WireParser()


def dechunk(wsgi_app: Callable[..., Any], limit: Callable[[], int | None]) -> Callable[..., Any]:
    """WSGI middleware: a streamed body (no Content-Length, server-terminated input) is read up
    to limit() + 1 bytes and passed on with its length, so werkzeug's own check answers 413."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        maximum = limit()
        if (
            maximum is not None
            and not environ.get("CONTENT_LENGTH")
            and environ.get("wsgi.input_terminated")
            and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            stream = environ["wsgi.input"]
            body = bytearray()
            while len(body) <= maximum:
                chunk = stream.read(maximum + 1 - len(body))
                if not chunk:
                    break
                body.extend(chunk)
            environ["wsgi.input"] = io.BytesIO(bytes(body))
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # werkzeug ignores a length beside it
        return wsgi_app(environ, start_response)

    return app


def init_app(app: Flask) -> None:
    """Bound streamed bodies before the app sees them (see dechunk)."""
    app.wsgi_app = dechunk(app.wsgi_app, lambda: app.config.get("MAX_CONTENT_LENGTH"))  # type: ignore[method-assign]
