"""OpenLineage: real DAG runs with the OpenLineage provider's file transport.

The stress test runs with ``categories=ALL_CATEGORIES`` on the session's engine; the events
the OpenLineage listener writes must name the reference and evaluation files as inputs, carry
RIME's verdicts as ``dataQualityAssertions`` on the evaluation data, and point at the test run.
The firewall runs on a day of production rows a SQL query reads from a SQLite database: its
events must name the SQLite table as the input and carry the bin's verdicts as assertions.
Each DAG runs in a fresh interpreter: the OpenLineage provider reads its configuration once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_rime.hooks.rime import RimeHook
from airflow_provider_rime.operators.stress_test import ALL_CATEGORIES, RimeStressTestOperator
from airflow_provider_rime.rime_api.enums import TestCategory
from airflow_provider_rime.utils.data_sources import DataSource, DataSourceKind, resolve_data_source
from airflow_provider_rime.utils.lineage import DatasetName, data_source_name, sql_table_name, uri_name

from .conftest import DataFiles
from .dag_files import FIREWALL_OPERATOR, dag_source, from_conf, stress_test_dags, write_dag_file

DAG_ID = "rime_provider_lineage"
DAG_SOURCE = stress_test_dags(
    {DAG_ID: {}},
    rime_conn_id=from_conf("conn_id"),
    categories=ALL_CATEGORIES,
    fail_on=from_conf("fail_on"),
    timeout=from_conf("timeout"),
)


def run_dag_with_file_transport(
    root: Path, dag_id: str, dag_source: str, task_id: str, conf: dict[str, Any]
) -> dict[str, Any]:
    """``dag.test()`` of one DAG in a fresh interpreter with the file transport.

    Returns the task's state, its return value (``summary``) and the OpenLineage events of
    the task's job.
    """
    dag_file = write_dag_file(f"{dag_id}_dag.py", dag_source)
    events_prefix = root / "events"
    script = textwrap.dedent(
        f"""
        import json
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(dag_file)!r}, safe_mode=False)
        assert not bag.import_errors, bag.import_errors
        run = bag.dags[{dag_id!r}].test(run_conf={conf!r})
        ti = run.get_task_instance({task_id!r})
        summary = ti.xcom_pull(task_ids={task_id!r})
        with open({str(root / "result.json")!r}, "w") as out:
            json.dump({{"state": str(ti.state), "summary": summary}}, out)
        """
    )
    # One file per event (``<prefix>-<time>-<job>-<type>.json``): events come from several processes.
    transport = {"type": "file", "log_file_path": str(events_prefix), "append": False}
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "rime-provider-tests",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    # A file, not stdout: the listener's processes write to stdout too.
    report = json.loads((root / "result.json").read_text())
    files = sorted(root.glob("events-*.json"))
    assert files, f"no OpenLineage events written; stderr: {result.stderr[-3000:]}"
    events = [json.loads(path.read_text()) for path in files]
    task_events = [e for e in events if e.get("job", {}).get("name") == f"{dag_id}.{task_id}"]
    return {**report, "events": task_events, "output": (result.stdout + result.stderr)[-8000:]}


@pytest.fixture(scope="module")
def lineage_run(
    rime_connection: str, project_name: str, data_files: DataFiles, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One stress-test DAG run with the file transport; its events and the task's XCom summary."""
    conf = {
        "conn_id": rime_connection,
        "project": project_name,
        "reference": str(data_files.reference),
        "evaluation": str(data_files.evaluation),
        "fail_on": "none",
        "timeout": "600",
    }
    return run_dag_with_file_transport(
        tmp_path_factory.mktemp("lineage"), DAG_ID, DAG_SOURCE, "stress_test", conf
    )


def by_state(events: list[dict[str, Any]], state: str) -> dict[str, Any]:
    matching = [e for e in events if e["eventType"] == state]
    assert matching, f"no {state} event among {[e['eventType'] for e in events]}"
    return matching[-1]


def test_events_name_the_files_the_stress_test_read(lineage_run: dict[str, Any], data_files: DataFiles):
    assert lineage_run["state"] == "success"
    inputs = {(d["namespace"], d["name"]) for d in by_state(lineage_run["events"], "COMPLETE")["inputs"]}
    assert inputs == {("file", str(data_files.reference)), ("file", str(data_files.evaluation))}


def test_rimes_verdicts_are_data_quality_assertions_on_the_evaluation_data(
    lineage_run: dict[str, Any], data_files: DataFiles, hook: RimeHook
):
    complete = by_state(lineage_run["events"], "COMPLETE")
    datasets = {d["name"]: d for d in complete["inputs"]}
    assert "dataQualityAssertions" not in datasets[str(data_files.reference)].get("inputFacets", {})
    facet = datasets[str(data_files.evaluation)]["inputFacets"]["dataQualityAssertions"]
    found = facet["assertions"]
    summary = lineage_run["summary"]
    counts = summary["summary_counts"]
    # One assertion per test case RIME did not skip; passes are the run's passed cases.
    assert len(found) == counts["total"] - counts["skip"]
    assert sum(a["success"] for a in found) == counts["pass"]
    assert not all(a["success"] for a in found), "the drifted evaluation data fails some tests"
    names = {b["testName"] for b in hook.list_batch_results(summary["test_run_id"])}
    assert {a["assertion"] for a in found} <= names
    # Feature-level tests name their column.
    assert {a.get("column") for a in found} >= {"amount"}
    run_facets = complete["run"]["facets"]
    assert run_facets["externalQuery"]["externalQueryId"] == summary["test_run_id"]


def test_all_categories_runs_every_category_the_engine_runs(lineage_run: dict[str, Any], hook: RimeHook):
    test_run = hook.get_test_run(lineage_run["summary"]["test_run_id"])
    project = hook.get_project(lineage_run["summary"]["project_id"])
    ran = {TestCategory(c) for c in test_run["testCategories"]}
    # Every category the project names, less those this run cannot do: it registered no model
    # directory (Transformations and Attacks call the model) and no protected features.
    cannot = {TestCategory.TRANSFORMATIONS, TestCategory.ADVERSARIAL, TestCategory.BIAS_AND_FAIRNESS}
    assert ran == {TestCategory(c) for c in project["stressTestCategories"]} - cannot
    assert {TestCategory.DRIFT, TestCategory.ABNORMAL_INPUTS, TestCategory.DATA_CLEANLINESS} <= ran


def test_the_engine_names_the_categories_its_catalogue_runs(monkeypatch: pytest.MonkeyPatch):
    from airflow_provider_rime.local.catalogue import model_categories, runnable_categories
    from airflow_provider_rime.local.models.process import ENV_MODEL_EXECUTION
    from airflow_provider_rime.local.render import stress_test_categories
    from airflow_provider_rime.local.settings import MODEL_TEST_CATEGORIES

    assert {TestCategory(c) for c in stress_test_categories()} == set(runnable_categories())
    assert {TestCategory(c) for c in MODEL_TEST_CATEGORIES} == set(model_categories())
    monkeypatch.setenv(ENV_MODEL_EXECUTION, "off")
    assert {TestCategory(c) for c in stress_test_categories()} == set(runnable_categories()) - set(
        model_categories()
    )


def test_all_categories_must_stand_alone():
    with pytest.raises(ValueError, match="pass it alone"):
        RimeStressTestOperator(
            task_id="t",
            project="p",
            reference_data="r.csv",
            evaluation_data="e.csv",
            categories=[ALL_CATEGORIES, "drift"],
        )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (DataSource(DataSourceKind.LOCAL, "/data/ref.csv"), DatasetName("file", "/data/ref.csv")),
        (
            DataSource(DataSourceKind.REMOTE, "s3://bucket/fraud/eval.parquet"),
            DatasetName("s3://bucket", "fraud/eval.parquet"),
        ),
        (
            DataSource(DataSourceKind.DATASET_ID, "ds-1"),
            DatasetName("https://rime.example.rime.dev", "datasets/ds-1"),
        ),
    ],
)
def test_dataset_names_follow_openlineage_conventions(source: DataSource, expected: DatasetName):
    assert data_source_name(source, "https://rime.example.rime.dev/") == expected


def test_sql_tables_and_uris_are_named_like_the_sql_providers_name_them():
    assert sql_table_name("postgresql://u:secret@db.example:5432/prod", "public.events") == DatasetName(
        "postgres://db.example:5432", "prod.public.events"
    )
    assert sql_table_name("postgres://db:5432/prod", "events", schema="public").name == "prod.public.events"
    assert uri_name("gs://bucket/a/b.csv") == DatasetName("gs://bucket", "a/b.csv")


FIREWALL_DAG_ID = "rime_provider_firewall_lineage"
FIREWALL_TABLE = "fraud_production"
FIREWALL_DAY = "2018-08-01"


@pytest.fixture(scope="module")
def firewall_lineage_run(
    rime_connection: str,
    project_id: str,
    hook: RimeHook,
    airflow_db: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """A firewall DAG run over a SQLite production day (the task creates the project's firewall)."""
    import sqlalchemy as sa
    from airflow.models import Connection
    from airflow.utils.session import create_session

    from rime_dev.datagen import generate_fraud

    root = tmp_path_factory.mktemp("firewall-lineage")
    reference_path = root / "reference.csv"
    generate_fraud(600, seed=21, with_pred=True).drop(columns=["timestamp"]).to_csv(
        reference_path, index=False
    )
    reference = hook.register_dataset_once(
        project_id, resolve_data_source(str(reference_path), "reference"), label_col="label", pred_col="pred"
    )
    assert reference.path
    model_id = hook.register_model(project_id, "fraud-predictions-lineage")
    hook.register_predictions(project_id, model_id, reference.dataset_id, reference.path, "pred")

    database = root / "production.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    production = generate_fraud(
        300, seed=22, start=FIREWALL_DAY, days=1, drift={"transaction_amount": 0.8}, with_pred=True
    )
    production.to_sql(FIREWALL_TABLE, engine, index=False)
    engine.dispose()
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == "lineage_production").delete()
        session.add(Connection(conn_id="lineage_production", conn_type="sqlite", host=str(database)))
    source = dag_source(
        FIREWALL_OPERATOR,
        "run_firewall",
        {FIREWALL_DAG_ID: {}},
        rime_conn_id=rime_connection,  # not a template field
        project=from_conf("project"),
        sql=f"SELECT * FROM {FIREWALL_TABLE} WHERE timestamp = '{from_conf('day')}'",
        sql_conn_id=from_conf("sql_conn_id"),
        model_id=from_conf("model_id"),
        reference_dataset_id=from_conf("reference_dataset_id"),
        bin_size="1d",
        poll_interval=0.5,
        timeout=600,
    )
    conf = {
        "project": project_id,
        "day": FIREWALL_DAY,
        "sql_conn_id": "lineage_production",
        "model_id": model_id,
        "reference_dataset_id": reference.dataset_id,
    }
    run = run_dag_with_file_transport(root, FIREWALL_DAG_ID, source, "run_firewall", conf)
    return {**run, "database": database}


def test_the_firewalls_sql_batch_is_its_tables_input(firewall_lineage_run: dict[str, Any]):
    assert firewall_lineage_run["state"] == "success", firewall_lineage_run["output"]
    table = ("sqlite://" + str(firewall_lineage_run["database"].resolve()), f"main.{FIREWALL_TABLE}")
    complete = by_state(firewall_lineage_run["events"], "COMPLETE")
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [table]
    # The tables are named once the query ran: the start event has no inputs to guess.
    assert by_state(firewall_lineage_run["events"], "START")["inputs"] == []


def test_the_firewalls_bin_verdicts_are_assertions_on_the_table(
    firewall_lineage_run: dict[str, Any], hook: RimeHook
):
    complete = by_state(firewall_lineage_run["events"], "COMPLETE")
    found = complete["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    summary = firewall_lineage_run["summary"]
    (only_bin,) = summary["bins"]
    counts = only_bin["summary_counts"]
    # One assertion per test case of the bin RIME did not skip; passes are its passed cases.
    assert len(found) == counts["total"] - counts["skip"] > 0
    assert sum(a["success"] for a in found) == counts["pass"]
    assert only_bin["verdict"] != "pass" and not all(a["success"] for a in found)
    names = {b["testName"] for b in hook.list_batch_results(only_bin["test_run_id"])}
    # One bin: the plain test names, the same from one daily run to the next.
    assert {a["assertion"] for a in found} <= names
    assert "transaction_amount" in {a.get("column") for a in found}
    assert complete["run"]["facets"]["externalQuery"]["externalQueryId"] == summary["job_id"]


def test_a_querys_tables_are_named_as_the_sql_operators_name_them(tmp_path: Path):
    import socket

    from airflow.models import Connection

    from airflow_provider_rime.utils.lineage import sql_input_names

    # PostgreSQL's hook asks the server for its current schema (as for the SQL operators).
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is unreachable")
    postgres = Connection(
        conn_id="pg", conn_type="postgres", host="127.0.0.1", port=5432, schema="test", login="postgres"
    )
    sql = "SELECT e.* FROM events e JOIN sales.orders o ON e.id = o.id"
    assert sql_input_names("pg", sql, postgres) == [
        DatasetName("postgres://127.0.0.1:5432", "test.public.events"),
        DatasetName("postgres://127.0.0.1:5432", "test.sales.orders"),
    ]
    sqlite = Connection(conn_id="lite", conn_type="sqlite", host=str(tmp_path / "p.db"))
    assert sql_input_names("lite", "SELECT * FROM fraud", sqlite) == [
        DatasetName(f"sqlite://{tmp_path / 'p.db'}", "main.fraud")
    ]
