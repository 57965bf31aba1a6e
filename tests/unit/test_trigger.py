"""RimeJobTrigger run with ``async for`` on recorded answers, compared to the expected TriggerEvent."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

import httpx
import pytest
import respx
from airflow.triggers.base import TriggerEvent

from airflow_provider_rime.exceptions import RimeTriggerEventError
from airflow_provider_rime.triggers.job import RimeJobTrigger, validate_trigger_event

from .conftest import CONN_ID, body_of, recorded, sent, serve

JOB_ID = recorded("job_succeeded").body["job"]["jobId"]
TEST_RUN_ID = recorded("test_run").body["testRun"]["testRunId"]


async def events_of(trigger: RimeJobTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


def event(status: str, message: str, job: dict[str, Any] | None, rime_status: str | None) -> TriggerEvent:
    return TriggerEvent(
        {
            "status": status,
            "message": message,
            "job_id": job["jobId"] if job else None,
            "test_run_id": job["jobData"]["stress"]["testRunId"] if job else TEST_RUN_ID,
            "rime_status": rime_status,
        }
    )


def job_of(name: str) -> dict[str, Any]:
    return recorded(name).body["job"]


def trigger(**kwargs: Any) -> RimeJobTrigger:
    return RimeJobTrigger(rime_conn_id=CONN_ID, poll_interval=0, **kwargs)


async def test_success_event_after_polling_a_running_job(api: respx.MockRouter):
    answers = [recorded("job_running").response(), recorded("job_succeeded").response()]
    route = api.get(f"/v1/jobs/{JOB_ID}").mock(side_effect=answers)
    events = await events_of(trigger(job_id=JOB_ID))
    job = job_of("job_succeeded")
    assert events == [event("success", f"RIME job {JOB_ID} succeeded.", job, "JOB_STATUS_SUCCEEDED")]
    assert route.call_count == 2
    json.dumps(events[0].payload)  # plain values only: it crosses into the worker through the DB


async def test_looks_sooner_first_then_every_poll_interval(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
):
    running = [recorded("job_running").response() for _ in range(4)]
    api.get(f"/v1/jobs/{JOB_ID}").mock(side_effect=[*running, recorded("job_succeeded").response()])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("airflow_provider_rime.triggers.job.asyncio.sleep", sleep)
    slow = RimeJobTrigger(rime_conn_id=CONN_ID, job_id=JOB_ID, poll_interval=2)
    [done] = await events_of(slow)
    assert done.payload["status"] == "success"
    assert waits == [0.5, 1.0, 2.0, 2.0]


async def test_failed_event_carries_rimes_message(api: respx.MockRouter):
    job = job_of("job_failed")
    serve(api, "job_failed")
    events = await events_of(trigger(job_id=job["jobId"]))
    message = f"RIME job {job['jobId']} failed: {job['errorMsg']}"
    assert events == [event("failed", message, job, "JOB_STATUS_FAILED")]


async def test_cancelled_event(api: respx.MockRouter):
    job = job_of("job_cancelled")
    serve(api, "job_cancelled")
    events = await events_of(trigger(job_id=job["jobId"]))
    assert events == [
        event("cancelled", f"RIME job {job['jobId']} was cancelled.", job, "JOB_STATUS_CANCELLED")
    ]


async def test_a_timeout_cancels_the_job_then_reports_it(api: respx.MockRouter):
    api.get(f"/v1/jobs/{JOB_ID}").mock(return_value=recorded("job_running").response())
    cancel = api.post(f"/v1/jobs/cancel/{JOB_ID}").mock(return_value=recorded("cancel_job").response())
    events = await events_of(trigger(job_id=JOB_ID, end_time=time.time() - 1))
    message = f"RIME job {JOB_ID} did not finish in time; the job was cancelled."
    assert events == [event("timeout", message, job_of("job_running"), None)]
    assert body_of(sent(cancel)) == {}


async def test_a_sensors_timeout_does_not_cancel(api: respx.MockRouter):
    api.get(f"/v1/jobs/{JOB_ID}").mock(return_value=recorded("job_running").response())
    events = await events_of(trigger(job_id=JOB_ID, end_time=time.time() - 1, cancel_on_timeout=False))
    assert events == [
        event("timeout", f"RIME job {JOB_ID} did not finish in time", job_of("job_running"), None)
    ]


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("test_run", "success", "completed."),
        ("test_run_failed", "failed", "ended as TEST_TASK_STATUS_FAILED."),
        ("test_run_cancelled", "cancelled", "was cancelled."),
    ],
)
async def test_waits_on_a_test_run_without_a_job(api: respx.MockRouter, name: str, status: str, message: str):
    test_run = recorded(name).body["testRun"]
    test_run_id = test_run["testRunId"]
    route = api.get(f"/v1/test-runs/{test_run_id}").mock(
        side_effect=[recorded("test_run_running").response(), recorded(name).response()]
    )
    events = await events_of(trigger(test_run_id=test_run_id))
    expected = {
        "status": status,
        "message": f"RIME test run {test_run_id} {message}",
        "job_id": None,
        "test_run_id": test_run_id,
        "rime_status": test_run["status"],
    }
    assert events == [TriggerEvent(expected)]
    assert route.call_count == 2


async def test_an_unknown_job_gives_an_error_event(api: respx.MockRouter):
    api.get("/v1/jobs/no-such-job").mock(return_value=recorded("not_found").response())
    events = await events_of(trigger(job_id="no-such-job"))
    assert len(events) == 1
    assert events[0].payload["status"] == "error"
    assert "HTTP 404" in events[0].payload["message"]


async def test_on_kill_cancels_the_job(api: respx.MockRouter):
    api.get(f"/v1/jobs/{JOB_ID}").mock(return_value=recorded("job_running").response())
    cancel = api.post(f"/v1/jobs/cancel/{JOB_ID}").mock(return_value=httpx.Response(200, json={}))
    await trigger(job_id=JOB_ID).on_kill()
    assert cancel.call_count == 1


def test_serializes_only_json_safe_values():
    trigger = RimeJobTrigger(
        rime_conn_id=CONN_ID,
        job_id="j1",
        test_run_id="t1",
        poll_interval=2,
        end_time=1.5e9,
        hook_params={"timeout": 30, "not_json": object()},
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_rime.triggers.job.RimeJobTrigger"
    json.dumps(kwargs)
    assert kwargs["hook_params"] == {"timeout": 30}
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_a_trigger_needs_a_job_or_test_run():
    with pytest.raises(ValueError, match="job_id or a test_run_id"):
        RimeJobTrigger(rime_conn_id=CONN_ID)


def test_validate_trigger_event():
    assert validate_trigger_event({"status": "success", "job_id": "j"})["job_id"] == "j"
    for bad in (None, "success", {"status": "success"}, {"status": "odd", "job_id": "j"}):
        with pytest.raises(RimeTriggerEventError):
            validate_trigger_event(bad)  # type: ignore[arg-type]
