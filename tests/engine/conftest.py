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


@pytest.fixture(scope="module")
def chromium():
    """One headless chromium per browser-test module (skips, saying why, where there is none).

    Not per session: Playwright's sync API marks an asyncio loop as running in the main thread
    while it is started, and pytest-asyncio cannot run the async tests of later modules beside it.
    """
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
def browser_page(chromium, rime_engine):
    """A fresh page (own cookies) at a desktop size, logged in to the session engine's pages
    through the login form, as a person would."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{rime_engine.url}/")
    page.fill("input[name=api_key]", rime_engine.api_key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{rime_engine.url}/")
    yield page
    context.close()


@pytest.fixture
def goto_offline(browser_page, rime_engine):
    """Open a URL in ``browser_page`` and check the page works offline: it loaded nothing but
    the engine's own resources (no CDN, no script, no font). Returns the page."""

    def goto(url: str):
        requested: list[str] = []
        browser_page.on("request", lambda request: requested.append(request.url))
        browser_page.goto(url)
        assert requested and all(u.startswith(rime_engine.url) for u in requested), requested
        return browser_page

    return goto


@pytest.fixture(scope="module")
def sdk_client(rime_engine):
    """rime-sdk's ``Client`` on the session engine, as a RIME user makes one (its import-time
    warnings silenced); skips where rime-sdk is not installed."""
    import warnings

    rime_sdk = pytest.importorskip(
        "rime_sdk", reason="rime-sdk is installed by `make install` with --no-deps"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rime_sdk.Client(rime_engine.url, rime_engine.api_key)
