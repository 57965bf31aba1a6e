"""RimeBaseHook: the transport under every RIME call, kept apart from RIME's API methods.

Like Airflow's Databricks provider (``databricks_base.py`` under ``databricks.py``), this
class owns the connection, authentication, retries, error mapping, paging, create-once and
the uploads' PUTs; :class:`~airflow_provider_rime.hooks.rime.RimeHook` adds the typed API
methods on top and never touches httpx itself.

The same code serves a RIME cluster and the local engine: both speak RIME's REST API.
"""

from __future__ import annotations

import email.utils
import json
import random
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar
from urllib.parse import urlsplit

import httpx
from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook, mask_secret
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from airflow_provider_rime.exceptions import (
    RimeApiError,
    RimeAuthError,
    RimeNotFoundError,
    RimeTransportError,
)
from airflow_provider_rime.hooks import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Connection
    from typing_extensions import Unpack

T = TypeVar("T")
_Hook = TypeVar("_Hook", bound="RimeBaseHook")

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 5
#: Longest wait a ``Retry-After`` header may impose on one retry.
MAX_RETRY_AFTER = 300.0
#: Methods that carry a JSON body; rime-sdk sends ``{}`` when it has nothing to say.
_BODY_METHODS = frozenset({"POST", "PUT", "DELETE"})
_TRUE_STRINGS = frozenset({"1", "true", "yes", "on"})


def _as_bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE_STRINGS


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _error_message(response: httpx.Response) -> str:
    """RIME's message from a grpc-gateway error body ``{"code", "message", "details"}``, or the raw text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)
    text = response.text.strip()
    return text[:500] if text else response.reason_phrase


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RimeApiError) and exc.retryable


@dataclass(frozen=True)
class RimeConnectionSettings:
    """What the hook needs from an Airflow connection of type ``rime`` (the key never in ``repr``)."""

    conn_id: str
    base_url: str
    api_key: str = field(repr=False)
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES

    def ssl_verify(self) -> bool | ssl.SSLContext:
        """The ``verify`` argument for httpx: a bool, or a context trusting ``ca_bundle``."""
        if isinstance(self.verify, str):
            return ssl.create_default_context(cafile=self.verify)
        return self.verify

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` points at the RIME cluster itself (the API key may go there)."""
        a, b = urlsplit(self.base_url), urlsplit(url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)


class CallOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`RimeBaseHook.request` and :meth:`~RimeBaseHook.arequest`."""

    #: Query parameters; a list value repeats the key.
    params: dict[str, Any] | None
    #: JSON body; POST, PUT and DELETE send ``{}`` when it is ``None`` (like rime-sdk).
    json_body: dict[str, Any] | None
    #: Whether to retry on 429, 5xx and transport errors; by default every method but POST is.
    idempotent: bool | None


@dataclass(frozen=True)
class RimeCall:
    """One REST call as both :meth:`RimeBaseHook.request` and :meth:`~RimeBaseHook.arequest` send it."""

    method: str
    path: str
    params: dict[str, Any] | None
    json_body: dict[str, Any] | None
    #: Whether 429, 5xx and transport errors are retried (safe only when repeating is harmless).
    retry: bool

    @classmethod
    def of(cls, method: str, path: str, **options: Unpack[CallOptions]) -> RimeCall:
        """The call with rime-sdk's defaults: ``{}`` as body, and every method but POST retried."""
        method = method.upper()
        json_body = options.get("json_body")
        if json_body is None and method in _BODY_METHODS:
            json_body = {}
        idempotent = options.get("idempotent")
        retry = method != "POST" if idempotent is None else idempotent
        return cls(method, path, options.get("params"), json_body, retry)


class RimeBaseHook(BaseHook):
    """
    Connection, authentication, retries, error mapping, paging and create-once for RIME's REST API.

    The connection (type ``rime``) holds the cluster URL as host and the API key as password;
    extras ``verify_ssl`` (default true), ``ca_bundle``, ``timeout`` (seconds, default 60) and
    ``max_retries`` (default 5).

    Reads and other requests that are safe to repeat are retried with exponential backoff
    and jitter on HTTP 429, 5xx and transport errors, honouring ``Retry-After``. Creating
    calls go through :meth:`_create_once`, so a retry never makes a duplicate.

    :param rime_conn_id: The Airflow connection to RIME.
    :param timeout: Per-request timeout in seconds; overrides the connection's ``timeout``.
    :param max_retries: Retries after the first attempt; overrides the connection's ``max_retries``.
    :param retry_min_wait: First backoff delay in seconds (doubles per retry, with jitter).
    :param retry_max_wait: Longest backoff delay in seconds.
    """

    conn_name_attr = "rime_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "rime"

    def __init__(
        self,
        rime_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_min_wait: float = 1.0,
        retry_max_wait: float = 30.0,
    ) -> None:
        super().__init__()
        self.rime_conn_id = rime_conn_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_min_wait = retry_min_wait
        self.retry_max_wait = retry_max_wait
        self._settings_cache: RimeConnectionSettings | None = None
        self._client: httpx.Client | None = None

    # ------------------------------------------------------------------ connection form

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Labels and hidden fields of the connection form (Airflow < 3.2 reads this)."""
        return {
            "hidden_fields": ["schema", "port", "login"],
            "relabeling": {"host": "RIME cluster URL", "password": "API key"},
            "placeholders": {
                "host": "https://rime.<cluster>.rime.dev or http://127.0.0.1:8642",
                "password": "the API key from the RIME workspace settings",
                "extra": '{"verify_ssl": true, "timeout": 60, "max_retries": 5}',
            },
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form (Airflow < 3.2 reads this)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import NumberRange, Optional

        return {
            "verify_ssl": BooleanField(lazy_gettext("Verify TLS certificate"), default=True),
            "ca_bundle": StringField(lazy_gettext("CA bundle path"), widget=BS3TextFieldWidget()),
            "timeout": IntegerField(
                lazy_gettext("Request timeout (s)"),
                widget=BS3TextFieldWidget(),
                validators=[Optional(), NumberRange(min=1)],
                default=int(DEFAULT_TIMEOUT),
            ),
            "max_retries": IntegerField(
                lazy_gettext("Max retries"),
                widget=BS3TextFieldWidget(),
                validators=[Optional(), NumberRange(min=0)],
                default=DEFAULT_MAX_RETRIES,
            ),
        }

    # ------------------------------------------------------------------ settings and clients

    def _settings_from(self, conn: Connection, extra: dict[str, Any]) -> RimeConnectionSettings:
        def extra_value(name: str) -> Any:
            value = extra.get(name)
            return extra.get(f"extra__rime__{name}") if value in (None, "") else value

        host = (conn.host or "").strip().rstrip("/")
        if not host:
            raise ValueError(
                f"The Airflow connection {self.rime_conn_id!r} has no host (the RIME cluster URL)."
            )
        if "://" not in host:
            scheme = conn.schema if conn.schema in ("http", "https") else "https"
            host = f"{scheme}://{host}"
        if conn.port and not urlsplit(host).port:
            parts = urlsplit(host)
            host = f"{parts.scheme}://{parts.hostname}:{conn.port}{parts.path}".rstrip("/")
        api_key = conn.password or extra_value("api_key")
        if not api_key:
            raise ValueError(
                f"The Airflow connection {self.rime_conn_id!r} has no API key: put it in the password field."
            )
        ca_bundle = extra_value("ca_bundle")
        verify: bool | str = _as_bool(extra_value("verify_ssl"), True)
        if verify and ca_bundle:
            verify = str(ca_bundle)
        timeout = (
            self.timeout if self.timeout is not None else float(extra_value("timeout") or DEFAULT_TIMEOUT)
        )
        max_retries = self.max_retries
        if max_retries is None:
            raw = extra_value("max_retries")
            max_retries = DEFAULT_MAX_RETRIES if raw in (None, "") else int(raw)
        return RimeConnectionSettings(
            conn_id=self.rime_conn_id,
            base_url=host,
            api_key=str(api_key),
            verify=verify,
            timeout=float(timeout),
            max_retries=max(0, int(max_retries)),
        )

    @property
    def settings(self) -> RimeConnectionSettings:
        """The connection's settings, read once per hook (synchronously)."""
        if self._settings_cache is None:
            conn = self.get_connection(self.rime_conn_id)
            self._settings_cache = self._settings_from(conn, conn.extra_dejson)
        return self._settings_cache

    async def asettings(self) -> RimeConnectionSettings:
        """The connection's settings, read without blocking the event loop (for triggers)."""
        if self._settings_cache is None:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )

            try:
                conn = await get_async_connection(self.rime_conn_id, self)
            except AirflowNotFoundException:
                # Some in-process runners (``dag.test()`` on Airflow 3.3) serve only synchronous
                # lookups; run that one in a thread so the event loop is still not blocked.
                from asgiref.sync import sync_to_async

                conn = await sync_to_async(self.get_connection)(self.rime_conn_id)
            extra = await get_async_extra_dejson(conn)
            self._settings_cache = self._settings_from(conn, extra)
        return self._settings_cache

    @staticmethod
    def _client_kwargs(settings: RimeConnectionSettings) -> dict[str, Any]:
        return {
            "base_url": settings.base_url,
            "headers": {
                "rime-api-key": settings.api_key,
                "Accept": "application/json",
                "User-Agent": "airflow-provider-rime",
            },
            "timeout": httpx.Timeout(settings.timeout, connect=min(settings.timeout, 30.0)),
            "verify": settings.ssl_verify(),
            "follow_redirects": False,
        }

    def get_conn(self) -> httpx.Client:
        """The hook's synchronous httpx client (created on first use, with the API key header)."""
        if self._client is None:
            self._client = httpx.Client(**self._client_kwargs(self.settings))
        return self._client

    def close(self) -> None:
        """Close the synchronous client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self: _Hook) -> _Hook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ retries and errors

    def _retry_kwargs(self, settings: RimeConnectionSettings, *, retry: bool = True) -> dict[str, Any]:
        """Tenacity arguments for the sync and the async path alike (one attempt when ``retry`` is off)."""
        return {
            "stop": stop_after_attempt(settings.max_retries + 1 if retry else 1),
            "wait": self._retry_wait,
            "retry": retry_if_exception(_is_retryable),
            "before_sleep": self._log_retry,
            "reraise": True,
        }

    def _retry_wait(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RimeApiError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER)
        backoff = self.retry_min_wait * 2 ** (retry_state.attempt_number - 1)
        return min(self.retry_max_wait, backoff) * random.uniform(0.5, 1.0)

    def _log_retry(self, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        self.log.warning(
            "RIME request failed (attempt %d), retrying in %.1f s: %s", retry_state.attempt_number, wait, exc
        )

    @contextmanager
    def _sending(self, method: str, path: str) -> Iterator[None]:
        """Around one HTTP exchange: log it, and turn httpx's transport errors into ours."""
        self.log.debug("RIME %s %s", method, path)
        try:
            yield
        except httpx.TransportError as exc:
            raise RimeTransportError(f"{type(exc).__name__}: {exc}", method=method, path=path) from None

    def _raise_for_response(self, response: httpx.Response, method: str, path: str) -> None:
        """Map an error answer to the :class:`RimeApiError` family (401/403, 404, the rest)."""
        if response.is_success:
            return
        message = _error_message(response)
        status = response.status_code
        if status in (401, 403):
            raise RimeAuthError(
                f"RIME rejected the API key of the Airflow connection {self.rime_conn_id!r} "
                f"({message}). Check the connection's password.",
                status=status,
                method=method,
                path=path,
            )
        error_class = RimeNotFoundError if status == 404 else RimeApiError
        raise error_class(
            message,
            status=status,
            method=method,
            path=path,
            retry_after=_parse_retry_after(response.headers.get("Retry-After")),
        )

    def _answer(self, response: httpx.Response, call: RimeCall) -> dict[str, Any]:
        """The JSON body of a successful answer (``{}`` when empty); raise for an error answer."""
        self._raise_for_response(response, call.method, call.path)
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise RimeApiError(
                f"RIME answered HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code,
                method=call.method,
                path=call.path,
            ) from None
        return body if isinstance(body, dict) else {"result": body}

    # ------------------------------------------------------------------ requests

    def request(self, method: str, path: str, **options: Unpack[CallOptions]) -> dict[str, Any]:
        """
        Send one REST call and return its JSON body (``{}`` when empty).

        :param method: HTTP method.
        :param path: Path below the cluster URL, e.g. ``/v1/rime-info``.
        :param options: ``params`` (query parameters; a list value repeats the key),
            ``json_body`` (POST, PUT and DELETE send ``{}`` without one, like rime-sdk) and
            ``idempotent`` (whether to retry on 429/5xx/transport errors; by default every
            method but POST is); see :class:`CallOptions`.
        :raises RimeApiError: (or a subclass) when RIME answers with an error or cannot be reached.
        """
        call = RimeCall.of(method, path, **options)

        def send() -> dict[str, Any]:
            with self._sending(call.method, call.path):
                response = self.get_conn().request(
                    call.method, call.path, params=call.params, json=call.json_body
                )
            return self._answer(response, call)

        return Retrying(**self._retry_kwargs(self.settings, retry=call.retry))(send)

    async def arequest(self, method: str, path: str, **options: Unpack[CallOptions]) -> dict[str, Any]:
        """The asynchronous :meth:`request` (same arguments, same retries and errors)."""
        call = RimeCall.of(method, path, **options)
        settings = await self.asettings()

        async def send() -> dict[str, Any]:
            # A client per attempt: a trigger's hook outlives no event loop it was made in.
            async with httpx.AsyncClient(**self._client_kwargs(settings)) as client:
                with self._sending(call.method, call.path):
                    response = await client.request(
                        call.method, call.path, params=call.params, json=call.json_body
                    )
            return self._answer(response, call)

        return await AsyncRetrying(**self._retry_kwargs(settings, retry=call.retry))(send)

    def _create_once(
        self, find: Callable[[], T | None], create: Callable[[], T], *, look_first: bool = True
    ) -> T:
        """
        Return what ``find`` finds, or ``create`` it; after a failed create, look again before re-sending.

        This is how non-idempotent POSTs are retried: a create whose response was lost may
        have happened, and the second look finds it instead of making a duplicate. Neither
        RIME nor rime-sdk offers idempotency keys, so the look is the only guard; under
        injected faults it held for projects, datasets, models, predictions and stress tests.

        :param find: Looks the object up; ``None`` when it does not exist.
        :param create: Creates it (one request, not retried by itself).
        :param look_first: Look before the first create too (off when the caller has just looked).
        """
        if look_first:
            existing = find()
            if existing is not None:
                return existing
        for attempt in Retrying(**self._retry_kwargs(self.settings)):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    existing = find()
                    if existing is not None:
                        return existing
                return create()
        raise AssertionError("unreachable")  # pragma: no cover  (reraise=True raises the last error)

    def paginate(
        self,
        path: str,
        items_key: str,
        params: dict[str, Any] | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """
        Iterate over the items of a paged RIME list, fetching pages as needed.

        Filters go on the first request only; later requests carry ``pageToken`` (and
        ``pageSize``); the loop ends when ``hasMore`` is false (or a token repeats).

        :param path: The list path.
        :param items_key: The response key holding the page's items.
        :param params: First-page query parameters (filters).
        :param page_size: ``pageSize`` to send, if any.
        """
        query: dict[str, Any] = dict(params or {})
        if page_size:
            query["pageSize"] = page_size
        seen_tokens: set[str] = set()
        while True:
            body = self.request("GET", path, params=query)
            yield from body.get(items_key) or []
            token = body.get("nextPageToken")
            if not body.get("hasMore") or not token or token in seen_tokens:
                return
            seen_tokens.add(token)
            query = {"pageToken": token}
            if page_size:
                query["pageSize"] = page_size

    # ------------------------------------------------------------------ uploads' PUT transport

    def _upload_headers(self, url: str, size: int | None = None) -> dict[str, str]:
        # Pre-signed URLs carry their own authorisation; the key only goes to the cluster itself.
        headers = {"rime-api-key": self.settings.api_key} if self.settings.same_origin(url) else {}
        if size is not None:
            headers["Content-Length"] = str(size)
        return headers

    def _put(self, url: str, *, file_path: Path | None = None, text: str | None = None) -> None:
        """PUT a file (streamed from disk, re-opened per attempt) or a text to an upload URL."""
        settings = self.settings
        parts = urlsplit(url)
        if parts.query:
            # A pre-signed URL's query string is a credential: keep it out of the task logs.
            mask_secret(parts.query)
        # The connection's CA bundle is for the cluster; storage elsewhere uses the default trust.
        verify = settings.ssl_verify() if settings.same_origin(url) else settings.verify is not False

        def send() -> None:
            with (
                httpx.Client(timeout=httpx.Timeout(None, connect=30.0), verify=verify) as client,
                self._sending("PUT", parts.path),
            ):
                if file_path is None:
                    content = (text or "").encode()
                    response = client.put(url, content=content, headers=self._upload_headers(url))
                else:
                    with file_path.open("rb") as handle:
                        headers = self._upload_headers(url, file_path.stat().st_size)
                        response = client.put(url, content=handle, headers=headers)
            self._raise_for_response(response, "PUT", parts.path)

        Retrying(**self._retry_kwargs(settings))(send)

    def _put_done_marker(self, url: str) -> None:
        """Tell the storage an upload is complete, as rime-sdk does (a small text file)."""
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z")
        self._put(url, text=f"Upload complete: {stamp}")
