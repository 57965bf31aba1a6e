"""The example DAG RIME_Firewall: it parses light and has the walkthrough's graph and schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from .conftest import EXAMPLE_DAGS

DAG_FILE = EXAMPLE_DAGS / "rime_firewall.py"
DAG_ID = "RIME_Firewall"
HEAVY_MODULES = ("pandas", "numpy", "mlflow", "sklearn", "catboost", "scipy", "pyarrow")


def parse_firewall_dag(tmp_path: Path) -> dict[str, Any]:
    """Parse the DAG folder in a new interpreter; report the firewall DAG's shape and heavy imports."""
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(EXAMPLE_DAGS)!r})
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(EXAMPLE_DAGS)!r}, safe_mode=False)
        dag = bag.dags.get({DAG_ID!r})
        print(json.dumps({{
            "import_errors": bag.import_errors,
            "heavy": sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules),
            "tasks": {{t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}} if dag else {{}},
            "schedule": str(dag.schedule) if dag else None,
            "start": dag.start_date.isoformat() if dag else None,
            "end": dag.end_date.isoformat() if dag else None,
            "catchup": dag.catchup if dag else None,
            "max_active_runs": dag.max_active_runs if dag else None,
            "links": [l.name for l in dag.get_task("run_firewall").operator_extra_links] if dag else [],
        }}))
        """
    )
    env = {"AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, **env}, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_firewall_dag_parses_light_with_the_walkthrough_graph(tmp_path: Path) -> None:
    report = parse_firewall_dag(tmp_path)

    assert report["import_errors"] == {}
    assert report["heavy"] == [], f"parsing the DAGs imported {report['heavy']}"
    tasks = report["tasks"]
    assert set(tasks) == {
        "fetch_production_data",
        "continue_if_data_available",
        "get_rime_project_id",
        "add_prod_preds",
        "run_firewall",
        "log_firewall_to_mlflow",
    }
    assert tasks["fetch_production_data"] == []
    assert tasks["continue_if_data_available"] == ["fetch_production_data"]
    assert tasks["get_rime_project_id"] == ["continue_if_data_available"]
    assert set(tasks["add_prod_preds"]) == {
        "continue_if_data_available",
        "fetch_production_data",
        "get_rime_project_id",
    }
    assert set(tasks["run_firewall"]) == {"add_prod_preds", "get_rime_project_id"}
    assert set(tasks["log_firewall_to_mlflow"]) == {"get_rime_project_id", "run_firewall"}
    assert report["start"].startswith("2018-07-31") and report["end"].startswith("2018-08-30")
    assert report["catchup"] is True
    assert report["schedule"] == "@daily"
    assert 1 <= report["max_active_runs"] <= 4
    assert report["links"] == ["RIME Firewall"]
