"""Model administration for the API: list, promote, roll back (the registry does the work)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recsvc.models.registry import (
    AliasState,
    NoRollbackTarget,
    Registry,
    RegistryError,
    RegistryUnavailable,
    UnknownVersion,
)
from recsvc.models.runtime import ModelRuntime
from recsvc.service.errors import Conflict, NotFound, Unavailable


class ModelAdmin:
    """The registry seen through the service's errors."""

    def __init__(self, root: Path, *, runtime: ModelRuntime | None = None) -> None:
        self.registry = Registry(root)
        self.runtime = runtime

    def overview(self) -> dict[str, Any]:
        with _registry_readable():
            return self._overview()

    def _overview(self) -> dict[str, Any]:
        state = self.registry.alias_state()
        return {
            "champion": state.champion,
            "challenger": state.challenger,
            "revision": state.revision,
            "serving": self.runtime.status() if self.runtime else {},
            "versions": [
                {
                    "version": v.version,
                    "created_at": v.created_at,
                    "note": v.note,
                    "aliases": list(v.aliases),
                    "metrics": v.metrics,
                }
                for v in self.registry.list_versions()
            ],
        }

    def promote(self, version: str) -> dict[str, Any]:
        try:
            with _registry_readable():
                state = self.registry.promote(version, alias="champion")
        except UnknownVersion as exc:
            raise NotFound(f"no published version {version!r}") from exc
        except RegistryError as exc:
            raise Conflict(f"version {version!r} cannot be promoted: {type(exc).__name__}") from exc
        return _aliases(state)

    def rollback(self) -> dict[str, Any]:
        try:
            with _registry_readable():
                state = self.registry.rollback()
        except NoRollbackTarget as exc:
            raise Conflict("there is no earlier champion to roll back to") from exc
        return _aliases(state)


@contextlib.contextmanager
def _registry_readable() -> Iterator[None]:
    """An unreadable registry is 503 (retry later), never a 500 nor "no champion"."""
    try:
        yield
    except RegistryUnavailable as exc:
        raise Unavailable(f"the model registry is unavailable: {exc}") from exc


def _aliases(state: AliasState) -> dict[str, Any]:
    return {"champion": state.champion, "challenger": state.challenger, "revision": state.revision}
