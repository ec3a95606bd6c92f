"""The experiment in force, as every worker sees it: read from the store, cached for a second.

A data scientist sets a split (`set_split`): a new experiment with a new id and salt, audited in
the same transaction. Workers poll the store at most once per `ttl_seconds` (like the model
aliases), so a change reaches every worker and host within about a second. A store that cannot
be read keeps the design last seen (the request itself then fails or succeeds on its own).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from recsvc.service.answers import Caller
from recsvc.service.errors import Conflict, Forbidden, Invalid, Unavailable
from recsvc.service.experiment import Experiment, InvalidSplit, check_split
from recsvc.store import AuditRecord, write_audit
from recsvc.store.experiments import current_experiment, insert_experiment

logger = logging.getLogger(__name__)

SETTERS = ("data_scientist", "admin")
NOTE_LIMIT = 200


def _experiment(record: Mapping[str, object] | None) -> Experiment | None:
    if record is None:
        return None
    return Experiment(
        experiment_id=str(record["experiment_id"]),
        split={str(k): int(v) for k, v in dict(record["split"]).items()},  # type: ignore[call-overload]
        salt=str(record["salt"]),
        created_at=str(record.get("created_at") or ""),
        created_by=None if record.get("created_by") is None else str(record["created_by"]),
        note=str(record.get("note") or ""),
    )


class ExperimentSource:
    """The current experiment (or None: everyone is champion), refreshed every ttl_seconds."""

    def __init__(
        self, engine: Engine, *, ttl_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._next = float("-inf")
        self._current: Experiment | None = None

    def current(self) -> Experiment | None:
        if self.clock() >= self._next and self._lock.acquire(blocking=False):
            try:
                self._refresh()
            finally:
                self._lock.release()
        return self._current

    def _refresh(self) -> None:
        self._next = self.clock() + self.ttl_seconds
        try:
            with self.engine.connect() as connection:
                self._current = _experiment(current_experiment(connection))
        except SQLAlchemyError as exc:
            logger.warning(
                "experiment not readable; keeping the design last seen",
                extra={"fields": {"type": type(exc).__name__}},
            )

    def invalidate(self) -> None:
        """Read the store again on the next request (this worker just wrote a new design)."""
        self._next = float("-inf")

    def set_split(
        self, split: Mapping[str, object], *, caller: Caller, request_id: str, note: str = "",
        now: dt.datetime | None = None, salt: str | None = None,
    ) -> Experiment:  # fmt: skip
        """Start a new experiment with this split (data scientist or admin), audited. The salt
        is random unless given (a simulation replays its assignment from its seed)."""
        if caller.role not in SETTERS:
            raise Forbidden("only a data scientist or an admin may set the experiment")
        try:
            checked = check_split(split)
        except InvalidSplit as exc:
            raise Invalid(exc.field, exc.message) from exc
        if len(note) > NOTE_LIMIT:
            raise Invalid("note", f"at most {NOTE_LIMIT} characters")
        moment = now or dt.datetime.now(dt.UTC)
        experiment = Experiment(
            experiment_id=f"exp-{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}",
            split=checked, salt=salt or secrets.token_hex(16), created_by=caller.staff_id,
            created_at=moment.isoformat(timespec="seconds").replace("+00:00", "Z"), note=note,
        )  # fmt: skip
        try:
            with self.engine.begin() as connection:
                insert_experiment(
                    connection, experiment_id=experiment.experiment_id, split=checked,
                    salt=experiment.salt, note=note, created_by=caller.staff_id,
                    created_at=moment,
                )  # fmt: skip
                write_audit(
                    connection,
                    AuditRecord(
                        request_id=request_id, caller_role=caller.role, staff_id=caller.staff_id,
                        payload={"endpoint": "experiment", "experiment": experiment.to_dict()},
                        experiment_id=experiment.experiment_id, created_at=moment,
                    ),
                )  # fmt: skip
        except IntegrityError as exc:
            raise Conflict(f"request id {request_id!r} was already used") from exc
        except SQLAlchemyError as exc:
            raise Unavailable("the store is unavailable; the experiment was not changed") from exc
        self.invalidate()
        return experiment
