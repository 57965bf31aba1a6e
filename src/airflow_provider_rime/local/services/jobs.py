"""Jobs: read, list, cancel, and their logs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.errors import InvalidInput
from airflow_provider_rime.local.jobs.status import finish_job
from airflow_provider_rime.local.store.queries import get_existing, select_page
from airflow_provider_rime.local.store.schema import Job, JobKind
from airflow_provider_rime.rime_api.enums import JobStatus, JobType

#: How much of a job's log ``GET /v1-beta/logs/{jobId}`` returns: the end, where the error is.
LOG_TAIL_BYTES = 256 * 1024


def get_job(s: Session, job_id: str) -> Job:
    """The job, or ``NotFound``."""
    return get_existing(s, Job, job_id, "job")


def list_stress_test_jobs(
    s: Session,
    project_id: str,
    statuses: list[str],
    types: list[str],
    offset: int,
    size: int,
) -> tuple[list[Job], int]:
    """A page of a project's stress-test and continuous-test jobs, newest first, filtered by status
    and type (as RIME lists them; registry validations are not listed)."""
    listed = (JobKind.STRESS_TEST.value, JobKind.CONTINUOUS_TEST.value)
    stmt = select(Job).where(Job.project_id == project_id, Job.kind.in_(listed))
    if statuses:
        stmt = stmt.where(Job.status.in_(statuses))
    if types:
        stmt = stmt.where(Job.job_type.in_(types))
    return select_page(s, stmt.order_by(Job.created_at.desc(), Job.id), offset, size)


def test_run_id_of(job: Job) -> str:
    """The id of the test run a job produces."""
    if not job.test_run_id:
        raise InvalidInput(f"job {job.id} has no test run")
    return job.test_run_id


def cancel_job(engine: EngineContext, s: Session, job_id: str) -> None:
    """Ask for a job to stop; a queued job ends at once, a running one when its worker is stopped."""
    job = get_job(s, job_id)
    if not JobType(job.job_type).is_cancellable:
        raise InvalidInput(f"jobs of type {job.job_type} cannot be cancelled")
    if JobStatus(job.status).is_terminal:
        return
    job.cancellation_requested = True
    if job.status == JobStatus.PENDING:
        finish_job(s, job_id, JobStatus.CANCELLED, "cancelled on request", only_if_running=True)
    s.commit()
    engine.runner.wake()


def job_log(engine: EngineContext, job: Job) -> str:
    """The end of the job's worker log, and the job's error when it failed."""
    path = engine.runner.log_path(job.id)
    chunk = ""
    if path.exists():
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - LOG_TAIL_BYTES))
            chunk = fh.read().decode(errors="replace")
    if job.error_msg:
        chunk += f"\n{job.status}: {job.error_msg}\n"
    return chunk
