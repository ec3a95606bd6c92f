"""Verified keys remembered for a few seconds, so most requests never touch the store."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from recsvc.security.keys import Principal, authenticate


class KeyAuthenticator:
    """authenticate() with a TTL cache of successes; a revoked key lives at most `ttl_seconds`."""

    def __init__(
        self,
        engine: Engine,
        *,
        ttl_seconds: float = 30.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, bearer: str) -> Principal | None:
        """The caller behind a bearer token, from the cache when fresh, else from the store."""
        # The cache key is a digest, so plaintext keys are not kept in memory longer than needed.
        digest = hashlib.sha256(bearer.encode("utf-8")).hexdigest()
        now = self.clock()
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None and hit[0] > now:
                return hit[1]
        with Session(self.engine) as session:
            principal = authenticate(session, bearer)
        if principal is not None:
            self._remember(digest, principal, now + self.ttl_seconds)
        return principal

    def _remember(self, digest: str, principal: Principal, expires: float) -> None:
        with self._lock:
            self._cache[digest] = (expires, principal)
            self._cache.move_to_end(digest)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)

    def clear(self) -> None:
        """Forget every cached key (e.g. right after a revocation in this process)."""
        with self._lock:
            self._cache.clear()
