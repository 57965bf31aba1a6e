"""Job and test-run status names, and the one place that ends a job."""

from __future__ import annotations

from sqlalchemy.orm import Session

from airflow_provider_rime.local.api.wire import now
from airflow_provider_rime.local.store.schema import Job, TestRun

PENDING = "JOB_STATUS_PENDING"
RUNNING = "JOB_STATUS_RUNNING"
SUCCEEDED = "JOB_STATUS_SUCCEEDED"
FAILED = "JOB_STATUS_FAILED"
CANCELLED = "JOB_STATUS_CANCELLED"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})

TEST_RUN_STATUS = {
    PENDING: "TEST_TASK_STATUS_PENDING",
    RUNNING: "TEST_TASK_STATUS_RUNNING",
    SUCCEEDED: "TEST_TASK_STATUS_COMPLETED",
    FAILED: "TEST_TASK_STATUS_FAILED",
    CANCELLED: "TEST_TASK_STATUS_CANCELLED",
}


def finish_job(
    session: Session, job_id: str, status: str, error_msg: str = "", *, only_if_running: bool
) -> bool:
    """Move a job (and its test run) to a terminal status; False if it already ended."""
    job = session.get(
        Job, job_id, with_for_update=session.bind is not None and session.bind.dialect.name != "sqlite"
    )
    if job is None or job.status in TERMINAL:
        return False
    if only_if_running and job.status not in (PENDING, RUNNING):
        return False
    job.status = status
    job.completed_at = now()
    if error_msg:
        job.error_msg = error_msg
    if job.test_run_id:
        run = session.get(TestRun, job.test_run_id)
        if run is not None and run.status not in ("TEST_TASK_STATUS_COMPLETED",):
            run.status = TEST_RUN_STATUS[status]
            run.completed_at = job.completed_at
    if job.progress:
        progress = dict(job.progress)
        progress["status"] = TEST_RUN_STATUS[status]
        job.progress = progress
    return True
