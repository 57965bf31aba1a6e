"""The operator inside real DAG runs (``dag.test()``): the task runner, XCom in the metadata DB, links."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_rime.hooks.rime import RimeHook

from .conftest import DataFiles, LogCapture

DAG_FILE = "rime_provider_test_dags.py"
DAG_SOURCE = """
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_rime.operators.stress_test import RimeStressTestOperator

for dag_id, kwargs in {
    "rime_provider_worker": {"deferrable": False},
    "rime_provider_deferred": {"deferrable": True},
    "rime_provider_gate": {"fail_on": "alert"},
    "rime_provider_retried": {"deferrable": False, "retries": 1, "retry_delay": timedelta(0)},
}.items():
    with DAG(dag_id, schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
        RimeStressTestOperator(
            task_id="stress_test",
            rime_conn_id="rime",
            project="{{ dag_run.conf['project'] }}",
            reference_data="{{ dag_run.conf['reference'] }}",
            evaluation_data="{{ dag_run.conf['evaluation'] }}",
            poll_interval=0.5,
            **kwargs,
        )
    globals()[dag_id] = dag
"""


def xcoms_of(dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    """Every XCom the task pushed, read back from the metadata DB."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(XComModel)
            .filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.task_id == task_id)
            .all()
        )
        return {row.key: XComModel.deserialize_value(row) for row in rows}


def task_instance_field(dag_id: str, run_id: str, task_id: str, field: str) -> Any:
    """One column of the task instance, read back from the metadata DB."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id
            )
            .one()
        )
        return getattr(ti, field)


def task_state(dag_id: str, run_id: str, task_id: str) -> str | None:
    state = task_instance_field(dag_id, run_id, task_id, "state")
    return None if state is None else str(state)


def try_numbers(dag_id: str, run_id: str, task_id: str) -> int:
    return int(task_instance_field(dag_id, run_id, task_id, "try_number"))


def run_dag(dag_id: str, project: str, data: DataFiles) -> tuple[str, dict[str, Any]]:
    """Run one of the test DAGs (from the session's dags folder, the default bundle) with dag.test()."""
    from airflow.dag_processing.dagbag import DagBag

    dags_folder = Path(os.environ["AIRFLOW_HOME"]) / "dags"
    dags_folder.mkdir(exist_ok=True)
    dag_file = dags_folder / DAG_FILE
    if not dag_file.exists():
        dag_file.write_text(DAG_SOURCE)
    bag = DagBag(dag_folder=str(dag_file), safe_mode=False)
    assert bag.import_errors == {}
    conf = {"project": project, "reference": str(data.reference), "evaluation": str(data.evaluation)}
    dag_run = bag.dags[dag_id].test(run_conf=conf)
    return dag_run.run_id, xcoms_of(dag_id, dag_run.run_id, "stress_test")


@pytest.mark.parametrize("dag_id", ["rime_provider_worker", "rime_provider_deferred"])
def test_a_dag_run_stress_tests_and_links_to_the_run(
    rime_engine,
    rime_connection: str,
    project_name: str,
    project_id: str,
    data_files: DataFiles,
    hook: RimeHook,
    dag_id: str,
    logs: LogCapture,
):
    run_id, xcom = run_dag(dag_id, project_name, data_files)
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


def test_the_severity_gate_fails_the_task_with_results_in_xcom(
    rime_connection: str, project_name: str, data_files: DataFiles
):
    run_id, xcom = run_dag("rime_provider_gate", project_name, data_files)
    assert task_state("rime_provider_gate", run_id, "stress_test") == "failed"
    assert "return_value" not in xcom
    assert xcom["summary"]["summary_counts"]["fail"] > 0
    assert xcom["test_run_url"] == xcom["summary"]["url"]


def test_a_retried_task_reattaches_to_its_job(
    rime_engine,
    rime_connection: str,
    project_name: str,
    project_id: str,
    data_files: DataFiles,
    hook: RimeHook,
):
    """First try: RIME stops answering job reads, the task fails while its job runs. The retry
    finds the job id in the task state store (Airflow 3.3) and waits for it: one stress test."""
    import respx

    from .test_transport_faults import Faults, forward, unavailable

    attempts = hook.settings.max_retries + 1
    job_reads = Faults(*[unavailable] * attempts)
    with respx.mock(base_url=rime_engine.url, assert_all_called=False) as network:
        network.get(path__regex=r"^/v1/jobs/[0-9a-f-]{36}$").mock(side_effect=job_reads)
        network.route().mock(side_effect=forward)
        run_id, xcom = run_dag("rime_provider_retried", project_name, data_files)
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
