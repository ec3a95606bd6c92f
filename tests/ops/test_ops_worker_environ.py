"""Both start commands tell the workers how many they are (an in-memory rate limit is divided)."""

from __future__ import annotations

import dataclasses

from recsvc.config import Settings
from recsvc.production import gunicorn_environ


def test_the_worker_count_given_on_the_command_line_reaches_the_workers() -> None:
    settings = dataclasses.replace(Settings.from_env({}), web_workers=2)
    environ = gunicorn_environ(settings, 5, base={"RECSVC_WEB_WORKERS": "2", "PATH": "/bin"})
    assert environ["RECSVC_WEB_WORKERS"] == "5"
    assert environ["PATH"] == "/bin"
    assert Settings.from_env(environ).web_workers == 5


def test_one_session_secret_per_start_unless_one_is_configured() -> None:
    unset = dataclasses.replace(Settings.from_env({}), secret_key="")
    first, second = gunicorn_environ(unset, 2, base={}), gunicorn_environ(unset, 2, base={})
    assert len(first["RECSVC_SECRET_KEY"]) == 64
    assert first["RECSVC_SECRET_KEY"] != second["RECSVC_SECRET_KEY"]
    configured = dataclasses.replace(unset, secret_key="s3cret")
    assert "RECSVC_SECRET_KEY" not in gunicorn_environ(configured, 2, base={})
