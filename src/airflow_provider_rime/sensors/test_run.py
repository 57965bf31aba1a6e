"""RimeTestRunSensor: waits for a RIME job or test run to finish, by poking or deferred."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    conf,
)

from airflow_provider_rime.exceptions import RimeJobError
from airflow_provider_rime.hooks import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_rime.hooks.rime import RimeHook


class RimeTestRunSensor(BaseSensorOperator):
    """
    Wait until a RIME stress test (given by job id or test run id) has finished.

    Succeeds when the job succeeded (or the test run completed); a failed or cancelled job
    fails the task, or skips it when ``soft_fail`` is set. With ``deferrable`` the wait
    happens in the triggerer and ``timeout`` bounds it.

    :param rime_conn_id: The Airflow connection to RIME. (templated)
    :param job_id: The RIME job to wait for. (templated)
    :param test_run_id: The test run to wait for, when no job id is given. (templated)
    :param deferrable: Wait in the triggerer; default from ``[operators] default_deferrable``.
    """

    template_fields: Sequence[str] = ("rime_conn_id", "job_id", "test_run_id")
    ui_color = "#5d3fd3"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        rime_conn_id: str = DEFAULT_CONN_ID,
        job_id: str | None = None,
        test_run_id: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not job_id and not test_run_id:
            raise ValueError("RimeTestRunSensor needs a job_id or a test_run_id")
        self.rime_conn_id = rime_conn_id
        self.job_id = job_id
        self.test_run_id = test_run_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> RimeHook:
        """The RIME hook of this task (imported here: DAG parsing does not need it)."""
        from airflow_provider_rime.hooks.rime import RimeHook

        return RimeHook(self.rime_conn_id)

    def _what(self) -> str:
        return f"job {self.job_id}" if self.job_id else f"test run {self.test_run_id}"

    def _fail(self, message: str) -> None:
        if self.soft_fail:
            raise AirflowSkipException(message)
        raise RimeJobError(message, job_id=self.job_id)

    def poke(self, context: Context) -> bool:
        """One look at RIME: ``True`` once finished successfully; raise if it ended otherwise."""
        if self.job_id:
            job = self.hook.get_job(self.job_id)
            self.log.info("RIME job %s: %s", self.job_id, job.status)
            if not job.is_terminal:
                return False
            if job.succeeded:
                return True
            reason = f": {job.error_msg}" if job.error_msg else ""
            self._fail(f"RIME job {self.job_id} ended as {job.job_status.value}{reason}")
        else:
            from airflow_provider_rime.rime_api.documents import TestRun
            from airflow_provider_rime.rime_api.enums import TestTaskStatus

            assert self.test_run_id is not None
            test_run = TestRun.model_validate(self.hook.get_test_run(self.test_run_id))
            self.log.info("RIME test run %s: %s", self.test_run_id, test_run.status)
            if not test_run.task_status.is_terminal:
                return False
            if test_run.task_status is TestTaskStatus.COMPLETED:
                return True
            self._fail(f"RIME test run {self.test_run_id} ended as {test_run.task_status.value}")
        return False  # pragma: no cover  (_fail raises)

    def execute(self, context: Context) -> Any:
        """Poke, or, when deferrable and not finished yet, defer to :class:`RimeJobTrigger`."""
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        from airflow_provider_rime.triggers.job import RimeJobTrigger

        self.defer(
            trigger=RimeJobTrigger(
                rime_conn_id=self.rime_conn_id,
                job_id=self.job_id,
                test_run_id=self.test_run_id,
                poll_interval=self.poke_interval,
                end_time=time.time() + self.timeout,
                cancel_on_timeout=False,  # a sensor watches; it does not own the job
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Resume after the trigger fired: check the event; fail, skip or succeed."""
        from airflow_provider_rime.triggers.job import validate_trigger_event

        event = validate_trigger_event(event)
        status = event["status"]
        message = str(event.get("message") or f"RIME {self._what()}: {status}")
        if status == "success":
            self.log.info(message)
            return
        if status == "timeout":
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        self._fail(message)
