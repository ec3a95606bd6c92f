"""The app's shared objects: built once, frozen, under one key, read through one accessor."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask

from recsvc.api.extensions import KEY, Extensions, extensions
from recsvc.service.wiring import Services


def test_one_frozen_set_of_services_under_one_key(app: Flask) -> None:
    built = extensions(app)
    assert isinstance(built, Extensions) and isinstance(built.services, Services)
    assert [k for k in app.extensions if k.startswith("recsvc") or k == "readiness"] == [KEY]
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.service = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.services.engine = None  # type: ignore[misc]
    # the API's service, the views and the model runtime share the one wiring
    assert built.service.services is built.services
    assert built.engine is built.services.engine is built.service.engine
    assert built.services.runtime.readiness in built.readiness
