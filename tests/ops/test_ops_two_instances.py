"""Issue 14, serving on many hosts: two service instances (two gunicorn masters on their own
ports, 2 workers each, each in a home and TMPDIR of its own) share one PostgreSQL database, one
Redis and one registry directory, and nothing else. Then:

(a) a promote (and a rollback) through either instance reaches every worker of both within 5 s
    (what each worker serves: the per-worker Prometheus gauge of each instance);
(b) the daily pitch cap holds across both: concurrent pitches for the same customers, split
    over the two, claim at most the cap per customer per day (the store's unique slot decides);
(c) an experiment set through one instance is served by the other within its cache time, and
    each customer gets the same arm and the same model from both;
(d) the rate limit (Redis) counts the calls to both together: exactly the limit passes;
(e) a console session signed in on one instance is signed in on the other (one
    RECSVC_SECRET_KEY for all: each start would otherwise draw its own).

The instances are started once for the module (on a bank loaded into PostgreSQL) and each test
leaves the aliases and the experiment as it needs them itself.
"""

from __future__ import annotations

import datetime as dt
import http.client
import inspect
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from apptesting import ServiceEnv
from factories import TELLER_TRANSACTIONS, customer_payload, teller_pitch
from ops_support import redis_server, serving_hosts
from pgtesting import postgres_database
from servertesting import Server, get, metric_values, request, server_environ
from sqlalchemy import select, text

from recsvc.config import Settings
from recsvc.models.registry import Registry
from recsvc.observability.metrics import SERVING
from recsvc.service.config import load_service_config
from recsvc.service.experiment import arm_for
from recsvc.service.experiments import ExperimentSource
from recsvc.store import load_customers, make_engine, upgrade
from recsvc.store.tables import PitchLogRow

WORKERS = 2  # per instance
LIMIT = 120  # calls per API key per hour, over both instances together
SWITCH_DEADLINE_S = 5.0  # the operational promise for a promote or rollback
EXPERIMENT_TTL_S = inspect.signature(ExperimentSource).parameters["ttl_seconds"].default
CLOCK_SLACK_S = 0.25  # between "our PUT returned" and the other instance's clock
SPLIT = {"champion": 40, "challenger": 30, "rules": 15, "holdout": 15}
ARM_CUSTOMERS = 40
CAP_CUSTOMERS = 8


@dataclass
class Hosts:
    """The two running instances and what they share."""

    env: ServiceEnv  # the shared store (PostgreSQL), registry, and keys in that store
    servers: list[Server]

    def headers(self, role: str, **scope: Any) -> dict[str, str]:
        """A fresh key: each test stays well under LIMIT per key."""
        return self.env.headers(role, **scope)


@pytest.fixture(scope="module")
def hosts(
    tmp_path_factory: pytest.TempPathFactory, synthetic_bank: Path, trained_model: Path
) -> Iterator[Hosts]:
    tmp = tmp_path_factory.mktemp("hosts")
    with postgres_database("two service instances") as url, redis_server(tmp) as redis_uri:
        engine = make_engine(url)
        upgrade(engine)
        load_customers(engine, synthetic_bank)
        engine.dispose()
        registry = Registry(tmp / "shared-registry")  # the shared filesystem
        registry.publish(trained_model, note="champion")
        registry.publish(trained_model, note="challenger")
        settings = replace(
            Settings(), database_url=url, registry_dir=registry.root,
            rate_limit=f"{LIMIT} per hour",
        )  # fmt: skip
        env = ServiceEnv(settings, registry, trained_model, synthetic_bank)
        environ = server_environ(
            settings, RECSVC_RATE_LIMIT_STORAGE_URI=redis_uri,
            RECSVC_SECRET_KEY=secrets.token_hex(32),  # the console's, the same on every host
        )  # fmt: skip
        homes = [tmp / "host-a", tmp / "host-b"]
        with serving_hosts([environ, environ], homes, workers=WORKERS) as servers:
            yield Hosts(env, servers)


def call(server: Server, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    status, reply = request(server.base, method, path, body=body, headers=headers)
    assert status == 200, (server.base, method, path, status, reply)
    return json.loads(reply)


# ---- (a) promote and rollback ----------------------------------------------------------------


def served_by_worker(server: Server) -> dict[int, str]:
    """{worker pid: version it serves}, from the instance's per-worker gauge."""
    status, body = get(server.base, "/metrics")
    assert status == 200
    found = {}
    for labels, value in metric_values(body, SERVING).items():
        if value == 1:
            label = dict(labels)
            found[int(label["pid"])] = label["version"]
    return found


def until_every_worker_serves(hosts: Hosts, version: str, since: float) -> float:
    """Keep every worker of both instances busy (readiness probes poll the aliases) until each
    one reports `version`; seconds from `since`. Fails at SWITCH_DEADLINE_S naming the laggards."""
    while True:
        for server in hosts.servers:
            for _ in range(2 * WORKERS):  # fresh connections: both workers take some
                get(server.base, "/readyz")
        seen = {server.base: served_by_worker(server) for server in hosts.servers}
        elapsed = time.monotonic() - since
        if all(
            set(seen[s.base]) == s.worker_pids() and set(seen[s.base].values()) == {version}
            for s in hosts.servers
        ):
            return elapsed
        assert elapsed <= SWITCH_DEADLINE_S, f"not every worker serves {version}: {seen}"
        time.sleep(0.05)


def test_a_promote_or_rollback_through_either_instance_reaches_every_worker_of_both(
    hosts: Hosts,
) -> None:
    a, b = hosts.servers
    registry = hosts.env.registry
    before = registry.alias_state()
    assert before.champion is not None
    until_every_worker_serves(hosts, before.champion, time.monotonic())
    new = registry.publish(hosts.env.model_dir, note="promoted through host a", alias=None)
    scientist = hosts.headers("data_scientist", staff_id="D001")

    asked = time.monotonic()
    promoted = call(a, "POST", f"/v1/models/{new}/promote", scientist)
    assert promoted["champion"] == new
    took_promote = until_every_worker_serves(hosts, new, asked)

    asked = time.monotonic()
    rolled_back = call(b, "POST", "/v1/models/rollback", scientist)
    assert rolled_back["champion"] == before.champion
    took_rollback = until_every_worker_serves(hosts, before.champion, asked)

    assert max(took_promote, took_rollback) <= SWITCH_DEADLINE_S
    assert registry.alias_state().challenger == before.challenger  # untouched for (c)


# ---- (b) the daily pitch cap ------------------------------------------------------------------


def set_experiment(server: Server, headers: dict[str, str], split: dict[str, int]) -> Any:
    """PUT the experiment through `server`; (its JSON, the monotonic time the PUT returned)."""
    body = {"split": split, "note": "two-instance test"}
    return call(server, "PUT", "/v1/experiment", headers, body), time.monotonic()


def new_customer(env: ServiceEnv) -> str:
    """A stored, assessed, consenting customer holding nothing: many products suit them."""
    customer_id = f"HOST{uuid.uuid4().hex[:10]}"
    first_of_month = dt.date.today().replace(day=1).isoformat()
    env.store_customer(
        customer_payload(customer_id=customer_id, holdings=[], assessment_date=first_of_month)
    )
    return customer_id


def pitch_log(env: ServiceEnv, customer_id: str) -> list[tuple[dt.date, str]]:
    engine = make_engine(env.settings.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(PitchLogRow.day, PitchLogRow.product_id)
                .where(PitchLogRow.customer_id == customer_id)
                .order_by(PitchLogRow.id)
            )
            return [(day, product) for day, product in rows]
    finally:
        engine.dispose()


def run_together(calls: list[Callable[[], None]]) -> None:
    """Every call on a thread of its own, released at once."""
    start = threading.Barrier(len(calls))

    def run(fn: Callable[[], None]) -> None:
        start.wait()
        fn()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a pitch did not return"


def test_b_the_daily_pitch_cap_holds_across_instances(hosts: Hosts) -> None:
    env = hosts.env
    cap = load_service_config(env.settings.service_config_path).max_products_per_day
    scientist = hosts.headers("data_scientist", staff_id="D001")
    set_experiment(hosts.servers[0], scientist, {"champion": 100})  # every customer pitched
    time.sleep(EXPERIMENT_TTL_S + CLOCK_SLACK_S)
    customers = [new_customer(env) for _ in range(CAP_CUSTOMERS)]
    tellers = [
        hosts.headers("teller", staff_id=f"T{i:02d}") for i in range(len(TELLER_TRANSACTIONS))
    ]
    said: dict[str, list[tuple[int, str | None]]] = {c: [] for c in customers}
    failures: list[Any] = []
    lock = threading.Lock()

    def pitch(customer_id: str, i: int) -> Callable[[], None]:
        server = hosts.servers[i % 2]  # half of each customer's pitches through each instance
        body = teller_pitch(customer_id, i)

        def go() -> None:
            status, reply = request(server.base, "POST", "/v1/pitch", body=body,
                                    headers=tellers[i])  # fmt: skip
            with lock:
                if status != 200:
                    failures.append((server.base, status, reply))
                    return
                answer = json.loads(reply)["pitch"]
                said[customer_id].append((i % 2, answer and answer["product_id"]))

        return go

    run_together([pitch(c, i) for c in customers for i in range(len(TELLER_TRANSACTIONS))])

    assert failures == []
    for customer_id in customers:
        rows = pitch_log(env, customer_id)
        logged = [product for _, product in rows]
        answers = said[customer_id]
        assert {host for host, _ in answers} == {0, 1}, answers
        assert logged, customer_id  # pitched...
        for day in {day for day, _ in rows}:  # ...and never over the cap on any day
            assert sum(d == day for d, _ in rows) <= cap, (customer_id, rows)
        # every teller on either instance is told a product the store logged for that customer
        assert {product for _, product in answers} <= set(logged), (customer_id, answers, logged)


# ---- (c) the experiment --------------------------------------------------------------------


def test_c_an_experiment_set_through_one_instance_is_served_by_the_other(hosts: Hosts) -> None:
    a, b = hosts.servers
    env = hosts.env
    aliases = env.registry.alias_state()
    assert aliases.champion and aliases.challenger and aliases.champion != aliases.challenger
    scientist = hosts.headers("data_scientist", staff_id="D002")
    set_experiment(a, scientist, {"champion": 100})
    time.sleep(EXPERIMENT_TTL_S + CLOCK_SLACK_S)

    experiment, put_at = set_experiment(a, scientist, SPLIT)
    # Instance b, asked repeatedly on fresh connections (both its workers): any request sent
    # once the cache time has passed since the PUT returned must see the new experiment.
    watcher = hosts.headers("data_scientist", staff_id="D003")
    seen: list[tuple[float, str | None]] = []
    while time.monotonic() < put_at + EXPERIMENT_TTL_S + CLOCK_SLACK_S + 1.0:
        sent = time.monotonic() - put_at
        seen.append((sent, call(b, "GET", "/v1/experiment", watcher)["experiment_id"]))
        time.sleep(0.03)
    late = [(s, i) for s, i in seen if s > EXPERIMENT_TTL_S + CLOCK_SLACK_S]
    assert len(late) >= 2 * WORKERS, seen
    stale = [(s, i) for s, i in late if i != experiment["experiment_id"]]
    assert not stale, f"instance b still serves another experiment: {stale}"

    # Every customer: the same arm and the same model from both instances, the arm the design's
    # salt gives, and each model arm served by its own model.
    engine = make_engine(env.settings.database_url)
    with engine.connect() as connection:
        customers = list(
            connection.execute(
                text("SELECT customer_id FROM customers ORDER BY customer_id LIMIT :n"),
                {"n": ARM_CUSTOMERS},
            ).scalars()
        )
    engine.dispose()
    tellers = [hosts.headers("teller", staff_id="T90"), hosts.headers("teller", staff_id="T91")]
    models = {"champion": aliases.champion, "challenger": aliases.challenger}
    arms = []
    for customer_id in customers:
        body = {"customer_id": customer_id, "channel": "teller", "limit": 3}
        answers = [
            call(server, "POST", "/v1/recommendations", headers, body)
            for server, headers in zip(hosts.servers, tellers, strict=True)
        ]
        served = [(x["experiment"], x["model_version"]) for x in answers]
        assert served[0] == served[1], (customer_id, served)
        arm, version = served[0]
        assert arm["id"] == experiment["experiment_id"]
        assert arm["arm"] == arm_for(SPLIT, experiment["salt"], customer_id), (customer_id, arm)
        assert arm["served"] == arm["arm"], (customer_id, arm)  # no fallback to the rules
        if arm["arm"] in models:
            assert version == models[arm["arm"]], (customer_id, arm, version)
        arms.append(arm["arm"])
    assert set(models) <= set(arms), arms  # both models were compared, not only one


# ---- (d) the rate limit -----------------------------------------------------------------------


def test_d_the_rate_limit_is_shared_by_both_instances(hosts: Hosts) -> None:
    key = hosts.headers("teller", staff_id="T99")
    statuses: list[tuple[int, int]] = []
    lock = threading.Lock()
    todo = iter(range(3 * LIMIT))

    def client() -> None:
        while True:
            with lock:
                n = next(todo, None)
            if n is None:
                return
            status, _ = request(hosts.servers[n % 2].base, "GET", "/v1/products", headers=key)
            with lock:
                statuses.append((n % 2, status))

    threads = [threading.Thread(target=client) for _ in range(3 * WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == 3 * LIMIT
    assert {s for _, s in statuses} == {200, 429}, statuses
    assert [s for _, s in statuses].count(200) == LIMIT
    passed_through = {host for host, s in statuses if s == 200}
    assert passed_through == {0, 1}, "both instances served part of the limit"


# ---- (e) the console session -------------------------------------------------------------------


def browse(
    server: Server, method: str, path: str, cookie: str = "", form: dict[str, str] | None = None
) -> tuple[int, str, str, str]:
    """One browser request: (status, Location, the console cookie it sets or "", body)."""
    host, port = server.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        set_cookie = response.getheader("Set-Cookie") or ""
        cookie_out = set_cookie.split(";", 1)[0] if set_cookie.startswith("recsvc_console=") else ""
        return response.status, response.getheader("Location") or "", cookie_out, text
    finally:
        conn.close()


def test_e_a_console_session_from_one_instance_is_valid_on_the_other(hosts: Hosts) -> None:
    a, b = hosts.servers
    key = hosts.headers("teller", staff_id="T77")["Authorization"].removeprefix("Bearer ")
    status, _, cookie, page = browse(a, "GET", "/console/signin")
    assert status == 200 and cookie
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    form = {"api_key": key, "csrf_token": token.group(1)}
    status, landing, cookie, _ = browse(a, "POST", "/console/signin", cookie, form)
    assert status == 303 and cookie, (status, landing)
    assert browse(a, "GET", landing, cookie)[0] == 200  # signed in on a...
    for _ in range(2 * WORKERS):  # ...and on b, whichever of its workers answers
        status, moved_to, _, _ = browse(b, "GET", landing, cookie)
        assert status == 200, f"instance b does not know a's session: {status} -> {moved_to}"
