"""API keys `rk_<key_id>_<secret>`: the store keeps sha256(secret), never the key itself."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from recsvc.store.tables import ApiKeyRow

ROLES = ("teller", "manager", "data_scientist", "compliance", "admin")
KEY_PREFIX = "rk_"
_KEY_RE = re.compile(r"^rk_([0-9a-f]{16})_([A-Za-z0-9_-]{32,128})$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the staff member and role an API key stands for."""

    key_id: str
    role: str
    staff_id: str | None
    branch_id: str | None = None
    manager_id: str | None = None


def hash_secret(secret: str) -> str:
    """A fast hash is enough: secrets are 256-bit random, so there is nothing to brute-force."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_key(bearer: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed key, else None; cheap, no store access."""
    match = _KEY_RE.match(bearer.strip())
    return (match.group(1), match.group(2)) if match else None


def create_key(
    session: Session,
    *,
    role: str,
    staff_id: str,
    branch_id: str | None = None,
    manager_id: str | None = None,
) -> str:
    """Issue a key and return its plaintext, which is shown this once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not staff_id:
        raise ValueError("staff_id must not be empty")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    session.add(
        ApiKeyRow(
            key_id=key_id,
            key_hash=hash_secret(secret),
            role=role,
            staff_id=staff_id,
            branch_id=branch_id,
            manager_id=manager_id,
            created_at=dt.datetime.now(dt.UTC),
            revoked_at=None,
        )
    )
    session.commit()
    return f"{KEY_PREFIX}{key_id}_{secret}"


def _principal(row: ApiKeyRow) -> Principal:
    return Principal(**{f.name: getattr(row, f.name) for f in fields(Principal)})


def authenticate(session: Session, bearer: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None for anything else (no reason given)."""
    parsed = parse_key(bearer)
    if parsed is None:
        return None
    key_id, secret = parsed
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_secret(secret)):
        return None
    return _principal(row)


def active_principal(session: Session, key_id: str) -> Principal | None:
    """The principal of a key still active, by id alone (a console session holds only the id)."""
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None:
        return None
    return _principal(row)


def revoke_key(session: Session, key_id: str) -> bool:
    """Mark a key revoked; False if there is no such active key."""
    row = session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.key_id == key_id, ApiKeyRow.revoked_at.is_(None))
    ).first()
    if row is None:
        return False
    row.revoked_at = dt.datetime.now(dt.UTC)
    session.commit()
    return True
