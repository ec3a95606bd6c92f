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
    app.extensions["recsvc.settings"] = settings
    _register_extensions(app, settings)
    _register_blueprints(app)
    _register_errorhandlers(app)
    return app


def _register_extensions(app: Flask, settings: Settings) -> None:
    """Logging, JSON, request hooks, store, keys, catalogue, rate limit, OpenAPI; in order."""
    from recsvc.api import auth, health, jsonio, observe, ratelimit, spec, wire
    from recsvc.api.products import CATALOGUE_JSON
    from recsvc.catalog import catalogue_to_json, load_catalogue
    from recsvc.observability import configure_logging
    from recsvc.security import KeyAuthenticator
    from recsvc.store.engine import make_engine, upgrade

    configure_logging(settings.log_level)
    jsonio.init_app(app)
    wire.init_app(app)
    observe.init_app(app, multiproc_dir=settings.prometheus_multiproc_dir)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    app.extensions["recsvc.engine"] = engine
    catalogue = load_catalogue(settings.catalogue_path)
    app.extensions["recsvc.catalogue"] = catalogue
    app.extensions[CATALOGUE_JSON] = catalogue_to_json(catalogue)
    auth.init_app(app, KeyAuthenticator(engine, ttl_seconds=settings.api_key_cache_seconds))
    health.init_app(app, engine)
    _register_service(app, settings, engine, catalogue)
    ratelimit.init_app(app, settings)
    spec.init_app(app)


def _register_service(app: Flask, settings: Settings, engine: Any, catalogue: Any) -> None:
    """The cross-sell use case and the model it serves (loaded lazily, after any fork)."""
    from recsvc.api.health import READINESS
    from recsvc.api.observe import METRICS
    from recsvc.api.recommend import SERVICE
    from recsvc.customers import load_bank_config
    from recsvc.features.customer import CustomerFeaturizer
    from recsvc.models.reasons import ReasonExplainer
    from recsvc.models.runtime import ModelRuntime
    from recsvc.pitch import load_pitch_config
    from recsvc.rules import load_rules_config
    from recsvc.service.config import load_service_config
    from recsvc.service.recommend import CrossSellService

    bank = load_bank_config(settings.bank_config_path)
    featurizer = CustomerFeaturizer(product_ids=catalogue.ids, bank=bank)
    metrics = app.extensions[METRICS]
    runtime = ModelRuntime(settings.registry_dir, featurizer=featurizer, on_serving=metrics.serving)
    challenger = ModelRuntime(settings.registry_dir, featurizer=featurizer, alias="challenger")
    service = CrossSellService(
        engine=engine,
        catalogue=catalogue,
        rules=load_rules_config(settings.rules_config_path),
        bank=bank,
        config=load_service_config(settings.service_config_path),
        pitch_config=load_pitch_config(settings.pitch_config_path, product_ids=catalogue.ids),
        featurizer=featurizer,
        runtime=runtime,
        explainer=ReasonExplainer.from_file(settings.reasons_config_path, featurizer.names),
        challenger=challenger,  # issue 12: the challenger arm's model, loaded like the champion
    )
    app.extensions[SERVICE] = service
    app.extensions[READINESS].append(runtime.readiness)


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

    api = app.extensions["recsvc.api"]
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
