"""The one place errors become RFC 9457 problem+json responses, whatever raised them."""

from __future__ import annotations

import http
import logging
from typing import Any

from flask import Flask, Response, current_app, json, request
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from recsvc.api.context import request_id
from recsvc.service.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unavailable,
)
from recsvc.store.errors import error_fields, unusable_reason

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:recsvc:problem:"
DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unavailable: 503,
    Invalid: 422,
}
_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}
_DETAILS = {
    400: "The request could not be read; check that the body is valid JSON.",
    401: "A valid API key is required: send `Authorization: Bearer <key>`.",
    403: "Your role may not use this operation.",
    404: "There is nothing at this path.",
    405: "This path does not accept this method.",
    413: "The request body is larger than this service accepts.",
    422: "The request is well-formed but some fields are invalid; see `errors`.",
    429: "Too many requests for this API key; retry after `Retry-After` seconds.",
    500: "An unexpected error occurred; quote the request_id when reporting it.",
    503: "The service is not ready; retry later.",
}
RETRY_AFTER_SECONDS = 5
# Store errors that say "not now" rather than "wrong": connection refused or lost, read-only,
# I/O errors and locks (OperationalError), a closed connection (InterfaceError), pool timeout.
STORE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, SQLAlchemyTimeoutError)
STORE_DETAIL = "The store is unavailable; nothing was recorded. Retry after `Retry-After` seconds."
log = logging.getLogger("recsvc.api.errors")


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """A problem+json response; `detail` must never carry customer data."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + _SLUGS.get(status, str(status)),
        "title": _phrase(status),
        "status": status,
        "detail": detail or _DETAILS.get(status, _phrase(status)),
        "instance": request.path,
        "request_id": request_id(),
    }
    if errors:
        body["errors"] = errors
    body.update(extensions or {})
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


def field_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({"json": {"a": {"0": [...]}}}) as {"a.0": [...]}."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, inner in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, texts in field_errors(inner, name).items():
                flat.setdefault(field, []).extend(texts)
        return flat
    texts = messages if isinstance(messages, list) else [messages]
    return {prefix or "_body": [str(t) for t in texts]}


def _webargs_errors(error: HTTPException) -> dict[str, list[str]] | None:
    data = getattr(error, "data", None) or {}
    messages = data.get("errors", data.get("messages"))
    if not isinstance(messages, dict):
        return None
    # Drop the webargs location level ("json", "query", ...): clients know where they sent it.
    merged: dict[str, list[str]] = {}
    for inner in messages.values():
        for field, texts in field_errors(inner).items():
            merged.setdefault(field, []).extend(texts)
    return merged


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug/flask-smorest/rate-limit errors (404, 405, 413, 422, 429, ...) as problems."""
    status = error.code or 500
    if isinstance(error, InternalServerError) or status >= 500:
        return handle_unexpected(getattr(error, "original_exception", None) or error)
    headers: dict[str, str] = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="recsvc"'
    if status == 429:
        headers["Retry-After"] = str(max(1, int(getattr(error, "retry_after", None) or 1)))
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    errors = _webargs_errors(error) if status in (400, 422) else None
    detail = data.get("detail")
    return problem(status, detail, errors=errors, headers=headers)


def handle_domain_error(error: DomainError) -> Response:
    """Service-layer errors, mapped by class; the most specific class wins."""
    status = next((s for cls, s in DOMAIN_STATUS.items() if isinstance(error, cls)), 500)
    if status == 500:
        return handle_unexpected(error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return problem(status, error.detail, headers=headers, extensions=error.extensions)


def handle_store_error(error: SQLAlchemyError) -> Response:
    """The store down, unreachable, read-only or timing out: 503 with Retry-After on every
    endpoint, logged with the error's class and codes only. Any other store error is a bug."""
    original = getattr(error, "orig", None)
    unavailable = isinstance(error, STORE_UNAVAILABLE) or bool(
        getattr(error, "connection_invalidated", False)
        or (original is not None and unusable_reason(original))
    )
    if not unavailable:
        return handle_unexpected(error)
    fields = error_fields(original) if original is not None else {}
    log.warning(
        "store unavailable",
        extra={
            "fields": {
                "request_id": request_id(),
                "sqlalchemy_error": type(error).__name__,
                **fields,
            }
        },
    )
    return problem(503, STORE_DETAIL, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def handle_unexpected(error: BaseException) -> Response:
    """Anything else: logged with its traceback, answered without one."""
    log.error(
        "unhandled error",
        exc_info=(type(error), error, error.__traceback__),
        extra={"fields": {"request_id": request_id(), "error_type": type(error).__name__}},
    )
    return problem(500)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def init_app(app: Flask) -> None:
    """Register the handlers; they replace flask-smorest's default JSON error handler."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(SQLAlchemyError, handle_store_error)
    app.register_error_handler(Exception, handle_unexpected)
