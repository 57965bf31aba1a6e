"""RimeHook: every byte of I/O between Airflow and a RIME cluster (or the local engine).

One code path for both: the hook speaks RIME's REST API (``rime-api.md``) over httpx, with
a synchronous client for workers and an asynchronous one for the triggerer. Retries,
authentication, pagination, uploads and error mapping live here and nowhere else.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import re
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook, mask_secret
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from airflow_provider_rime.exceptions import (
    RimeApiError,
    RimeAuthError,
    RimeJobError,
    RimeNotFoundError,
    RimeRegistryValidationError,
    RimeTransportError,
)
from airflow_provider_rime.models import (
    ACTIVE_JOB_STATUSES,
    JOB_TYPE_MODEL_STRESS_TEST,
    MODEL_TASK_BINARY_CLASSIFICATION,
    VALIDITY_STATUS_INVALID,
    VALIDITY_STATUS_PENDING,
    RimeJob,
    TestRunSummary,
    normalize_web_url,
)

if TYPE_CHECKING:
    import pandas as pd
    from airflow.providers.common.compat.sdk import Connection

T = TypeVar("T")

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 5
#: RIME's page size for test cases, batch results and jobs (as the SDK sends it).
PAGE_SIZE = 20
#: Longest wait a ``Retry-After`` header may impose on one retry.
MAX_RETRY_AFTER = 300.0
_ID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_TRUE_STRINGS = {"1", "true", "yes", "on"}


def looks_like_id(value: str) -> bool:
    """Whether ``value`` has the shape of a RIME object id (a UUID, with or without dashes)."""
    return bool(_ID_PATTERN.match(value.strip()))


def _segment(value: str) -> str:
    """Quote one path segment (ids go into paths raw, as the SDK sends them, but safely)."""
    return quote(str(value), safe="")


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


def file_digest(path: Path, extra: str = "") -> str:
    """SHA-256 of a file's bytes (streamed) and an optional string: names uploads by content."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(extra.encode())
    return digest.hexdigest()


def directory_files(directory: Path) -> list[str]:
    """The files of a model directory, relative and sorted, without Python caches."""
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


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


class RimeHook(BaseHook):
    """
    Talk to a RIME cluster or the local engine through its REST API.

    The connection (type ``rime``) holds the cluster URL as host and the API key as password;
    extras ``verify_ssl`` (default true), ``ca_bundle``, ``timeout`` (seconds, default 60) and
    ``max_retries`` (default 5).

    Reads and other requests that are safe to repeat are retried with exponential backoff
    and jitter on HTTP 429, 5xx and transport errors, honouring ``Retry-After``. Creating
    calls look the object up first, and look again before re-sending, so a retry never makes
    a duplicate.

    :param rime_conn_id: The Airflow connection to RIME.
    :param timeout: Per-request timeout in seconds; overrides the connection's ``timeout``.
    :param max_retries: Retries after the first attempt; overrides the connection's ``max_retries``.
    :param retry_min_wait: First backoff delay in seconds (doubles per retry, with jitter).
    :param retry_max_wait: Longest backoff delay in seconds.
    """

    conn_name_attr = "rime_conn_id"
    default_conn_name = "rime_default"
    conn_type = "rime"
    hook_name = "RIME (Robust Intelligence)"

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

    def __enter__(self) -> RimeHook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ request core

    def _retry_kwargs(self, settings: RimeConnectionSettings) -> dict[str, Any]:
        """Tenacity arguments shared by the sync and async paths."""
        return {
            "stop": stop_after_attempt(settings.max_retries + 1),
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

    def _raise_for_response(self, response: httpx.Response, method: str, path: str) -> None:
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

    @staticmethod
    def _decode(response: httpx.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise RimeApiError(
                f"RIME answered HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code,
                method=response.request.method,
                path=response.request.url.path,
            ) from None
        return body if isinstance(body, dict) else {"result": body}

    def _send(
        self, method: str, path: str, params: dict[str, Any] | None, json_body: dict[str, Any] | None
    ) -> dict[str, Any]:
        client = self.get_conn()
        self.log.debug("RIME %s %s", method, path)
        try:
            response = client.request(method, path, params=params, json=json_body)
        except httpx.TransportError as exc:
            raise RimeTransportError(f"{type(exc).__name__}: {exc}", method=method, path=path) from None
        self._raise_for_response(response, method, path)
        return self._decode(response)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """
        Send one REST call and return its JSON body (``{}`` when empty).

        :param method: HTTP method.
        :param path: Path below the cluster URL, e.g. ``/v1/rime-info``.
        :param params: Query parameters; a list value repeats the key.
        :param json_body: JSON body; POST, PUT and DELETE send ``{}`` when ``None`` (like the SDK).
        :param idempotent: Whether to retry on 429/5xx/transport errors; default: every method but POST.
        :raises RimeApiError: (or a subclass) when RIME answers with an error or cannot be reached.
        """
        if json_body is None and method in ("POST", "PUT", "DELETE"):
            json_body = {}
        if idempotent is None:
            idempotent = method != "POST"
        if not idempotent:
            return self._send(method, path, params, json_body)
        for attempt in Retrying(**self._retry_kwargs(self.settings)):
            with attempt:
                return self._send(method, path, params, json_body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def arequest(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """The asynchronous :meth:`request` (same arguments, same retries and errors)."""
        settings = await self.asettings()
        if json_body is None and method in ("POST", "PUT", "DELETE"):
            json_body = {}
        if idempotent is None:
            idempotent = method != "POST"

        async def send() -> dict[str, Any]:
            async with httpx.AsyncClient(**self._client_kwargs(settings)) as client:
                self.log.debug("RIME %s %s", method, path)
                try:
                    response = await client.request(method, path, params=params, json=json_body)
                except httpx.TransportError as exc:
                    raise RimeTransportError(
                        f"{type(exc).__name__}: {exc}", method=method, path=path
                    ) from None
            self._raise_for_response(response, method, path)
            return self._decode(response)

        if not idempotent:
            return await send()
        async for attempt in AsyncRetrying(**self._retry_kwargs(settings)):
            with attempt:
                return await send()
        raise AssertionError("unreachable")  # pragma: no cover

    def _create_once(
        self, find: Callable[[], T | None], create: Callable[[], T], *, look_first: bool = True
    ) -> T:
        """
        Return what ``find`` finds, or ``create`` it; after a failed create, look again before re-sending.

        This is how non-idempotent POSTs are retried: a create whose response was lost may
        have happened, and the second look finds it instead of making a duplicate.

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
        raise AssertionError("unreachable")  # pragma: no cover

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
        ``pageSize``); the loop ends when ``hasMore`` is false.

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

    # ------------------------------------------------------------------ cluster

    def get_rime_info(self) -> dict[str, Any]:
        """``GET /v1/rime-info``: cluster version, customer name, licence dates."""
        return self.request("GET", "/v1/rime-info")

    async def aget_rime_info(self) -> dict[str, Any]:
        """The asynchronous :meth:`get_rime_info`."""
        return await self.arequest("GET", "/v1/rime-info")

    def test_connection(self) -> tuple[bool, str]:
        """The connection form's Test button: read ``/v1/rime-info`` and report the version."""
        try:
            info = self.get_rime_info()
        except Exception as exc:
            return False, str(exc)
        version = info.get("clusterInfoVersion") or "unknown version"
        customer = info.get("customerName")
        return True, f"Connected to RIME {version}" + (f" ({customer})" if customer else "")

    # ------------------------------------------------------------------ projects

    def list_projects(self) -> Iterator[dict[str, Any]]:
        """Iterate over the projects (``ProjectProject`` dicts) the API key can see."""
        for item in self.paginate("/v1/projects", "projects", {"pageToken": ""}):
            yield item.get("project", item)

    def find_project_id(self, name: str) -> str | None:
        """The id of the project called ``name``, or ``None``."""
        for project in self.list_projects():
            if project.get("name") == name:
                return str((project.get("id") or {}).get("uuid"))
        return None

    def get_project(self, project_id: str) -> dict[str, Any]:
        """``GET /v1/projects/{id}``: the project (``ProjectProject``)."""
        body = self.request("GET", f"/v1/projects/{_segment(project_id)}")
        project = body.get("project") or {}
        return project.get("project", project)

    def get_or_create_project(
        self,
        project: str,
        description: str = "",
        model_task: str = MODEL_TASK_BINARY_CLASSIFICATION,
    ) -> str:
        """
        Resolve a project given by id or name, creating it (by that name) if missing.

        :param project: A project id, or a project name.
        :param description: Description of a project created here.
        :param model_task: ``MODEL_TASK_*`` of a project created here.
        :return: The project id.
        """
        if looks_like_id(project):
            try:
                return str(self.get_project(project)["id"]["uuid"])
            except (RimeNotFoundError, KeyError):
                pass
            except RimeApiError as exc:
                if exc.status != 400:
                    raise

        def create() -> str:
            body = self.request(
                "POST",
                "/v1/projects",
                json_body={"name": project, "description": description, "modelTask": model_task},
            )
            return str(body["project"]["id"]["uuid"])

        return self._create_once(lambda: self.find_project_id(project), create)

    def get_project_url(self, project_id: str) -> str | None:
        """The project's web page (``GET /v1/projects/{id}/url``), with a scheme."""
        body = self.request("GET", f"/v1/projects/{_segment(project_id)}/url")
        return normalize_web_url((body.get("url") or {}).get("url"))

    def delete_project(self, project_id: str) -> None:
        """``DELETE /v1/projects/{id}``."""
        self.request("DELETE", f"/v1/projects/{_segment(project_id)}")

    # ------------------------------------------------------------------ uploads

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
        path_only = parts.path
        if parts.query:
            # A pre-signed URL's query string is a credential: keep it out of the task logs.
            mask_secret(parts.query)
        # The connection's CA bundle is for the cluster; storage elsewhere uses the default trust.
        verify = settings.ssl_verify() if settings.same_origin(url) else settings.verify is not False

        def send() -> None:
            with httpx.Client(timeout=httpx.Timeout(None, connect=30.0), verify=verify) as client:
                try:
                    if file_path is not None:
                        size = file_path.stat().st_size
                        with file_path.open("rb") as handle:
                            response = client.put(
                                url, content=handle, headers=self._upload_headers(url, size)
                            )
                    else:
                        response = client.put(
                            url, content=(text or "").encode(), headers=self._upload_headers(url)
                        )
                except httpx.TransportError as exc:
                    raise RimeTransportError(
                        f"{type(exc).__name__}: {exc}", method="PUT", path=path_only
                    ) from None
            self._raise_for_response(response, "PUT", path_only)

        for attempt in Retrying(**self._retry_kwargs(settings)):
            with attempt:
                send()

    def _put_done_marker(self, url: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z")
        self._put(url, text=f"Upload complete: {stamp}")

    def upload_file(self, file_path: str | Path, upload_path: str | None = None) -> str:
        """
        Upload a local file to the cluster's storage (``/v1-beta/datasets/upload-url`` + PUTs).

        :param file_path: The local file.
        :param upload_path: Directory to upload into; the server picks one when ``None``.
        :return: The ``destinationUrl`` to use in dataset and prediction configs.
        """
        path = Path(file_path)
        if not path.is_file():
            raise FileNotFoundError(f"Cannot upload {str(path)!r}: no such file")
        body: dict[str, Any] = {"fileName": path.name}
        if upload_path:
            body["uploadPath"] = upload_path
        # Asking for an upload URL creates nothing lasting, so it is safe to repeat.
        urls = self.request("POST", "/v1-beta/datasets/upload-url", json_body=body, idempotent=True)
        limit = int(urls.get("uploadLimit") or 0)
        size = path.stat().st_size
        if limit and size > limit:
            raise ValueError(
                f"{path.name} is {size / 1e6:.1f} MB, more than the cluster's upload limit "
                f"of {limit / 1e6:.1f} MB"
            )
        self.log.info("Uploading %s (%d bytes) to RIME", path.name, size)
        self._put(urls["uploadUrl"], file_path=path)
        if urls.get("doneFileUploadUrl"):
            self._put_done_marker(urls["doneFileUploadUrl"])
        return str(urls["destinationUrl"])

    def upload_dataframe(
        self, df: pd.DataFrame, name: str | None = None, upload_path: str | None = None
    ) -> str:
        """
        Upload a DataFrame as a parquet file (needs pandas and pyarrow).

        :param df: The data.
        :param name: File name without extension; a random one when ``None``.
        :param upload_path: Directory to upload into.
        :return: The ``destinationUrl``.
        """
        import uuid

        file_name = f"{name or uuid.uuid4().hex + '-data'}.parquet"
        with tempfile.TemporaryDirectory(prefix="rime-upload-") as tmp:
            target = Path(tmp) / file_name
            df.to_parquet(target, index=False)
            return self.upload_file(target, upload_path)

    def upload_model_directory(self, directory: str | Path, upload_path: str | None = None) -> str:
        """
        Upload a model directory (``/v1-beta/models/upload-url``, one PUT per file).

        :param directory: The directory, holding ``model.py`` and whatever it loads.
        :param upload_path: Directory to upload into.
        :return: The directory's ``destinationUrl``; the model file is ``<destinationUrl>/model.py``.
        """
        root = Path(directory)
        files = directory_files(root)
        if not files:
            raise FileNotFoundError(f"Model directory {str(root)!r} is empty or missing")
        body: dict[str, Any] = {"directoryName": root.name, "relativeFilePaths": files}
        if upload_path:
            body["uploadPath"] = upload_path
        urls = self.request("POST", "/v1-beta/models/upload-url", json_body=body, idempotent=True)
        self.log.info("Uploading model directory %s (%d files) to RIME", root.name, len(files))
        for relative, url in (urls.get("uploadPathMap") or {}).items():
            self._put(url, file_path=root / relative)
        if urls.get("doneFileUploadUrl"):
            self._put_done_marker(urls["doneFileUploadUrl"])
        return str(urls["destinationUrl"]).rstrip("/")

    # ------------------------------------------------------------------ registry

    def list_datasets(self, project_id: str) -> Iterator[dict[str, Any]]:
        """Iterate over the datasets registered in a project."""
        yield from self.paginate(f"/v1/registry/{_segment(project_id)}/dataset", "datasets")

    def find_dataset(self, project_id: str, name: str) -> dict[str, Any] | None:
        """The dataset called ``name`` in the project, or ``None``."""
        for dataset in self.list_datasets(project_id):
            if dataset.get("name") == name:
                return dataset
        return None

    def find_dataset_id(self, project_id: str, name: str) -> str | None:
        """The id of the dataset called ``name`` in the project, or ``None``."""
        dataset = self.find_dataset(project_id, name)
        return None if dataset is None else str(dataset["datasetId"])

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        """``GET /v1/registry/dataset?datasetId=``: the dataset, with ``validityStatus``."""
        return (
            self.request("GET", "/v1/registry/dataset", params={"datasetId": dataset_id}).get("dataset") or {}
        )

    def register_dataset(
        self,
        project_id: str,
        name: str,
        path: str,
        *,
        label_col: str | None = None,
        timestamp_col: str | None = None,
        categorical_features: Iterable[str] | None = None,
        features_not_in_model: Iterable[str] | None = None,
        data_params: dict[str, Any] | None = None,
    ) -> str:
        """
        Register a data file as a dataset of the project, unless one of that name exists.

        :param project_id: The project.
        :param name: Dataset name (unique within the project).
        :param path: Where the cluster reads the file: an upload's ``destinationUrl`` or a URI.
        :param label_col: Label column.
        :param timestamp_col: Timestamp column.
        :param categorical_features: Columns to treat as categorical.
        :param features_not_in_model: Columns the model does not take as input (e.g. predictions).
        :param data_params: More ``dataParams`` fields, in their JSON (camelCase) names.
        :return: The dataset id.
        """
        params: dict[str, Any] = {"sample": True}
        if label_col:
            params["labelCol"] = label_col
        if timestamp_col:
            params["timestampCol"] = timestamp_col
        if categorical_features:
            params["categoricalFeatures"] = list(categorical_features)
        if features_not_in_model:
            params["featuresNotInModel"] = list(features_not_in_model)
        params.update(data_params or {})
        body = {
            "projectId": {"uuid": project_id},
            "name": name,
            "dataInfo": {"connectionInfo": {"dataFile": {"path": path}}, "dataParams": params},
        }

        def create() -> str:
            response = self.request("POST", f"/v1/registry/{_segment(project_id)}/dataset", json_body=body)
            return str(response["datasetId"])

        return self._create_once(lambda: self.find_dataset_id(project_id, name), create)

    def list_models(self, project_id: str) -> Iterator[dict[str, Any]]:
        """Iterate over the models (``ModelModel`` dicts) registered in a project."""
        for item in self.paginate(f"/v1/registry/{_segment(project_id)}/model", "models"):
            yield item.get("model", item)

    def find_model_id(self, project_id: str, name: str) -> str | None:
        """The id of the model called ``name`` in the project, or ``None``."""
        for model in self.list_models(project_id):
            if model.get("name") == name:
                return str((model.get("modelId") or {}).get("uuid"))
        return None

    def get_model(self, model_id: str) -> dict[str, Any]:
        """``GET /v1/registry/model?modelId.uuid=``: the model, with ``validityStatus``."""
        body = self.request("GET", "/v1/registry/model", params={"modelId.uuid": model_id})
        model = body.get("model") or {}
        return model.get("model", model)

    def register_model(self, project_id: str, name: str, model_path: str | None = None) -> str:
        """
        Register a model in the project, unless one of that name exists.

        :param project_id: The project.
        :param name: Model name (unique within the project).
        :param model_path: Path of the model's ``model.py`` on the cluster; ``None`` registers a
            predictions-only model.
        :return: The model id.
        """
        body: dict[str, Any] = {"projectId": {"uuid": project_id}, "name": name}
        if model_path:
            body["modelInfo"] = {"modelPath": {"path": model_path}}

        def create() -> str:
            response = self.request("POST", f"/v1/registry/{_segment(project_id)}/model", json_body=body)
            return str(response["modelId"]["uuid"])

        return self._create_once(lambda: self.find_model_id(project_id, name), create)

    def get_predictions(self, model_id: str, dataset_id: str) -> dict[str, Any] | None:
        """The prediction set of a model on a dataset, or ``None`` when none is registered."""
        try:
            body = self.request("GET", f"/v1/registry/prediction/{_segment(model_id)}/{_segment(dataset_id)}")
        except RimeNotFoundError:
            return None
        return body.get("prediction") or body

    def register_predictions(
        self,
        project_id: str,
        model_id: str,
        dataset_id: str,
        path: str,
        pred_col: str,
        timestamp_col: str | None = None,
    ) -> None:
        """
        Register a model's predictions on a dataset, unless they are registered already.

        :param project_id: The project.
        :param model_id: The model.
        :param dataset_id: The dataset the predictions are for.
        :param path: A file holding the prediction column (it may be the dataset's own file).
        :param pred_col: The prediction column.
        :param timestamp_col: Timestamp column, if the file has one.
        """
        pred_params: dict[str, Any] = {"predCol": pred_col}
        if timestamp_col:
            pred_params["timestampCol"] = timestamp_col
        body = {
            "projectId": {"uuid": project_id},
            "modelId": {"uuid": model_id},
            "predInfo": {"connectionInfo": {"dataFile": {"path": path}}, "predParams": pred_params},
        }
        endpoint = (
            f"/v1/registry/{_segment(project_id)}/model/{_segment(model_id)}"
            f"/dataset/{_segment(dataset_id)}/prediction"
        )

        def create() -> bool:
            self.request("POST", endpoint, json_body=body)
            return True

        self._create_once(lambda: True if self.get_predictions(model_id, dataset_id) else None, create)

    def wait_for_validation(
        self, kind: str, get: Callable[[], dict[str, Any]], name: str, timeout: float = 600.0
    ) -> dict[str, Any]:
        """
        Poll a registered object until RIME has validated it.

        :param kind: ``"dataset"``, ``"model"`` or ``"predictions"`` (for messages).
        :param get: Reads the object (with ``validityStatus``).
        :param name: The object's name or id (for messages).
        :param timeout: Longest wait in seconds.
        :raises RimeRegistryValidationError: RIME found it invalid, or did not decide in time.
        """
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            item = get()
            status = item.get("validityStatus") or VALIDITY_STATUS_PENDING
            if status == VALIDITY_STATUS_INVALID:
                message = item.get("validityStatusMessage") or "no reason given"
                raise RimeRegistryValidationError(f"RIME found {kind} {name!r} invalid: {message}")
            if status != VALIDITY_STATUS_PENDING:
                return item
            if time.monotonic() >= deadline:
                raise RimeRegistryValidationError(
                    f"RIME did not validate {kind} {name!r} within {timeout:.0f} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    # ------------------------------------------------------------------ stress tests and jobs

    def validate_test_run_config(self, test_run_config: dict[str, Any]) -> None:
        """Check a test run config with ``/v1-beta/config-validator/CONFIG_TYPE_TEST_RUN`` (4xx: invalid)."""
        self.request(
            "POST",
            "/v1-beta/config-validator/CONFIG_TYPE_TEST_RUN",
            json_body={"configJson": json.dumps(test_run_config)},
            idempotent=True,
        )

    def list_jobs(
        self,
        project_id: str,
        statuses: Iterable[str] | None = None,
        job_types: Iterable[str] = (JOB_TYPE_MODEL_STRESS_TEST,),
    ) -> Iterator[dict[str, Any]]:
        """
        Iterate over a project's jobs (``RimeJobMetadata`` dicts) of the last two weeks.

        :param project_id: The project.
        :param statuses: ``JOB_STATUS_*`` values to keep; all when ``None``.
        :param job_types: ``JOB_TYPE_*`` values to keep.
        """
        params: dict[str, Any] = {"firstPageQuery.selectedTypes": list(job_types)}
        if statuses:
            params["firstPageQuery.selectedStatuses"] = list(statuses)
        yield from self.paginate(
            f"/v1/jobs/project/{_segment(project_id)}", "jobs", params, page_size=PAGE_SIZE
        )

    def find_active_stress_test(self, project_id: str, run_name: str) -> RimeJob | None:
        """
        The still-running stress test job of the project whose test run is called ``run_name``.

        This is how a retried task re-attaches to its job instead of starting another.
        """
        for item in self.list_jobs(project_id, statuses=ACTIVE_JOB_STATUSES):
            job = RimeJob.model_validate(item)
            if job.is_terminal:
                continue
            if job.test_run_id is None:
                job = self.get_job(job.job_id)
            if job.test_run_id is None or job.is_terminal:
                continue
            try:
                test_run = self.get_test_run(job.test_run_id)
            except RimeNotFoundError:
                continue
            if test_run.get("name") == run_name:
                return job
        return None

    def start_stress_test(self, project_id: str, test_run_config: dict[str, Any]) -> RimeJob:
        """
        Start a stress test (``POST /v1/stress-tests/{projectId}``).

        Safe to retry: before re-sending after a lost response, it looks for a running job
        with the config's ``run_name``.

        :param project_id: The project.
        :param test_run_config: The snake_case ``testRunConfig`` (``run_name``, ``data_info``,
            ``model_id``, ...).
        :return: The new job.
        """
        run_name = test_run_config.get("run_name")
        path = f"/v1/stress-tests/{_segment(project_id)}"

        def create() -> RimeJob:
            body = self.request("POST", path, json_body={"testRunConfig": test_run_config})
            return RimeJob.model_validate(body["job"])

        def find() -> RimeJob | None:
            return self.find_active_stress_test(project_id, run_name) if run_name else None

        # The caller decides about re-attaching before starting; the look here only guards re-sends.
        return self._create_once(find, create, look_first=False)

    def get_job(self, job_id: str) -> RimeJob:
        """``GET /v1/jobs/{id}?view=JOB_VIEW_FULL``."""
        body = self.request("GET", f"/v1/jobs/{_segment(job_id)}", params={"view": "JOB_VIEW_FULL"})
        return RimeJob.model_validate(body["job"])

    async def aget_job(self, job_id: str) -> RimeJob:
        """The asynchronous :meth:`get_job`."""
        body = await self.arequest("GET", f"/v1/jobs/{_segment(job_id)}", params={"view": "JOB_VIEW_FULL"})
        return RimeJob.model_validate(body["job"])

    def cancel_job(self, job_id: str) -> None:
        """Ask RIME to cancel a job (``POST /v1/jobs/cancel/{id}``); a finished job is left alone."""
        if self.get_job(job_id).is_terminal:
            return
        self.request("POST", f"/v1/jobs/cancel/{_segment(job_id)}", idempotent=True)

    async def acancel_job(self, job_id: str) -> None:
        """The asynchronous :meth:`cancel_job`."""
        if (await self.aget_job(job_id)).is_terminal:
            return
        await self.arequest("POST", f"/v1/jobs/cancel/{_segment(job_id)}", idempotent=True)

    def get_job_logs(self, job_id: str) -> str:
        """The job's log text (``GET /v1-beta/logs/{id}``), or ``""`` when there is none."""
        try:
            body = self.request("GET", f"/v1-beta/logs/{_segment(job_id)}")
        except RimeNotFoundError:
            return ""
        return str((body.get("result") or {}).get("chunk") or "")

    def wait_for_job(
        self,
        job_id: str,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        cancel_on_timeout: bool = True,
    ) -> RimeJob:
        """
        Poll a job until it finishes.

        :param job_id: The job.
        :param poll_interval: Seconds between polls.
        :param timeout: Longest wait in seconds; ``None`` waits forever.
        :param cancel_on_timeout: Cancel the job when the wait times out.
        :return: The finished job (whatever its final status).
        :raises RimeJobError: The wait timed out (``status="timeout"``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if job.is_terminal:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                if cancel_on_timeout:
                    self.log.warning("RIME job %s did not finish within %s s; cancelling it", job_id, timeout)
                    self.cancel_job(job_id)
                raise RimeJobError(
                    f"RIME job {job_id} did not finish within {timeout} s", job_id=job_id, status="timeout"
                )
            time.sleep(
                poll_interval
                if deadline is None
                else max(0.0, min(poll_interval, deadline - time.monotonic()))
            )

    # ------------------------------------------------------------------ results

    def get_test_run(self, test_run_id: str) -> dict[str, Any]:
        """``GET /v1/test-runs/{id}``: the test run (status, metrics, web link)."""
        return self.request("GET", f"/v1/test-runs/{_segment(test_run_id)}").get("testRun") or {}

    async def aget_test_run(self, test_run_id: str) -> dict[str, Any]:
        """The asynchronous :meth:`get_test_run`."""
        return (await self.arequest("GET", f"/v1/test-runs/{_segment(test_run_id)}")).get("testRun") or {}

    def get_test_run_url(self, test_run_id: str) -> str:
        """The test run's web page, with a scheme."""
        url = normalize_web_url((self.get_test_run(test_run_id).get("webAppUrl") or {}).get("url"))
        if not url:
            raise RimeApiError(
                "the test run has no web link", method="GET", path=f"/v1/test-runs/{test_run_id}"
            )
        return url

    def list_test_runs(
        self, project_id: str, testing_type: str = "TEST_TYPE_STRESS_TESTING_UNSPECIFIED"
    ) -> Iterator[dict[str, Any]]:
        """Iterate over the project's test runs of one testing type."""
        params = {"firstPageQuery.projectId.uuid": project_id, "firstPageQuery.testingType": testing_type}
        yield from self.paginate("/v1/test-runs", "testRuns", params)

    def list_test_cases(
        self, test_run_id: str, test_types: Iterable[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """
        Iterate over a test run's test cases (``TestrunresultTestCase`` dicts), 20 per request.

        :param test_run_id: The test run.
        :param test_types: Only these test types (batch types), if given.
        """
        params: dict[str, Any] = {"listTestCasesQuery.testRunId": test_run_id}
        if test_types:
            params["listTestCasesQuery.testTypes"] = list(test_types)
        yield from self.paginate("/v1/test-cases", "testCases", params, page_size=PAGE_SIZE)

    def get_category_results(self, test_run_id: str) -> list[dict[str, Any]]:
        """The test run's results per category (``GET /v1/category-results/{id}``)."""
        body = self.request("GET", f"/v1/category-results/{_segment(test_run_id)}")
        return list(body.get("categoryTestResults") or [])

    def list_batch_results(self, test_run_id: str) -> Iterator[dict[str, Any]]:
        """Iterate over the test run's results per test type (``GET /v1/batch-results``)."""
        yield from self.paginate(
            "/v1/batch-results", "testBatches", {"testRunId": test_run_id}, page_size=PAGE_SIZE
        )

    def get_batch_result(self, test_run_id: str, test_type: str) -> dict[str, Any]:
        """One test type's result in a test run."""
        path = f"/v1/test-runs/{_segment(test_run_id)}/batch-result/{_segment(test_type)}"
        return self.request("GET", path).get("testBatch") or {}

    def get_test_run_summary(self, test_run_id: str, job_id: str | None = None) -> dict[str, Any]:
        """
        The JSON-safe summary of a test run.

        Keys: ``test_run_id``, ``project_id``, ``job_id``, ``run_name``, ``url``, ``status``,
        ``summary_counts`` (total/pass/warning/fail/skip), ``severity_counts``
        (num_none/low/high_severity), ``pass_rate`` (pass / total) and ``model_metrics``
        (``{"AUC": {"ref": ..., "eval": ...}, ...}``).

        :param test_run_id: The test run.
        :param job_id: The job that produced it, if known (copied into the summary).
        """
        return TestRunSummary.from_test_run(self.get_test_run(test_run_id), job_id=job_id).to_dict()
