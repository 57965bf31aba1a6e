"""What can go wrong in the engine, in its own terms.

Services, the store and the jobs raise these; only the HTTP layer (``local/api/errors.py``)
knows which status code and grpc-gateway body each one becomes. The message is written for the
person who sent the request: it names the field or the object and says what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class EngineError(Exception):
    """Base of the engine's domain errors; ``message`` is what the client is shown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(EngineError):
    """The request names something the engine cannot accept (a bad field, an unsupported option)."""


class NotFound(EngineError):
    """The object the request names does not exist."""

    @classmethod
    def named(cls, kind: str, ident: str) -> NotFound:
        """``<kind> '<ident>' does not exist`` (rime-sdk users grep for "does not exist")."""
        return cls(f"{kind} {ident!r} does not exist")


class Conflict(EngineError):
    """The request clashes with what is stored (a name already taken)."""


class Unauthenticated(EngineError):
    """No API key, or one this engine does not know."""


class PermissionDenied(EngineError):
    """The credential is known but does not allow this (an expired or foreign upload URL)."""


class TooLarge(EngineError):
    """The request is over one of the engine's limits (the upload limit)."""


#: At most this many problems are listed in one message.
_MAX_LISTED = 5


def describe_problems(errors: Sequence[Mapping[str, Any]], where: str = "") -> str:
    """One message for pydantic validation errors: each field's path, what was wrong, what was sent.

    :param errors: ``ValidationError.errors()`` (or FastAPI's request validation errors).
    :param where: Prefix of every field path, e.g. ``"configJson"``.
    """
    parts = []
    for error in errors[:_MAX_LISTED]:
        path = where
        for step in error.get("loc", ()):
            path += f"[{step}]" if isinstance(step, int) else (f".{step}" if path else str(step))
        text = f"{path}: {error.get('msg', 'invalid')}" if path else str(error.get("msg", "invalid"))
        sent = error.get("input")
        if (
            error.get("type") != "missing"
            and isinstance(sent, str | int | float)
            and not isinstance(sent, bool)
        ):
            shown = repr(sent)
            text += f" (got {shown[:80] + '...' if len(shown) > 80 else shown})"
        parts.append(text)
    if len(errors) > _MAX_LISTED:
        parts.append(f"and {len(errors) - _MAX_LISTED} more")
    return "; ".join(parts) or "invalid request"
