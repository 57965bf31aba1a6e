"""The example DAG RIME_Stress_Testing: it parses light, and it runs end to end.

The run is real: ``dag.test()`` on the session's Airflow metadata DB, the local engine as
an HTTP server (connection ``rime``), MLflow tracking in the session's SQLite store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import EXAMPLE_DAGS, parse_dag_folder

DAG_FILE = EXAMPLE_DAGS / "rime_stress_testing.py"
DAG_ID = "RIME_Stress_Testing"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def test_dag_parses_without_errors_or_heavy_imports(tmp_path: Path) -> None:
    report = parse_dag_folder(tmp_path, DAG_ID)

    assert report["import_errors"] == {}
    assert DAG_ID in report["dag_ids"]
    assert report["heavy"] == [], f"parsing the DAG imported {report['heavy']}"


def test_dag_has_the_walkthrough_graph(tmp_path: Path) -> None:
    from rime_demo import MODEL_TYPES

    tasks = parse_dag_folder(tmp_path, DAG_ID)["tasks"]

    assert len(tasks) == 3 + 6 * 3 + 3
    assert tasks["create_rime_project"] == tasks["fetch_train_data"] == tasks["fetch_test_data"] == []
    # One task group per candidate model, named after it: the graph reads group by group.
    for model in MODEL_TYPES:
        assert tasks[f"{model}.train_model"] == ["fetch_test_data", "fetch_train_data"]
        assert tasks[f"{model}.write_model_dir"] == [f"{model}.train_model"]
        assert set(tasks[f"{model}.run_stress_test"]) == {
            "create_rime_project",
            f"{model}.write_model_dir",
            f"{model}.add_preds_to_ref_data",
            f"{model}.add_preds_to_eval_data",
        }
        assert set(tasks[f"{model}.log_results_to_mlflow"]) == {
            f"{model}.run_stress_test",
            f"{model}.train_model",
        }
    assert {f"{model}.log_results_to_mlflow" for model in MODEL_TYPES} <= set(tasks["choose_best_model"])
    assert tasks["transition_best_model_to_production"] == ["choose_best_model"]
    assert tasks["create_firewall"] == ["choose_best_model", "transition_best_model_to_production"]


def test_walkthrough_data_can_replace_the_generator(
    fraud_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd
    from rime_demo.data import fetch_fraud_data

    monkeypatch.setenv("RIME_DEMO_FRAUD_DATA_DIR", str(fraud_dir))
    train = pd.read_csv(fetch_fraud_data("train", tmp_path))
    test = pd.read_csv(fetch_fraud_data("test", tmp_path))

    assert len(train) == 10_000 and len(test) == 29_000
    assert "preds" not in train.columns and "preds" not in test.columns
    assert "timestamp" in test.columns and "label" in train.columns


def test_a_retried_training_task_reuses_its_mlflow_run_and_model_version(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient
    from rime_demo import REGISTERED_MODEL
    from rime_demo.data import fetch_fraud_data
    from rime_demo.training import train_model

    monkeypatch.setenv("RIME_DEMO_REF_ROWS", "1000")
    monkeypatch.setenv("RIME_DEMO_EVAL_ROWS", "1000")
    monkeypatch.setenv("RIME_DEMO_MLFLOW_ARTIFACT_LOCATION", str(tmp_path / "mlflow-artifacts"))
    train, test = fetch_fraud_data("train", tmp_path), fetch_fraud_data("test", tmp_path)
    dag_run_id = f"retry-test-{tmp_path.name}"

    first = train_model("sgd-classifier", train, test, tmp_path / "model", dag_run_id=dag_run_id)
    retried = train_model("sgd-classifier", train, test, tmp_path / "model", dag_run_id=dag_run_id)

    assert retried["mlflow_run_id"] == first["mlflow_run_id"]
    assert retried["model_version"] == first["model_version"]
    versions = MlflowClient().search_model_versions(
        f"name = '{REGISTERED_MODEL}' and run_id = '{first['mlflow_run_id']}'"
    )
    assert [str(v.version) for v in versions] == [first["model_version"]]


def test_dag_runs_end_to_end(rime_connection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from mlflow import MlflowClient
    from rime_demo import MLFLOW_EXPERIMENT, PRODUCTION_ALIAS, REGISTERED_MODEL

    from airflow_provider_rime.hooks.rime import RimeHook

    assert rime_connection == "rime", "the example DAG uses the connection 'rime'"
    # dag.test() stores the DAG through its bundle: make example_dags/ the (only) DAG bundle.
    bundle = {"name": "example-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(EXAMPLE_DAGS)}}
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    monkeypatch.setenv("RIME_DEMO_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("RIME_DEMO_MLFLOW_ARTIFACT_LOCATION", str(tmp_path / "mlflow-artifacts"))
    # Smaller than the demo's default (10k / 20k rows, 100 trees) to keep the suite quick.
    monkeypatch.setenv("RIME_DEMO_REF_ROWS", "4000")
    monkeypatch.setenv("RIME_DEMO_EVAL_ROWS", "6000")
    monkeypatch.setenv("RIME_DEMO_CATBOOST_ITERATIONS", "30")

    bag = DagBag(dag_folder=str(DAG_FILE), safe_mode=False)
    assert bag.import_errors == {}
    dag_run = bag.dags[DAG_ID].test()

    assert dag_run.state == "success"

    client = MlflowClient()
    experiment = client.get_experiment_by_name(MLFLOW_EXPERIMENT)
    runs = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.airflow_dag_run_id = '{dag_run.run_id}'"
    )
    by_type = {run.data.tags["model_type"]: run for run in runs}
    assert sorted(by_type) == ["catboost-classifier", "logistic-regression-classifier", "sgd-classifier"]

    hook = RimeHook(rime_connection)
    for run in runs:
        metrics, tags = run.data.metrics, run.data.tags
        assert 0.0 <= metrics["rime_pass_rate"] <= 1.0
        assert metrics["rime_summary_counts_total"] > 0
        assert {"test_auc", "train_auc", "rime_model_metrics_AUC_eval"} <= set(metrics)
        test_run = hook.get_test_run(tags["RIME Stress Test Run ID"])
        assert test_run["testRunId"] == tags["RIME Stress Test Run ID"]
        assert tags["RIME Stress Test Link"].startswith("http")
        assert tags["RIME Project ID"] == run.data.params["rime_project_id"]
        assert [a.path for a in client.list_artifacts(run.info.run_id, "rime")], "no result artifacts"
        # The uploaded model directory's predict_df was called: RIME's model-based categories ran.
        categories = {c["testCategory"] for c in hook.get_category_results(test_run["testRunId"])}
        assert {"TEST_CATEGORY_TYPE_TRANSFORMATIONS", "TEST_CATEGORY_TYPE_ADVERSARIAL"} <= categories

    production = client.get_model_version_by_alias(REGISTERED_MODEL, PRODUCTION_ALIAS)
    best = max(runs, key=lambda run: run.data.metrics["rime_pass_rate"])
    assert production.run_id == best.info.run_id
    assert production.tags["model_type"] == best.data.tags["model_type"]
    assert production.tags["rime_stress_test_run_id"] == best.data.tags["RIME Stress Test Run ID"]
    assert production.tags["rime_stress_test_link"] == best.data.tags["RIME Stress Test Link"]

    # create_firewall: the project's one firewall tests the promoted model on its reference data.
    stress_run = hook.get_test_run(production.tags["rime_stress_test_run_id"])
    firewall_id = hook.get_project_firewall_id(production.tags["rime_project_id"])
    assert firewall_id is not None
    firewall = hook.get_firewall(firewall_id)
    assert firewall.model_id.uuid == stress_run["modelId"]["uuid"]
    assert firewall.ref_data_id == stress_run["refDataId"]
    assert firewall.bin_timedelta.days == 1


def test_without_the_repository_generated_data_fails_saying_what_to_set(tmp_path: Path) -> None:
    # A deployment of the example DAG without the repository's dev/ folder: the generator is
    # not importable, and the fetch task must say which setting points it at real files.
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(EXAMPLE_DAGS)!r})
        from rime_demo.data import fetch_fraud_data
        try:
            import rime_dev
        except ImportError:
            pass
        else:
            sys.exit("rime_dev is importable: this is not a deployment without the repository")
        try:
            fetch_fraud_data("train", __import__("pathlib").Path({str(tmp_path)!r}))
        except RuntimeError as err:
            print(err)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RIME_DEMO_FRAUD_DATA_DIR")}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "fraud_data_dir" in result.stdout
    assert "RIME_DEMO_FRAUD_DATA_DIR" in result.stdout
    assert not (tmp_path / "train.csv").exists()
