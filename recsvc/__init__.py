"""recsvc: the branch cross-sell service. `create_app()` builds the HTTP service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from recsvc.config import Settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The application factory (gunicorn: `recsvc:create_app()`); settings from the environment
    unless test_config["SETTINGS"] gives them; other test_config keys are Flask config."""
    from flask import Flask

    from recsvc.config import Settings

    config = dict(test_config or {})
    settings: Settings = config.pop("SETTINGS", None) or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config.update(config)
    _register_extensions(app, settings)
    _register_blueprints(app)
    _register_errorhandlers(app)
    return app


def _register_extensions(app: Flask, settings: Settings) -> None:
    """Logging, JSON, request hooks, the wiring (store, catalogue, model), keys, rate limit,
    OpenAPI; in order. Everything shared lands in one frozen `Extensions`."""
    from recsvc.api import extensions, jsonio, observe, ratelimit, spec, wire
    from recsvc.api.health import challenger_check, store_check
    from recsvc.catalog import catalogue_to_json
    from recsvc.observability import configure_logging
    from recsvc.security import KeyAuthenticator
    from recsvc.service.recommend import CrossSellService
    from recsvc.service.wiring import build_services
    from recsvc.store.engine import upgrade

    configure_logging(settings.log_level)
    jsonio.init_app(app)
    wire.init_app(app)
    metrics = observe.init_app(app, multiproc_dir=settings.prometheus_multiproc_dir)
    services = build_services(settings, on_serving=metrics.serving)  # the model loads lazily
    upgrade(services.engine)
    built = extensions.Extensions(
        services=services,
        service=CrossSellService(services),
        metrics=metrics,
        authenticator=KeyAuthenticator(services.engine, ttl_seconds=settings.api_key_cache_seconds),
        limiter=ratelimit.init_app(app, settings),
        api=spec.init_app(app),
        catalogue_json=catalogue_to_json(services.catalogue),
        readiness=[
            store_check(services.engine),
            services.runtime.readiness,
            challenger_check(services.challenger),
        ],
    )
    extensions.init_app(app, built)


def _register_blueprints(app: Flask) -> None:
    """Each resource's blueprint; smorest ones also land in the OpenAPI document."""
    from recsvc.api import (
        audit,
        console,
        contact_plan,
        corrections,
        customers,
        docs,
        experiment,
        health,
        models,
        products,
        recommend,
    )
    from recsvc.api.extensions import extensions

    api = extensions(app).api
    for module in (
        health, products, recommend, corrections, customers, models, audit, contact_plan,
        experiment,
    ):  # fmt: skip
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.blp)
    console.init_app(app)


def _register_errorhandlers(app: Flask) -> None:
    """Every error, from any layer, as problem+json."""
    from recsvc.api import errors

    errors.init_app(app)
