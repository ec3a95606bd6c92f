"""The data scientist's screen: versions against baselines, promote and roll back.

The confirmations name the version that will serve and set its hold-out metrics beside the
current champion's, with the hold-out rows behind each; rollback is offered only when there is
an earlier champion; each gunicorn worker's served version is read from the shared metrics.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from recsvc.api.console.blueprint import bp
from recsvc.api.console.experiment_view import arm_charts, band_text, read_report
from recsvc.api.console.session import page, t
from recsvc.api.extensions import extensions
from recsvc.api.models import admin
from recsvc.models.registry import VERSION_PATTERN, Registry
from recsvc.observability import worker_versions
from recsvc.service.errors import Conflict

VIEWERS = ("data_scientist", "admin", "compliance")
EDITORS = ("data_scientist", "admin")
HEADLINE = ("map@7", "ndcg@5", "precision@1", "coverage@7", "brier", "ece")
LOWER_IS_BETTER = ("brier", "ece")
CARD_SUFFIX = ".html"
CARD_POLICY = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
)


@bp.route("/models", methods=["GET"])
@page(*VIEWERS)
def models() -> str:
    extensions().services.runtime.current()  # this worker follows the aliases before it reports
    overview = admin().overview()
    registry = admin().registry
    versions = [
        {**v, "comparison": comparison(registry, v["version"]), "card": card_name(registry, v)}
        for v in reversed(overview["versions"])
    ]
    return render_template(
        "console/models.html",
        overview=overview,
        versions=versions,
        rollback_to=rollback_target(registry),
        workers=worker_versions(extensions().metrics),
        **experiment_context(),
    )


def experiment_context() -> dict[str, Any]:
    """The design in force, the report per arm and a plot per arm (issue 12)."""
    settings = extensions().services.settings
    report = read_report(settings.experiment_report_path)
    return {
        "experiment": extensions().service.experiments.current(),
        "report": report,
        "arm_charts": arm_charts(report) if report else {},
        "band_text": band_text,
    }


@bp.route("/models/<string:version>/promote", methods=["GET", "POST"])
@page(*EDITORS)
def promote(version: str) -> Response | str:
    if not VERSION_PATTERN.match(version):
        abort(404)
    registry = admin().registry
    if request.method == "GET":
        if version not in {v.version for v in registry.list_versions()}:
            abort(404)
        champion = registry.alias_state().champion
        return render_template(
            "console/confirm.html",
            question=t("confirm_promote", version=version),
            action=url_for("console.promote", version=version),
            against=against(registry, version, champion),
            serving=version,
            champion=champion,
        )
    state = admin().promote(version)
    flash(t("promoted") + str(state["champion"]))
    return redirect(url_for("console.models"), code=303)


@bp.route("/models/rollback", methods=["GET", "POST"])
@page(*EDITORS)
def rollback() -> Response | str:
    registry = admin().registry
    target = rollback_target(registry)
    if target is None:
        raise Conflict(t("no_rollback"))
    if request.method == "GET":
        champion = registry.alias_state().champion
        return render_template(
            "console/confirm.html",
            question=t("confirm_rollback", version=target, champion=champion or "-"),
            action=url_for("console.rollback"),
            against=against(registry, target, champion),
            serving=target,
            champion=champion,
        )
    state = admin().rollback()
    flash(t("rolled_back") + str(state["champion"]))
    return redirect(url_for("console.models"), code=303)


@bp.route("/models/<string:version>/card", methods=["GET"])
@page(*VIEWERS)
def model_card(version: str) -> Response:
    """The model card training wrote, if the version carries one (sandboxed: no script runs)."""
    registry = admin().registry
    if not VERSION_PATTERN.match(version):
        abort(404)
    name = card_name(registry, {"version": version})
    if name is None:
        abort(404)
    response = send_file(registry.versions_dir / version / name, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CARD_POLICY
    return response


def rollback_target(registry: Registry) -> str | None:
    """The champion a rollback would bring back, or None (nothing to roll back to)."""
    history = registry.alias_state().champion_history
    return history[-1] if history else None


def holdout_rows(registry: Registry, version: str) -> int | None:
    value = (registry.manifest(version).get("metrics") or {}).get("n_test")
    return int(value) if isinstance(value, int | float) else None


def against(registry: Registry, version: str, champion: str | None) -> dict[str, Any]:
    """The version that would serve beside the current champion: headline metrics on each
    one's hold-out, the difference, and the hold-out rows behind each."""
    mine = _model_metrics(registry, version)
    theirs = _model_metrics(registry, champion) if champion else {}
    rows = []
    for name in HEADLINE:
        new, old = _number(mine.get(name)), _number(theirs.get(name))
        if new is None and old is None:
            continue
        delta = None if new is None or old is None else new - old
        better = None
        if delta is not None and delta != 0:
            better = (delta < 0) if name in LOWER_IS_BETTER else (delta > 0)
        rows.append({"metric": name, "new": new, "old": old, "delta": delta, "better": better})
    return {
        "rows": rows,
        "new_rows": holdout_rows(registry, version),
        "old_rows": holdout_rows(registry, champion) if champion else None,
    }


def _model_metrics(registry: Registry, version: str) -> dict[str, Any]:
    metrics = registry.manifest(version).get("metrics") or {}
    model = metrics.get("model")
    return model if isinstance(model, dict) else {}


def comparison(registry: Registry, version: str) -> list[dict[str, Any]]:
    """Rows (metric, model, {baseline: value}) for the headline metrics, from the manifest."""
    metrics = registry.manifest(version).get("metrics") or {}
    model = metrics.get("model") or {}
    baselines: dict[str, dict[str, Any]] = metrics.get("baselines") or {}
    rows = []
    for name in HEADLINE:
        if not isinstance(model.get(name), int | float):
            continue
        rows.append(
            {
                "metric": name,
                "model": float(model[name]),
                "baselines": {b: _number(m.get(name)) for b, m in baselines.items()},
            }
        )
    return rows


def card_name(registry: Registry, version: dict[str, Any]) -> str | None:
    folder = registry.versions_dir / str(version["version"])
    cards = sorted(p.name for p in folder.glob(f"*{CARD_SUFFIX}") if p.is_file())
    return cards[0] if cards else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
