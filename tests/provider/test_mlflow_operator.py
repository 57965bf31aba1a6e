"""MlflowLogRimeResultsOperator against the real engine and a real MLflow SQLite tracking store."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_rime.operators.mlflow import (
    MLFLOW_EXTRA_HINT,
    TAG_PROJECT_ID,
    TAG_TEST_RUN_ID,
    TAG_TEST_RUN_LINK,
    MlflowLogRimeResultsOperator,
    summary_metrics,
)
from airflow_provider_rime.operators.stress_test import RimeStressTestOperator

from .conftest import DataFiles, TaskInstanceStandIn, make_context


@pytest.fixture(scope="module")
def stress_summary(rime_connection: str, project_id: str, data_files: DataFiles) -> dict[str, Any]:
    """One finished stress test (waited for in the worker); its summary."""
    operator = RimeStressTestOperator(
        task_id="stress_test",
        rime_conn_id=rime_connection,
        project=project_id,
        reference_data=str(data_files.reference),
        evaluation_data=str(data_files.evaluation),
        deferrable=False,
        poll_interval=0.5,
        timeout=300,
    )
    summary: dict[str, Any] = operator.execute(make_context(TaskInstanceStandIn(task_id="stress_test")))
    return summary


@pytest.fixture
def mlflow_client(tmp_path: Path) -> Any:
    from mlflow import MlflowClient

    return MlflowClient()  # the session's SQLite store (MLFLOW_TRACKING_URI, set in tests/conftest.py)


@pytest.fixture
def experiment_name(mlflow_client: Any, tmp_path: Path) -> str:
    """A fresh experiment whose artifacts live in this test's temporary directory."""
    name = f"mlflow-operator-{uuid.uuid4().hex[:8]}"
    mlflow_client.create_experiment(name, artifact_location=str(tmp_path / "artifacts"))
    return name


def run_operator(conn_id: str, **kwargs: Any) -> tuple[float, TaskInstanceStandIn]:
    ti = TaskInstanceStandIn(task_id="log_results_to_mlflow")
    operator = MlflowLogRimeResultsOperator(task_id="log_results_to_mlflow", rime_conn_id=conn_id, **kwargs)
    return operator.execute(make_context(ti)), ti


def run_state(client: Any, run_id: str) -> dict[str, Any]:
    """Everything the operator writes into a run, including every metric's full history."""
    run = client.get_run(run_id)
    return {
        "metrics": {key: len(client.get_metric_history(run_id, key)) for key in run.data.metrics},
        "values": dict(run.data.metrics),
        "params": dict(run.data.params),
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        "artifacts": sorted(a.path for a in client.list_artifacts(run_id, "rime")),
    }


def test_logs_results_into_the_given_run_and_twice_changes_nothing(
    rime_connection: str, stress_summary: dict[str, Any], mlflow_client: Any, experiment_name: str
) -> None:
    experiment = mlflow_client.get_experiment_by_name(experiment_name)
    run_id = mlflow_client.create_run(experiment.experiment_id, run_name="model").info.run_id
    test_run_id = stress_summary["test_run_id"]

    arguments = {"test_run_id": test_run_id, "job_id": stress_summary["job_id"], "mlflow_run_id": run_id}
    pass_rate, ti = run_operator(rime_connection, **arguments)
    first = run_state(mlflow_client, run_id)
    again, _ = run_operator(rime_connection, **arguments)
    second = run_state(mlflow_client, run_id)

    assert pass_rate == again == pytest.approx(stress_summary["pass_rate"])
    assert ti.xcom["mlflow_run_id"] == run_id
    assert second == first
    assert set(first["metrics"].values()) == {1}, "a metric was logged twice into its history"

    counts = stress_summary["summary_counts"]
    values = first["values"]
    assert values["rime_pass_rate"] == pytest.approx(pass_rate)
    for name in ("total", "pass", "warning", "fail", "skip"):
        assert values[f"rime_summary_counts_{name}"] == float(counts[name])
    for name, value in stress_summary["severity_counts"].items():
        assert values[f"rime_severity_counts_{name}"] == float(value)
    assert stress_summary["model_metrics"], "the stress test reported no model metrics"
    for metric, pair in stress_summary["model_metrics"].items():
        for side in ("ref", "eval"):
            if pair.get(side) is not None:
                assert values[f"rime_model_metrics_{metric}_{side}"] == pytest.approx(pair[side])

    assert first["params"]["rime_test_run_id"] == test_run_id
    assert first["params"]["rime_project_id"] == stress_summary["project_id"]
    assert first["params"]["rime_job_id"] == stress_summary["job_id"]
    assert first["params"]["rime_test_run_url"] == stress_summary["url"]
    assert first["tags"] == {
        TAG_TEST_RUN_LINK: stress_summary["url"],
        TAG_TEST_RUN_ID: test_run_id,
        TAG_PROJECT_ID: stress_summary["project_id"],
    }
    assert first["artifacts"] == [
        "rime/category_results.json",
        "rime/summary.json",
        "rime/test_cases.csv",
        "rime/test_cases.json",
    ]
    table = Path(mlflow_client.download_artifacts(run_id, "rime/test_cases.csv")).read_text().splitlines()
    assert len(table) - 1 == counts["total"], "one CSV row per test case"


def test_without_a_run_id_finds_or_creates_one_run_per_test_run(
    rime_connection: str, stress_summary: dict[str, Any], mlflow_client: Any, experiment_name: str
) -> None:
    test_run_id = stress_summary["test_run_id"]
    arguments = {"test_run_id": test_run_id, "experiment_name": experiment_name}

    _, first_ti = run_operator(rime_connection, **arguments)
    _, second_ti = run_operator(rime_connection, **arguments)

    experiment = mlflow_client.get_experiment_by_name(experiment_name)
    runs = mlflow_client.search_runs([experiment.experiment_id])
    assert [run.info.run_id for run in runs] == [first_ti.xcom["mlflow_run_id"]]
    assert second_ti.xcom["mlflow_run_id"] == first_ti.xcom["mlflow_run_id"]
    assert runs[0].data.tags[TAG_TEST_RUN_ID] == test_run_id


def test_refuses_to_overwrite_another_test_runs_results(
    rime_connection: str, stress_summary: dict[str, Any], mlflow_client: Any, experiment_name: str
) -> None:
    experiment = mlflow_client.get_experiment_by_name(experiment_name)
    run_id = mlflow_client.create_run(experiment.experiment_id).info.run_id
    mlflow_client.log_param(run_id, "rime_test_run_id", "an-earlier-test-run")

    with pytest.raises(ValueError, match="an-earlier-test-run"):
        run_operator(rime_connection, test_run_id=stress_summary["test_run_id"], mlflow_run_id=run_id)


def test_empty_test_run_id_is_rejected(rime_connection: str) -> None:
    with pytest.raises(ValueError, match="test_run_id is empty"):
        run_operator(rime_connection, test_run_id="None")


def test_missing_mlflow_names_the_extra(rime_connection: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The one injected fault: MLflow not installed (a None entry makes `import mlflow` fail).
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError) as raised:
        run_operator(rime_connection, test_run_id="any")
    assert str(raised.value) == MLFLOW_EXTRA_HINT
    assert "pip install 'airflow-provider-rime[mlflow]'" in MLFLOW_EXTRA_HINT


def test_template_fields() -> None:
    # The ids come from upstream tasks' XCom and the run/experiment from the DAG run: all templated.
    templated = set(MlflowLogRimeResultsOperator.template_fields)
    assert {"test_run_id", "job_id", "mlflow_run_id", "experiment_name"} <= templated


def test_summary_metrics_flattens_numbers_only() -> None:
    summary = {
        "test_run_id": "abc",
        "status": "TEST_TASK_STATUS_COMPLETED",
        "summary_counts": {"total": "7", "pass": 5, "warning": 1, "fail": 1, "skip": 0},
        "severity_counts": {"num_high_severity": 1, "num_low_severity": None},
        "pass_rate": 5 / 7,
        "model_metrics": {"AUC": {"ref": 0.81, "eval": 0.74}, "Positive Prediction Rate": {"eval": 0.5}},
        "flag": True,
    }
    assert summary_metrics(summary) == {
        "rime_summary_counts_total": 7.0,
        "rime_summary_counts_pass": 5.0,
        "rime_summary_counts_warning": 1.0,
        "rime_summary_counts_fail": 1.0,
        "rime_summary_counts_skip": 0.0,
        "rime_severity_counts_num_high_severity": 1.0,
        "rime_pass_rate": pytest.approx(5 / 7),
        "rime_model_metrics_AUC_ref": 0.81,
        "rime_model_metrics_AUC_eval": 0.74,
        "rime_model_metrics_Positive Prediction Rate_eval": 0.5,
    }
