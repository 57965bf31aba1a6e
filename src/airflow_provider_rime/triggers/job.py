"""RimeJobTrigger: waits in the triggerer for a RIME job (or test run) to finish."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_rime.exceptions import RimeApiError, RimeTriggerEventError
from airflow_provider_rime.hooks.rime import FIRST_POLL_SECONDS, RimeHook
from airflow_provider_rime.rime_api.documents import TestRun
from airflow_provider_rime.rime_api.enums import JobStatus, TestTaskStatus

#: The statuses of the events the trigger yields.
TRIGGER_EVENT_STATUSES = frozenset({"success", "failed", "cancelled", "timeout", "error"})


def validate_trigger_event(event: dict[str, Any] | None) -> dict[str, Any]:
    """
    Check the event a deferred task resumes with and return it.

    The event crosses the triggerer/worker boundary through the metadata DB, so a resuming
    task may get ``None`` or a status it does not know; both must fail loudly.

    :param event: The trigger's event payload.
    :raises RimeTriggerEventError: The event is missing or malformed.
    """
    if not isinstance(event, dict):
        raise RimeTriggerEventError(f"The RIME trigger returned no usable event: {event!r}")
    if event.get("status") not in TRIGGER_EVENT_STATUSES:
        raise RimeTriggerEventError(
            f"Unexpected RIME trigger event status {event.get('status')!r}: {event!r}"
        )
    if not (event.get("job_id") or event.get("test_run_id")):
        raise RimeTriggerEventError(f"The RIME trigger event names neither a job nor a test run: {event!r}")
    return event


class RimeJobTrigger(BaseTrigger):
    """
    Poll a RIME job (or, without a job id, a test run) until it finishes, asynchronously.

    Yields one event ``{"status", "message", "job_id", "test_run_id", "rime_status"}`` with
    status ``success``, ``failed``, ``cancelled``, ``timeout`` (after ``end_time``; the job is
    cancelled first when ``cancel_on_timeout``) or ``error`` (RIME could not be read).

    :param rime_conn_id: The Airflow connection to RIME.
    :param job_id: The job to wait for.
    :param test_run_id: The test run to wait for (used when no ``job_id`` is given, and
        copied into the event).
    :param poll_interval: Seconds between polls (at most: the first looks come sooner).
    :param end_time: Epoch seconds after which the wait times out; ``None`` waits forever.
    :param cancel_on_timeout: Cancel the job when the wait times out.
    :param hook_params: JSON-safe keyword arguments for :class:`RimeHook` (e.g. ``timeout``).
    """

    def __init__(
        self,
        rime_conn_id: str,
        job_id: str | None = None,
        test_run_id: str | None = None,
        poll_interval: float = 10.0,
        end_time: float | None = None,
        cancel_on_timeout: bool = True,
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not job_id and not test_run_id:
            raise ValueError("RimeJobTrigger needs a job_id or a test_run_id")
        self.rime_conn_id = rime_conn_id
        self.job_id = job_id
        self.test_run_id = test_run_id
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.cancel_on_timeout = cancel_on_timeout
        # Only JSON-safe values may cross into the triggerer (serde refuses the rest).
        self.hook_params = {k: v for k, v in (hook_params or {}).items() if _json_safe(v)}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The classpath and JSON-safe keyword arguments that recreate this trigger."""
        return (
            "airflow_provider_rime.triggers.job.RimeJobTrigger",
            {
                "rime_conn_id": self.rime_conn_id,
                "job_id": self.job_id,
                "test_run_id": self.test_run_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "cancel_on_timeout": self.cancel_on_timeout,
                "hook_params": self.hook_params,
            },
        )

    def _hook(self) -> RimeHook:
        return RimeHook(self.rime_conn_id, **self.hook_params)

    def _event(
        self, status: str, message: str, rime_status: JobStatus | TestTaskStatus | None = None
    ) -> TriggerEvent:
        # Plain strings only: the payload crosses into the worker through the metadata DB.
        return TriggerEvent(
            {
                "status": status,
                "message": message,
                "job_id": self.job_id,
                "test_run_id": self.test_run_id,
                "rime_status": None if rime_status is None else rime_status.value,
            }
        )

    async def _poll(self, hook: RimeHook) -> TriggerEvent | None:
        """One look at RIME: the final event, or ``None`` while the job runs."""
        if self.job_id:
            job = await hook.aget_job(self.job_id)
            self.test_run_id = self.test_run_id or job.test_run_id
            if not job.is_terminal:
                return None
            status = job.job_status
            if status is JobStatus.SUCCEEDED:
                return self._event("success", f"RIME job {self.job_id} succeeded.", status)
            if status is JobStatus.CANCELLED:
                return self._event("cancelled", f"RIME job {self.job_id} was cancelled.", status)
            reason = f": {job.error_msg}" if job.error_msg else "."
            return self._event("failed", f"RIME job {self.job_id} failed{reason}", status)
        assert self.test_run_id is not None
        test_run = TestRun.model_validate(await hook.aget_test_run(self.test_run_id))
        task_status = test_run.task_status
        if not task_status.is_terminal:
            return None
        if task_status is TestTaskStatus.COMPLETED:
            return self._event("success", f"RIME test run {self.test_run_id} completed.", task_status)
        if task_status is TestTaskStatus.CANCELLED:
            return self._event("cancelled", f"RIME test run {self.test_run_id} was cancelled.", task_status)
        message = f"RIME test run {self.test_run_id} ended as {task_status.value}."
        return self._event("failed", message, task_status)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the job finishes or the wait times out; yield exactly one event."""
        hook = self._hook()
        what = f"job {self.job_id}" if self.job_id else f"test run {self.test_run_id}"
        # As RimeHook.wait_for_job: the first looks come sooner, then every poll_interval.
        interval = min(FIRST_POLL_SECONDS, self.poll_interval)
        while True:
            try:
                event = await self._poll(hook)
            except RimeApiError as exc:
                yield self._event("error", f"Could not read RIME {what}: {exc}")
                return
            if event is not None:
                yield event
                return
            if self.end_time is not None and time.time() >= self.end_time:
                message = f"RIME {what} did not finish in time"
                if self.cancel_on_timeout and self.job_id:
                    try:
                        await hook.acancel_job(self.job_id)
                        message += "; the job was cancelled."
                    except RimeApiError as exc:
                        message += f"; cancelling it failed: {exc}"
                yield self._event("timeout", message)
                return
            delay = interval
            if self.end_time is not None:
                delay = max(0.0, min(delay, self.end_time - time.time()))
            self.log.info("RIME %s is still running; next look in %.1f s", what, delay)
            await asyncio.sleep(delay)
            interval = min(interval * 2, self.poll_interval)

    async def on_kill(self) -> None:
        """The user killed the deferred task (mark failed/success, clear): cancel the RIME job."""
        if self.job_id:
            await self._hook().acancel_job(self.job_id)


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
