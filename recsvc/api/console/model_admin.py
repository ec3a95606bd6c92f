"""The data scientist's screen: versions against baselines, promote and roll back."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from recsvc.api.console.blueprint import bp
from recsvc.api.console.session import page, t
from recsvc.api.models import admin
from recsvc.models.registry import VERSION_PATTERN, Registry

VIEWERS = ("data_scientist", "admin", "compliance")
EDITORS = ("data_scientist", "admin")
HEADLINE = ("map@7", "ndcg@5", "precision@1", "coverage@7", "brier", "ece")
CARD_SUFFIX = ".html"
CARD_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@bp.route("/models", methods=["GET"])
@page(*VIEWERS)
def models() -> str:
    overview = admin().overview()
    registry = admin().registry
    versions = [
        {**v, "comparison": comparison(registry, v["version"]), "card": card_name(registry, v)}
        for v in reversed(overview["versions"])
    ]
    return render_template("console/models.html", overview=overview, versions=versions)


@bp.route("/models/<string:version>/promote", methods=["GET", "POST"])
@page(*EDITORS)
def promote(version: str) -> Response | str:
    if not VERSION_PATTERN.match(version):
        abort(404)
    if request.method == "GET":
        return render_template(
            "console/confirm.html",
            question=t("confirm_promote", version=version),
            action=url_for("console.promote", version=version),
        )
    state = admin().promote(version)
    flash(t("promoted") + str(state["champion"]))
    return redirect(url_for("console.models"), code=303)


@bp.route("/models/rollback", methods=["GET", "POST"])
@page(*EDITORS)
def rollback() -> Response | str:
    if request.method == "GET":
        champion = admin().overview()["champion"]
        return render_template(
            "console/confirm.html",
            question=t("confirm_rollback", version=champion or "-"),
            action=url_for("console.rollback"),
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
