"""What must work on every Airflow the provider supports (3.x, and 2.11 in its own environment).

`make test` runs this module twice: in `.venv` (Airflow 3) and in `.venv-airflow2` (Airflow 2.11,
the provider's core dependencies only, the engine borrowed from `.venv` through
``RIME_ENGINE_PYTHON``), together with ``tests/unit`` (hook, operators, sensor and trigger on
recorded RIME answers). Here: the example DAG parses, and one real DAG run (``dag.test()``) stress
tests on the engine in the worker and waits for the result with the sensor.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ..conftest import REPO_ROOT

EXAMPLE_DAGS = REPO_ROOT / "example_dags"
DAG_ID = "rime_compat_run"
DAG_SOURCE = f"""
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_rime.operators.stress_test import RimeStressTestOperator
from airflow_provider_rime.sensors.test_run import RimeTestRunSensor

with DAG({DAG_ID!r}, schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    stress_test = RimeStressTestOperator(
        task_id="stress_test",
        rime_conn_id="{{{{ dag_run.conf['conn_id'] }}}}",
        project="{{{{ dag_run.conf['project'] }}}}",
        reference_data="{{{{ dag_run.conf['reference'] }}}}",
        evaluation_data="{{{{ dag_run.conf['evaluation'] }}}}",
        categories=["model_performance", "drift"],
        deferrable=False,
        poll_interval=0.5,
    )
    wait = RimeTestRunSensor(
        task_id="wait",
        rime_conn_id="rime",
        test_run_id="{{{{ ti.xcom_pull(task_ids='stress_test', key='test_run_id') }}}}",
        poke_interval=1,
        timeout=300,
        mode="poke",
    )
    stress_test >> wait
"""


def write_csv(path: Path, rows: int, *, seed: int, shift: float = 0.0) -> Path:
    """A small binary-classification table (label ``label``, prediction ``pred``), without pandas:
    the Airflow 2 environment has the provider's core only."""
    import csv
    import math
    import random

    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["amount", "age", "channel", "label", "pred"])
        for _ in range(rows):
            amount = rng.lognormvariate(3 + shift, 1)
            age = rng.randint(18, 90)
            signal = 0.8 * (math.log(amount) - 3) + 0.02 * (age - 50)
            label = int(signal + rng.gauss(0, 0.7) > 0.5)
            pred = 1 / (1 + math.exp(-1.5 * (signal - 0.5)))
            writer.writerow([f"{amount:.4f}", age, rng.choice(["web", "pos", "atm"]), label, f"{pred:.6f}"])
    return path


def dag_bag(folder: Path):
    try:  # Airflow 3
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(folder), safe_mode=False)


def test_the_example_dag_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE_DAGS))
    bag = dag_bag(EXAMPLE_DAGS)
    assert bag.import_errors == {}
    dag = bag.dags["RIME_Stress_Testing"]
    assert "catboost-classifier.run_stress_test" in dag.task_ids
    # The data tasks, six per candidate model, the choice, the promotion and the firewall.
    assert len(dag.task_ids) == 3 + 6 * 3 + 3
    assert "create_firewall" in dag.task_ids


def test_a_dag_run_stress_tests_and_the_sensor_waits(rime_connection: str, tmp_path: Path) -> None:
    from airflow_provider_rime.hooks.rime import RimeHook

    reference = write_csv(tmp_path / "ref.csv", 600, seed=1)
    evaluation = write_csv(tmp_path / "eval.csv", 600, seed=2, shift=0.8)
    # The session's dags folder: Airflow 3 runs dag.test() on DAGs of its bundle.
    dags_folder = Path(os.environ["AIRFLOW_HOME"]) / "dags"
    dags_folder.mkdir(exist_ok=True)
    (dags_folder / "rime_compat_dag.py").write_text(DAG_SOURCE)
    dag = dag_bag(dags_folder / "rime_compat_dag.py").dags[DAG_ID]
    project = f"compat-{sys.version_info.major}-{os.getpid()}"
    conf = {
        "conn_id": rime_connection,
        "project": project,
        "reference": str(reference),
        "evaluation": str(evaluation),
    }
    run = dag.test(run_conf=conf)

    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states == {"stress_test": "success", "wait": "success"}
    summary = run.get_task_instance("stress_test").xcom_pull(task_ids="stress_test")
    assert summary["status"] == "TEST_TASK_STATUS_COMPLETED"
    assert summary["summary_counts"]["total"] > 0
    test_run = RimeHook(rime_connection).get_test_run(summary["test_run_id"])
    assert set(test_run["testCategories"]) == {
        "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
        "TEST_CATEGORY_TYPE_DRIFT",
    }
