"""Errors as RIME's API returns them, decided in one place.

Every failure becomes an HTTP status and grpc-gateway's body ``{"code", "message", "details"}``
(``code`` is the grpc status code grpc-gateway maps to that HTTP status). The body never holds
``true``, ``false`` or ``null``: rime-sdk parses error bodies with ``ast.literal_eval``, which
would lose the message.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_provider_rime.local.errors import (
    Conflict,
    EngineError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooLarge,
    Unauthenticated,
    describe_problems,
)
from airflow_provider_rime.rime_api.paging import PageTokenError

log = logging.getLogger("rime-local")

#: grpc status codes, by the HTTP status grpc-gateway maps them to.
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 413: 8, 429: 8, 500: 13, 503: 14}
#: The HTTP status of each domain error.
HTTP_STATUS: dict[type[EngineError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
}
_BODY_NOT_AN_OBJECT = frozenset({"model_type", "model_attributes_type", "dict_type"})


def error_response(status: int, message: str) -> JSONResponse:
    """grpc-gateway's error body with ``status``."""
    return JSONResponse(
        {"code": GRPC_CODES.get(status, 2), "message": message, "details": []}, status_code=status
    )


def status_of(exc: EngineError) -> int:
    """The HTTP status of a domain error (its nearest listed class decides)."""
    return next((HTTP_STATUS[c] for c in type(exc).__mro__ if c in HTTP_STATUS), 500)


def describe_request_errors(errors: list[dict[str, Any]]) -> str:
    """What was wrong with a request, naming each field the way the client spelled it."""
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return f"request body is not valid JSON: {detail}".rstrip(": ")
    if tuple(first.get("loc", ())) == ("body",):
        if first.get("type") == "missing":
            return "request body is required: a JSON object"
        if first.get("type") in _BODY_NOT_AN_OBJECT:
            sent = first.get("input")
            if isinstance(sent, bytes):  # a Content-Type other than JSON: the body was not parsed
                return "request body must be a JSON object, sent with Content-Type: application/json"
            return f"request body must be a JSON object, got {type(sent).__name__}"
    problems = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if loc[:1] == ("body",):  # body fields are named by their path in the body
            loc = loc[1:]
        elif len(loc) >= 2:  # parameters say where they go: "query parameter pageSize"
            loc = (f"{loc[0]} parameter {loc[1]}", *loc[2:])
        problems.append({**error, "loc": loc})
    return describe_problems(problems)


def install_error_handlers(app: FastAPI) -> None:
    """Make every failure of ``app`` a grpc-gateway error body."""

    @app.exception_handler(EngineError)
    async def engine_error(_request: Request, exc: EngineError) -> JSONResponse:
        return error_response(status_of(exc), exc.message)

    @app.exception_handler(PageTokenError)
    async def page_token_error(_request: Request, exc: PageTokenError) -> JSONResponse:
        return error_response(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, describe_request_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route on this server"
        return error_response(exc.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, f"internal error in the local engine: {type(exc).__name__}")
