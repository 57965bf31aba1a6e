"""Test DAG files: written into the session's dags folder and run there with ``dag.test()``.

``dag.test()`` serialises the DAG from the default bundle (``$AIRFLOW_HOME/dags``), so the
test DAGs are files there, one operator task per DAG, built by :func:`dag_source`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .conftest import DataFiles

STRESS_TEST_OPERATOR = "airflow_provider_rime.operators.stress_test.RimeStressTestOperator"
FIREWALL_OPERATOR = "airflow_provider_rime.operators.firewall.RimeFirewallOperator"


def from_conf(key: str) -> str:
    """An argument templated from the DAG run's ``conf``."""
    return "{{ dag_run.conf['" + key + "'] }}"


def dag_source(operator: str, task_id: str, dags: Mapping[str, Mapping[str, Any]], **arguments: Any) -> str:
    """
    A DAG file: one DAG per id of ``dags``, each one task of ``operator`` (a dotted class path).

    The task gets ``arguments`` and its DAG's own ones from ``dags``; values are written as
    their ``repr`` (``datetime.timedelta`` values work: the file imports ``datetime``).
    """
    module, name = operator.rsplit(".", 1)
    return f"""
import datetime

from airflow.sdk import DAG

from {module} import {name}

for dag_id, dag_arguments in {dict(dags)!r}.items():
    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False) as dag:
        {name}(task_id={task_id!r}, **{arguments!r}, **dag_arguments)
    globals()[dag_id] = dag
"""


def stress_test_dags(dags: Mapping[str, Mapping[str, Any]], **arguments: Any) -> str:
    """Stress-test DAGs (task ``stress_test``) whose project and data files come from the run's conf."""
    defaults = {
        "project": from_conf("project"),
        "reference_data": from_conf("reference"),
        "evaluation_data": from_conf("evaluation"),
        "poll_interval": 0.5,
    }
    return dag_source(STRESS_TEST_OPERATOR, "stress_test", dags, **{**defaults, **arguments})


def write_dag_file(name: str, source: str) -> Path:
    """Write a DAG file into the session's dags folder (the default bundle); returns its path."""
    dags_folder = Path(os.environ["AIRFLOW_HOME"]) / "dags"
    dags_folder.mkdir(exist_ok=True)
    dag_file = dags_folder / name
    dag_file.write_text(source)
    return dag_file


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


def run_stress_test_dag(
    dag_file: str, source: str, dag_id: str, project: str, data: DataFiles
) -> tuple[str, dict[str, Any]]:
    """Run one stress-test DAG of a file written from ``source`` with ``dag.test()``: its run id and XComs."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(write_dag_file(dag_file, source)), safe_mode=False)
    assert bag.import_errors == {}
    conf = {"project": project, "reference": str(data.reference), "evaluation": str(data.evaluation)}
    dag_run = bag.dags[dag_id].test(run_conf=conf)
    return dag_run.run_id, xcoms_of(dag_id, dag_run.run_id, "stress_test")
