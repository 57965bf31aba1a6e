"""The example DAG RIME_Firewall: it parses light and has the walkthrough's graph and schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import EXAMPLE_DAGS, parse_dag_folder

DAG_FILE = EXAMPLE_DAGS / "rime_firewall.py"
DAG_ID = "RIME_Firewall"


def parse_firewall_dag(tmp_path: Path) -> dict[str, Any]:
    """The DAG folder parsed in a new interpreter, with the firewall DAG's schedule and links."""
    return parse_dag_folder(
        tmp_path,
        DAG_ID,
        schedule="str(dag.schedule)",
        start="dag.start_date.isoformat()",
        end="dag.end_date.isoformat()",
        catchup="dag.catchup",
        max_active_runs="dag.max_active_runs",
        links='[link.name for link in dag.get_task("run_firewall").operator_extra_links]',
    )


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
