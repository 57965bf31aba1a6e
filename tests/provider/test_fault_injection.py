"""DAG runs through a faulty network: over a third of the requests are refused or lose their answer.

Between the operator (worker and deferrable mode, task retries on) and the real engine, respx
refuses 17.5 % of requests with a 503 and, for another 17.5 %, forwards the request and then
loses the engine's answer (a 502, what a load balancer does when the upstream connection drops).
Every run must end as a fault-free run does, and the engine must hold exactly the objects and
jobs a fault-free run makes: no second project, dataset, model, prediction set or stress test.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from airflow_provider_rime.hooks.base import RimeBaseHook
from airflow_provider_rime.hooks.rime import RimeHook

from . import test_firewall_operator as firewall_tests
from .conftest import DataFiles
from .dag_files import run_stress_test_dag, stress_test_dags, task_state
from .test_transport_faults import forward

# The firewall operator's fixtures (a module project with a firewall, a production database).
frames = firewall_tests.frames
production_conn = firewall_tests.production_conn
firewall_target = firewall_tests.firewall_target
firewall_id = firewall_tests.firewall_id

FAULT_RATE = 0.35
TERMINAL = ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED")
DAG_FILE = "rime_fault_injection_dags.py"
DAG_SOURCE = stress_test_dags(
    {"rime_faults_worker": {"deferrable": False}, "rime_faults_deferred": {"deferrable": True}},
    rime_conn_id="rime_faulty",
    label_col="label",
    pred_col="pred",
    categories=["model_performance"],
    retries=3,
    retry_delay=timedelta(0),
)


class FaultyNetwork:
    """A respx side effect: refuse, lose the answer, or forward, drawn from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.outcomes: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        draw = self.random.random()
        if draw < FAULT_RATE / 2:
            self.outcomes["refused"] += 1
            return httpx.Response(503, json={"code": 14, "message": "upstream unavailable", "details": []})
        answer = forward(request)
        if draw < FAULT_RATE:
            self.outcomes["lost"] += 1
            return httpx.Response(502, text="<html>502 Bad Gateway</html>")
        self.outcomes["forwarded"] += 1
        return answer


def run_dag(dag_id: str, project: str, data: DataFiles) -> tuple[str, dict[str, Any]]:
    return run_stress_test_dag(DAG_FILE, DAG_SOURCE, dag_id, project, data)


def engine_state(hook: RimeHook, project_name: str) -> dict[str, Any]:
    """What the engine holds for one project name: how many of each object, and the jobs by status."""
    projects = [
        p
        for p in hook.paginate("/v1/projects", "projects", {"firstPageQuery.search.expression": project_name})
        if p["project"]["name"] == project_name
    ]
    state: dict[str, Any] = {"projects": len(projects)}
    if len(projects) != 1:
        return state
    project_id = projects[0]["project"]["id"]["uuid"]
    state["datasets"] = len(list(hook.paginate(f"/v1/registry/{project_id}/dataset", "datasets", {})))
    state["models"] = len(list(hook.paginate(f"/v1/registry/{project_id}/model", "models", {})))
    predictions = hook.paginate(f"/v1/registry/{project_id}/prediction", "predictions", {})
    state["predictions"] = len(list(predictions))
    state["jobs"] = sorted(j["status"] for j in hook.list_jobs(project_id))
    state["test_runs"] = len(list(hook.list_test_runs(project_id)))
    return state


@pytest.fixture(scope="module")
def faulty_connection(airflow_db, rime_engine) -> str:
    from tests.conftest import create_rime_connection

    # Enough retries that a request rarely fails every time; when one does, the task retries.
    return create_rime_connection("rime_faulty", rime_engine.url, rime_engine.api_key, {"max_retries": 6})


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # The faults are the point, not the waiting between retries.
    monkeypatch.setattr(RimeBaseHook, "_retry_wait", lambda self, state: 0.02)


@pytest.fixture(scope="module")
def fault_free(faulty_connection: str, data_files: DataFiles, hook: RimeHook) -> dict[str, Any]:
    """What a run without faults leaves in the engine."""
    name = f"faults-none-{uuid.uuid4().hex[:8]}"
    run_id, _ = run_dag("rime_faults_worker", name, data_files)
    assert task_state("rime_faults_worker", run_id, "stress_test") == "success"
    return engine_state(hook, name)


@pytest.mark.parametrize("seed", [11, 23])
@pytest.mark.parametrize("dag_id", ["rime_faults_worker", "rime_faults_deferred"])
def test_a_faulty_network_changes_nothing(
    rime_engine, fault_free: dict[str, Any], data_files: DataFiles, hook: RimeHook, dag_id: str, seed: int
):
    assert fault_free == {
        "projects": 1,
        "datasets": 2,
        "models": 1,
        "predictions": 2,
        "jobs": ["JOB_STATUS_SUCCEEDED"],
        "test_runs": 1,
    }
    name = f"faults-{seed}-{dag_id}-{uuid.uuid4().hex[:6]}"
    network = FaultyNetwork(seed)
    with respx.mock(base_url=rime_engine.url, assert_all_called=False) as router:
        router.route().mock(side_effect=network)
        run_id, xcom = run_dag(dag_id, name, data_files)
    faults = network.outcomes["refused"] + network.outcomes["lost"]
    assert faults >= 0.25 * sum(network.outcomes.values()), network.outcomes
    assert network.outcomes["lost"] > 0
    assert task_state(dag_id, run_id, "stress_test") == "success", network.outcomes
    assert engine_state(hook, name) == fault_free, network.outcomes
    assert xcom["return_value"]["status"] == "TEST_TASK_STATUS_COMPLETED"


class LoseTheStartUntilItFinished:
    """A respx side effect: the first start (a POST under ``start_path``) reaches the engine, and
    its answer is lost only once the job it started has finished (a slow retry after a dropped
    connection)."""

    def __init__(self, engine_url: str, api_key: str, start_path: str = "/v1/stress-tests/") -> None:
        self.engine_url, self.api_key, self.start_path = engine_url, api_key, start_path
        self.starts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = forward(request)
        if request.method != "POST" or not request.url.path.startswith(self.start_path):
            return answer
        self.starts += 1
        if self.starts > 1 or answer.status_code != 200:
            return answer
        import json
        import time
        import urllib.request

        job_id = json.loads(answer.content)["job"]["jobId"]
        deadline = time.monotonic() + 300
        read = urllib.request.Request(
            f"{self.engine_url}/v1/jobs/{job_id}", headers={"rime-api-key": self.api_key}
        )
        while time.monotonic() < deadline:
            with urllib.request.urlopen(read, timeout=30) as response:
                if json.load(response)["job"]["status"] in TERMINAL:
                    break
            time.sleep(0.3)
        return httpx.Response(502, text="<html>502 Bad Gateway</html>")


def test_a_lost_start_whose_job_already_finished_is_not_sent_again(
    rime_engine, fault_free: dict[str, Any], data_files: DataFiles, hook: RimeHook
):
    name = f"faults-finished-{uuid.uuid4().hex[:6]}"
    network = LoseTheStartUntilItFinished(rime_engine.url, rime_engine.api_key)
    with respx.mock(base_url=rime_engine.url, assert_all_called=False) as router:
        router.route().mock(side_effect=network)
        run_id, _ = run_dag("rime_faults_worker", name, data_files)
    assert network.starts == 1  # the retry found the finished job instead of starting another
    assert task_state("rime_faults_worker", run_id, "stress_test") == "success"
    assert engine_state(hook, name) == fault_free


def test_a_lost_continuous_test_start_whose_job_finished_is_not_sent_again(
    rime_engine, rime_connection: str, project_id: str, firewall_id: str, production_conn: str, hook: RimeHook
):
    from airflow_provider_rime.rime_api.enums import JobType

    from .conftest import TaskInstanceStandIn, make_context

    network = LoseTheStartUntilItFinished(rime_engine.url, rime_engine.api_key, "/v1/continuous-tests/")
    operator = firewall_tests.firewall_operator(
        rime_connection,
        project_id,
        sql=firewall_tests.day_sql(firewall_tests.DAYS[1]),
        sql_conn_id=production_conn,
        deferrable=False,
    )
    with respx.mock(base_url=rime_engine.url, assert_all_called=False) as router:
        router.route().mock(side_effect=network)
        result = operator.execute(make_context(TaskInstanceStandIn(task_id="lost_start")))
    assert network.starts == 1  # the retry found the finished job instead of starting another
    jobs = list(hook.list_jobs(project_id, job_types=(JobType.FIREWALL_BATCH_TEST,)))
    assert [j["jobId"] for j in jobs] == [result["job_id"]]
    assert len(result["bins"]) == 1
