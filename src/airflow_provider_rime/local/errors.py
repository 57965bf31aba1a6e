"""Errors in RIME's wire shape: grpc-gateway's ``{"code", "message", "details"}``."""

from __future__ import annotations

# grpc status codes, by the HTTP status grpc-gateway maps them to.
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 413: 8, 429: 8, 500: 13, 503: 14}


class ApiError(Exception):
    """Raised by handlers and the store; rendered as a grpc-gateway error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, object]:
        # No true/false/null anywhere: rime-sdk parses error bodies with ast.literal_eval.
        return {"code": GRPC_CODES.get(self.status, 2), "message": self.message, "details": []}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"{kind} {ident!r} does not exist")


def conflict(message: str) -> ApiError:
    return ApiError(409, message)
