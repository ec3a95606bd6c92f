"""`python -m training export`: the store as a bank export (docs/data-contract.md) as it was
known on a date, plus the service's decision log (decisions.csv).

Point in time (`as_of` = DATE, labels at `label_date` = DATE2):
- customers who joined after DATE are left out; a risk assessment dated after DATE was not known
  on DATE, and the store keeps only the latest, so such a customer is written unassessed;
- holdings.csv: at DATE, what was opened by DATE and not matured before it; at DATE2 (the
  label), what was opened by DATE2 and not matured before it;
- transactions.csv: the 90 days up to DATE; pitches.csv: the bank's pitch history up to DATE
  and the service's pitches made by DATE whose answer was recorded by DATE;
- decisions.csv: the service's decisions made by DATE, the answer empty if recorded later;
- responses.csv (labels only, like the second snapshot): the decisions made after DATE up to
  DATE2, with the answers known at DATE2 -- the response target's labels, never a feature.

It reads the store in customer-id chunks in one read transaction (a consistent snapshot) and
writes every file chunk by chunk into a temporary directory beside `out`, which replaces `out`
only once everything is written: a failed export leaves `out` as it was. Same store, same dates:
the same bytes."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine

from recsvc.models.manifest import file_digest
from recsvc.store.constants import (
    BANK_FORMAT,
    BANK_FORMAT_VERSION,
    CUSTOMER_COLUMNS,
    HOLDING_COLUMNS,
    MANAGER_COLUMNS,
    PITCH_COLUMNS,
    TRANSACTION_COLUMNS,
)
from recsvc.store.export_read import chunk_rows, customer_chunks, manager_chunks
from training.export.decisions import DECISION_COLUMNS, Decision, decisions_known

DECISIONS_FILE = "decisions.csv"
RESPONSES_FILE = "responses.csv"  # labels: decisions of (DATE, DATE2], answers known at DATE2
FILES = ("customers.csv", "holdings.csv", "transactions.csv", "pitches.csv", "managers.csv",
         DECISIONS_FILE, RESPONSES_FILE)  # fmt: skip
HISTORY_DAYS = 90
SOURCE = "python -m training export"
_MONEY = ("monthly_income", "aum")
_FLAGS = ("salary_via_bank", "consent_marketing", "open_complaint")


def next_month_end(day: dt.date) -> dt.date:
    """The last day of the month after `day` (the synthetic bank's second snapshot)."""
    after_next = dt.date(day.year + (day.month + 1) // 12, (day.month + 1) % 12 + 1, 1)
    return after_next - dt.timedelta(days=1)


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else ""


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def assessment_known(row: Any, as_of: dt.date) -> tuple[int | None, dt.date | None]:
    """(risk level, assessment date) as known on `as_of`: none if assessed after it."""
    if row.risk_level is None or row.assessment_date is None or row.assessment_date > as_of:
        return None, None
    return int(row.risk_level), row.assessment_date


def customer_row(row: Any, as_of: dt.date) -> list[str]:
    risk, assessed = assessment_known(row, as_of)
    out: list[str] = []
    for column in CUSTOMER_COLUMNS:
        if column == "risk_level":
            out.append("" if risk is None else f"C{risk}")
        elif column == "assessment_date":
            out.append(_date(assessed))
        elif column in _MONEY:
            out.append(_money(getattr(row, column)))
        elif column in _FLAGS:
            out.append("1" if getattr(row, column) else "0")
        elif column in ("birth_date", "customer_since"):
            out.append(_date(getattr(row, column)))
        else:
            out.append(_text(getattr(row, column)))
    return out


def held_on(row: Any, day: dt.date) -> bool:
    """Opened by `day` (or no open date known) and not matured before it (the synthetic bank's
    rule: a product maturing on the snapshot day is still held that day)."""
    opened = row.open_date is None or row.open_date <= day
    return opened and (row.maturity_date is None or row.maturity_date >= day)


def holding_row(row: Any, day: dt.date) -> list[str]:
    return [
        day.isoformat(), row.customer_id, row.product_id, _money(row.amount),
        _date(row.open_date), _date(row.maturity_date), _money(row.value_change_pct),
    ]  # fmt: skip


def transaction_row(row: Any) -> list[str]:
    return [row.customer_id, _date(row.date), row.type, _money(row.amount), row.channel]


def _pitches(history: Sequence[Any], decisions: Sequence[Decision]) -> list[list[str]]:
    """The bank's pitch history and the service's answered pitches, by customer and date."""
    rows = [
        (h.customer_id, h.date, [h.customer_id, h.product_id, h.date.isoformat(), h.channel,
                                 h.outcome, _text(h.staff_id)])
        for h in history
    ]  # fmt: skip
    # a bank history that already carries the service's pitches (a simulator's export loaded
    # back) has them once: same customer, product, day and answer
    known = {(h.customer_id, h.product_id, h.date, h.outcome) for h in history}
    rows += [
        (d.customer_id, d.decided_on, [d.customer_id, d.product_id, d.decided_on.isoformat(),
                                       d.channel, d.outcome, _text(d.staff_id)])
        for d in decisions
        if d.outcome and (d.customer_id, d.product_id, d.decided_on, d.outcome) not in known
    ]  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[1]))  # stable: history first, then the service's order
    return [r[2] for r in rows]


@dataclass
class _File:
    path: Path
    handle: IO[str]
    writer: Any
    rows: int = 0

    def write(self, rows: Sequence[Sequence[str]]) -> None:
        self.writer.writerows(rows)
        self.rows += len(rows)


def _open(path: Path, header: Sequence[str] | None) -> _File:
    handle = path.open("w", encoding="utf-8", newline="")
    writer = csv.writer(handle, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    return _File(path, handle, writer)


@dataclass(frozen=True)
class ExportSummary:
    as_of: dt.date
    label_date: dt.date
    rows: dict[str, int]
    out: Path


def _read_transaction(engine: Engine) -> Connection:
    """One read transaction for the whole export: a consistent snapshot of the store."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    return engine.connect()


def _write_all(
    conn: Connection,
    tmp: Path,
    *,
    as_of: dt.date,
    label_date: dt.date,
    tz: dt.tzinfo,
    chunk_size: int,
    progress: Callable[[int], None] | None,
) -> dict[str, int]:
    names = ("customers.csv", "holdings.csv", "transactions.csv", "pitches.csv", DECISIONS_FILE,
             RESPONSES_FILE)  # fmt: skip
    headers = (CUSTOMER_COLUMNS, HOLDING_COLUMNS, TRANSACTION_COLUMNS, PITCH_COLUMNS,
               DECISION_COLUMNS, DECISION_COLUMNS)  # fmt: skip
    files = {name: _open(tmp / name, header) for name, header in zip(names, headers, strict=True)}
    later = _open(tmp / "holdings.part2", None)  # the label snapshot's rows, appended at the end
    try:
        for chunk in customer_chunks(conn, joined_by=as_of, chunk_size=chunk_size):
            ids = [c.customer_id for c in chunk]
            got = chunk_rows(
                conn, ids, held_by=max(as_of, label_date),
                transactions_after=as_of - dt.timedelta(days=HISTORY_DAYS),
                transactions_until=as_of, history_until=as_of,
            )  # fmt: skip
            decisions = decisions_known(
                got.pitch_log, got.feedback, got.corrections, got.audits, as_of=as_of, tz=tz
            )
            files["customers.csv"].write([customer_row(c, as_of) for c in chunk])
            files["holdings.csv"].write(
                [holding_row(h, as_of) for h in got.holdings if held_on(h, as_of)]
            )
            later.write(
                [holding_row(h, label_date) for h in got.holdings if held_on(h, label_date)]
            )
            files["transactions.csv"].write([transaction_row(t) for t in got.transactions])
            files["pitches.csv"].write(_pitches(got.history, decisions))
            files[DECISIONS_FILE].write([d.row() for d in decisions])
            labels = decisions_known(
                got.pitch_log, got.feedback, got.corrections, got.audits, as_of=label_date, tz=tz
            )
            files[RESPONSES_FILE].write([d.row() for d in labels if d.decided_on > as_of])
            if progress is not None:
                progress(len(chunk))
        later.handle.close()
        with later.path.open("r", encoding="utf-8", newline="") as src:
            shutil.copyfileobj(src, files["holdings.csv"].handle)
        files["holdings.csv"].rows += later.rows
        later.path.unlink()
        managers = _open(tmp / "managers.csv", MANAGER_COLUMNS)
        files["managers.csv"] = managers
        for rows in manager_chunks(conn, chunk_size=chunk_size):
            managers.write([[m.manager_id, m.branch_id, str(m.level), str(m.book_size_cap)]
                            for m in rows])  # fmt: skip
    finally:
        later.handle.close()
        for f in files.values():
            f.handle.close()
    return {name: f.rows for name, f in files.items()}


def export_bank(
    engine: Engine,
    out: Path,
    *,
    as_of: dt.date,
    label_date: dt.date | None = None,
    tz: dt.tzinfo = dt.UTC,
    chunk_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write the export into `out` (replaced as a whole; left as it was if anything fails)."""
    label = label_date or next_month_end(as_of)
    if label <= as_of:
        raise ValueError(f"label date {label} must be after the as-of date {as_of}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    try:
        with _read_transaction(engine) as conn, conn.begin():
            rows = _write_all(conn, tmp, as_of=as_of, label_date=label, tz=tz,
                              chunk_size=chunk_size, progress=progress)  # fmt: skip
        manifest = {
            "format": BANK_FORMAT, "format_version": BANK_FORMAT_VERSION,
            "customers": rows["customers.csv"],
            "snapshot_dates": [as_of.isoformat(), label.isoformat()],
            "files": {n: {"rows": rows[n], "sha256": file_digest(tmp / n)[0]} for n in FILES},
            "source": SOURCE,
        }  # fmt: skip
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportSummary(as_of=as_of, label_date=label, rows=rows, out=out)


def _replace(tmp: Path, out: Path) -> None:
    """Put the finished directory in place of `out`: each rename is atomic; the old directory
    is moved aside first and only removed once the new one is in place."""
    os.chmod(tmp, 0o755)
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(old)
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
