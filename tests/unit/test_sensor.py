"""RimeTestRunSensor on recorded answers: poke, defer, and finish on each trigger event."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException, TaskDeferred

from airflow_provider_rime.exceptions import RimeJobError
from airflow_provider_rime.sensors.test_run import RimeTestRunSensor
from airflow_provider_rime.triggers.job import RimeJobTrigger
from tests.task_context import TaskInstanceStandIn, make_context

from .conftest import CONN_ID, recorded, serve

JOB_ID = recorded("job_succeeded").body["job"]["jobId"]
TEST_RUN_ID = recorded("test_run").body["testRun"]["testRunId"]
CONTEXT = make_context(TaskInstanceStandIn())


def sensor(**kwargs: Any) -> RimeTestRunSensor:
    return RimeTestRunSensor(task_id="wait", rime_conn_id=CONN_ID, poke_interval=0.3, **kwargs)


@pytest.mark.parametrize(
    ("path", "watched", "answers"),
    [
        (f"/v1/jobs/{JOB_ID}", {"job_id": JOB_ID}, ("job_running", "job_succeeded")),
        (f"/v1/test-runs/{TEST_RUN_ID}", {"test_run_id": TEST_RUN_ID}, ("test_run_running", "test_run")),
    ],
)
def test_poke_while_running_then_when_finished(
    api: respx.MockRouter, path: str, watched: dict[str, str], answers: tuple[str, str]
):
    api.get(path).mock(side_effect=[recorded(name).response() for name in answers])
    waiting = sensor(**watched)
    assert waiting.poke(CONTEXT) is False
    assert waiting.poke(CONTEXT) is True


def test_a_failed_job_fails_or_skips(api: respx.MockRouter):
    serve(api, "job_failed")
    job = recorded("job_failed").body["job"]
    with pytest.raises(RimeJobError, match=f"ended as JOB_STATUS_FAILED: {job['errorMsg']}"):
        sensor(job_id=job["jobId"]).poke(CONTEXT)
    with pytest.raises(AirflowSkipException):
        sensor(job_id=job["jobId"], soft_fail=True).poke(CONTEXT)


def test_a_cancelled_test_run_fails(api: respx.MockRouter):
    serve(api, "test_run_cancelled")
    test_run_id = recorded("test_run_cancelled").body["testRun"]["testRunId"]
    with pytest.raises(RimeJobError, match="ended as TEST_TASK_STATUS_CANCELLED"):
        sensor(test_run_id=test_run_id).poke(CONTEXT)


def test_deferrable_on_a_running_job_defers_without_owning_it(api: respx.MockRouter):
    serve(api, "job_running")
    with pytest.raises(TaskDeferred) as deferred:
        sensor(job_id=JOB_ID, deferrable=True, timeout=600).execute(CONTEXT)
    trigger = deferred.value.trigger
    assert isinstance(trigger, RimeJobTrigger)
    assert deferred.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    assert isinstance(kwargs.pop("end_time"), float)
    assert kwargs == {
        "rime_conn_id": CONN_ID,
        "job_id": JOB_ID,
        "test_run_id": None,
        "poll_interval": 0.3,
        "cancel_on_timeout": False,  # a sensor watches; it never cancels
        "hook_params": {},
    }


def test_deferrable_on_a_finished_job_does_not_defer(api: respx.MockRouter):
    serve(api, "job_succeeded")
    assert sensor(job_id=JOB_ID, deferrable=True).execute(CONTEXT) is None


def test_execute_complete_on_each_event():
    waiting = sensor(job_id="j", deferrable=True)
    assert waiting.execute_complete(CONTEXT, {"status": "success", "job_id": "j", "message": "done"}) is None
    timeout_event = {"status": "timeout", "job_id": "j", "message": "RIME job j did not finish in time"}
    with pytest.raises(AirflowSensorTimeout):
        waiting.execute_complete(CONTEXT, timeout_event)
    with pytest.raises(AirflowSkipException):
        sensor(job_id="j", deferrable=True, soft_fail=True).execute_complete(CONTEXT, timeout_event)
    failed_event = {"status": "failed", "job_id": "j", "message": "RIME job j failed: boom"}
    with pytest.raises(RimeJobError, match="boom"):
        waiting.execute_complete(CONTEXT, failed_event)
    with pytest.raises(AirflowSkipException):
        sensor(job_id="j", soft_fail=True).execute_complete(CONTEXT, failed_event)


def test_the_sensor_needs_a_job_or_test_run():
    with pytest.raises(ValueError, match="job_id or a test_run_id"):
        RimeTestRunSensor(task_id="nothing", rime_conn_id=CONN_ID)
