"""Paging of RIME's list calls.

A list call takes its filters on the first request only (``firstPageQuery.*``,
``listTestCasesQuery.*``, ``firstPageReq.*`` or ``query.*``); later requests carry just
``pageToken`` (and ``pageSize`` where the client sets one). Each response has the items,
``nextPageToken`` and ``hasMore``; a client stops when ``hasMore`` is false.

Tokens are opaque to clients. :class:`PageTokenCodec` is how a server makes them: a token
holds the offset and the first page's filters, is bound to the list it came from, and is
signed, so a token from another list (or an edited one) is refused with a clear message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

#: The page size rime-sdk sends for test cases, summary tests, batch results and jobs.
SDK_PAGE_SIZE = 20
#: Largest offset a token may carry (keeps every value inside an SQL BIGINT).
MAX_OFFSET = 2**62


class PageTokenError(ValueError):
    """A page token that this server did not issue for this list."""


@dataclass(frozen=True)
class PageState:
    """Where a list continues: the offset of the next page and the first page's filters."""

    offset: int
    query: dict[str, Any]


class PageTokenCodec:
    """
    Encode and check page tokens: ``base64(json) + "." + signature``.

    :param secret: Key of the HMAC that signs tokens (per server; tokens die with it).
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, route: str, payload: bytes) -> str:
        digest = hmac.new(self._secret, route.encode() + b"\0" + payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    def encode(self, route: str, state: PageState) -> str:
        """The token of the next page of list ``route``."""
        payload = json.dumps({"o": state.offset, "q": state.query}, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._sign(route, payload)}"

    def decode(self, route: str, token: str) -> PageState:
        """
        The state a token of list ``route`` carries.

        :raises PageTokenError: The token is malformed, edited, or from another list.
        """
        body, _, signature = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, TypeError):
            raise PageTokenError("pageToken is not a token this server issued") from None
        # Compared as bytes: compare_digest refuses str with non-ASCII characters.
        if not signature or not hmac.compare_digest(
            signature.encode(errors="replace"), self._sign(route, payload).encode()
        ):
            raise PageTokenError(
                "pageToken does not belong to this list: pass the nextPageToken of the previous "
                "page of the same list, or leave it out to start from the first page"
            )
        try:
            data = json.loads(payload)
            offset, query = data["o"], data["q"]
        except (ValueError, TypeError, KeyError):
            raise PageTokenError("pageToken is not a token this server issued") from None
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
            raise PageTokenError("pageToken holds an offset this server never issues")
        if not isinstance(query, dict):
            raise PageTokenError("pageToken is not a token this server issued")
        return PageState(offset=offset, query=query)

    @staticmethod
    def next_state(offset: int, size: int, total: int, query: dict[str, Any]) -> PageState | None:
        """The state after a page of ``size`` items at ``offset``, or ``None`` on the last page."""
        if offset + size >= total:
            return None
        return PageState(offset=min(offset + size, MAX_OFFSET), query=query)
