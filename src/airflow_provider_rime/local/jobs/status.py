"""The one place that ends a job (and its test run, or the registry entry it validates)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.store.schema import Dataset, Job, JobKind, Model, Prediction, TestRun
from airflow_provider_rime.rime_api.enums import JobStatus, TestTaskStatus, ValidityStatus
from airflow_provider_rime.rime_api.naming import utc_now


class Cancelled(Exception):
    """Raised inside a job when a cancel was requested; the worker ends the job CANCELLED."""


def _validated_entry(session: Session, job: Job) -> Dataset | Model | Prediction | None:
    """The registry entry a validation job checks (``None`` for other jobs or a deleted entry)."""
    payload = job.payload or {}
    try:
        if job.kind == JobKind.VALIDATE_DATASET:
            return session.get(Dataset, payload["dataset_id"])
        if job.kind == JobKind.VALIDATE_MODEL:
            return session.get(Model, payload["model_id"])
        if job.kind == JobKind.VALIDATE_PREDICTIONS:
            return session.get(Prediction, (payload["model_id"], payload["dataset_id"]))
    except KeyError:
        return None
    return None


def finish_job(
    session: Session, job_id: str, status: JobStatus, error_msg: str = "", *, only_if_running: bool
) -> bool:
    """Move a job (and its test run) to a terminal status; False if it already ended.

    A validation job that ends without a verdict (its worker died, the engine stopped, it ran
    too long, it was cancelled) leaves its registry entry INVALID with the job's message, never
    PENDING: nothing waits forever on an entry no job will ever validate.
    """
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
    if status is not JobStatus.SUCCEEDED:
        entry = _validated_entry(session, job)
        if entry is not None and entry.validity_status == ValidityStatus.PENDING:
            entry.validity_status = ValidityStatus.INVALID.value
            entry.validity_message = (
                f"validation did not finish: {error_msg or status.value}; register the entry again"
            )
    return True


def fail_running_job(session: Session, job_id: str, error_msg: str) -> bool:
    """Fail a job that is still pending or running (``finish_job`` with ``only_if_running``)."""
    return finish_job(session, job_id, JobStatus.FAILED, error_msg, only_if_running=True)
