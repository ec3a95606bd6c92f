"""Loading a bank export directory into the store: one transaction, idempotent, bounded memory."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, String, Table, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from tqdm import tqdm

from recsvc.store.constants import (
    BANK_FORMAT,
    BANK_FORMAT_VERSION,
    CUSTOMER_COLUMNS,
    CUSTOMERS_FILE,
    HOLDING_COLUMNS,
    HOLDINGS_FILE,
    MANAGER_COLUMNS,
    MANAGERS_FILE,
    MANIFEST_FILE,
    PITCH_COLUMNS,
    PITCHES_FILE,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_FILE,
    check_chunk_size,
)
from recsvc.store.csvrows import LoadError, RowConverters, checked_rows
from recsvc.store.customer_repo import customer_to_row
from recsvc.store.parallel_rows import RowPool
from recsvc.store.pgbulk import copy_rows, first_repeat, merge_changed, staging_table
from recsvc.store.staging import Staging, replace_changed
from recsvc.store.tables import (
    Base,
    ClientManagerRow,
    CustomerRow,
    HoldingRow,
    PitchHistoryRow,
    TransactionRow,
)


@dataclass
class TableCounts:
    """Rows of one table that the load inserted, updated, left unchanged or deleted."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass
class LoadReport:
    """What a load did, per table, and how long it took."""

    snapshot_date: dt.date
    tables: dict[str, TableCounts] = field(default_factory=dict)
    rows_read: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return sum(counts.changed for counts in self.tables.values())


@dataclass(frozen=True)
class Manifest:
    snapshot_dates: tuple[dt.date, ...]
    files: dict[str, dict[str, Any]]


def read_manifest(directory: Path, *, verify_checksums: bool = True) -> Manifest:
    """Check manifest.json's format and version, and the files' row counts and hashes."""
    path = directory / MANIFEST_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError(MANIFEST_FILE, None, None, f"cannot read: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != BANK_FORMAT:
        raise LoadError(MANIFEST_FILE, None, "format", f"must be {BANK_FORMAT!r}")
    if raw.get("format_version") != BANK_FORMAT_VERSION:
        raise LoadError(MANIFEST_FILE, None, "format_version", f"must be {BANK_FORMAT_VERSION}")
    try:
        snapshots = tuple(dt.date.fromisoformat(d) for d in raw["snapshot_dates"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LoadError(MANIFEST_FILE, None, "snapshot_dates", "ISO dates required") from exc
    if not snapshots or list(snapshots) != sorted(set(snapshots)):
        raise LoadError(MANIFEST_FILE, None, "snapshot_dates", "must be non-empty and ascending")
    files = raw.get("files") or {}
    if not isinstance(files, dict):
        raise LoadError(MANIFEST_FILE, None, "files", "must be an object")
    if verify_checksums:
        for name, entry in files.items():
            expected = entry.get("sha256") if isinstance(entry, dict) else None
            if expected and _sha256(directory / name) != expected:
                raise LoadError(name, None, None, "sha256 differs from manifest.json")
    return Manifest(snapshot_dates=snapshots, files=files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise LoadError(path.name, None, None, f"cannot open ({exc.strerror})") from exc
    return digest.hexdigest()


def load_customers(
    engine: Engine,
    directory: Path,
    *,
    chunk_size: int = 5000,
    progress: bool = False,
    verify_checksums: bool = True,
    copy: bool | None = None,
    workers: int = 1,
) -> LoadReport:
    """Load a bank export; a bad row raises LoadError and nothing at all is committed.

    `copy` (default: on PostgreSQL) stages each file by COPY and merges it with one statement
    per table (recsvc.store.pgbulk) instead of row inserts; the same rows, counts and errors.
    `workers` > 1 checks the rows in that many processes (recsvc.store.parallel_rows), the
    same converters and errors, in file order."""
    check_chunk_size(chunk_size)
    started = time.perf_counter()
    directory = Path(directory)
    manifest = read_manifest(directory, verify_checksums=verify_checksums)
    report = LoadReport(snapshot_date=manifest.snapshot_dates[-1])
    if copy is None:
        copy = engine.dialect.name == "postgresql"
    elif copy and engine.dialect.name != "postgresql":
        raise ValueError(f"copy needs PostgreSQL, not {engine.dialect.name}")
    loader = _Loader(directory, manifest, chunk_size, progress, report, copy)
    if workers > 1:
        loader.pool = RowPool(workers, manifest.snapshot_dates, chunk_size)
    try:
        with engine.begin() as conn:
            staging = Staging.create(conn)
            loader.run(conn, staging)
            staging.drop(conn)
    finally:
        if loader.pool is not None:
            loader.pool.close()
    report.seconds = time.perf_counter() - started
    return report


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _upsert(conn: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    """Insert or update by primary key, atomically (ON CONFLICT DO UPDATE)."""
    if not rows:
        return
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[conn.dialect.name]
    stmt = dialect.insert(table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c != key}
    conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=updates), rows)


class _Loader:
    """One load's state: the directory, its manifest, converters and the report being filled."""

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        chunk_size: int,
        progress: bool,
        report: LoadReport,
        copy: bool = False,
    ) -> None:
        self.copy = copy
        self.pool: RowPool | None = None
        self.directory = directory
        self.manifest = manifest
        self.chunk_size = chunk_size
        self.progress = progress
        self.report = report
        self.convert = RowConverters(manifest.snapshot_dates)

    def run(self, conn: Connection, staging: Staging) -> None:
        self._merge(
            conn, MANAGERS_FILE, MANAGER_COLUMNS, self.convert.manager, ClientManagerRow, staging
        )
        self._merge(conn, CUSTOMERS_FILE, CUSTOMER_COLUMNS, self._customer, CustomerRow, staging)
        last = self.manifest.snapshot_dates[-1]
        children: Sequence[tuple[str, Sequence[str], Callable[[dict[str, str]], Any], Table]] = (
            (HOLDINGS_FILE, HOLDING_COLUMNS, self.convert.holding, _table(HoldingRow)),
            (
                TRANSACTIONS_FILE,
                TRANSACTION_COLUMNS,
                self.convert.transaction,
                _table(TransactionRow),
            ),
            (PITCHES_FILE, PITCH_COLUMNS, self.convert.pitch, _table(PitchHistoryRow)),
        )
        for name, columns, convert, table in children:
            rows = self._rows(name, columns, convert)
            if name == HOLDINGS_FILE:
                rows = ((line, values) for line, (day, values) in rows if day == last)
            staged = staging.stage(conn, table, rows, self.chunk_size, copy=self.copy)
            staging.check(conn, table, name)
            counts = replace_changed(conn, staging, table)
            self.report.tables[table.name] = TableCounts(
                inserted=counts[0], deleted=counts[1], unchanged=staged - counts[0]
            )

    def _customer(self, raw: dict[str, str]) -> dict[str, Any]:
        return customer_to_row(self.convert.customer(raw))

    def _rows(
        self, name: str, columns: Sequence[str], convert: Callable[[dict[str, str]], Any]
    ) -> Iterator[tuple[int, Any]]:
        """Checked rows of one file, counted against the manifest, with optional progress."""
        expected = (self.manifest.files.get(name) or {}).get("rows")
        count = 0
        with tqdm(total=expected, desc=name, unit="row", disable=not self.progress) as bar:
            path = self.directory / name
            if self.pool is None:
                source = checked_rows(path, columns, convert)
            else:  # the converter's RowConverters method by name (_customer: "customer")
                source = self.pool.checked_rows(path, columns, convert.__name__.lstrip("_"))
            for line, row in source:
                count += 1
                bar.update()
                yield line, row
        self.report.rows_read += count
        if expected is not None and expected != count:
            raise LoadError(name, None, None, f"{count} rows, manifest.json says {expected}")

    def _merge(
        self,
        conn: Connection,
        name: str,
        columns: Sequence[str],
        convert: Callable[[dict[str, str]], dict[str, Any]],
        model: type[Base],
        staging: Staging,
    ) -> None:
        """Upsert a keyed file chunk by chunk, counting what actually changed."""
        table = _table(model)
        key = table.primary_key.columns.values()[0].name
        counts = self.report.tables.setdefault(table.name, TableCounts())
        if self.copy:
            self._merge_copy(conn, name, self._rows(name, columns, convert), table, staging)
            return
        for chunk in _chunks(self._rows(name, columns, convert), self.chunk_size):
            keys = [row[key] for _, row in chunk]
            staging.add_keys(conn, name, key, chunk)
            existing = {
                r[key]: dict(r)
                for r in conn.execute(select(table).where(table.c[key].in_(keys))).mappings()
            }
            changed = [row for _, row in chunk if existing.get(row[key]) != row]
            counts.unchanged += len(chunk) - len(changed)
            counts.updated += sum(1 for row in changed if row[key] in existing)
            counts.inserted += sum(1 for row in changed if row[key] not in existing)
            _upsert(conn, table, key, changed)

    def _merge_copy(
        self,
        conn: Connection,
        name: str,
        rows: Iterator[tuple[int, dict[str, Any]]],
        table: Table,
        staging: Staging,
    ) -> None:
        """_merge on PostgreSQL: COPY the file chunk by chunk into a staging table, then check
        its keys and upsert what is new or changed in one statement."""
        key = table.primary_key.columns.values()[0].name
        counts = self.report.tables[table.name]
        staged: Table | None = None
        fields: list[str] = []
        total = 0
        for chunk in _chunks(rows, self.chunk_size):
            if staged is None:
                fields = list(chunk[0][1])
                staged = staging_table(conn, f"load_rows_{table.name}", table, fields, line=True)
            lines = ([line, *(row[f] for f in fields)] for line, row in chunk)
            total += copy_rows(conn, staged, ["line", *fields], lines)
        if staged is None:
            return
        repeat = first_repeat(conn, staged, key)
        if repeat is not None:
            raise LoadError(name, repeat[0], key, f"duplicate, first on line {repeat[1]}")
        keys = select(literal(name, String(32)), staged.c[key], staged.c.line)
        conn.execute(insert(staging.keys).from_select(["file", "key", "line"], keys))
        inserted, updated = merge_changed(conn, staged, table, key, fields)
        counts.inserted += inserted
        counts.updated += updated
        counts.unchanged += total - inserted - updated
        staged.drop(conn)
