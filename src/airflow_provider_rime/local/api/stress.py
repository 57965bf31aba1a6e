"""Config validation, starting stress tests, and jobs (rime-api.md §9, §10, §12)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from airflow_provider_rime.local.api.deps import ctx, select_page, session
from airflow_provider_rime.local.api.projects import get_project
from airflow_provider_rime.local.api.serialize import job_json
from airflow_provider_rime.local.api.wire import field, json_body, multi, now, page_response, paged
from airflow_provider_rime.local.errors import ApiError, bad_request, not_found
from airflow_provider_rime.local.jobs.status import CANCELLED, PENDING, TERMINAL, finish_job
from airflow_provider_rime.local.run_config import parse_stress_test_config
from airflow_provider_rime.local.store.schema import Dataset, Job, Model, TestRun

router = APIRouter()

CONFIG_TYPES = frozenset(
    {
        "CONFIG_TYPE_TEST_RUN",
        "CONFIG_TYPE_TEST_SUITE",
        "CONFIG_TYPE_TEST_RUN_INCREMENTAL",
        "CONFIG_TYPE_PROFILING",
        "CONFIG_TYPE_DATA_PROFILING",
        "CONFIG_TYPE_MODEL_PROFILING",
    }
)
CANCELLABLE = frozenset({"JOB_TYPE_MODEL_STRESS_TEST", "JOB_TYPE_FIREWALL_BATCH_TEST", "JOB_TYPE_FILE_SCAN"})


@router.post("/v1-beta/config-validator/{config_type}")
async def validate_config(config_type: str, request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if config_type not in CONFIG_TYPES:
        raise bad_request(f"config type {config_type!r} is not one of {', '.join(sorted(CONFIG_TYPES))}")
    raw = field(body, "configJson")
    if not isinstance(raw, str):
        raise bad_request("configJson is required: the config as a JSON string")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise bad_request(f"configJson is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise bad_request("configJson must encode an object")
    if config_type == "CONFIG_TYPE_TEST_RUN":
        await run_in_threadpool(parse_stress_test_config, config)
    return {}


def _check_registered(s: Session, project_id: str, ref_id: str, eval_id: str, model_id: str) -> None:
    for role, dataset_id in (("reference", ref_id), ("evaluation", eval_id)):
        ds = s.get(Dataset, dataset_id)
        if ds is None or ds.project_id != project_id:
            raise ApiError(404, f"the {role} dataset {dataset_id!r} is not registered in this project")
        if ds.validity_status == "VALIDITY_STATUS_INVALID":
            raise ApiError(
                400,
                f"the {role} dataset {ds.name!r} is invalid: {ds.validity_message}; register a fixed file",
            )
    model = s.get(Model, model_id)
    if model is None or model.project_id != project_id:
        raise ApiError(404, f"model {model_id!r} is not registered in this project")
    if model.validity_status == "VALIDITY_STATUS_INVALID":
        raise ApiError(400, f"model {model.name!r} is invalid: {model.validity_message}")


@router.post("/v1/stress-tests/{project_id}")
async def start_stress_test(
    project_id: str, request: Request, s: Session = Depends(session)
) -> dict[str, Any]:
    body = await json_body(request)
    get_project(s, project_id)
    # Off the event loop: the first parse may still be waiting for the catalogue's import.
    config = await run_in_threadpool(parse_stress_test_config, field(body, "testRunConfig"))
    _check_registered(s, project_id, config.ref_dataset_id, config.eval_dataset_id, config.model_id)
    job_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    created = now()
    job = Job(
        id=job_id,
        project_id=project_id,
        kind="stress_test",
        job_type="JOB_TYPE_MODEL_STRESS_TEST",
        status=PENDING,
        payload=config.to_payload(),
        test_run_id=run_id,
        created_at=created,
    )
    s.add(job)
    s.add(
        TestRun(
            id=run_id,
            project_id=project_id,
            job_id=job_id,
            name=config.run_name,
            status="TEST_TASK_STATUS_PENDING",
            testing_type="TEST_TYPE_STRESS_TESTING_UNSPECIFIED",
            model_id=config.model_id,
            ref_data_id=config.ref_dataset_id,
            eval_data_id=config.eval_dataset_id,
            config=config.raw,
            created_at=created,
        )
    )
    s.commit()
    ctx(request).runner.wake()
    return {"job": job_json(job)}


def get_job(s: Session, job_id: str) -> Job:
    job = s.get(Job, job_id)
    if job is None:
        raise not_found("job", job_id)
    return job


@router.get("/v1/jobs/project/{project_id}")
def list_project_jobs(project_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    first = {
        "p": project_id,
        "statuses": multi(request, "firstPageQuery.selectedStatuses"),
        "types": multi(request, "firstPageQuery.selectedTypes"),
    }
    offset, size, query = paged(request, first, default_size=20)
    get_project(s, query["p"])
    stmt = select(Job).where(Job.project_id == query["p"], Job.kind == "stress_test")
    if query.get("statuses"):
        stmt = stmt.where(Job.status.in_(query["statuses"]))
    if query.get("types"):
        stmt = stmt.where(Job.job_type.in_(query["types"]))
    rows, total = select_page(s, stmt.order_by(Job.created_at.desc(), Job.id), offset, size)
    return page_response("jobs", [job_json(j, full=False) for j in rows], offset, size, total, query)


@router.get("/v1/jobs/{job_id}")
def read_job(job_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    view = request.query_params.get("view", "JOB_VIEW_FULL")
    return {"job": job_json(get_job(s, job_id), full=view != "JOB_VIEW_BASIC")}


@router.get("/v1/jobs/{job_id}/test-run-id")
def read_job_test_run_id(job_id: str, s: Session = Depends(session)) -> dict[str, Any]:
    job = get_job(s, job_id)
    if not job.test_run_id:
        raise bad_request(f"job {job_id} has no test run")
    return {"testRunId": job.test_run_id}


@router.post("/v1/jobs/cancel/{job_id}")
async def cancel_job(job_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    await json_body(request)
    job = get_job(s, job_id)
    if job.job_type not in CANCELLABLE:
        raise bad_request(f"jobs of type {job.job_type} cannot be cancelled")
    if job.status in TERMINAL:
        return {}
    job.cancellation_requested = True
    if job.status == PENDING:
        finish_job(s, job_id, CANCELLED, "cancelled on request", only_if_running=True)
    s.commit()
    ctx(request).runner.wake()
    return {}


@router.get("/v1-beta/logs/{job_id}")
def job_logs(job_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    job = get_job(s, job_id)
    path = ctx(request).runner.log_path(job_id)
    chunk = ""
    if path.exists():
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            chunk = fh.read().decode(errors="replace")
    if job.error_msg:
        chunk += f"\n{job.status}: {job.error_msg}\n"
    return {"result": {"chunk": chunk}}
