"""How RIME's JSON spells things: field names, int64, timestamps, durations, ids, links.

RIME's API is grpc-gateway over protobuf: bodies use lowerCamelCase keys, but the server
(protojson) also accepts snake_case, and rime-sdk sends some plain dicts in snake_case
(``testRunConfig``). int64 values travel as JSON strings, timestamps as RFC 3339 strings,
durations as protobuf Duration strings (``"86400s"``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def to_camel(name: str) -> str:
    """``"eval_dataset_id"`` -> ``"evalDatasetId"`` (names already in camelCase are kept)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_snake(name: str) -> str:
    """``"evalDatasetId"`` -> ``"eval_dataset_id"``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def to_int(value: Any) -> int:
    """An int64 as RIME sends it (a JSON string, a number, or left out when zero) as ``int``."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and "." in value:
        return int(float(value))
    return int(value)


def to_float(value: Any) -> float | None:
    """A JSON number (or numeric string) as ``float``; ``None`` and ``""`` stay ``None``."""
    if value is None or value == "":
        return None
    return float(value)


def int64(value: int | None) -> str:
    """An int64 the way RIME writes it: a decimal string, ``"0"`` for ``None``."""
    return str(int(value or 0))


def format_timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with microseconds (``2024-05-01T00:00:00.000000Z``); naive means UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware ``datetime`` (``Z`` and offsets accepted)."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def format_duration(value: timedelta | float | int) -> str:
    """A protobuf Duration string in whole seconds, as rime-sdk writes it (``"86400s"``)."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return f"{int(seconds)}s"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def parse_duration(value: str) -> timedelta:
    """
    A protobuf Duration string (``"86400s"``, ``"1.5s"``) as a ``timedelta``.

    :raises ValueError: Not a duration string; the message shows the expected form.
    """
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a duration: write whole seconds with an 's', e.g. '86400s'")
    return timedelta(seconds=float(match.group(1)))


def uuid_of(value: Any) -> str | None:
    """An id sent either as ``{"uuid": "..."}`` (``RimeUUID``) or as a plain string."""
    if isinstance(value, dict):
        value = value.get("uuid")
    if value is None or value == "":
        return None
    return str(value)


def normalize_web_url(url: str | None) -> str | None:
    """
    A browsable URL for a RIME web link.

    A RIME cluster returns links without a scheme (``rime.example.com/...``), the local engine
    full ``http://`` URLs; ``https://`` is added only when no scheme is present.
    """
    if not url:
        return None
    return url if "://" in url else f"https://{url.lstrip('/')}"
