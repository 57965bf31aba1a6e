"""RimeJobTrigger (run with ``async for``) and RimeTestRunSensor against the real engine."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSkipException, TaskDeferred
from airflow.triggers.base import TriggerEvent

from airflow_provider_rime.exceptions import RimeJobError, RimeRegistryValidationError
from airflow_provider_rime.hooks.rime import RimeHook
from airflow_provider_rime.rime_api.documents import Job
from airflow_provider_rime.sensors.test_run import RimeTestRunSensor
from airflow_provider_rime.triggers.job import RimeJobTrigger

from .conftest import TaskInstanceStandIn, make_context, stress_test_config, write_data


async def events_of(trigger: RimeJobTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


def expected(status: str, message: str, job: Job, rime_status: str | None) -> TriggerEvent:
    return TriggerEvent(
        {
            "status": status,
            "message": message,
            "job_id": job.job_id,
            "test_run_id": job.test_run_id,
            "rime_status": rime_status,
        }
    )


@pytest.fixture(scope="module")
def finished_job(hook: RimeHook, project_id: str, registered: dict[str, Any]) -> Job:
    job = hook.start_stress_test(project_id, stress_test_config(registered, "trigger-finished"))
    return hook.wait_for_job(job.job_id, poll_interval=0.3, timeout=300)


@pytest.fixture(scope="module")
def failed_job(hook: RimeHook, project_id: str, tmp_path_factory: pytest.TempPathFactory) -> Job:
    """A stress test on data without its label column: RIME fails the job."""
    path = hook.upload_file(write_data(tmp_path_factory.mktemp("bad") / "no_label.csv", 200))
    dataset_id = hook.register_dataset(project_id, "no-label", path, label_col="missing_label")
    model_id = hook.register_model(project_id, "for-failures")
    registered = {"ref": dataset_id, "eval": dataset_id, "model": model_id}
    try:
        job = hook.start_stress_test(project_id, stress_test_config(registered, "trigger-failed"))
    except Exception as exc:  # the engine may refuse data it already found invalid
        pytest.skip(f"the engine refused to start the test: {exc}")
    job = hook.wait_for_job(job.job_id, poll_interval=0.3, timeout=300)
    assert job.status == "JOB_STATUS_FAILED"
    # The registry reached the same verdict, with the reason.
    with pytest.raises(RimeRegistryValidationError, match="invalid"):
        hook.wait_for_validation("dataset", partial(hook.get_dataset, dataset_id), "no-label", timeout=120)
    return job


def start(hook: RimeHook, project_id: str, registered: dict[str, Any], run_name: str) -> Job:
    return hook.start_stress_test(project_id, stress_test_config(registered, run_name))


async def test_success_event_for_a_finished_job(rime_connection: str, finished_job: Job):
    trigger = RimeJobTrigger(rime_conn_id=rime_connection, job_id=finished_job.job_id, poll_interval=0.2)
    events = await events_of(trigger)
    assert events == [
        expected(
            "success", f"RIME job {finished_job.job_id} succeeded.", finished_job, "JOB_STATUS_SUCCEEDED"
        )
    ]


async def test_polls_a_running_job_until_it_succeeds(
    rime_connection: str, hook: RimeHook, project_id: str, registered: dict[str, Any]
):
    job = start(hook, project_id, registered, "trigger-running")
    trigger = RimeJobTrigger(rime_conn_id=rime_connection, job_id=job.job_id, poll_interval=0.3)
    events = await events_of(trigger)
    assert events == [expected("success", f"RIME job {job.job_id} succeeded.", job, "JOB_STATUS_SUCCEEDED")]


async def test_a_timeout_cancels_the_job_then_reports_it(
    rime_connection: str, hook: RimeHook, project_id: str, slow_registered: dict[str, Any]
):
    job = start(hook, project_id, slow_registered, "trigger-timeout")
    trigger = RimeJobTrigger(
        rime_conn_id=rime_connection, job_id=job.job_id, poll_interval=0.2, end_time=time.time() - 1
    )
    events = await events_of(trigger)
    assert len(events) == 1
    assert events[0] == expected(
        "timeout", f"RIME job {job.job_id} did not finish in time; the job was cancelled.", job, None
    )
    assert hook.wait_for_job(job.job_id, poll_interval=0.2, timeout=120).status == "JOB_STATUS_CANCELLED"

    # Polled again, the cancelled job gives a "cancelled" event.
    again = await events_of(RimeJobTrigger(rime_conn_id=rime_connection, job_id=job.job_id))
    assert again == [
        expected("cancelled", f"RIME job {job.job_id} was cancelled.", job, "JOB_STATUS_CANCELLED")
    ]


async def test_failed_event_carries_rimes_message(rime_connection: str, failed_job: Job):
    events = await events_of(RimeJobTrigger(rime_conn_id=rime_connection, job_id=failed_job.job_id))
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "failed"
    assert payload["rime_status"] == "JOB_STATUS_FAILED"
    assert failed_job.error_msg and failed_job.error_msg in payload["message"]


async def test_waits_on_a_test_run_without_a_job(rime_connection: str, finished_job: Job):
    trigger = RimeJobTrigger(rime_conn_id=rime_connection, test_run_id=finished_job.test_run_id)
    events = await events_of(trigger)
    assert events == [
        TriggerEvent(
            {
                "status": "success",
                "message": f"RIME test run {finished_job.test_run_id} completed.",
                "job_id": None,
                "test_run_id": finished_job.test_run_id,
                "rime_status": "TEST_TASK_STATUS_COMPLETED",
            }
        )
    ]


async def test_an_unknown_job_gives_an_error_event(rime_connection: str):
    events = await events_of(RimeJobTrigger(rime_conn_id=rime_connection, job_id="no-such-job"))
    assert len(events) == 1
    assert events[0].payload["status"] == "error"
    assert "HTTP 404" in events[0].payload["message"]


async def test_on_kill_cancels_the_job(
    rime_connection: str, hook: RimeHook, project_id: str, slow_registered: dict
):
    job = start(hook, project_id, slow_registered, "trigger-killed")
    await RimeJobTrigger(rime_conn_id=rime_connection, job_id=job.job_id).on_kill()
    final = hook.wait_for_job(job.job_id, poll_interval=0.2, timeout=120)
    assert final.status == "JOB_STATUS_CANCELLED"


# ---------------------------------------------------------------------- sensor


def sensor(conn_id: str, **kwargs: Any) -> RimeTestRunSensor:
    return RimeTestRunSensor(task_id="wait", rime_conn_id=conn_id, poke_interval=0.3, **kwargs)


def test_sensor_pokes_a_finished_job_and_test_run(rime_connection: str, finished_job: Job):
    context = make_context(TaskInstanceStandIn())
    assert sensor(rime_connection, job_id=finished_job.job_id).poke(context) is True
    assert sensor(rime_connection, test_run_id=finished_job.test_run_id).poke(context) is True


def test_sensor_on_a_running_job_pokes_defers_and_fails_when_cancelled(
    rime_connection: str, hook: RimeHook, project_id: str, slow_registered: dict[str, Any]
):
    job = start(hook, project_id, slow_registered, "sensor-running")
    context = make_context(TaskInstanceStandIn())
    assert sensor(rime_connection, job_id=job.job_id).poke(context) is False

    waiting = sensor(rime_connection, job_id=job.job_id, deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        waiting.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, RimeJobTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["job_id"] == job.job_id
    assert kwargs["cancel_on_timeout"] is False  # a sensor watches; it never cancels
    assert kwargs["end_time"] is not None

    hook.cancel_job(job.job_id)
    assert hook.wait_for_job(job.job_id, poll_interval=0.2, timeout=120).status == "JOB_STATUS_CANCELLED"
    with pytest.raises(RimeJobError, match="JOB_STATUS_CANCELLED"):
        sensor(rime_connection, job_id=job.job_id).poke(context)


def test_sensor_fails_or_skips_on_a_failed_job(rime_connection: str, failed_job: Job):
    context = make_context(TaskInstanceStandIn())
    with pytest.raises(RimeJobError, match="JOB_STATUS_FAILED"):
        sensor(rime_connection, job_id=failed_job.job_id).poke(context)
    with pytest.raises(AirflowSkipException):
        sensor(rime_connection, job_id=failed_job.job_id, soft_fail=True).poke(context)


def test_deferred_sensor_completes_on_success(rime_connection: str, finished_job: Job):
    waiting = sensor(rime_connection, job_id=finished_job.job_id, deferrable=True)
    context = make_context(TaskInstanceStandIn())
    assert waiting.execute(context) is None  # already finished: no deferral
    event = {"status": "success", "job_id": finished_job.job_id, "message": "done"}
    assert waiting.execute_complete(context, event) is None
