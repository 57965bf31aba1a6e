"""Job workers are forked from the engine's fork server, or (``RIME_LOCAL_FORK_SERVER=0``) started
as new interpreters; either way a validation and a stress test run to the end, with the worker's
output as the job's log."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import start_engine
from tests.engine import flow


def run_jobs(api: Any, data_dir: Path, name: str) -> None:
    """A dataset validated, then a Data Cleanliness stress test of it, both to the end."""
    project = flow.create_project(api, name)
    data = data_dir / f"{name}.csv"
    flow.labelled_frame(60, 1).to_csv(data, index=False)
    dataset = flow.register_dataset(api, project, "data", data)
    assert flow.wait_valid(api, dataset, timeout=120)["validityStatus"] == "VALIDITY_STATUS_VALID"
    job = flow.start_data_cleanliness_run(api, project, dataset, f"run-{name}")
    done = flow.wait_job(api, job["jobId"], timeout=120)
    assert done["status"] == "JOB_STATUS_SUCCEEDED", done.get("errorMsg")
    log = flow.ok(api.get(f"/v1-beta/logs/{job['jobId']}"))["result"]["chunk"]
    assert "completed" in log and "test run" in log, log


def worker_starts(engine_log: Path) -> set[str]:
    """How the engine started its workers: ``forked`` and/or ``new``."""
    return set(re.findall(r"started in worker process \d+ \((\w+)\)", engine_log.read_text()))


def test_the_engine_forks_its_workers(api: Any, rime_engine: Any, tmp_path: Path) -> None:
    run_jobs(api, tmp_path, "forked-workers")
    assert worker_starts(rime_engine.log_path) == {"forked"}


def test_without_the_fork_server_each_worker_is_a_new_interpreter(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIME_LOCAL_FORK_SERVER", "0")
    data_dir = tmp_path_factory.mktemp("new-workers")
    engine = start_engine(data_dir)
    try:
        with engine.client() as api:
            run_jobs(api, data_dir, "new-workers")
    finally:
        engine.stop()
    assert worker_starts(engine.log_path) == {"new"}
