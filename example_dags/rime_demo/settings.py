"""Where the example DAG reads its settings: an Airflow Variable, else an environment variable.

Every setting ``name`` is the Airflow Variable ``rime_demo_<name>`` or, when that Variable
is not set, the environment variable ``RIME_DEMO_<NAME>``, else the default. Settings are
read inside tasks, never at parse time.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

#: The settings the example DAG reads, with their defaults (``None``: not set).
DEFAULTS: dict[str, str | None] = {
    # A directory holding the walkthrough's fraud_ref.csv and fraud_eval.csv; unset means
    # "generate data of the same schema" (works on a fresh clone).
    "fraud_data_dir": None,
    "ref_rows": "10000",
    "eval_rows": "20000",
    # Where tasks write data files and model directories (one sub-directory per DAG run).
    # With several workers it must be storage they all see.
    "work_dir": str(Path(tempfile.gettempdir()) / "rime-demo"),
    # Artifact location of the MLflow experiment when the DAG creates it (None: MLflow's default).
    "mlflow_artifact_location": None,
    "catboost_iterations": "100",
    # Rows of the generated production month (when fraud_data_dir is unset).
    "production_rows": "29000",
}


def setting(name: str) -> str | None:
    """The value of setting ``name`` (see the module docstring).

    :param name: one of :data:`DEFAULTS`.
    """
    fallback = os.environ.get(f"RIME_DEMO_{name.upper()}", DEFAULTS[name])
    try:
        from airflow.sdk import Variable

        value: Any = Variable.get(f"rime_demo_{name}", default=fallback)
    except Exception:
        # Outside a task (unit tests, scripts) there is no Variable API to ask.
        value = fallback
    return None if value in (None, "") else str(value)


def run_dir(run_id: str | None) -> Path:
    """The work directory of one DAG run (created if missing).

    :param run_id: the DAG run's id (``None`` outside a DAG run: directory ``manual``).
    """
    base = Path(setting("work_dir") or DEFAULTS["work_dir"] or ".")
    path = base / re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id or "manual")
    path.mkdir(parents=True, exist_ok=True)
    return path
