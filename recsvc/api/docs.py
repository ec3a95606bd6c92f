"""GET /docs: a plain HTML list of the operations, built from the spec (no CDN, no scripts)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template_string

from recsvc.api.extensions import extensions

blp = Blueprint("docs", __name__)
METHODS = ("get", "post", "put", "patch", "delete")
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} {{ version }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee}
td,th{padding:.3em .6em;text-align:left;vertical-align:top}</style></head>
<body><h1>{{ title }} {{ version }}</h1><p>{{ description }}</p>
<p>Machine-readable: <a href="{{ spec_url }}"><code>{{ spec_url }}</code></a>.
Errors are <code>application/problem+json</code> (RFC 9457).</p>
<table><tr><th>Method</th><th>Path</th><th>Summary</th><th>Roles</th></tr>
{% for op in operations %}<tr><td><code>{{ op.method }}</code></td>
<td><code>{{ op.path }}</code></td>
<td>{{ op.summary }}</td><td>{{ op.roles }}</td></tr>
{% endfor %}</table></body></html>
"""


def operations(spec: dict[str, Any]) -> list[dict[str, str]]:
    """One row per (path, method) of an OpenAPI document."""
    rows = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            if method in item:
                op = item[method]
                roles = ", ".join(op.get("x-roles", [])) or "public"
                rows.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": op.get("summary", ""),
                        "roles": roles,
                    }
                )
    return rows


@blp.route("/docs")
def docs_page() -> str:
    """Human-readable API overview; the OpenAPI JSON is the reference."""
    spec = extensions().api.spec.to_dict()
    info = spec["info"]
    return render_template_string(
        PAGE,
        title=info["title"],
        version=info["version"],
        description=info.get("description", ""),
        spec_url="/openapi.json",
        operations=operations(spec),
    )
