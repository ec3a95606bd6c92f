"""Reading the bank export's CSV files row by row, each row checked against the contract."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from recsvc.catalog.product import PITCH_CHANNELS
from recsvc.customers.profile import CustomerSchema, HoldingSchema, TransactionSchema
from recsvc.store.constants import (
    BOOLEAN_CUSTOMER_COLUMNS,
    CHANNEL_HABIT_COLUMNS,
    PITCH_OUTCOMES,
)

RowConverter = Callable[[dict[str, str]], dict[str, Any]]


class LoadError(ValueError):
    """A bank export cannot be loaded; names file, line and field, never the value."""

    def __init__(self, file: str, line: int | None, field: str | None, problem: str) -> None:
        where = file if line is None else f"{file} line {line}"
        what = f" field {field}" if field else ""
        super().__init__(f"{where}{what}: {problem}")
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem


def read_rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) with header = line 1; the header must be exactly `columns`."""
    name = path.name
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise LoadError(name, None, None, f"cannot open ({exc.strerror})") from exc
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise LoadError(name, 1, None, "empty file, expected a header row")
        _check_header(name, header, columns)
        width = len(columns)
        try:
            for record in reader:
                if len(record) != width:
                    raise LoadError(
                        name, reader.line_num, None, f"expected {width} fields, got {len(record)}"
                    )
                yield reader.line_num, dict(zip(columns, record, strict=True))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise LoadError(name, reader.line_num + 1, None, "not valid UTF-8 CSV") from exc


def _check_header(name: str, header: list[str], columns: Sequence[str]) -> None:
    for column in columns:
        if column not in header:
            raise LoadError(name, 1, column, "missing column")
    for column in header:
        if column not in columns:
            raise LoadError(name, 1, column, "unknown column")
    if list(header) != list(columns):
        raise LoadError(name, 1, None, f"columns must be in the order {', '.join(columns)}")


def _first_field(messages: Any, order: Sequence[str]) -> tuple[str, str]:
    """The first bad field in column order, and its message (marshmallow never echoes values)."""
    if not isinstance(messages, Mapping):
        return "", str(messages)
    flat: dict[str, str] = {}
    for key, value in messages.items():
        if isinstance(value, Mapping) and not all(isinstance(k, int) for k in value):
            inner_key, inner_msg = _first_field(value, order)
            flat[inner_key or str(key)] = inner_msg
        else:
            flat[str(key)] = value[0] if isinstance(value, list) and value else str(value)
    rank = {column: i for i, column in enumerate(order)}
    key = min(flat, key=lambda k: rank.get(k, len(rank)))
    return ("" if key == "_schema" else key), flat[key]


def _blank_to_none(raw: Mapping[str, str]) -> dict[str, str | None]:
    return {key: (value if value != "" else None) for key, value in raw.items()}


def _as_bool(value: str | None, column: str) -> bool | None:
    """The contract's booleans are 0/1 exactly; marshmallow alone would also take 'yes'."""
    if value is None:
        return None
    if value not in ("0", "1"):
        raise _RowError(column, "must be 0 or 1")
    return value == "1"


def _load(schema: Schema, data: dict[str, Any], order: Sequence[str]) -> Any:
    try:
        return schema.load(data)
    except ValidationError as exc:
        field, message = _first_field(exc.messages, order)
        raise _RowError(field, message) from exc


class _RowError(ValueError):
    """A row failed validation; the reader adds file and line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _ManagerSchema(Schema):
    class Meta:
        unknown = RAISE

    manager_id = fields.String(required=True, validate=validate.Length(min=1, max=32))
    branch_id = fields.String(required=True, validate=validate.Length(min=1, max=32))
    level = fields.Integer(required=True, validate=validate.Range(min=1))
    book_size_cap = fields.Integer(required=True, validate=validate.Range(min=0))


class _PitchSchema(Schema):
    class Meta:
        unknown = RAISE

    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    date = fields.Date(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(PITCH_CHANNELS))
    outcome = fields.String(required=True, validate=validate.OneOf(PITCH_OUTCOMES))
    staff_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))


class RowConverters:
    """Schema instances built once per load; each method turns one CSV row into table values."""

    def __init__(self, snapshot_dates: Sequence[dt.date]) -> None:
        self.snapshot_dates = tuple(snapshot_dates)
        self._customer = CustomerSchema()
        self._holding = HoldingSchema()
        self._transaction = TransactionSchema()
        self._manager = _ManagerSchema()
        self._pitch = _PitchSchema()
        self._date = fields.Date(required=True)
        self._id = fields.String(required=True, validate=validate.Length(min=1, max=64))

    def customer(self, raw: dict[str, str]) -> Any:
        """A recsvc.customers.Customer from a customers.csv row."""
        data: dict[str, Any] = _blank_to_none(raw)
        for column in BOOLEAN_CUSTOMER_COLUMNS:
            data[column] = _as_bool(data[column], column)
        if data["risk_level"] is not None and data["assessment_date"] is None:
            raise _RowError("assessment_date", "required when risk_level is given")
        data["channel_habits"] = {c: data.pop(c) for c in CHANNEL_HABIT_COLUMNS}
        return _load(self._customer, data, tuple(raw))

    def holding(self, raw: dict[str, str]) -> tuple[dt.date, dict[str, Any]]:
        """(snapshot date, holdings values) from a holdings.csv row."""
        data: dict[str, Any] = _blank_to_none(raw)
        snapshot = self._field_date(data.pop("snapshot_date"), "snapshot_date")
        if snapshot not in self.snapshot_dates:
            raise _RowError("snapshot_date", "not one of the manifest's snapshot_dates")
        customer_id = self._customer_id(data.pop("customer_id"))
        holding = _load(self._holding, data, tuple(raw))
        return snapshot, {"customer_id": customer_id, **vars(holding)}

    def transaction(self, raw: dict[str, str]) -> dict[str, Any]:
        """Transactions values from a transactions.csv row; the date is required here."""
        data: dict[str, Any] = _blank_to_none(raw)
        customer_id = self._customer_id(data.pop("customer_id"))
        if data["date"] is None:
            raise _RowError("date", "missing")
        transaction = _load(self._transaction, data, tuple(raw))
        return {"customer_id": customer_id, **vars(transaction)}

    def manager(self, raw: dict[str, str]) -> dict[str, Any]:
        """client_managers values from a managers.csv row."""
        result: dict[str, Any] = _load(self._manager, _blank_to_none(raw), tuple(raw))
        return result

    def pitch(self, raw: dict[str, str]) -> dict[str, Any]:
        """pitch_history values from a pitches.csv row."""
        result: dict[str, Any] = _load(self._pitch, _blank_to_none(raw), tuple(raw))
        return result

    def _customer_id(self, value: str | None) -> str:
        try:
            result: str = self._id.deserialize(value)
        except ValidationError as exc:
            raise _RowError("customer_id", str(exc.messages[0])) from exc
        return result

    def _field_date(self, value: str | None, field: str) -> dt.date:
        try:
            result: dt.date = self._date.deserialize(value)
        except ValidationError as exc:
            raise _RowError(field, str(exc.messages[0])) from exc
        return result


def checked_rows(
    path: Path, columns: Sequence[str], convert: Callable[[dict[str, str]], Any]
) -> Iterator[tuple[int, Any]]:
    """Yield (line, converted row); a bad row raises LoadError naming file, line and field."""
    for line, raw in read_rows(path, columns):
        try:
            yield line, convert(raw)
        except _RowError as exc:
            raise LoadError(path.name, line, exc.field or None, exc.message) from None
