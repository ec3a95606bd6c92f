"""Settings from the environment, read and checked once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting is missing or malformed; raised at start-up, never mid-request."""


def _env_int(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'recsvc.db'}"
    registry_dir: Path = PROJECT_ROOT / "model_registry"
    catalogue_path: Path = PACKAGE_DATA / "catalogue.yaml"
    bank_config_path: Path = PACKAGE_DATA / "bank.yaml"
    rules_config_path: Path = PACKAGE_DATA / "rules.yaml"
    service_config_path: Path = PACKAGE_DATA / "service.yaml"
    pitch_config_path: Path = PACKAGE_DATA / "pitch.yaml"
    reasons_config_path: Path = PACKAGE_DATA / "reasons.yaml"
    contact_plan_config_path: Path = PACKAGE_DATA / "contact_plan.yaml"
    log_level: str = "INFO"
    max_body_bytes: int = 64 * 1024
    rate_limit: str = "600 per minute"
    rate_limit_storage_uri: str = "memory://"
    secret_key: str = field(default="", repr=False)
    # Set by gunicorn.conf.py: metrics are then shared by all workers through files there.
    prometheus_multiproc_dir: str = ""
    # How long a verified API key is trusted without asking the store again (revocation delay).
    api_key_cache_seconds: int = 30
    # How long after recording a pitch's answer its staff member may correct a mis-click.
    feedback_correction_minutes: int = 10
    # Gunicorn sync workers for `python -m recsvc serve` (each loads its own model).
    web_workers: int = 2
    web_timeout_seconds: int = 30
    # scripts/serve-production: nginx listens here; its config, pid and gunicorn's socket in run_dir
    host: str = "0.0.0.0"
    port: int = 8000
    run_dir: Path = PROJECT_ROOT / "var" / "run"
    # The experiment report (`python -m training experiment-report --out FILE`) the console shows.
    experiment_report_path: Path | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from environment variables (see .env.example)."""
        env = dict(os.environ if environ is None else environ)
        defaults = cls()
        return cls(
            database_url=env.get("DATABASE_URL") or defaults.database_url,
            registry_dir=Path(env.get("RECSVC_REGISTRY_DIR") or defaults.registry_dir),
            catalogue_path=Path(env.get("RECSVC_CATALOGUE") or defaults.catalogue_path),
            bank_config_path=Path(env.get("RECSVC_BANK_CONFIG") or defaults.bank_config_path),
            rules_config_path=Path(env.get("RECSVC_RULES_CONFIG") or defaults.rules_config_path),
            service_config_path=Path(
                env.get("RECSVC_SERVICE_CONFIG") or defaults.service_config_path
            ),
            pitch_config_path=Path(env.get("RECSVC_PITCH_CONFIG") or defaults.pitch_config_path),
            reasons_config_path=Path(
                env.get("RECSVC_REASONS_CONFIG") or defaults.reasons_config_path
            ),
            contact_plan_config_path=Path(
                env.get("RECSVC_CONTACT_PLAN_CONFIG") or defaults.contact_plan_config_path
            ),
            log_level=env.get("RECSVC_LOG_LEVEL") or defaults.log_level,
            max_body_bytes=_env_int(env, "RECSVC_MAX_BODY_BYTES", defaults.max_body_bytes),
            rate_limit=env.get("RECSVC_RATE_LIMIT") or defaults.rate_limit,
            rate_limit_storage_uri=env.get("RECSVC_RATE_LIMIT_STORAGE_URI")
            or defaults.rate_limit_storage_uri,
            secret_key=env.get("RECSVC_SECRET_KEY") or "",
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or "",
            api_key_cache_seconds=_env_int(
                env, "RECSVC_API_KEY_CACHE_SECONDS", defaults.api_key_cache_seconds
            ),
            feedback_correction_minutes=_env_int(
                env, "RECSVC_FEEDBACK_CORRECTION_MINUTES", defaults.feedback_correction_minutes
            ),
            web_workers=_env_int(env, "RECSVC_WEB_WORKERS", defaults.web_workers),
            web_timeout_seconds=_env_int(
                env, "RECSVC_WEB_TIMEOUT_SECONDS", defaults.web_timeout_seconds
            ),
            host=env.get("RECSVC_HOST") or defaults.host,
            port=_env_int(env, "RECSVC_PORT", defaults.port),
            run_dir=Path(env.get("RECSVC_RUN_DIR") or defaults.run_dir),
            experiment_report_path=(
                Path(env["RECSVC_EXPERIMENT_REPORT"])
                if env.get("RECSVC_EXPERIMENT_REPORT")
                else None
            ),
        )
