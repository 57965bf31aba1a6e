"""Jobs: list a project's stress tests, read one, cancel it, read its log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from airflow_provider_rime.local import render
from airflow_provider_rime.local.api.deps import Db, Engine, ExistingProject, PagedBySdk
from airflow_provider_rime.local.services import firewall, jobs
from airflow_provider_rime.rime_api.enums import JobStatus, JobType, JobView

router = APIRouter(tags=["jobs"])

# The filters of a project's job list (FastAPI copies the ``[]`` defaults per request).
Statuses = Annotated[list[JobStatus], Query(alias="firstPageQuery.selectedStatuses")]
Types = Annotated[list[JobType], Query(alias="firstPageQuery.selectedTypes")]


@router.get("/v1/jobs/project/{project_id}")
def list_project_jobs(
    project: ExistingProject,
    s: Db,
    pager: PagedBySdk,
    statuses: Statuses = [],  # noqa: B006
    types: Types = [],  # noqa: B006
) -> dict[str, Any]:
    state = pager.start({"statuses": [st.value for st in statuses], "types": [ty.value for ty in types]})
    rows, total = jobs.list_stress_test_jobs(
        s, project.id, state.query.get("statuses", []), state.query.get("types", []), state.offset, pager.size
    )
    return pager.page("jobs", [render.job(j, full=False) for j in rows], state, total)


@router.get("/v1/jobs/{job_id}")
def read_job(job_id: str, s: Db, view: JobView = JobView.FULL) -> dict[str, Any]:
    job = jobs.get_job(s, job_id)
    return {"job": render.job(job, full=view is not JobView.BASIC, bin_runs=firewall.bin_runs_of_job(s, job))}


@router.get("/v1/jobs/{job_id}/test-run-id")
def read_job_test_run_id(job_id: str, s: Db) -> dict[str, Any]:
    return {"testRunId": jobs.test_run_id_of(jobs.get_job(s, job_id))}


@router.post("/v1/jobs/cancel/{job_id}")
def cancel_job(job_id: str, engine: Engine, s: Db) -> dict[str, Any]:
    # rime-sdk sends the body `{}`: there is nothing in it to read.
    jobs.cancel_job(engine, s, job_id)
    return {}


@router.get("/v1-beta/logs/{job_id}")
def job_logs(job_id: str, engine: Engine, s: Db) -> dict[str, Any]:
    return render.job_logs(jobs.job_log(engine, jobs.get_job(s, job_id)))
