"""Transport faults injected with respx in front of the real engine: retried, and never a duplicate.

respx intercepts httpx; every request that is not a fault is forwarded to the engine (with
urllib, which respx does not intercept), so what the hook finally sees is the real server.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from airflow_provider_rime.exceptions import RimeApiError
from airflow_provider_rime.hooks.rime import RimeHook
from airflow_provider_rime.operators.stress_test import RimeStressTestOperator

from .conftest import DataFiles, LogCapture, TaskInstanceStandIn, make_context, stress_test_config

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}


def forward(request: httpx.Request) -> httpx.Response:
    """Send the intercepted request to the real engine and return its answer."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    outgoing = urllib.request.Request(
        str(request.url), data=request.read() or None, method=request.method, headers=headers
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=60) as answer:
            status, body, answer_headers = answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        status, body, answer_headers = error.code, error.read(), dict(error.headers)
    keep = {k: v for k, v in answer_headers.items() if k.lower() not in HOP_BY_HOP}
    return httpx.Response(status, content=body, headers=keep)


class Faults:
    """A respx side effect: the listed faults first, in order, then the real engine."""

    def __init__(self, *faults: Callable[[httpx.Request], httpx.Response] | httpx.Response) -> None:
        self.faults = list(faults)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.faults:
            fault = self.faults.pop(0)
            return fault(request) if callable(fault) else fault
        return forward(request)


def reset_after_forwarding(request: httpx.Request) -> httpx.Response:
    """The server did the work, but the connection died before the answer arrived."""
    forward(request)
    raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)


def reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)


def unavailable(_: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"code": 14, "message": "upstream unavailable", "details": []})


def throttled(seconds: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, headers={"Retry-After": seconds}, json={"code": 8, "message": "slow down", "details": []}
        )

    return answer


@pytest.fixture
def network(rime_engine) -> Iterator[respx.MockRouter]:
    """respx in front of the engine; a test adds its fault routes, then the forwarding fallback."""
    with respx.mock(base_url=rime_engine.url, assert_all_called=False) as router:
        yield router


def add_fallback(router: respx.MockRouter) -> None:
    router.route().mock(side_effect=forward)


def jobs_of_run(hook: RimeHook, project_id: str, run_name: str) -> list[str]:
    found = []
    for item in hook.list_jobs(project_id):
        job = hook.get_job(item["jobId"])
        if job.test_run_id and hook.get_test_run(job.test_run_id).get("name") == run_name:
            found.append(job.job_id)
    return found


def test_429_with_retry_after_is_retried_after_the_asked_wait(
    network: respx.MockRouter, hook: RimeHook, logs: LogCapture
):
    faults = Faults(throttled("1"))
    network.get("/v1/rime-info").mock(side_effect=faults)
    add_fallback(network)
    assert hook.get_rime_info()["clusterInfoVersion"]
    assert faults.calls == 2
    assert "retrying in 1.0 s" in logs.text()
    assert "slow down" in logs.text()


def test_503_and_connection_reset_on_reads_are_retried(
    network: respx.MockRouter, hook: RimeHook, project_id: str
):
    faults = Faults(unavailable, reset, unavailable)
    network.get(f"/v1/projects/{project_id}").mock(side_effect=faults)
    add_fallback(network)
    assert hook.get_project(project_id)["id"]["uuid"] == project_id
    assert faults.calls == 4


def test_retries_give_up_with_rimes_message_and_the_path(network: respx.MockRouter, hook: RimeHook):
    faults = Faults(*[unavailable] * 10)
    network.get("/v1/rime-info").mock(side_effect=faults)
    add_fallback(network)
    with pytest.raises(RimeApiError) as failure:
        hook.get_rime_info()
    assert failure.value.status == 503
    assert failure.value.message == "upstream unavailable"
    assert failure.value.path == "/v1/rime-info"
    assert faults.calls == hook.settings.max_retries + 1


def test_a_client_error_is_not_retried(network: respx.MockRouter, hook: RimeHook):
    faults = Faults(httpx.Response(400, json={"code": 3, "message": "bad"}))
    network.get("/v1/rime-info").mock(side_effect=faults)
    add_fallback(network)
    with pytest.raises(RimeApiError, match="bad"):
        hook.get_rime_info()
    assert faults.calls == 1


def test_a_lost_create_project_answer_makes_no_duplicate(network: respx.MockRouter, hook: RimeHook):
    name = f"faults-{uuid.uuid4().hex[:8]}"
    faults = Faults(reset_after_forwarding)
    network.post("/v1/projects").mock(side_effect=faults)
    add_fallback(network)
    project_id = hook.get_or_create_project(name)
    assert faults.calls == 1  # the second look found it: no second POST
    assert [p["id"]["uuid"] for p in hook.list_projects() if p["name"] == name] == [project_id]


def test_a_throttled_create_dataset_is_sent_again(
    network: respx.MockRouter, hook: RimeHook, project_id: str, data_files: DataFiles
):
    faults = Faults(throttled("0"), unavailable)
    network.post(f"/v1/registry/{project_id}/dataset").mock(side_effect=faults)
    add_fallback(network)
    path = hook.upload_file(data_files.reference)
    dataset_id = hook.register_dataset(project_id, "ref-throttled", path, label_col="label")
    assert faults.calls == 3
    assert [d["datasetId"] for d in hook.list_datasets(project_id) if d["name"] == "ref-throttled"] == [
        dataset_id
    ]


def test_a_reset_upload_is_sent_again(network: respx.MockRouter, hook: RimeHook, data_files: DataFiles):
    faults = Faults(reset)
    network.put(url__regex=r".*/ref\.csv.*").mock(side_effect=faults)
    add_fallback(network)
    destination = hook.upload_file(data_files.reference, upload_path=f"faults-{uuid.uuid4().hex[:6]}")
    assert destination.endswith("ref.csv")
    assert faults.calls == 2


@pytest.mark.parametrize(
    ("fault", "expected_calls"),
    [
        # The answer is lost after the engine started the test: found under its run name, not sent again.
        pytest.param(reset_after_forwarding, 1, id="lost-answer"),
        # The engine refused the start: sent again, once.
        pytest.param(unavailable, 2, id="unavailable-once"),
    ],
)
def test_a_faulty_start_stress_test_makes_exactly_one_test(
    network: respx.MockRouter,
    hook: RimeHook,
    project_id: str,
    registered: dict[str, Any],
    fault: Callable[..., Any],
    expected_calls: int,
    request: pytest.FixtureRequest,
):
    faults = Faults(fault)
    network.post(f"/v1/stress-tests/{project_id}").mock(side_effect=faults)
    add_fallback(network)
    run_name = request.node.callspec.id
    job = hook.start_stress_test(project_id, stress_test_config(registered, run_name))
    assert faults.calls == expected_calls
    assert jobs_of_run(hook, project_id, run_name) == [job.job_id]
    hook.cancel_job(job.job_id)  # its result is not needed: free the engine's worker


async def test_the_async_path_retries_too(network: respx.MockRouter, rime_connection: str):
    hook = RimeHook(rime_connection, retry_min_wait=0.01, retry_max_wait=0.05)
    faults = Faults(unavailable, reset, throttled("0"))
    network.get("/v1/rime-info").mock(side_effect=faults)
    add_fallback(network)
    info = await hook.aget_rime_info()
    assert info["clusterInfoVersion"]
    assert faults.calls == 4


def test_the_operator_survives_faults_without_duplicates(
    network: respx.MockRouter,
    rime_connection: str,
    project_name: str,
    project_id: str,
    registered: dict[str, Any],
):
    start = Faults(reset_after_forwarding)
    network.post(f"/v1/stress-tests/{project_id}").mock(side_effect=start)
    job_reads = Faults(unavailable, throttled("0"), reset)
    network.get(url__regex=r".*/v1/jobs/[^/]+$").mock(side_effect=job_reads)
    add_fallback(network)
    operator = RimeStressTestOperator(
        task_id="faulty",
        rime_conn_id=rime_connection,
        project=project_name,
        # Already registered datasets (by id): the operator reuses them and their predictions.
        reference_data=registered["ref"],
        evaluation_data=registered["eval"],
        model_name="predictions-only",
        run_name="operator-under-faults",
        poll_interval=0.5,
        deferrable=False,
    )
    operator.hook.retry_min_wait, operator.hook.retry_max_wait = 0.01, 0.05
    summary = operator.execute(make_context(TaskInstanceStandIn(task_id="faulty")))
    assert summary["status"] == "TEST_TASK_STATUS_COMPLETED"
    assert start.calls == 1
    assert job_reads.calls > 3
    assert jobs_of_run(operator.hook, project_id, "operator-under-faults") == [summary["job_id"]]
