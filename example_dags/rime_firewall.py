"""RIME_Firewall: run the production model's RIME firewall on each production day.

The walkthrough's monitoring pipeline, rebuilt on the provider's operators. It runs daily
from the deployment date (2018-07-31) to the end of the production month (2018-08-30) with
catch-up, a few days at a time:

1. ``fetch_production_data`` selects the run's day from the production database through a
   common-sql connection (``rime_production_db``; a SQLite file in the demo), the query
   templated on the data interval, and writes the rows to a file.
2. ``continue_if_data_available`` short-circuits the run when the day has no rows.
3. ``get_rime_project_id`` reads the production model (registry alias ``production`` of
   ``rime-fraud-detection``) and the RIME project and stress test run it was tagged with.
4. ``add_prod_preds`` adds that model's fraud probability as column ``pred``.
5. ``run_firewall`` (:class:`~airflow_provider_rime.operators.firewall.RimeFirewallOperator`)
   runs the project's firewall (created by ``RIME_Stress_Testing``'s ``create_firewall``) on
   the day: one time bin, its tests, its verdict and the detection events it opened. A rerun
   of a day keeps the bin it has, unless the run's param ``override_existing_bins`` is true
   (trigger it with ``{"override_existing_bins": true}``): then its results are replaced.
6. ``log_firewall_to_mlflow`` logs the day's metrics and the bin summary to the production
   model's MLflow run.

Settings are those of ``RIME_Stress_Testing`` (``work_dir``, ``fraud_data_dir``); the
connection ``rime_production_db`` must hold the table ``fraud_production`` (the demo loads
it with ``rime_demo.production.load_production_db``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task
from rime_demo import (
    FIREWALL_DAG_ID,
    LABEL_COL,
    PRED_COL,
    PRODUCTION_CONN_ID,
    PRODUCTION_TABLE,
    RIME_CONN_ID,
    TIMESTAMP_COL,
)

from airflow_provider_rime.operators.firewall import RimeFirewallOperator

DEPLOYMENT_DATE = datetime(2018, 7, 31)
PRODUCTION_END = datetime(2018, 8, 30)

# [START howto_firewall_fetch_production_data]
# The day's rows: the query is rendered for each run, from the day its data interval starts
# (``ds``; Airflow 3's "@daily" runs have a zero-length interval at that midnight) to the next.
# ``timestamp`` is a YYYY-MM-DD column, so the bounds compare as text in SQLite and PostgreSQL.
PRODUCTION_QUERY = (
    f"SELECT * FROM {PRODUCTION_TABLE} "
    f"WHERE {TIMESTAMP_COL} >= '{{{{ ds }}}}' "
    f"AND {TIMESTAMP_COL} < '{{{{ macros.ds_add(ds, 1) }}}}'"
)


@task(templates_dict={"sql": PRODUCTION_QUERY})
def fetch_production_data(*, templates_dict: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
    """Fetch the run's day from the production database; return ``{"path", "rows"}``."""
    from rime_demo.monitoring import fetch_production_rows
    from rime_demo.settings import run_dir

    return fetch_production_rows(PRODUCTION_CONN_ID, templates_dict["sql"], run_dir(run_id))


# [END howto_firewall_fetch_production_data]


@task.short_circuit
def continue_if_data_available(production: dict[str, Any]) -> bool:
    """Go on only when the day has production rows."""
    print(f"{production['rows']} production rows")
    return bool(production["rows"])


@task(multiple_outputs=True)
def get_rime_project_id() -> dict[str, Any]:
    """The production model (MLflow alias) and the RIME project and stress test run it carries."""
    from rime_demo.monitoring import production_model

    return production_model()


@task
def add_prod_preds(production: dict[str, Any], model_uri: str, *, run_id: str | None = None) -> str:
    """Add the production model's fraud probability as column ``pred``; return the file."""
    from rime_demo.monitoring import add_production_predictions
    from rime_demo.settings import run_dir

    return add_production_predictions(production["path"], model_uri, run_dir(run_id))


@task
def log_firewall_to_mlflow(mlflow_run_id: str, result: dict[str, Any], *, ds: str | None = None) -> dict:
    """Log the day's firewall metrics and bin summary to the production model's MLflow run."""
    from rime_demo.monitoring import log_firewall_result

    return log_firewall_result(mlflow_run_id, str(ds), result)


with DAG(
    dag_id=FIREWALL_DAG_ID,
    description="Run the production model's RIME firewall on each day of production data",
    schedule="@daily",
    start_date=DEPLOYMENT_DATE,
    end_date=PRODUCTION_END,
    catchup=True,
    max_active_runs=3,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=30)},
    tags=["rime", "example", "mlflow", "firewall"],
    doc_md=__doc__,
    params={
        "override_existing_bins": Param(
            False,
            type="boolean",
            description="Rerun of a day already tested: replace its results (default: keep them)",
        )
    },
) as dag:
    production = fetch_production_data()
    model = get_rime_project_id()
    data_path = add_prod_preds(production, model["model_uri"])
    continue_if_data_available(production) >> [model, data_path]
    # [START howto_operator_rime_firewall]
    run_firewall = RimeFirewallOperator(
        task_id="run_firewall",
        rime_conn_id=RIME_CONN_ID,
        project=model["project_id"],
        evaluation_data=data_path,
        timestamp_col=TIMESTAMP_COL,
        label_col=LABEL_COL,
        pred_col=PRED_COL,
        fail_on="none",  # record every day; "alert" would fail the runs whose day raised alerts
        # A rerun keeps the day's bin unless triggered with {"override_existing_bins": true}.
        override_existing_bins="{{ params.override_existing_bins }}",
        poll_interval=2,
    )
    # [END howto_operator_rime_firewall]
    log_firewall_to_mlflow(model["mlflow_run_id"], run_firewall.output)
