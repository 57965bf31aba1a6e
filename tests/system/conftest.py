"""Fixtures of the end-to-end tests: the example DAG folder on ``sys.path``, as in a deployment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"

# Airflow puts the DAG folder on sys.path; the example DAG imports its helper package from there.
if str(EXAMPLE_DAGS) not in sys.path:
    sys.path.insert(0, str(EXAMPLE_DAGS))

#: What parsing a DAG file must not import (the DAG processor parses every file often).
HEAVY_MODULES = ("pandas", "numpy", "mlflow", "sklearn", "catboost", "scipy", "pyarrow")


def parse_dag_folder(tmp_path: Path, dag_id: str, **facts: str) -> dict[str, Any]:
    """Parse the example DAG folder with a DagBag in a new interpreter, as the DAG processor does.

    Reports the DAG ids, the import errors, the heavy modules parsing imported, ``dag_id``'s
    tasks with their upstream task ids, and each of ``facts``: a Python expression on ``dag``
    evaluated there (``None`` when the DAG is missing).
    """
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(EXAMPLE_DAGS)!r})
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(EXAMPLE_DAGS)!r}, safe_mode=False)
        dag = bag.dags.get({dag_id!r})
        report = {{
            "dag_ids": sorted(bag.dags),
            "import_errors": bag.import_errors,
            "heavy": sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules),
            "tasks": {{t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}} if dag else {{}},
        }}
        for name, expression in {facts!r}.items():
            report[name] = eval(expression) if dag else None
        print(json.dumps(report))
        """
    )
    env = {"AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, **env}, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report
