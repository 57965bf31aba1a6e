"""The waiting half every RIME job operator shares: submit, wait in the worker or defer, finish.

:class:`RimeJobOperator` holds what :class:`~.stress_test.RimeStressTestOperator` and
:class:`~.firewall.RimeFirewallOperator` do alike once a job exists: wait in the worker
(``ResumableJobMixin``) or defer to :class:`~airflow_provider_rime.triggers.job.RimeJobTrigger`,
re-attach on retry (task state store on Airflow 3.3+), cancel on kill and timeout, turn a
failed job into an error with the end of its log. A subclass starts the job
(:meth:`submit_job`), pushes its references (:meth:`_push_references`) and reads the finished
job (:meth:`_finish`).
"""

from __future__ import annotations

import time
from abc import abstractmethod
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    AirflowTaskTimeout,
    BaseOperator,
    ResumableJobMixin,
    conf,
)

from airflow_provider_rime.exceptions import RimeJobError
from airflow_provider_rime.hooks import DEFAULT_CONN_ID
from airflow_provider_rime.rime_api.enums import JobStatus
from airflow_provider_rime.rime_api.results import FailOn

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_rime.hooks.rime import RimeHook
    from airflow_provider_rime.rime_api.documents import Job


class RimeJobOperator(ResumableJobMixin, BaseOperator):
    """
    Base of the operators that start one RIME job and wait for it (abstract).

    It takes the arguments every such operator has (documented by each subclass); subclasses
    implement :meth:`submit_job`, :meth:`_push_references` and :meth:`_finish`, and check
    the arguments with :meth:`_validate_static` once at parse time and again once
    rendered.

    :param rime_conn_id: The Airflow connection to RIME.
    :param fail_on: ``"none"``, ``"warning"`` or ``"alert"``: the severity that fails the task.
    :param deferrable: Wait in the triggerer instead of a worker slot.
    :param poll_interval: Seconds between status checks.
    :param timeout: Longest wait for the job in seconds; the job is cancelled after.
    """

    #: What the job is, in messages ("stress test", "continuous test").
    job_kind: ClassVar[str] = "RIME"

    def __init__(
        self,
        *,
        rime_conn_id: str = DEFAULT_CONN_ID,
        fail_on: str = "none",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | str = 10,
        timeout: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rime_conn_id = rime_conn_id
        self.fail_on = fail_on
        self.deferrable = deferrable
        self.poll_interval: Any = poll_interval  # a number once rendered and checked
        self.timeout: Any = timeout
        self.job_id: str | None = None
        self.test_run_id: str | None = None
        self.project_id: str | None = None
        self._pushed_job_id: str | None = None
        self._result: tuple[str, dict[str, Any]] | None = None

    def _validate_static(self, at_parse: bool = False) -> None:
        """Check ``fail_on``, ``poll_interval`` and ``timeout``; at parse time, only untemplated
        values (templated ones are checked once rendered, before any call to RIME)."""
        if not (at_parse and is_template(self.fail_on)):
            self.fail_on = str(self.fail_on).strip().lower()
            FailOn.parse(self.fail_on)
        if not (at_parse and is_template(self.poll_interval)):
            self.poll_interval = seconds_arg(self.poll_interval, "poll_interval")
            if self.poll_interval is None:
                raise ValueError("poll_interval must be a positive number of seconds; got None")
        if not (at_parse and is_template(self.timeout)):
            self.timeout = seconds_arg(self.timeout, "timeout")

    @cached_property
    def hook(self) -> RimeHook:
        """The RIME hook of this task."""
        from airflow_provider_rime.hooks.rime import RimeHook

        return RimeHook(self.rime_conn_id)

    @abstractmethod
    def submit_job(self, context: Context) -> str:
        """Start the job (or find this task's running one) and return its id."""

    @abstractmethod
    def _push_references(self, context: Context, job: Job) -> None:
        """Push the job's ids and links to XCom (called before waiting and again after)."""

    @abstractmethod
    def _finish(self, context: Context, job: Job) -> dict[str, Any]:
        """Read the finished job's results, push them, apply the gate; return the task's value."""

    # ------------------------------------------------------------------ wait or defer

    def execute(self, context: Context) -> dict[str, Any]:
        """Start (or re-attach to) the job, then wait in the worker or defer."""
        if not self.deferrable:
            result = self.execute_resumable(context)
            # On re-attaching, the mixin returns what poll_until_complete returns (nothing).
            if result is None and self.job_id:
                result = self.get_job_result(self.job_id, context)
            return result
        job_id = self._stored_job_id(context)
        if job_id is None:
            job_id = self.submit_job(context)
            self._store_job_id(context, job_id)
        job = self.hook.get_job(job_id)
        self._push_references(context, job)
        if job.is_terminal:
            if not job.succeeded:
                raise self._job_error(job)
            return self.get_job_result(job_id, context)
        from airflow_provider_rime.triggers.job import RimeJobTrigger

        self.defer(
            trigger=RimeJobTrigger(
                rime_conn_id=self.rime_conn_id,
                job_id=job_id,
                test_run_id=job.test_run_id,
                poll_interval=self.poll_interval,
                end_time=self._end_time(),
                cancel_on_timeout=True,
            ),
            method_name="execute_complete",
        )
        raise AssertionError("unreachable")  # pragma: no cover  (defer raises TaskDeferred)

    def _end_time(self) -> float | None:
        """When the deferred wait gives up: ``timeout`` or ``execution_timeout``, whichever is first."""
        end_time = None if self.timeout is None else time.time() + self.timeout
        if self.execution_timeout is not None:
            deadline = time.time() + self.execution_timeout.total_seconds()
            end_time = deadline if end_time is None else min(end_time, deadline)
        return end_time

    def _stored_job_id(self, context: Context) -> str | None:
        """The job of an earlier try, kept in the task state store (Airflow 3.3+), if worth resuming."""
        store = context.get("task_state_store") if self.durable else None
        if store is None:
            return None
        stored = store.get(self.external_id_key)
        if not stored:
            return None
        status = self.get_job_status(stored, context)
        if self.is_job_active(status) or self.is_job_succeeded(status):
            self.log.info("Re-attaching to job %s of an earlier try (%s)", stored, status)
            return str(stored)
        return None

    def _store_job_id(self, context: Context, job_id: str) -> None:
        store = context.get("task_state_store") if self.durable else None
        if store is not None:
            store.set(self.external_id_key, job_id)

    # ResumableJobMixin: how the worker path submits, re-attaches and waits.

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """The job's ``JOB_STATUS_*``."""
        return str(self.hook.get_job(str(external_id)).status)

    def is_job_active(self, status: str) -> bool:
        """Whether a job in this status can be re-attached to."""
        return _job_status(status).is_active

    def is_job_succeeded(self, status: str) -> bool:
        """Whether the job finished successfully."""
        return _job_status(status) is JobStatus.SUCCEEDED

    def poll_until_complete(self, external_id: Any, context: Context) -> None:
        """Wait in the worker for the job; cancel it on timeout; raise if it did not succeed."""
        job_id = str(external_id)
        hook = self.hook
        job = hook.get_job(job_id)
        self.project_id = self.project_id or job.project_id
        self._push_references(context, job)
        try:
            job = hook.wait_for_job(job_id, self.poll_interval, self.timeout, cancel_on_timeout=True)
        except AirflowTaskTimeout:
            self.log.warning("execution_timeout reached; cancelling RIME job %s", job_id)
            self._cancel_quietly(job_id)
            raise
        if not job.succeeded:
            raise self._job_error(job)

    def get_job_result(self, external_id: Any, context: Context) -> dict[str, Any]:
        """The summary of the finished job's test run (read once), after the severity gate."""
        job_id = str(external_id)
        if self._result is None or self._result[0] != job_id:
            job = self.hook.get_job(job_id)
            self._push_references(context, job)
            self._result = (job_id, self._finish(context, job))
        return self._result[1]

    # ------------------------------------------------------------------ finish

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: check the event, then summarise (or fail)."""
        from airflow_provider_rime.triggers.job import validate_trigger_event

        event = validate_trigger_event(event)
        job_id = str(event["job_id"])
        self.job_id = job_id
        self.test_run_id = event.get("test_run_id") or self.test_run_id
        status = event["status"]
        if status == "success":
            return self.get_job_result(job_id, context)
        if status in ("failed", "cancelled"):
            raise self._job_error(self.hook.get_job(job_id))
        raise RimeJobError(
            str(event.get("message") or f"RIME job {job_id}: {status}"), job_id=job_id, status=status
        )

    def on_kill(self) -> None:
        """Cancel the RIME job when the task is killed."""
        if self.job_id:
            self.log.info("Task killed; cancelling RIME job %s", self.job_id)
            self._cancel_quietly(self.job_id)

    def _cancel_quietly(self, job_id: str) -> None:
        try:
            self.hook.cancel_job(job_id)
        except Exception:
            self.log.warning("Could not cancel RIME job %s", job_id, exc_info=True)

    def _job_error(self, job: Job) -> RimeJobError:
        """The error of a job that did not succeed, with RIME's message and the end of its log."""
        reason = f": {job.error_msg}" if job.error_msg else ""
        logs = ""
        try:
            tail = self.hook.get_job_logs(job.job_id).strip().splitlines()[-20:]
            logs = ("\nLast lines of the job log:\n" + "\n".join(tail)) if tail else ""
        except Exception:
            self.log.debug("No logs for RIME job %s", job.job_id, exc_info=True)
        status = str(job.status)
        verb = "was cancelled" if job.job_status is JobStatus.CANCELLED else f"ended as {status}"
        return RimeJobError(
            f"RIME {self.job_kind} job {job.job_id} {verb}{reason}{logs}", job_id=job.job_id, status=status
        )


def _job_status(value: str) -> JobStatus:
    """A job status string as the enum (``UNSPECIFIED`` for one this version does not know)."""
    try:
        return JobStatus(value)
    except ValueError:
        return JobStatus.UNSPECIFIED


def is_template(value: Any) -> bool:
    """Whether an argument is still a Jinja template (checked once rendered, not at DAG parse)."""
    if isinstance(value, list | tuple):
        return any(is_template(v) for v in value)
    return isinstance(value, str) and "{{" in value


def seconds_arg(value: Any, name: str) -> float | None:
    """A positive number of seconds from a number or its rendered text; ``None`` stays ``None``."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number of seconds; got {value!r}") from None
    if isinstance(value, bool) or not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds; got {value!r}")
    return seconds


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def bool_arg(value: Any, name: str) -> bool:
    """A boolean from a bool or its rendered text (``True``/``false``/``1``/``no`` ...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false; got {value!r}")
