"""`python -m training what-if`: the service's own teller decision over a sample of stored
customers, as configured and with an overlay (recsvc.service.whatif does the work; this is the
command line and the HTML page). Read-only: nothing is pitched or logged."""

from __future__ import annotations

import argparse
import html
import json
from pathlib import Path
from typing import Any

from training.argtypes import iso_date, positive, seed


def add_whatif(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sample",
        type=positive,
        required=True,
        help="how many stored customers (all of them if the store has fewer)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="same seed and store, same sample")
    parser.add_argument(
        "--overlay",
        type=Path,
        required=True,
        help="YAML: changes to service.yaml, rules.yaml, the catalogue",
    )
    parser.add_argument("--out", type=Path, required=True, help="the report, JSON")
    parser.add_argument("--html", type=Path, default=None, help="also a readable page")
    parser.add_argument(
        "--as-of",
        type=iso_date,
        default=None,
        help="decide as on this day (default: today in the bank's zone)",
    )
    parser.add_argument(
        "--workers",
        type=positive,
        default=1,
        help="processes deciding parts of the sample (default 1)",
    )
    parser.add_argument("--locale", choices=("zh-CN", "en"), default="zh-CN",
                        help="the language the pitch's wording is checked in")  # fmt: skip


def run_whatif(args: argparse.Namespace) -> int:
    """Build the service's wiring from the environment, run the what-if, write the report."""
    from recsvc.config import Settings
    from recsvc.service.whatif import WhatIf
    from recsvc.service.wiring import build_services

    try:
        overlay = args.overlay.read_bytes()
    except OSError as exc:
        raise ValueError(f"--overlay {args.overlay}: cannot read: {exc.strerror}") from exc
    services = build_services(Settings.from_env())
    try:
        report = WhatIf(services).run(sample=args.sample, seed=args.seed, overlay=overlay,
                                      as_of=args.as_of, locale=args.locale,
                                      workers=args.workers)  # fmt: skip
    finally:
        services.engine.dispose()
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.html is not None:
        args.html.write_text(render_html(report), encoding="utf-8")
    before, after = report["before"], report["after"]
    print(
        f"{before['customers']} customers: pitch rate {before['pitch_rate']:.1%} ->"
        f" {after['pitch_rate']:.1%}, expected value per customer"
        f" {before['expected_value_per_customer']:.2f} ->"
        f" {after['expected_value_per_customer']:.2f},"
        f" {report['changed']['customers']} pitches changed; wrote {args.out}"
    )
    return 0


# ---- the page -------------------------------------------------------------------------------

_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:.25em .8em;"
    "border-bottom:1px solid #ddd;text-align:left}td.n,th.n{text-align:right}"
    ".up{color:#0a6b2c}.down{color:#a3141c}code,pre{background:#f5f5f5;padding:.1em .3em}"
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _delta(before: float, after: float, digits: int = 4) -> str:
    change = after - before
    kind = "up" if change > 0 else "down" if change < 0 else ""
    return f'<td class="n {kind}">{change:+.{digits}f}</td>'


def _headline(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    rows = [
        ("pitch rate", "pitch_rate", 4), ("pitches", "pitches", 0),
        ("expected value per customer", "expected_value_per_customer", 4),
        ("expected value, total", "expected_value_total", 2),
        ("predicted acceptances", "predicted_acceptances", 2),
    ]  # fmt: skip
    out = ['<table id="headline"><tr><th></th><th class="n">before</th><th class="n">after</th>'
           '<th class="n">change</th></tr>']  # fmt: skip
    for label, key, digits in rows:
        b, a = float(before[key]), float(after[key])
        out.append(f"<tr><th>{_e(label)}</th><td class='n'>{b:.{digits}f}</td>"
                   f"<td class='n'>{a:.{digits}f}</td>{_delta(b, a, digits)}</tr>")  # fmt: skip
    out.append("</table>")
    return out


def _counts(title: str, table_id: str, before: dict[str, int], after: dict[str, int]) -> list[str]:
    out = [f"<h2>{_e(title)}</h2>", f'<table id="{table_id}"><tr><th></th><th class="n">before'
           '</th><th class="n">after</th><th class="n">change</th></tr>']  # fmt: skip
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key, 0), after.get(key, 0)
        out.append(f"<tr><th>{_e(key)}</th><td class='n'>{b}</td><td class='n'>{a}</td>"
                   f"{_delta(b, a, 0)}</tr>")  # fmt: skip
    out.append("</table>")
    return out


def render_html(report: dict[str, Any]) -> str:
    """A small page for people: every value escaped, no script, nothing loaded from elsewhere."""
    before, after, changed = report["before"], report["after"], report["changed"]
    sample = report["sample"]
    mix_b = {p: m["pitches"] for p, m in before["product_mix"].items()}
    mix_a = {p: m["pitches"] for p, m in after["product_mix"].items()}
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>What-if · {_e(report['as_of'])}</title><style>{_STYLE}</style></head><body>",
        "<h1>What-if before a change</h1>",
        f"<p>{_e(sample['customers'])} stored customers (sample {_e(sample['asked'])}, seed"
        f" {_e(sample['seed'])}), as a teller would be answered on {_e(report['as_of'])};"
        f" model {_e(', '.join(report['model_versions']))}; experiment"
        f" {_e(report['experiment'] or 'none')}. Read-only: nothing was pitched or logged.</p>",
        "<h2>The overlay</h2>",
        f"<pre id='overlay'>{_e(json.dumps(report['overlay'], ensure_ascii=False, indent=2))}"
        "</pre>",
        *_headline(before, after),
        *_counts("Product mix of pitches", "mix", mix_b, mix_a),
        *_counts(
            "Exclusions by reason code", "exclusions", before["exclusions"], after["exclusions"]
        ),
        f"<h2>Customers whose pitch changed: {_e(changed['customers'])}"
        f" ({float(changed['share']):.1%})</h2>",
        '<table id="transitions"><tr><th>before</th><th>after</th><th class="n">customers</th>'
        "</tr>",
        *(
            f"<tr><td>{_e(t['before'] or '-')}</td><td>{_e(t['after'] or '-')}</td>"
            f"<td class='n'>{_e(t['customers'])}</td></tr>"
            for t in changed["transitions"]
        ),
        "</table>",
        '<table id="examples"><tr><th>customer</th><th>before</th><th>after</th>'
        '<th class="n">value before</th><th class="n">value after</th><th>why</th></tr>',
        *(
            f"<tr><td><code>{_e(x['customer_id'])}</code></td><td>{_e(x['before'] or '-')}</td>"
            f"<td>{_e(x['after'] or '-')}</td><td class='n'>{_e(x['before_expected_value'])}</td>"
            f"<td class='n'>{_e(x['after_expected_value'])}</td><td>{_e(' '.join(x['why']))}</td>"
            "</tr>"
            for x in changed["examples"]
        ),
        "</table></body></html>",
    ]
    return "\n".join(parts) + "\n"
