"""Promote and roll back through the API while two gunicorn workers serve: nothing fails,
and every worker follows the alias."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops_support import Recorder, Reply, call, customer_ids, join_all, run_clients
from servertesting import request, server_environ, serving

CLIENTS = 4
WORKERS = 2
WARM_UP_S = 1.0
# Each worker polls the aliases every ~1 s; 5 s is the operational promise, not a benchmark.
SWITCH_DEADLINE_S = 5.0
SETTLED_RUN = 20  # consecutive replies on the new version before the next change
HOLD_AFTER_SETTLED_S = 1.5  # longer than one poll, so a lagging worker would show up
ACTIONS = ("promote", "rollback", "promote", "rollback")


@dataclass(frozen=True)
class Change:
    at: float
    champion: str


def new_version_seen(replies: list[Reply], change: Change) -> bool:
    after = [r for r in replies if r.sent > change.at]
    tail = after[-SETTLED_RUN:]
    return len(tail) == SETTLED_RUN and all(r.model_version == change.champion for r in tail)


def drive_aliases(
    base: str, headers: dict[str, str], challenger: str, rec: Recorder, changes: list[Change]
) -> None:
    """Promote/rollback in turn; after each, wait (bounded) until the clients see it, then hold."""
    for action in ACTIONS:
        path = f"/v1/models/{challenger}/promote" if action == "promote" else "/v1/models/rollback"
        asked = time.monotonic()  # replies sent from here on may see either version
        status, text = request(base, "POST", path, headers=headers)
        assert status == 200, (action, status, text)
        change = Change(asked, json.loads(text)["champion"])
        changes.append(change)
        deadline = change.at + SWITCH_DEADLINE_S
        while time.monotonic() < deadline and not new_version_seen(rec.snapshot(), change):
            time.sleep(0.05)
        time.sleep(HOLD_AFTER_SETTLED_S)


def phase_replies(replies: list[Reply], changes: list[Change], i: int) -> list[Reply]:
    end = changes[i + 1].at if i + 1 < len(changes) else float("inf")
    return [r for r in replies if changes[i].at < r.sent < end]


def test_promote_and_rollback_under_load_fail_nothing(env: Any, tmp_path: Path) -> None:
    champion = env.registry.alias_state().champion
    challenger = env.registry.publish(env.model_dir, note="test challenger")
    assert env.registry.alias_state().challenger == challenger != champion
    teller = env.headers("teller", staff_id="T001")
    scientist = env.headers("data_scientist", staff_id="D001")
    customers = customer_ids(env.settings)
    rec = Recorder()
    stop = threading.Event()
    changes: list[Change] = []

    with serving(server_environ(env.settings), tmp_path, workers=WORKERS) as server:

        def step(rng: random.Random) -> None:
            customer = rng.choice(customers)
            if rng.random() < 0.5:
                call(server.base, "/v1/pitch", {"customer_id": customer}, teller, rec)
            else:
                body = {"customer_id": customer, "channel": "teller", "limit": 3}
                call(server.base, "/v1/recommendations", body, teller, rec)

        threads = run_clients(CLIENTS, step, stop)
        try:
            time.sleep(WARM_UP_S)
            drive_aliases(server.base, scientist, challenger, rec, changes)
        finally:
            stop.set()
            join_all(threads)

    replies = rec.snapshot()
    failed = [r for r in replies if r.status != 200]
    assert not failed, f"{len(failed)} of {len(replies)} failed, e.g. {failed[:3]}"
    assert [c.champion for c in changes] == [challenger, champion, challenger, champion]
    before = [r for r in replies if r.done < changes[0].at]
    assert before and {r.model_version for r in before} == {champion}
    for i, change in enumerate(changes):
        phase = phase_replies(replies, changes, i)
        stale = [r for r in phase if r.model_version != change.champion]
        last_stale = max((r.sent for r in stale), default=change.at)
        assert last_stale - change.at <= SWITCH_DEADLINE_S, (i, change, stale[-3:])
        settled = [r for r in phase if r.sent > last_stale]
        assert len(settled) >= SETTLED_RUN, (i, change, len(settled))
