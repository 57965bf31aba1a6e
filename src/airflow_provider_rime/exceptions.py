"""The provider's exception family.

Every error that comes back from RIME (or from the way there) is a :class:`RimeApiError`
carrying the HTTP status, RIME's own message and the request path, never the API key. Its
:attr:`~RimeApiError.retryable` is the one place that decides which failures the hook
retries (throttling, server and transport errors), so the sync and async paths, uploads and
create-once all agree.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class RimeError(AirflowException):
    """Base class of every error the RIME provider raises."""


class RimeApiError(RimeError):
    """
    A RIME REST call failed.

    :param message: RIME's error message (the ``message`` of its grpc-gateway error body), or a
        description of the transport failure.
    :param status: The HTTP status code, or ``None`` when no response arrived.
    :param method: The HTTP method of the request.
    :param path: The request path (no host, no query string, no credentials).
    :param retry_after: Seconds the server asked us to wait (``Retry-After``), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        self.retry_after = retry_after
        where = f"{method} {path}".strip()
        status_text = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"RIME API error ({status_text} on {where}): {message}")

    @property
    def retryable(self) -> bool:
        """Whether repeating the same request may succeed (throttling, server or transport errors)."""
        return self.status is None or self.status == 429 or self.status >= 500


class RimeAuthError(RimeApiError):
    """RIME rejected the connection's API key (HTTP 401 or 403)."""


class RimeNotFoundError(RimeApiError):
    """The requested RIME object does not exist (HTTP 404)."""


class RimeTransportError(RimeApiError):
    """No usable response arrived: connection refused or reset, timeout, TLS failure."""


class RimeJobError(RimeError):
    """
    A RIME job (or test run) ended without succeeding: it failed, was cancelled or timed out.

    :param message: What happened, including RIME's error message when it gave one.
    :param job_id: The RIME job id.
    :param status: The job's final status (e.g. ``JOB_STATUS_FAILED``) or ``"timeout"``.
    """

    def __init__(self, message: str, *, job_id: str | None = None, status: str | None = None) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(message)


class RimeRegistryValidationError(RimeError):
    """RIME found a registered dataset, model or prediction set invalid."""


class RimeSeverityGateError(AirflowFailException):
    """The stress test found issues at or above the operator's ``fail_on`` severity (no retry helps)."""


class RimeTriggerEventError(RimeError):
    """A deferred task resumed with a missing or malformed trigger event."""


class RimeSqlFetchError(RimeError):
    """A batch's rows could not be fetched with SQL: the connection, the query or its result is wrong."""


class RimeFirewallError(RimeError):
    """The project's firewall cannot be used as asked (missing, or its project is gone)."""
