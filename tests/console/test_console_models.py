"""The data scientist's page (issue 9): confirmations name the version that will serve and set
its metrics beside the champion's with the hold-out rows behind each; no rollback without a
target; what each worker serves; the model card published with the model and linked."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from console_support import csrf_from, sign_in
from flask.testing import FlaskClient

CARD = "<!doctype html><html><body><h1>Model card</h1></body></html>"


def html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_the_promote_confirmation_names_the_version_and_sets_it_beside_the_champion(
    env: Any, service_client: FlaskClient
) -> None:
    champion = env.registry.alias_state().champion
    challenger = env.registry.publish(env.model_dir, note="challenger")
    sign_in(service_client, env.key("data_scientist"))
    page = html(service_client.get(f"/console/models/{challenger}/promote"))
    assert f'<code id="serving-version">{challenger}</code>' in page
    assert f'<code id="champion-version">{champion}</code>' in page
    metrics = env.registry.manifest(challenger)["metrics"]
    row = page.split('data-metric="map@7"')[1].split("</tr>")[0]
    assert f"{metrics['model']['map@7']:.4f}" in row
    rows = page.split('id="holdout-rows"')[1].split("</tr>")[0]
    assert rows.count(f"{metrics['n_test']:,}") == 2  # the same data set behind both here


def test_rollback_is_offered_only_with_an_earlier_champion_and_names_it(
    env: Any, service_client: FlaskClient
) -> None:
    first = env.registry.alias_state().champion
    sign_in(service_client, env.key("data_scientist"))
    page = html(service_client.get("/console/models"))
    assert 'id="rollback"' not in page
    refused = service_client.get("/console/models/rollback")
    assert refused.status_code == 409 and "没有可回滚" in html(refused)
    assert (
        service_client.post(
            "/console/models/rollback", data={"csrf_token": csrf_from(page)}
        ).status_code
        == 409
    )
    second = env.registry.publish(env.model_dir, note="second")
    env.registry.promote(second)
    page = html(service_client.get("/console/models"))
    assert 'id="rollback"' in page and f"→ {first}" in page
    confirm = html(service_client.get("/console/models/rollback"))
    assert f"版本 {first} 将重新成为冠军模型" in confirm and second in confirm
    assert f'<code id="serving-version">{first}</code>' in confirm
    assert f'<code id="champion-version">{second}</code>' in confirm


def test_the_page_shows_what_this_worker_serves(env: Any, service_client: FlaskClient) -> None:
    champion = env.registry.alias_state().champion
    sign_in(service_client, env.key("data_scientist"))
    page = html(service_client.get("/console/models"))
    table = page.split('id="workers"')[1].split("</table>")[0]
    assert table.count("<tr data-pid=") == 1 and f'data-version="{champion}"' in table


def test_worker_versions_come_from_the_shared_metric_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each gunicorn worker writes its own file; any worker reads every live one's version."""
    import multiprocessing as mp

    from recsvc.observability import RequestMetrics, worker_versions

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # before the children start
    context = mp.get_context("spawn")
    procs = [context.Process(target=_serve_in_child, args=(str(tmp_path), v))
             for v in ("v1", "v2", None)]  # fmt: skip
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    reader = RequestMetrics(multiproc_dir=str(tmp_path))
    seen = sorted((w["version"] or "") for w in worker_versions(reader))
    assert seen == ["", "v1", "v2"]
    pids = {w["pid"] for w in worker_versions(reader)}
    assert pids == {str(p.pid) for p in procs}


def _serve_in_child(directory: str, version: str | None) -> None:
    from prometheus_client import values

    from recsvc.observability import RequestMetrics

    assert values.ValueClass.__name__ != "MutexValue", "not in multiprocess mode"
    metrics = RequestMetrics(multiproc_dir=directory)
    metrics.serving("old")
    metrics.serving(version)  # the old version drops to 0, the new one is 1


def test_a_published_model_card_is_linked(
    env: Any, service_client: FlaskClient, tmp_path: Path
) -> None:
    carded = tmp_path / "carded"
    shutil.copytree(env.model_dir, carded)
    (carded / "model_card.html").write_text(CARD, encoding="utf-8")
    version = env.registry.publish(carded, note="with its card")
    sign_in(service_client, env.key("data_scientist"))
    page = html(service_client.get("/console/models"))
    section = page.split(f'id="v-{version}"')[1].split("</section>")[0]
    link = f'href="/console/models/{version}/card"'
    assert link in section
    card = service_client.get(f"/console/models/{version}/card")
    try:
        assert card.status_code == 200 and html(card) == CARD
        assert "sandbox" in card.headers["Content-Security-Policy"]
    finally:
        card.close()
