"""The experiment report: per arm, customers, decisions, pitches, acceptance, adoption and value,
and each arm's difference from `holdout` and from `rules` with anytime-valid 95% intervals.

`experiment_report` is a pure function of two tables:

- decisions: customer_id, arm, day (a date), product_id (the product put to the customer;
  "" or None for none), accepted (bool), and optionally experiment;
- adoptions: customer_id, product_id, day (the date the product was opened), value (yuan).

A customer belongs to the arm of their first decision (assignment is by customer, so it is the
same for all of them). Their outcome window is their first decision's day through `window_days`
later: they *adopted* if they opened any product in it; they *adopted a pitched product* if
they opened a product within `window_days` of a decision that pitched it; their value is the
sum of the values of what they opened in the window. Differences compare customers' adoption
(0/1) and value between arms, in the order of first decisions (training.experiment_stats).

`tables_from_store` reads the same two tables from the service's store as it is today (audit
log, feedback, holdings after `load-customers` of the next snapshot); rows without an arm are
`champion`. `tables_from_simulation` reads a simulator run's decisions.csv / adoptions.csv.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.experiment_stats import ALPHA, METHOD, Interval, difference, difference_path

BASELINES = ("holdout", "rules")
DEFAULT_ARM = "champion"


def _customers(decisions: pd.DataFrame, adoptions: pd.DataFrame, window: int) -> pd.DataFrame:
    """One row per customer: arm, first day, order of arrival, outcomes in the window."""
    d = decisions.reset_index(drop=True)
    d = d.assign(order=np.arange(len(d)), day=pd.to_datetime(d["day"]))
    d = d.sort_values(["day", "order"], kind="stable")
    first = d.groupby("customer_id", sort=False).first()
    cust = pd.DataFrame({"arm": first["arm"].astype(str), "first_day": first["day"]})
    cust["rank"] = np.arange(len(cust))
    a = adoptions.assign(day=pd.to_datetime(adoptions["day"]))
    a = a[a["customer_id"].isin(cust.index)]
    start = cust["first_day"].reindex(a["customer_id"]).to_numpy()
    inside = (a["day"].to_numpy() >= start) & (
        a["day"].to_numpy() <= start + np.timedelta64(window, "D")
    )
    hits = a[inside]
    cust["adopted"] = cust.index.isin(hits["customer_id"]).astype(float)
    cust["value"] = hits.groupby("customer_id")["value"].sum().reindex(cust.index).fillna(0.0)
    pitched = d[d["product_id"].fillna("").astype(str) != ""]
    joined = pitched[["customer_id", "product_id", "day"]].merge(
        a[["customer_id", "product_id", "day"]], on=["customer_id", "product_id"],
        suffixes=("", "_opened"),
    )  # fmt: skip
    ok = (joined["day_opened"] >= joined["day"]) & (
        joined["day_opened"] <= joined["day"] + pd.Timedelta(days=window)
    )
    cust["adopted_pitched"] = cust.index.isin(joined.loc[ok, "customer_id"]).astype(float)
    return cust


def _vs(cust: pd.DataFrame, arm: str, base: str, column: str, alpha: float) -> Interval | None:
    if arm == base or base not in set(cust["arm"]):
        return None
    a = cust.loc[cust["arm"] == arm, column].to_numpy()
    b = cust.loc[cust["arm"] == base, column].to_numpy()
    return difference(a, b, alpha=alpha)


def _daily(cust: pd.DataFrame, alpha: float) -> list[dict[str, Any]]:
    """Per day and arm, cumulatively: customers, adoption rate and the band vs holdout —
    what a daily reader of the report would have seen (the console's plot per arm)."""
    out: list[dict[str, Any]] = []
    days = sorted(cust["first_day"].unique())
    for arm in sorted(cust["arm"].unique()):
        mine = cust[cust["arm"] == arm]
        path = None
        if arm != "holdout" and "holdout" in set(cust["arm"]):
            both = cust[cust["arm"].isin([arm, "holdout"])]
            path = (both["first_day"].to_numpy(),
                    difference_path(both["adopted"].to_numpy(),
                                    (both["arm"] == arm).to_numpy(), alpha=alpha))  # fmt: skip
        for day in days:
            seen = mine[mine["first_day"] <= day]
            row: dict[str, Any] = {
                "day": pd.Timestamp(day).date().isoformat(), "arm": arm,
                "customers": len(seen),
                "adoption_rate": round(float(seen["adopted"].mean()), 6) if len(seen) else None,
                "vs_holdout": None,
            }  # fmt: skip
            if path is not None:
                upto = int(np.searchsorted(path[0], day, side="right")) - 1
                if upto >= 0:
                    est, low, high, n_a, n_b = (x[upto] for x in path[1])
                    row["vs_holdout"] = Interval(
                        float(est) if n_a and n_b else None,
                        None if np.isnan(low) else float(low),
                        None if np.isnan(high) else float(high), int(n_a), int(n_b),
                    ).as_json()  # fmt: skip
            out.append(row)
    return out


def experiment_report(
    decisions: pd.DataFrame,
    adoptions: pd.DataFrame,
    *,
    experiment: str | None = None,
    window_days: int = 30,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """The report as a JSON-able dict (shape in the module docstring and docs/simulator.md)."""
    if experiment is not None and "experiment" in decisions.columns:
        decisions = decisions[decisions["experiment"].astype(str) == experiment]
    decisions = decisions.assign(arm=decisions["arm"].fillna(DEFAULT_ARM).replace("", DEFAULT_ARM))
    arms: dict[str, Any] = {}
    report: dict[str, Any] = {
        "experiment": experiment, "method": METHOD, "alpha": alpha, "window_days": window_days,
        "decisions_from": None, "decisions_to": None, "arms": arms, "daily": [],
    }  # fmt: skip
    if decisions.empty:
        return report
    days = pd.to_datetime(decisions["day"])
    report["decisions_from"] = days.min().date().isoformat()
    report["decisions_to"] = days.max().date().isoformat()
    cust = _customers(decisions, adoptions, window_days)
    pitched = decisions["product_id"].fillna("").astype(str) != ""
    for arm in sorted(cust["arm"].unique()):
        mine = cust[cust["arm"] == arm]
        rows = decisions[decisions["customer_id"].isin(mine.index)]
        is_pitch = pitched[rows.index]
        n_pitch = int(is_pitch.sum())
        accepted = int(rows.loc[is_pitch, "accepted"].fillna(False).astype(bool).sum())
        entry: dict[str, Any] = {
            "customers": len(mine), "decisions": len(rows), "pitches": n_pitch,
            "accepted": accepted,
            "acceptance_rate": round(accepted / n_pitch, 6) if n_pitch else None,
            "adopted": int(mine["adopted"].sum()),
            "adoption_rate": round(float(mine["adopted"].mean()), 6),
            "adopted_pitched": int(mine["adopted_pitched"].sum()),
            "pitched_adoption_rate": round(float(mine["adopted_pitched"].mean()), 6),
            "value_per_customer": round(float(mine["value"].mean()), 4),
        }  # fmt: skip
        for base in BASELINES:
            rate = _vs(cust, arm, base, "adopted", alpha)
            value = _vs(cust, arm, base, "value", alpha)
            entry[f"vs_{base}"] = None if rate is None else rate.as_json()
            entry[f"value_vs_{base}"] = None if value is None else value.as_json()
        arms[arm] = entry
    report["daily"] = _daily(cust, alpha)
    return report


def tables_from_simulation(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """decisions.csv and adoptions.csv of a `python -m training simulate` run."""
    d = pd.read_csv(directory / "decisions.csv", dtype=str, keep_default_na=False)
    a = pd.read_csv(directory / "adoptions.csv", dtype={"customer_id": str, "product_id": str})
    decisions = pd.DataFrame({
        "customer_id": d["customer_id"], "arm": d["arm"], "day": d["date"],
        "product_id": d["product_id"], "accepted": d["outcome"] == "accepted",
    })  # fmt: skip
    adoptions = pd.DataFrame({"customer_id": a["customer_id"], "product_id": a["product_id"],
                              "day": a["date"], "value": a["value"].astype(float)})  # fmt: skip
    return decisions, adoptions


def tables_from_store(database_url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decisions (audit log + feedback) and adoptions (holdings' open dates) from the store.

    The one place that knows the store's shape: the audit payload's answer gives the day
    (`as_of`) and the pitch; feedback gives the product actually put and whether it was
    accepted. The arm and experiment id are read, first found, from audit_log columns `arm` /
    `experiment_id`, the payload's `experiment` ({"id", "arm"}), or the answer's `arm` /
    `experiment_id` / `experiment`; absent everywhere (today's store) a row is `champion` of
    experiment None.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from recsvc.catalog import load_catalogue
    from recsvc.config import Settings
    from recsvc.store import make_engine
    from recsvc.store.tables import AuditLogRow, FeedbackRow, HoldingRow

    values = {
        p.product_id: float(p.value) for p in load_catalogue(Settings().catalogue_path).products
    }
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            table = AuditLogRow.__table__
            extra = [table.c[name] for name in ("arm", "experiment_id") if name in table.c]
            audits = session.execute(
                select(
                    table.c.request_id,
                    table.c.customer_id,
                    table.c.created_at,
                    table.c.payload,
                    *extra,
                )
                .where(table.c.customer_id.is_not(None))
                .order_by(table.c.created_at)
            ).all()
            feedback = session.execute(
                select(FeedbackRow.request_id, FeedbackRow.product_id, FeedbackRow.outcome)
            ).all()
            holdings = session.execute(
                select(HoldingRow.customer_id, HoldingRow.product_id, HoldingRow.open_date).where(
                    HoldingRow.open_date.is_not(None)
                )
            ).all()
    finally:
        engine.dispose()
    said = {rid: (pid, outcome) for rid, pid, outcome in feedback}
    rows = []
    for row in audits:
        rid, cid, created, payload = row[:4]
        if payload.get("request", {}).get("inline_profile"):
            continue
        answer = payload.get("answer", {})
        columns = dict(zip([c.name for c in extra], row[4:], strict=True))
        arm, experiment = _arm_and_experiment(payload, columns)
        pitch = (answer.get("pitch") or {}).get("product_id") or ""
        product, outcome = said.get(rid, (pitch, ""))
        rows.append((cid, arm, experiment, answer.get("as_of") or created.date().isoformat(),
                     product, outcome == "accepted"))  # fmt: skip
    decisions = pd.DataFrame(
        rows, columns=["customer_id", "arm", "experiment", "day", "product_id", "accepted"]
    )
    adoptions = pd.DataFrame(
        [(c, p, d, values.get(p, 0.0)) for c, p, d in holdings],
        columns=["customer_id", "product_id", "day", "value"],
    )
    return decisions, adoptions


def _arm_and_experiment(payload: dict[str, Any], columns: dict[str, Any]
                        ) -> tuple[str, str | None]:  # fmt: skip
    """An audited decision's arm and experiment id, wherever the service records them."""
    answer = payload.get("answer", {})
    places = [
        {"arm": columns.get("arm"), "id": columns.get("experiment_id")},
        payload.get("experiment") or {},
        {"arm": answer.get("arm"), "id": answer.get("experiment_id")},
        answer.get("experiment") if isinstance(answer.get("experiment"), dict) else {},
    ]
    arm = next((p["arm"] for p in places if p.get("arm")), DEFAULT_ARM)
    experiment = next((p["id"] for p in places if p.get("id")), None)
    return str(arm), None if experiment is None else str(experiment)


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, dict):
        if x.get("estimate") is None:
            return "–"
        low, high = x.get("low"), x.get("high")
        band = "unbounded" if low is None else f"[{low:+.4f}, {high:+.4f}]"
        return f"{x['estimate']:+.4f} {band}"
    if isinstance(x, float):
        return f"{x:.4f}"
    return str(x)


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page: the per-arm table and the method."""
    cols = ("customers", "decisions", "pitches", "accepted", "acceptance_rate", "adoption_rate",
            "pitched_adoption_rate", "value_per_customer", "vs_holdout", "vs_rules",
            "value_vs_holdout", "value_vs_rules")  # fmt: skip
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("arm", *cols))
    body = "".join(
        "<tr><td>"
        + html.escape(arm)
        + "</td>"
        + "".join(f"<td>{html.escape(_fmt(entry.get(c)))}</td>" for c in cols)
        + "</tr>"
        for arm, entry in report["arms"].items()
    )
    title = html.escape(f"Experiment {report.get('experiment') or '(all)'}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<h1>{title}</h1><p>Decisions {html.escape(str(report.get('decisions_from')))} to "
        f"{html.escape(str(report.get('decisions_to')))}; attribution window "
        f"{report['window_days']} days.</p><table border='1'><tr>{head}</tr>{body}</table>"
        f"<p>Method: {html.escape(report['method'])}</p></body></html>\n"
    )
