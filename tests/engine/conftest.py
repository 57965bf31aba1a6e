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


#: Debian's chromium; Playwright drives it instead of downloading a browser of its own.
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory):
    """Where browser tests keep their screenshots: ``$RIME_TEST_ARTIFACTS`` or the pytest temp dir."""
    import os
    from pathlib import Path

    where = os.environ.get("RIME_TEST_ARTIFACTS")
    path = Path(where) if where else tmp_path_factory.getbasetemp() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session (skips, saying why, where there is none)."""
    import os

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM}: `make chromium` installs Debian's package (as root)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (`make install`)"
    )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def browser_page(browser):
    """A fresh page (own cookies) at a desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
