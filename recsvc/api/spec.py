"""flask-smorest's Api, with problem+json as the documented error shape."""

from __future__ import annotations

import http
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from recsvc.api.auth import BEARER_SCHEME, SECURITY_SCHEME
from recsvc.api.errors import PROBLEM_JSON
from recsvc.api.schemas import ProblemSchema

SPEC_CONFIG = {
    "API_TITLE": "recsvc",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": "Branch cross-sell: which product to offer next, and what to say."}
    },
}


class ProblemApi(Api):
    """Errors are documented as problem+json (they are produced by recsvc.api.errors)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """recsvc.api.errors registers the handlers, so this one does not."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response: dict[str, Any] = {"description": status.phrase, "schema": ProblemSchema}
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": ProblemSchema}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def init_app(app: Flask) -> ProblemApi:
    """Bind the Api (serves /openapi.json) and declare the bearer key scheme."""
    for key, value in SPEC_CONFIG.items():
        app.config.setdefault(key, value)
    api = ProblemApi()
    api.init_app(app)
    api.spec.components.security_scheme(SECURITY_SCHEME, BEARER_SCHEME)
    return api
