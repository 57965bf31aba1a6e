"""RIME_Stress_Testing: train three fraud models, stress test each with RIME, promote the best.

The walkthrough's model-development pipeline, rebuilt on the provider's operators:

1. ``create_rime_project`` finds or creates the RIME project; ``fetch_train_data`` and
   ``fetch_test_data`` write the reference and evaluation splits to files.
2. For CatBoost, SGD (``modified_huber`` loss) and logistic regression, one task group named
   after the model type (``catboost-classifier``, ``sgd-classifier``,
   ``logistic-regression-classifier``), so the graph reads at default zoom:
   ``train_model`` trains it in an MLflow run and registers it as a version of
   ``rime-fraud-detection``; ``write_model_dir`` writes a RIME model directory
   (``model.py`` with ``predict_df``); ``add_preds_to_{ref,eval}_data`` write the data
   files with the model's predictions; ``run_stress_test``
   (:class:`~airflow_provider_rime.operators.stress_test.RimeStressTestOperator`) uploads
   and registers everything and runs the stress test; ``log_results_to_mlflow``
   (:class:`~airflow_provider_rime.operators.mlflow.MlflowLogRimeResultsOperator`) logs the
   results into the model's MLflow run and returns the pass rate.
3. ``choose_best_model`` picks the model with the highest pass rate;
   ``transition_best_model_to_production`` points the registry alias ``production`` at it and
   tags the version with its stress test run.
4. ``create_firewall``
   (:class:`~airflow_provider_rime.operators.firewall.RimeCreateFirewallOperator`) gives the
   project a firewall for the promoted model, from its stress test run (model and reference
   data), bins of one day; a later run re-points that firewall instead of making another.
   ``RIME_Firewall`` runs it on each production day.

Tasks pass references (paths, ids, URIs) through XCom, never data or models. Settings
(Airflow Variable ``rime_demo_<name>`` or environment variable ``RIME_DEMO_<NAME>``) are read
inside tasks: ``fraud_data_dir`` (the walkthrough's CSV files; default: generated data of the
same schema), ``ref_rows``, ``eval_rows``, ``work_dir``, ``mlflow_artifact_location``,
``catboost_iterations``. The connection ``rime`` points at a RIME cluster or the local engine
(``rime-local serve``); MLflow's tracking URI comes from ``MLFLOW_TRACKING_URI``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, TaskGroup, task
from rime_demo import (
    DAG_ID,
    LABEL_COL,
    MODEL_TYPES,
    PRED_COL,
    REGISTERED_MODEL,
    RIME_CONN_ID,
    RIME_PROJECT,
    RIME_PROJECT_DESCRIPTION,
    STRESS_TEST_CATEGORIES,
)

from airflow_provider_rime.operators.firewall import RimeCreateFirewallOperator
from airflow_provider_rime.operators.mlflow import MlflowLogRimeResultsOperator
from airflow_provider_rime.operators.stress_test import RimeStressTestOperator

DEPLOYMENT_DATE = datetime(2018, 7, 31)

# Task functions that take ``run_id`` get it from Airflow (a context variable, passed by name):
# each DAG run writes its files into its own work directory.


@task
def create_rime_project() -> str:
    """Find or create the walkthrough's RIME project; return its id."""
    from airflow_provider_rime.hooks.rime import RimeHook

    return RimeHook(RIME_CONN_ID).get_or_create_project(RIME_PROJECT, RIME_PROJECT_DESCRIPTION)


@task
def fetch_fraud_data(split: str, *, run_id: str | None = None) -> str:
    """Write the ``train`` (reference) or ``test`` (evaluation) split; return its path."""
    from rime_demo.data import fetch_fraud_data as fetch
    from rime_demo.settings import run_dir

    return str(fetch(split, run_dir(run_id) / "data"))


@task(multiple_outputs=True, show_return_value_in_logs=False)
def train_model(
    model_type: str, train_path: str, test_path: str, *, run_id: str | None = None
) -> dict[str, Any]:
    """Train one model in an MLflow run and register it; return the run id, model URI and version."""
    from rime_demo.settings import run_dir
    from rime_demo.training import train_model as train

    return train(
        model_type,
        train_path,
        test_path,
        run_dir(run_id) / model_type,
        dag_run_id=str(run_id),
    )


@task
def write_model_dir(model_type: str, pipeline_path: str, *, run_id: str | None = None) -> str:
    """Write the RIME model directory (``model.py`` with ``predict_df``); return its path."""
    from rime_demo.settings import run_dir
    from rime_demo.training import write_model_dir as write

    return str(write(pipeline_path, run_dir(run_id) / model_type / "model"))


@task
def add_preds_to_data(
    model_type: str, split: str, data_path: str, model_dir: str, *, run_id: str | None = None
) -> str:
    """Write the split with the model's predictions as column ``pred``; return its path."""
    from rime_demo.settings import run_dir
    from rime_demo.training import add_predictions

    return str(add_predictions(data_path, model_dir, run_dir(run_id) / model_type / f"{split}.csv"))


@task
def choose_best_model(
    model_types: list[str],
    pass_rates: list[float],
    model_versions: list[str],
    test_run_ids: list[str],
    test_run_urls: list[str],
    project_id: str,
) -> dict[str, Any]:
    """Pick the model with the highest stress-test pass rate (the first one on a tie)."""
    candidates = [
        {
            "model_type": model_type,
            "pass_rate": float(rate),
            "model_version": str(version),
            "test_run_id": test_run_id,
            "test_run_url": url,
            "project_id": project_id,
        }
        for model_type, rate, version, test_run_id, url in zip(
            model_types, pass_rates, model_versions, test_run_ids, test_run_urls, strict=True
        )
    ]
    best = max(candidates, key=lambda c: c["pass_rate"])
    for candidate in candidates:
        print(f"{candidate['model_type']:<32} pass rate {candidate['pass_rate']:.3f}")
    print(f"best: {best['model_type']} (version {best['model_version']} of {REGISTERED_MODEL})")
    return best


@task
def transition_best_model_to_production(best: dict[str, Any]) -> str:
    """Point the registry alias ``production`` at the best version; tag it with its stress test."""
    from rime_demo.registry import promote

    return promote(best)


with DAG(
    dag_id=DAG_ID,
    description="Train fraud models, stress test them with RIME, promote the best in MLflow",
    schedule="@once",
    start_date=DEPLOYMENT_DATE,
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=30)},
    tags=["rime", "example", "mlflow"],
    doc_md=__doc__,
) as dag:
    project_id = create_rime_project()
    train_path = fetch_fraud_data.override(task_id="fetch_train_data")("train")
    test_path = fetch_fraud_data.override(task_id="fetch_test_data")("test")

    pass_rates = []
    model_versions = []
    test_run_ids = []
    test_run_urls = []
    for model_type in MODEL_TYPES:
        # One group per candidate model: the graph shows three boxes between the data and the choice.
        with TaskGroup(group_id=model_type, tooltip=f"train, stress test and log {model_type}"):
            trained = train_model(model_type, train_path, test_path)
            model_dir = write_model_dir(model_type, trained["pipeline_path"])
            ref_path, eval_path = (
                add_preds_to_data.override(task_id=f"add_preds_to_{name}_data")(
                    model_type, split, data_path, model_dir
                )
                for name, split, data_path in (("ref", "train", train_path), ("eval", "test", test_path))
            )
            # [START howto_operator_rime_stress_test]
            stress_test = RimeStressTestOperator(
                task_id="run_stress_test",
                rime_conn_id=RIME_CONN_ID,
                project=project_id,
                reference_data=ref_path,
                evaluation_data=eval_path,
                label_col=LABEL_COL,
                pred_col=PRED_COL,
                model_dir=model_dir,
                model_name=model_type,
                run_name=f"{model_type} {{{{ run_id }}}}",
                categories=list(STRESS_TEST_CATEGORIES),
                poll_interval=2,
            )
            # [END howto_operator_rime_stress_test]
            # [START howto_operator_mlflow_log_rime_results]
            log_results = MlflowLogRimeResultsOperator(
                task_id="log_results_to_mlflow",
                rime_conn_id=RIME_CONN_ID,
                test_run_id=stress_test.output["test_run_id"],
                job_id=stress_test.output["job_id"],
                mlflow_run_id=trained["mlflow_run_id"],
            )
            # [END howto_operator_mlflow_log_rime_results]
        pass_rates.append(log_results.output)
        model_versions.append(trained["model_version"])
        test_run_ids.append(stress_test.output["test_run_id"])
        test_run_urls.append(stress_test.output["test_run_url"])

    best = choose_best_model(
        list(MODEL_TYPES), pass_rates, model_versions, test_run_ids, test_run_urls, project_id
    )
    promoted = transition_best_model_to_production(best)
    # [START howto_operator_rime_create_firewall]
    create_firewall = RimeCreateFirewallOperator(
        task_id="create_firewall",
        rime_conn_id=RIME_CONN_ID,
        project=best["project_id"],
        stress_test_run_id=best["test_run_id"],
        bin_size="1d",
    )
    # [END howto_operator_rime_create_firewall]
    promoted >> create_firewall
