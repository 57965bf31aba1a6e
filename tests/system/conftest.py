"""Fixtures of the end-to-end tests: the example DAG folder on ``sys.path``, as in a deployment."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"

# Airflow puts the DAG folder on sys.path; the example DAG imports its helper package from there.
if str(EXAMPLE_DAGS) not in sys.path:
    sys.path.insert(0, str(EXAMPLE_DAGS))
