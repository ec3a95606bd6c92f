"""The data scientist's what-if: upload an overlay (YAML), see what the teller's pitches would
become over a sample of stored customers before the change is made.

Read-only: the engine (recsvc.service.whatif) only reads the store; nothing is pitched, logged
or audited. A malformed overlay is shown under the upload field, field by field; an overlay that
loosens a legal suitability limit is refused, naming the rule."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from werkzeug.datastructures import FileStorage

from recsvc.api.console.blueprint import bp
from recsvc.api.console.session import lang, page, t
from recsvc.api.extensions import extensions
from recsvc.service.overlay import MAX_OVERLAY_BYTES, IllegalOverlay, OverlayError
from recsvc.service.whatif import WhatIf

RUNNERS = ("data_scientist", "admin")
DEFAULT_SAMPLE = 2000
MAX_SAMPLE = 20_000  # a page ties up one web worker; a larger sample is for the command line


@bp.route("/what-if", methods=["GET", "POST"])
@page(*RUNNERS)
def whatif() -> tuple[str, int]:
    form = {"sample": str(DEFAULT_SAMPLE), "seed": "0"}
    if request.method == "GET":
        return _page(form, {}), 200
    form = {k: request.form.get(k, "").strip()[:20] for k in ("sample", "seed")}
    errors: dict[str, Any] = {}
    sample = _number(form["sample"], 1, MAX_SAMPLE, "sample", errors)
    seed = _number(form["seed"], 0, 2**31 - 1, "seed", errors)
    overlay = _uploaded(request.files.get("overlay"), errors)
    if errors or sample is None or seed is None or overlay is None:
        return _page(form, errors), 422
    ext = extensions()
    engine = WhatIf(ext.services, clock=ext.service.clock, experiments=ext.service.experiments)
    try:
        report = engine.run(sample=sample, seed=seed, overlay=overlay, locale=lang())
    except IllegalOverlay as exc:
        return _page(form, {"overlay_refused": exc.errors, "refused_rules": exc.rules}), 422
    except OverlayError as exc:
        return _page(form, {"overlay_fields": exc.errors}), 422
    return _page(form, {}, report), 200


def _page(form: dict[str, str], errors: dict[str, Any], report: Any = None) -> str:
    return render_template(
        "console/whatif.html", form=form, errors=errors, report=report, max_sample=MAX_SAMPLE,
        max_bytes=MAX_OVERLAY_BYTES,
    )  # fmt: skip


def _number(text: str, low: int, high: int, name: str, errors: dict[str, Any]) -> int | None:
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        errors[name] = t("err_whatif_range", low=f"{low:,}", high=f"{high:,}")
        return None
    return int(text)


def _uploaded(file: FileStorage | None, errors: dict[str, Any]) -> bytes | None:
    """The uploaded YAML (at most MAX_OVERLAY_BYTES), or an error under the field."""
    if file is None or not file.filename:
        errors["overlay"] = t("err_overlay_missing")
        return None
    data = file.stream.read(MAX_OVERLAY_BYTES + 1)
    if len(data) > MAX_OVERLAY_BYTES:
        errors["overlay"] = t("err_overlay_size", limit=f"{MAX_OVERLAY_BYTES // 1024}")
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        errors["overlay"] = t("err_overlay_encoding")
        return None
    return data
