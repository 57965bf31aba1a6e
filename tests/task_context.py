"""What an operator's ``execute`` gets from Airflow, stood in for: the task instance and its context.

The provider tests (real engine) and the unit tests (recorded responses) call operators
directly with these; the DAG-run tests use the real task runner instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskInstanceStandIn:
    """What an operator's ``execute`` uses of ``context["ti"]``: ids and ``xcom_push`` (recorded)."""

    dag_id: str = "provider_tests"
    task_id: str = "stress_test"
    run_id: str = field(default_factory=lambda: f"manual__{uuid.uuid4().hex[:8]}")
    map_index: int = -1
    try_number: int = 1
    stats_tags: dict[str, str] = field(default_factory=dict)
    xcom: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


class TaskStateStore(dict):
    """The ``task_state_store`` interface (get/set) that Airflow 3.3 hands a task."""

    def set(self, key: str, value: Any, **_: Any) -> None:
        self[key] = value


def make_context(ti: TaskInstanceStandIn, store: TaskStateStore | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"ti": ti, "task_instance": ti, "run_id": ti.run_id}
    if store is not None:
        context["task_state_store"] = store
    return context
