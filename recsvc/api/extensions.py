"""The one place Flask keeps recsvc's shared objects: `app.extensions["recsvc"]`, a frozen
`Extensions` built once by `create_app`; read them with `extensions()` (cookiecutter-flask's
extensions.py, flaskr's init_app). The domain side is `recsvc.service.wiring.Services`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from recsvc.api.ratelimit import KeyRateLimiter
    from recsvc.api.spec import ProblemApi
    from recsvc.catalog import Catalogue
    from recsvc.config import Settings
    from recsvc.observability import RequestMetrics
    from recsvc.security import KeyAuthenticator
    from recsvc.service.recommend import CrossSellService
    from recsvc.service.wiring import Services

KEY = "recsvc"
ReadinessCheck = Callable[[], tuple[str, bool, str]]


@dataclass(frozen=True)
class Extensions:
    """The shared objects of one app. `readiness` is the registry /readyz runs, in order."""

    services: Services
    service: CrossSellService
    metrics: RequestMetrics
    authenticator: KeyAuthenticator
    limiter: KeyRateLimiter
    api: ProblemApi
    catalogue_json: list[dict[str, Any]]
    readiness: list[ReadinessCheck]

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def engine(self) -> Engine:
        return self.services.engine

    @property
    def catalogue(self) -> Catalogue:
        return self.services.catalogue


def init_app(app: Flask, built: Extensions) -> None:
    app.extensions[KEY] = built


def extensions(app: Flask | None = None) -> Extensions:
    """This app's shared objects (the current app's unless one is given)."""
    built: Extensions = (app or current_app).extensions[KEY]
    return built
