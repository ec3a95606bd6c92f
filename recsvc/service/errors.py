"""Domain errors the service layer raises without knowing HTTP; recsvc.api maps them to statuses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of errors a caller can act on; `detail` is shown to the caller, so no customer data."""

    def __init__(self, detail: str, *, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = dict(extensions or {})


class NotFound(DomainError):
    """The thing asked for does not exist (or the caller may not know it exists)."""


class Conflict(DomainError):
    """The request contradicts the current state (e.g. a duplicate with different content)."""


class Forbidden(DomainError):
    """The caller is known but may not do this (e.g. a customer outside their branch)."""


class Unavailable(DomainError):
    """A dependency (store, model) is not ready; retrying later may succeed."""


class Invalid(DomainError):
    """A field is well-formed but wrong in context (e.g. feedback for a product never offered)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}", extensions={"errors": {field: [message]}})
