"""Fixtures of the engine tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def api(rime_engine):
    """An HTTP client of the session's engine, with its API key."""
    with rime_engine.client() as client:
        yield client


@pytest.fixture(scope="module")
def project_id(api, request):
    """A project of the test module's own, named by its ``PROJECT`` (or the module's name)."""
    from tests.engine.flow import create_project

    return create_project(api, getattr(request.module, "PROJECT", request.module.__name__))
