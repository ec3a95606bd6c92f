"""API keys: shown once in plaintext, stored as hashes, verified through a short-lived cache."""

from recsvc.security.cache import KeyAuthenticator
from recsvc.security.keys import (
    KEY_PREFIX,
    ROLES,
    Principal,
    active_principal,
    authenticate,
    create_key,
    hash_secret,
    revoke_key,
)

__all__ = [
    "KEY_PREFIX",
    "ROLES",
    "KeyAuthenticator",
    "Principal",
    "active_principal",
    "authenticate",
    "create_key",
    "hash_secret",
    "revoke_key",
]
