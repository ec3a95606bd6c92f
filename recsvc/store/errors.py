"""Database errors without personal data (PostgreSQL's DETAIL echoes row values), and which of
them mean a pooled connection must be replaced rather than reused."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("recsvc.store")

# PostgreSQL: a read-only transaction (a standby after failover, default_transaction_read_only)
# and the server closing sessions; SQLite: SQLITE_READONLY (8, with its extended codes:
# a file that was read-only when opened stays so for the connection), SQLITE_IOERR (10),
# SQLITE_CANTOPEN (14). Busy/locked errors are contention, not a broken connection.
_PG_UNUSABLE = {"25006": "read-only", "57P01": "shut down", "57P02": "shut down"}
_SQLITE_UNUSABLE = {8: "read-only", 10: "I/O error", 14: "cannot open"}


def unusable_reason(original: BaseException) -> str | None:
    """Why the connection that raised this DBAPI error must not be reused, or None."""
    sqlstate = getattr(getattr(original, "diag", None), "sqlstate", None)
    if sqlstate in _PG_UNUSABLE:
        return _PG_UNUSABLE[sqlstate]
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_UNUSABLE.get(code & 0xFF)
    return None


def error_fields(original: BaseException) -> dict[str, Any]:
    """What may be logged of a DBAPI error: its class, codes and primary message (no values)."""
    primary = getattr(getattr(original, "diag", None), "message_primary", None)
    message = primary or (str(original).splitlines()[0] if str(original) else "")
    return {
        "error_type": type(original).__name__,
        "sqlstate": getattr(getattr(original, "diag", None), "sqlstate", None),
        "sqlite_code": getattr(original, "sqlite_errorcode", None),
        "error": message[:200],
    }


def invalidate_unusable(context: Any) -> None:
    """SQLAlchemy `handle_error` hook: a connection that cannot write (read-only, I/O error)
    is treated as disconnected, so SQLAlchemy drops it and the pool's other connections, and
    the service recovers by itself once the store is writable; the cause is logged."""
    original = context.original_exception
    reason = unusable_reason(original)
    if reason is not None:
        context.is_disconnect = True
    if context.is_disconnect and not getattr(context, "is_pre_ping", False):
        log.warning(
            "store connection invalidated",
            extra={"fields": {"reason": reason or "disconnect", **error_fields(original)}},
        )


def primary_message_only(original: BaseException) -> bool:
    """Cut a PostgreSQL (psycopg) error down to its primary message; True if it was cut."""
    primary = getattr(getattr(original, "diag", None), "message_primary", None)
    if not primary:
        return False
    original.args = (primary,)
    return True


def drop_postgres_detail(context: Any) -> None:
    """SQLAlchemy `handle_error` hook: the DBAPI error and its wrapper keep the primary only."""
    original = context.original_exception
    if not primary_message_only(original):
        return
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        kind = type(original)
        wrapped.args = (f"({kind.__module__}.{kind.__name__}) {original.args[0]}",)
