"""The engine's FastAPI application: a router per resource, one auth dependency, errors in one place.

Where things are: ``api/routes/`` (RIME's REST API, thin), ``api/deps.py`` (auth, the project a
path names, paging), ``api/errors.py`` (every failure as RIME's error body), ``services/`` (what
the routes do), ``render.py`` (RIME's response JSON), ``jobs/`` (worker processes), ``store/``
(tables and migrations), ``web/`` (the result pages the API links to).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse

from airflow_provider_rime.local.api.deps import require_api_key
from airflow_provider_rime.local.api.errors import install_error_handlers
from airflow_provider_rime.local.api.routes import (
    firewall,
    info,
    jobs,
    projects,
    registry,
    results,
    stress_tests,
    uploads,
)
from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.jobs.runner import JobRunner
from airflow_provider_rime.local.settings import ENGINE_VERSION, EngineSettings, page_token_secret
from airflow_provider_rime.local.signing import Signer
from airflow_provider_rime.local.store.db import make_engine, session_factory, upgrade
from airflow_provider_rime.local.web import login, pages
from airflow_provider_rime.rime_api.paging import PageTokenCodec

log = logging.getLogger("rime-local")


def create_app(settings: EngineSettings) -> FastAPI:
    """The engine for ``settings``: store migrated, job runner ready to start with the app."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    runner = JobRunner(settings, sessions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        # The catalogue (pandas, SciPy) takes seconds to import: pay that now, off the request
        # path, rather than in the first config validation or stress-test request.
        threading.Thread(
            target=importlib.import_module, args=("airflow_provider_rime.local.catalogue",), daemon=True
        ).start()
        try:
            yield
        finally:
            runner.stop()
            engine.dispose()

    app = FastAPI(
        title="rime-local",
        version=ENGINE_VERSION,
        description="A RIME-compatible local engine: RIME's REST API, with the tests really computed.",
        lifespan=lifespan,
        # grpc-gateway reads a body as JSON whatever its Content-Type says; so does the engine.
        strict_content_type=False,
    )
    app.state.engine = EngineContext(
        settings=settings,
        sessions=sessions,
        runner=runner,
        page_tokens=PageTokenCodec(page_token_secret(settings.page_token_secret_path)),
        signer=Signer(page_token_secret(settings.session_secret_path)),
    )

    authed = [Depends(require_api_key)]
    for module in (info, projects, uploads, registry, stress_tests, firewall, jobs, results):
        app.include_router(module.router, dependencies=authed)
    app.include_router(uploads.presigned)  # pre-signed: the token in the URL is the credential
    # The result pages show data-derived values: a person logs in first (web/login.py).
    app.include_router(login.router)
    app.include_router(pages.router, dependencies=[Depends(login.require_login)])

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": ENGINE_VERSION}

    install_error_handlers(app)

    @app.exception_handler(login.LoginRequired)
    async def to_login(request: Request, _exc: login.LoginRequired) -> RedirectResponse:
        return login.login_redirect(request)

    return app
