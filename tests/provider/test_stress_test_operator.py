"""RimeStressTestOperator against the real engine: both waiting modes, gate, kill, retry, validation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_rime.exceptions import RimeJobError, RimeSeverityGateError
from airflow_provider_rime.hooks.rime import RimeHook
from airflow_provider_rime.operators.stress_test import RimeStressTestOperator
from airflow_provider_rime.triggers.job import RimeJobTrigger

from .conftest import (
    SLOW_MODEL_DIR,
    DataFiles,
    TaskInstanceStandIn,
    TaskStateStore,
    assert_kill_cancels,
    make_context,
)

SUMMARY_KEYS = {
    "test_run_id",
    "project_id",
    "job_id",
    "run_name",
    "url",
    "status",
    "summary_counts",
    "severity_counts",
    "pass_rate",
    "model_metrics",
}


SLOW = str(SLOW_MODEL_DIR)


def make_operator(conn_id: str, project: str, data: DataFiles, **kwargs: Any) -> RimeStressTestOperator:
    arguments: dict[str, Any] = {
        "task_id": "stress_test",
        "rime_conn_id": conn_id,
        "project": project,
        "reference_data": str(data.reference),
        "evaluation_data": str(data.evaluation),
        "label_col": "label",
        "pred_col": "pred",
        "poll_interval": 0.5,
    }
    arguments.update(kwargs)
    return RimeStressTestOperator(**arguments)


def stress_jobs(hook: RimeHook, project_id: str) -> list[dict[str, Any]]:
    return list(hook.list_jobs(project_id))


def wait_until_terminal(hook: RimeHook, job_id: str) -> str:
    return hook.wait_for_job(job_id, poll_interval=0.2, timeout=120, cancel_on_timeout=False).status


@pytest.fixture(scope="module")
def finished_run(rime_connection: str, project_name: str, data_files: DataFiles) -> dict[str, Any]:
    """One stress test run waited for in the worker; later tests read its results."""
    ti = TaskInstanceStandIn(task_id="sync_wait")
    operator = make_operator(rime_connection, project_name, data_files, deferrable=False, categories=None)
    summary = operator.execute(make_context(ti))
    return {"summary": summary, "xcom": ti.xcom, "ti": ti}


def test_waits_in_the_worker_and_returns_a_json_safe_summary(finished_run: dict[str, Any], hook: RimeHook):
    import json

    summary, xcom = finished_run["summary"], finished_run["xcom"]
    assert set(summary) == SUMMARY_KEYS
    json.dumps(summary)  # JSON-safe
    assert summary["status"] == "TEST_TASK_STATUS_COMPLETED"
    counts = summary["summary_counts"]
    assert counts["total"] > 0
    assert counts["total"] == counts["pass"] + counts["warning"] + counts["fail"] + counts["skip"]
    assert summary["pass_rate"] == pytest.approx(counts["pass"] / counts["total"])
    assert set(summary["severity_counts"]) == {"num_none_severity", "num_low_severity", "num_high_severity"}
    assert "AUC" in summary["model_metrics"]
    assert set(summary["model_metrics"]["AUC"]) == {"ref", "eval"}
    assert summary["run_name"] == f"provider_tests.sync_wait.{finished_run['ti'].run_id}"
    # The references the link and downstream tasks need are in XCom, plus the summary.
    assert xcom["job_id"] == summary["job_id"]
    assert xcom["test_run_id"] == summary["test_run_id"]
    assert xcom["project_id"] == summary["project_id"]
    assert xcom["test_run_url"] == summary["url"]
    assert xcom["summary"] == summary
    assert summary["url"].startswith("http://127.0.0.1:")
    assert hook.get_job(summary["job_id"]).status == "JOB_STATUS_SUCCEEDED"


def test_the_same_data_is_registered_once(finished_run: dict[str, Any], hook: RimeHook):
    project_id = finished_run["summary"]["project_id"]
    names = [d["name"] for d in hook.list_datasets(project_id)]
    assert len(names) == len(set(names)) == 2
    assert all(n.startswith(("ref-", "eval-")) for n in names)


def test_defers_with_the_right_trigger_then_completes(
    rime_connection: str, project_name: str, project_id: str, data_files: DataFiles, hook: RimeHook
):
    ti = TaskInstanceStandIn(task_id="deferred")
    operator = make_operator(rime_connection, project_name, data_files, deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context(ti))
    trigger = deferred.value.trigger
    assert isinstance(trigger, RimeJobTrigger)
    assert deferred.value.method_name == "execute_complete"
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_rime.triggers.job.RimeJobTrigger"
    assert kwargs["job_id"] == ti.xcom["job_id"]
    assert kwargs["test_run_id"] == ti.xcom["test_run_id"]
    assert kwargs["rime_conn_id"] == rime_connection
    assert kwargs["cancel_on_timeout"] is True
    assert kwargs["end_time"] is not None
    # Pushed before waiting: the link works while the test runs.
    assert ti.xcom["test_run_url"].endswith(ti.xcom["test_run_id"])
    assert ti.xcom["project_id"] == project_id

    assert wait_until_terminal(hook, kwargs["job_id"]) == "JOB_STATUS_SUCCEEDED"
    event = {
        "status": "success",
        "message": "done",
        "job_id": kwargs["job_id"],
        "test_run_id": kwargs["test_run_id"],
    }
    summary = operator.execute_complete(make_context(ti), event)
    assert summary["job_id"] == kwargs["job_id"]
    assert summary["test_run_id"] == kwargs["test_run_id"]
    assert ti.xcom["summary"] == summary


@pytest.mark.parametrize(
    ("fail_on", "fails"),
    [("none", False), ("alert", True), ("warning", True)],
)
def test_severity_gate_fails_after_the_results_are_in_xcom(
    finished_run: dict[str, Any],
    rime_connection: str,
    project_name: str,
    data_files: DataFiles,
    fail_on: str,
    fails: bool,
):
    summary = finished_run["summary"]
    # The drifted evaluation data makes the engine report failed tests (alerts).
    assert summary["summary_counts"]["fail"] > 0
    operator = make_operator(rime_connection, project_name, data_files, fail_on=fail_on)
    ti = TaskInstanceStandIn()
    event = {"status": "success", "job_id": summary["job_id"], "test_run_id": summary["test_run_id"]}
    if fails:
        with pytest.raises(RimeSeverityGateError, match=f"fail_on='{fail_on}'"):
            operator.execute_complete(make_context(ti), event)
    else:
        operator.execute_complete(make_context(ti), event)
    assert ti.xcom["summary"]["test_run_id"] == summary["test_run_id"]
    assert ti.xcom["test_run_url"] == summary["url"]


def test_kill_cancels_the_job(rime_connection: str, project_name: str, data_files: DataFiles, hook: RimeHook):
    ti = TaskInstanceStandIn(task_id="killed")
    operator = make_operator(rime_connection, project_name, data_files, deferrable=False, model_dir=SLOW)
    assert_kill_cancels(operator, ti, hook, "the stress test")


def test_timeout_cancels_the_job(
    rime_connection: str, project_name: str, data_files: DataFiles, hook: RimeHook
):
    ti = TaskInstanceStandIn(task_id="timed_out")
    operator = make_operator(
        rime_connection, project_name, data_files, deferrable=False, timeout=0.01, model_dir=SLOW
    )
    with pytest.raises(RimeJobError) as failure:
        operator.execute(make_context(ti))
    job_id = ti.xcom["job_id"]
    status = wait_until_terminal(hook, job_id)
    assert failure.value.status == "timeout"
    assert status == "JOB_STATUS_CANCELLED"


def test_a_retry_reattaches_to_the_running_job(
    rime_connection: str, project_name: str, project_id: str, data_files: DataFiles, hook: RimeHook
):
    first_try = TaskInstanceStandIn(task_id="retried")
    before = {j["jobId"] for j in stress_jobs(hook, project_id)}
    # The slow model keeps the job running past the retry.
    operator = make_operator(rime_connection, project_name, data_files, deferrable=True, model_dir=SLOW)
    with pytest.raises(TaskDeferred):
        operator.execute(make_context(first_try))
    job_id = first_try.xcom["job_id"]

    # The triggerer died, the task is retried: same task instance, next try, fresh operator.
    second_try = TaskInstanceStandIn(task_id="retried", run_id=first_try.run_id, try_number=2)
    assert hook.get_job(job_id).status in {"JOB_STATUS_PENDING", "JOB_STATUS_RUNNING"}
    operator = make_operator(rime_connection, project_name, data_files, deferrable=False, model_dir=SLOW)
    summary = operator.execute(make_context(second_try))
    assert summary["job_id"] == job_id
    new_jobs = {j["jobId"] for j in stress_jobs(hook, project_id)} - before
    assert new_jobs == {job_id}


def test_a_retry_reattaches_through_the_task_state_store(
    rime_connection: str, project_name: str, project_id: str, data_files: DataFiles, hook: RimeHook
):
    store = TaskStateStore()
    before = {j["jobId"] for j in stress_jobs(hook, project_id)}
    first_try = TaskInstanceStandIn(task_id="durable")
    operator = make_operator(rime_connection, project_name, data_files, deferrable=False, run_name="durable")
    summary = operator.execute(make_context(first_try, store))
    assert store[RimeStressTestOperator.external_id_key] == summary["job_id"]

    # A retry after the job finished (e.g. the worker died while reading results) reuses it.
    second_try = TaskInstanceStandIn(task_id="durable", run_id=first_try.run_id, try_number=2)
    operator = make_operator(rime_connection, project_name, data_files, deferrable=False, run_name="durable")
    again = operator.execute(make_context(second_try, store))
    assert again["job_id"] == summary["job_id"]
    assert {j["jobId"] for j in stress_jobs(hook, project_id)} - before == {summary["job_id"]}


def test_a_model_directory_is_uploaded_and_registered(
    rime_connection: str,
    project_name: str,
    project_id: str,
    data_files: DataFiles,
    hook: RimeHook,
    tmp_path: Path,
):
    model_dir = tmp_path / "fraud_model"
    model_dir.mkdir()
    (model_dir / "model.py").write_text(
        "import numpy as np\n\n"
        "def predict_df(df):\n"
        "    return 1 / (1 + np.exp(-(np.log(df['amount']) - 3)))\n"
    )
    operator = make_operator(
        rime_connection,
        project_name,
        data_files,
        model_dir=str(model_dir),
        model_name="fraud",
        categories=["model_performance"],
        deferrable=False,
    )
    summary = operator.execute(make_context(TaskInstanceStandIn(task_id="with_model")))
    assert summary["status"] == "TEST_TASK_STATUS_COMPLETED"
    models = [m for m in hook.list_models(project_id) if m["name"].startswith("fraud-")]
    assert len(models) == 1
    assert models[0]["modelInfo"]["modelPath"]["path"].endswith("/model.py")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"reference_data": "/nowhere/ref.csv"}, FileNotFoundError, "reference_data"),
        ({"evaluation_data": "missing_eval.csv"}, FileNotFoundError, "evaluation_data"),
        ({"model_dir": "/nowhere/model"}, FileNotFoundError, "model.py"),
        ({"categories": "{{ params.categories }}"}, ValueError, "categories: Unknown RIME test category"),
        ({"pred_col": "score"}, ValueError, "pred_col 'score' is not a column of reference_data"),
        ({"label_col": "is_fraud"}, ValueError, "label_col 'is_fraud' is not a column"),
    ],
)
def test_bad_input_fails_before_any_remote_call(
    rime_connection: str,
    hook: RimeHook,
    data_files: DataFiles,
    kwargs: dict[str, Any],
    error: type,
    match: str,
):
    project = f"never-created-{time.monotonic_ns()}"
    operator = make_operator(rime_connection, project, data_files, **kwargs)
    with pytest.raises(error, match=match):
        operator.execute(make_context(TaskInstanceStandIn()))
    assert hook.find_project_id(project) is None


def test_a_deferred_retry_reattaches_through_the_task_state_store(
    rime_connection: str, project_name: str, project_id: str, data_files: DataFiles, hook: RimeHook
):
    store = TaskStateStore()
    first_try = TaskInstanceStandIn(task_id="deferred_durable")
    operator = make_operator(rime_connection, project_name, data_files, deferrable=True)
    with pytest.raises(TaskDeferred):
        operator.execute(make_context(first_try, store))
    job_id = store[RimeStressTestOperator.external_id_key]
    assert job_id == first_try.xcom["job_id"]

    second_try = TaskInstanceStandIn(task_id="deferred_durable", run_id=first_try.run_id, try_number=2)
    operator = make_operator(rime_connection, project_name, data_files, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context(second_try, store))
    assert deferred.value.trigger.serialize()[1]["job_id"] == job_id
    assert second_try.xcom["job_id"] == job_id
    hook.cancel_job(job_id)  # the result is not needed
