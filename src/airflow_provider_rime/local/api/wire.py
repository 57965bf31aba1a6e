"""Reading requests and writing responses the way RIME's grpc-gateway does.

Requests may spell keys in lowerCamelCase or snake_case (rime-sdk sends plain dicts in
snake_case inside camelCase models, rime-api.md §1); responses use lowerCamelCase,
int64 as strings, RFC 3339 timestamps, and always include zero counts.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_rime.local.errors import bad_request

if TYPE_CHECKING:  # workers import this module too: keep FastAPI out of their start-up
    from fastapi import Request

_CAMEL_RE = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    return _CAMEL_RE.sub("_", name).lower()


def field(obj: Any, camel: str, default: Any = None) -> Any:
    """``obj[camel]`` or ``obj[snake(camel)]``, whichever is present."""
    if not isinstance(obj, dict):
        return default
    if camel in obj:
        return obj[camel]
    return obj.get(snake(camel), default)


def require_object(obj: Any, where: str) -> dict[str, Any]:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise bad_request(f"{where} must be a JSON object, got {type(obj).__name__}")
    return obj


def require_str(obj: Any, camel: str, where: str) -> str:
    value = field(obj, camel)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{where}.{camel} is required and must be a non-empty string")
    return value


def uuid_of(value: Any) -> str | None:
    """An id sent as ``{"uuid": "..."}`` or as a plain string."""
    if isinstance(value, dict):
        value = value.get("uuid")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(f"expected an id string or {{'uuid': ...}}, got {value!r}")
    return value


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request(f"request body must be a JSON object, got {type(body).__name__}")
    return body


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> datetime:
    return datetime.now(timezone.utc)


def i64(value: int | None) -> str:
    return str(int(value or 0))


def encode_page_token(offset: int, query: dict[str, Any]) -> str:
    raw = json.dumps({"o": offset, "q": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[int, dict[str, Any]]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return int(data["o"]), dict(data["q"])
    except Exception:
        raise bad_request("pageToken is not a token this server issued") from None


def page_size(request: Request, default: int = 50, maximum: int = 500) -> int:
    raw = request.query_params.get("pageSize")
    if raw in (None, "", "0"):
        return default
    try:
        size = int(raw)
    except ValueError:
        raise bad_request(f"pageSize must be an integer, got {raw!r}") from None
    if size < 0:
        raise bad_request("pageSize must not be negative")
    return min(size, maximum)


def paged(
    request: Request, first_page_query: dict[str, Any], default_size: int = 50
) -> tuple[int, int, dict[str, Any]]:
    """(offset, size, query): the filters come from the first request or from the token."""
    token = request.query_params.get("pageToken")
    if token:
        offset, query = decode_page_token(token)
    else:
        offset, query = 0, first_page_query
    return offset, page_size(request, default_size), query


def page_response(
    key: str, items: list[Any], offset: int, size: int, total: int, query: dict[str, Any]
) -> dict[str, Any]:
    has_more = offset + size < total
    return {
        key: items,
        "nextPageToken": encode_page_token(offset + size, query) if has_more else "",
        "hasMore": has_more,
    }


def multi(request: Request, name: str) -> list[str]:
    return [v for v in request.query_params.getlist(name) if v]
