"""The rate limit under 2 gunicorn workers: shared through Redis it holds exactly across them;
counted in each worker's memory, each enforces limit / workers, so the total never exceeds it.
Redis is Debian's redis-server, started here on a free loopback port."""

from __future__ import annotations

import threading
from pathlib import Path

from ops_support import redis_server
from servertesting import request, server_environ, serving, store_with_key

LIMIT = 20
WORKERS = 2
REQUESTS = 3 * LIMIT
CLIENTS = 6


def statuses(base: str, key: str) -> list[int]:
    """REQUESTS calls from CLIENTS threads, each on a fresh connection (both workers serve)."""
    found: list[int] = []
    lock = threading.Lock()
    todo = iter(range(REQUESTS))

    def client() -> None:
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            status, _ = request(base, "GET", "/v1/products",
                                headers={"Authorization": f"Bearer {key}"})  # fmt: skip
            with lock:
                found.append(status)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(found) == REQUESTS
    return found


def test_limit_shared_through_redis_holds_across_workers(tmp_path: Path) -> None:
    settings, key = store_with_key(tmp_path, rate_limit=f"{LIMIT} per hour")
    with redis_server(tmp_path) as uri:
        env = server_environ(settings, RECSVC_RATE_LIMIT_STORAGE_URI=uri)
        with serving(env, tmp_path, workers=WORKERS) as server:
            found = statuses(server.base, key)
    assert sorted(set(found)) == [200, 429], found
    assert found.count(200) == LIMIT


def test_limit_in_memory_is_divided_among_workers(tmp_path: Path) -> None:
    settings, key = store_with_key(tmp_path, rate_limit=f"{LIMIT} per hour")
    env = server_environ(settings, RECSVC_RATE_LIMIT_STORAGE_URI="memory://")
    with serving(env, tmp_path, workers=WORKERS) as server:
        found = statuses(server.base, key)
    assert sorted(set(found)) == [200, 429], found
    assert LIMIT // WORKERS <= found.count(200) <= LIMIT
