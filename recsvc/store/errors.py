"""Database errors without personal data: PostgreSQL's DETAIL echoes row values."""

from __future__ import annotations

from typing import Any


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
