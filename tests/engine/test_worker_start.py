"""Job workers are forked from the engine's fork server, or (``RIME_LOCAL_FORK_SERVER=0``) started
as new interpreters; either way a validation and a stress test run to the end, and a cancel
stops the worker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import start_engine
from tests.engine import flow


@pytest.mark.parametrize(("setting", "how"), [("", "forked"), ("0", "new")])
def test_jobs_run_in_forked_or_new_workers(
    setting: str, how: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIME_LOCAL_FORK_SERVER", setting)
    data_dir = tmp_path_factory.mktemp(f"workers-{how}")
    engine = start_engine(data_dir)
    try:
        with engine.client() as api:
            project = flow.create_project(api, f"workers-{how}")
            data = Path(data_dir) / "data.csv"
            flow.labelled_frame(60, 1).to_csv(data, index=False)
            dataset = flow.register_dataset(api, project, "data", data)
            assert flow.wait_valid(api, dataset, timeout=120)["validityStatus"] == "VALIDITY_STATUS_VALID"
            job = flow.start_data_cleanliness_run(api, project, dataset, f"run-{how}")
            done = flow.wait_job(api, job["jobId"], timeout=120)
            assert done["status"] == "JOB_STATUS_SUCCEEDED", done.get("errorMsg")
            # The worker's own log (its stdout and stderr) is served as the job's log.
            log = flow.ok(api.get(f"/v1-beta/logs/{job['jobId']}"))["result"]["chunk"]
            assert "completed" in log and "test run" in log, log
    finally:
        engine.stop()
    started = re.findall(r"started in worker process \d+ \((\w+)\)", engine.log_path.read_text())
    assert started and set(started) == {how}, started
