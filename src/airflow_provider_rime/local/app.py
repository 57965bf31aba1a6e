"""The engine's FastAPI application: routers per resource, one auth dependency, RIME error bodies."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_provider_rime.local.api import info, projects, registry, results, stress, uploads
from airflow_provider_rime.local.api.deps import EngineContext, require_api_key
from airflow_provider_rime.local.errors import GRPC_CODES, ApiError
from airflow_provider_rime.local.jobs.runner import JobRunner
from airflow_provider_rime.local.settings import ENGINE_VERSION, EngineSettings
from airflow_provider_rime.local.store.db import make_engine, session_factory, upgrade
from airflow_provider_rime.local.web import pages

log = logging.getLogger("rime-local")


def create_app(settings: EngineSettings) -> FastAPI:
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
    )
    app.state.ctx = EngineContext(settings=settings, sessions=sessions, runner=runner)

    authed = [Depends(require_api_key)]
    for module in (info, projects, registry, stress, results):
        app.include_router(module.router, dependencies=authed)
    app.include_router(uploads.authed)
    app.include_router(uploads.router)  # pre-signed: the token in the URL is the credential
    app.include_router(pages.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": ENGINE_VERSION}

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(ApiError(400, f"{where}: {first.get('msg')}").body(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route on this server"
        return JSONResponse(
            {"code": GRPC_CODES.get(exc.status_code, 2), "message": message, "details": []},
            status_code=exc.status_code,
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(
            ApiError(500, f"internal error in the local engine: {type(exc).__name__}").body(), status_code=500
        )

    return app
