"""The operator inside real DAG runs (``dag.test()``): the task runner, XCom in the metadata DB, links."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_rime.hooks.rime import RimeHook

from .conftest import DataFiles, LogCapture
from .dag_files import run_stress_test_dag, stress_test_dags, task_instance_field, task_state

DAG_FILE = "rime_provider_test_dags.py"
DAG_SOURCE = stress_test_dags(
    {
        "rime_provider_worker": {"deferrable": False},
        "rime_provider_deferred": {"deferrable": True},
        "rime_provider_gate": {"fail_on": "alert"},
        "rime_provider_retried": {"deferrable": False, "retries": 1, "retry_delay": timedelta(0)},
    },
    rime_conn_id="rime",
)


def try_numbers(dag_id: str, run_id: str, task_id: str) -> int:
    return int(task_instance_field(dag_id, run_id, task_id, "try_number"))


RunDag = Callable[[str], tuple[str, dict[str, Any]]]


@pytest.fixture
def run_dag(rime_connection: str, project_name: str, data_files: DataFiles) -> RunDag:
    """Runs one of the test DAGs with dag.test() on the module's project and data: its run id and XComs."""
    return lambda dag_id: run_stress_test_dag(DAG_FILE, DAG_SOURCE, dag_id, project_name, data_files)


@pytest.mark.parametrize("dag_id", ["rime_provider_worker", "rime_provider_deferred"])
def test_a_dag_run_stress_tests_and_links_to_the_run(
    rime_engine, project_id: str, hook: RimeHook, run_dag: RunDag, dag_id: str, logs: LogCapture
):
    run_id, xcom = run_dag(dag_id)
    # The API key is in neither the task's log nor its XCom.
    text = logs.text()
    assert xcom["test_run_url"] in text  # the capture sees the task's log
    assert rime_engine.api_key not in text
    assert rime_engine.api_key not in json.dumps(xcom)
    assert task_state(dag_id, run_id, "stress_test") == "success"
    summary = xcom["return_value"]
    assert summary == xcom["summary"]
    assert summary["project_id"] == xcom["project_id"] == project_id
    assert summary["job_id"] == xcom["job_id"]
    assert summary["test_run_id"] == xcom["test_run_id"]
    assert summary["run_name"] == f"{dag_id}.stress_test.{run_id}"
    # The task runner resolved the extra link at the end of the task and stored it.
    assert xcom["_link_RimeStressTestLink"] == xcom["test_run_url"] == summary["url"]
    assert hook.get_job(summary["job_id"]).status == "JOB_STATUS_SUCCEEDED"


def test_the_severity_gate_fails_the_task_with_results_in_xcom(run_dag: RunDag):
    run_id, xcom = run_dag("rime_provider_gate")
    assert task_state("rime_provider_gate", run_id, "stress_test") == "failed"
    assert "return_value" not in xcom
    assert xcom["summary"]["summary_counts"]["fail"] > 0
    assert xcom["test_run_url"] == xcom["summary"]["url"]


def test_a_retried_task_reattaches_to_its_job(rime_engine, project_id: str, hook: RimeHook, run_dag: RunDag):
    """First try: RIME stops answering job reads, the task fails while its job runs. The retry
    finds the job id in the task state store (Airflow 3.3) and waits for it: one stress test."""
    import respx

    from .test_transport_faults import Faults, forward, unavailable

    attempts = hook.settings.max_retries + 1
    job_reads = Faults(*[unavailable] * attempts)
    with respx.mock(base_url=rime_engine.url, assert_all_called=False) as network:
        network.get(path__regex=r"^/v1/jobs/[0-9a-f-]{36}$").mock(side_effect=job_reads)
        network.route().mock(side_effect=forward)
        run_id, xcom = run_dag("rime_provider_retried")
    assert job_reads.calls > attempts  # the first try gave up; the second one read the job
    assert task_state("rime_provider_retried", run_id, "stress_test") == "success"
    assert try_numbers("rime_provider_retried", run_id, "stress_test") == 2
    run_name = xcom["return_value"]["run_name"]
    jobs = []
    for item in hook.list_jobs(project_id):
        job = hook.get_job(item["jobId"])
        if job.test_run_id and hook.get_test_run(job.test_run_id).get("name") == run_name:
            jobs.append(job.job_id)
    assert jobs == [xcom["job_id"]]
