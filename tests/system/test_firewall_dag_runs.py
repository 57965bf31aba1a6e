"""RIME_Firewall runs for real: ``dag.test()`` of several days, production rows in SQLite and PostgreSQL.

The module sets up what ``RIME_Stress_Testing`` leaves behind, in small: a trained model
registered in MLflow with the alias ``production`` and the tag ``rime_project_id``, a RIME
project whose firewall tests that model against its reference data. Then the firewall DAG
runs day by day against the session's engine, Airflow metadata DB and MLflow store.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLE_DAGS

DAG_FILE = EXAMPLE_DAGS / "rime_firewall.py"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
PG_URL = os.environ.get("RIME_TEST_PRODUCTION_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
DAYS = 3  # 2018-08-01 .. 2018-08-03


def day(d: int) -> datetime:
    return datetime(2018, 8, d, tzinfo=timezone.utc) if d > 0 else datetime(2018, 7, 31, tzinfo=timezone.utc)


def set_connection(conn_id: str, conn_type: str, **fields: Any) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        session.add(Connection(conn_id=conn_id, conn_type=conn_type, **fields))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's settings for this module: small data, its own work dir, example_dags as the bundle."""
    root = tmp_path_factory.mktemp("firewall-dag")
    bundle = {"name": "example-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(EXAMPLE_DAGS)}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
        patch.setenv("RIME_DEMO_WORK_DIR", str(root / "work"))
        patch.setenv("RIME_DEMO_MLFLOW_ARTIFACT_LOCATION", str(root / "mlflow-artifacts"))
        patch.setenv("RIME_DEMO_REF_ROWS", "1500")
        patch.setenv("RIME_DEMO_EVAL_ROWS", "1000")
        yield root


@pytest.fixture(scope="module")
def production(env: Path, rime_connection: str) -> dict[str, Any]:
    """A promoted model with its RIME project and firewall, as RIME_Stress_Testing leaves them."""
    from rime_demo.data import fetch_fraud_data
    from rime_demo.registry import promote
    from rime_demo.training import add_predictions, train_model, write_model_dir

    from airflow_provider_rime.hooks.rime import RimeHook
    from airflow_provider_rime.operators.firewall import RimeCreateFirewallOperator
    from airflow_provider_rime.utils.data_sources import resolve_data_source
    from tests.task_context import TaskInstanceStandIn, make_context

    train, test = fetch_fraud_data("train", env / "data"), fetch_fraud_data("test", env / "data")
    trained = train_model(
        "sgd-classifier", train, test, env / "model", dag_run_id=f"fw-{uuid.uuid4().hex[:6]}"
    )
    model_dir = write_model_dir(trained["pipeline_path"], env / "model" / "dir")
    reference_file = add_predictions(train, model_dir, env / "model" / "reference.csv")

    hook = RimeHook(rime_connection)
    project_id = hook.get_or_create_project(f"firewall-dag-{uuid.uuid4().hex[:8]}", "RIME_Firewall tests")
    reference = hook.register_dataset_once(
        project_id, resolve_data_source(str(reference_file), "reference"), label_col="label", pred_col="pred"
    )
    model_id = hook.register_model(project_id, "sgd-classifier")
    assert reference.path
    hook.register_predictions(project_id, model_id, reference.dataset_id, reference.path, "pred")
    created = RimeCreateFirewallOperator(
        task_id="create_firewall",
        rime_conn_id=rime_connection,
        project=project_id,
        model_id=model_id,
        reference_dataset_id=reference.dataset_id,
    ).execute(make_context(TaskInstanceStandIn(task_id="create_firewall")))
    promote({**trained, "project_id": project_id, "model_type": "sgd-classifier"})
    return {"project_id": project_id, "firewall_id": created["firewall_id"], **trained}


@pytest.fixture(scope="module")
def sqlite_db(env: Path) -> Path:
    from rime_demo.production import load_production_db

    from rime_dev.datagen import generate_fraud

    frame = generate_fraud(
        150 * DAYS, seed=21, start="2018-08-01", days=DAYS, drift={"transaction_amount": 1.0}
    )
    path = env / "production.db"
    load_production_db(str(path), frame=frame.drop(columns=["preds", "pred"], errors="ignore"))
    return path


@pytest.fixture(scope="module")
def firewall_dag(env: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE), safe_mode=False)
    assert bag.import_errors == {}
    return bag.dags["RIME_Firewall"]


def states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def firewall_result(dag_run: Any) -> dict[str, Any]:
    """The ``summary`` XCom ``run_firewall`` pushed, read back from the metadata DB."""
    from rime_dev.firewall_month import firewall_summary

    value = firewall_summary(dag_run)
    assert isinstance(value, dict), value
    return value


def test_days_from_sqlite_each_become_a_bin_logged_to_mlflow(
    production: dict[str, Any], sqlite_db: Path, firewall_dag: Any
) -> None:
    from mlflow import MlflowClient

    from airflow_provider_rime.hooks.rime import RimeHook

    set_connection("rime_production_db", "sqlite", host=str(sqlite_db))
    results = {}
    for d in (1, 2):
        dag_run = firewall_dag.test(logical_date=day(d))
        assert dag_run.state == "success", states(dag_run)
        assert states(dag_run)["log_firewall_to_mlflow"] == "success", states(dag_run)
        results[d] = firewall_result(dag_run)

    for d, result in results.items():
        [bin_] = result["bins"]
        assert bin_["start"].startswith(f"2018-08-0{d}")
        assert result["firewall_id"] == production["firewall_id"]
        assert result["rows"] > 0
    client = MlflowClient()
    run = client.get_run(production["mlflow_run_id"])
    history = client.get_metric_history(run.info.run_id, "rime_firewall_rows")
    assert sorted(datetime.fromordinal(m.step).date().isoformat() for m in history)[-2:] == [
        "2018-08-01",
        "2018-08-02",
    ]
    artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "rime_firewall")]
    assert {"rime_firewall/2018-08-01.json", "rime_firewall/2018-08-02.json"} <= set(artifacts)
    assert run.data.tags["RIME Firewall Link"].startswith("http")
    hook = RimeHook("rime")
    runs = list(hook.list_test_runs(production["project_id"], "TEST_TYPE_CONTINUOUS_TESTING"))
    assert len(runs) == 2


def test_a_rerun_of_a_day_keeps_its_bin_or_replaces_it_when_asked(
    production: dict[str, Any], sqlite_db: Path, firewall_dag: Any
) -> None:
    from airflow_provider_rime.hooks.rime import RimeHook

    hook = RimeHook("rime")

    def bins_of_day_2() -> list[str]:
        runs = hook.list_test_runs(production["project_id"], "TEST_TYPE_CONTINUOUS_TESTING")
        return [
            str(r["testRunId"])
            for r in runs
            if str(r.get("binTimeInterval", {}).get("startTime", "")).startswith("2018-08-02")
        ]

    set_connection("rime_production_db", "sqlite", host=str(sqlite_db))
    # The day once (or again, after the first test): it has its one bin.
    assert firewall_dag.test(logical_date=day(2)).state == "success"
    [tested] = bins_of_day_2()

    # dag.test() of the same logical date again: a rerun of the day, which adds no bin.
    rerun = firewall_dag.test(logical_date=day(2))
    assert rerun.state == "success", states(rerun)
    assert firewall_result(rerun)["bins"] == []
    assert bins_of_day_2() == [tested]

    # Asked to (the DAG's param), the rerun replaces the day's bin: still one, a new test run.
    replaced = firewall_dag.test(logical_date=day(2), run_conf={"override_existing_bins": True})
    assert replaced.state == "success", states(replaced)
    [new_bin] = firewall_result(replaced)["bins"]
    assert new_bin["start"].startswith("2018-08-02")
    assert bins_of_day_2() == [new_bin["test_run_id"]] != [tested]


def test_a_day_without_rows_is_skipped(
    production: dict[str, Any], sqlite_db: Path, firewall_dag: Any
) -> None:
    set_connection("rime_production_db", "sqlite", host=str(sqlite_db))

    dag_run = firewall_dag.test(logical_date=day(0))

    task_states = states(dag_run)
    assert task_states["fetch_production_data"] == "success"
    assert task_states["continue_if_data_available"] == "success"
    assert task_states["run_firewall"] == "skipped"
    assert task_states["log_firewall_to_mlflow"] == "skipped"


@pytest.mark.postgres
def test_a_day_from_postgresql(production: dict[str, Any], env: Path, firewall_dag: Any) -> None:
    import sqlalchemy as sa
    from rime_demo import PRODUCTION_TABLE
    from rime_demo.production import load_production_db

    from rime_dev.datagen import generate_fraud

    frame = generate_fraud(150 * DAYS, seed=22, start="2018-08-01", days=DAYS, with_pred=False)
    try:
        load_production_db(PG_URL, frame=frame, replace=True)
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}: {str(exc).splitlines()[0]}")
    set_connection(
        "rime_production_db", "postgres", host="127.0.0.1", port=5432, login="postgres", schema="test"
    )
    try:
        dag_run = firewall_dag.test(logical_date=day(3))
        assert dag_run.state == "success", states(dag_run)
        result = firewall_result(dag_run)
        [bin_] = result["bins"]
        assert bin_["start"].startswith("2018-08-03")
        assert result["rows"] == int((frame["timestamp"] == "2018-08-03").sum())
    finally:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{PRODUCTION_TABLE}"')
        engine.dispose()


def test_the_demos_month_runner_prints_a_line_per_day(
    production: dict[str, Any], sqlite_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rime_dev.firewall_month import run_month

    set_connection("rime_production_db", "sqlite", host=str(sqlite_db))
    failed = run_month(EXAMPLE_DAGS, first=datetime(2018, 8, 3), last=datetime(2018, 8, 4))

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert failed == 0
    assert [(d["day"], d["state"]) for d in lines] == [("2018-08-03", "success"), ("2018-08-04", "success")]
    tested, empty = lines
    assert tested["rows"] > 0 and tested["verdict"] in ("pass", "warning", "alert")
    assert tested["bins"] in (0, 1), "a day already tested (e.g. from PostgreSQL) keeps its bin"
    assert tested["url"].startswith("http")
    assert (empty["rows"], empty["verdict"]) == (None, None), "a day without rows is a skipped run"
