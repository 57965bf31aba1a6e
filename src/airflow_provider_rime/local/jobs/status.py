"""The one place that ends a job (and its test run)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.store.schema import Job, TestRun
from airflow_provider_rime.rime_api.enums import JobStatus, TestTaskStatus
from airflow_provider_rime.rime_api.naming import utc_now


def finish_job(
    session: Session, job_id: str, status: JobStatus, error_msg: str = "", *, only_if_running: bool
) -> bool:
    """Move a job (and its test run) to a terminal status; False if it already ended."""
    job = session.get(
        Job, job_id, with_for_update=session.bind is not None and session.bind.dialect.name != "sqlite"
    )
    if job is None or JobStatus(job.status).is_terminal:
        return False
    if only_if_running and job.status not in (JobStatus.PENDING, JobStatus.RUNNING):
        return False
    run_status = TestTaskStatus.for_job(status)
    job.status = status.value
    job.completed_at = utc_now()
    if error_msg:
        job.error_msg = error_msg
    # The job's test runs (a continuous test has one per bin) that did not complete end with it.
    runs = select(TestRun).where(
        (TestRun.job_id == job_id) | (TestRun.id == (job.test_run_id or "")),
        TestRun.status != TestTaskStatus.COMPLETED.value,
    )
    for run in session.scalars(runs):
        run.status = run_status.value
        run.completed_at = job.completed_at
    if job.progress:
        job.progress = {**job.progress, "status": run_status.value}
    return True
