"""Bearer API keys on requests: who is calling, and `@requires(*roles)` for views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar

from flask import abort, request

from recsvc.api.context import once_per_request
from recsvc.api.extensions import extensions
from recsvc.security import ROLES, Principal

SECURITY_SCHEME = "bearerAuth"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "API key `rk_<key_id>_<secret>` from `python -m recsvc keys create`",
}
F = TypeVar("F", bound=Callable[..., Any])


def current_principal() -> Principal | None:
    """The caller behind this request's bearer key, verified once per request (None if none)."""
    return once_per_request("principal", _authenticate)


def _authenticate() -> Principal | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return extensions().authenticator(token.strip())


def requires(*roles: str) -> Callable[[F], F]:
    """Let only these roles in: no or bad key -> 401, other role -> 403; documents both."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be some of {ROLES}, got {roles}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                abort(401)
            if principal.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        apidoc = deepcopy(getattr(view, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = [{SECURITY_SCHEME: []}]
        manual.setdefault("responses", {}).update(
            {"401": "UNAUTHORIZED", "403": "FORBIDDEN", "429": "TOO_MANY_REQUESTS"}
        )
        manual["x-roles"] = list(roles)
        wrapper._apidoc = apidoc  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
