"""Projects (rime-api.md §4, §12)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.api.deps import ctx, select_page, session
from airflow_provider_rime.local.api.serialize import project_json, project_url, project_with_details
from airflow_provider_rime.local.api.wire import field, json_body, now, page_response, paged
from airflow_provider_rime.local.errors import bad_request, not_found
from airflow_provider_rime.local.store.schema import Job, Project

router = APIRouter()

MODEL_TASKS = frozenset(
    {
        "MODEL_TASK_UNSPECIFIED",
        "MODEL_TASK_REGRESSION",
        "MODEL_TASK_BINARY_CLASSIFICATION",
        "MODEL_TASK_MULTICLASS_CLASSIFICATION",
        "MODEL_TASK_NAMED_ENTITY_RECOGNITION",
        "MODEL_TASK_RANKING",
        "MODEL_TASK_OBJECT_DETECTION",
        "MODEL_TASK_NATURAL_LANGUAGE_INFERENCE",
        "MODEL_TASK_FILL_MASK",
        "MODEL_TASK_ANOMALY_DETECTION",
    }
)


def get_project(s: Session, project_id: str) -> Project:
    project = s.get(Project, project_id)
    if project is None:
        raise not_found("project", project_id)
    return project


@router.post("/v1/projects")
async def create_project(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    body = await json_body(request)
    name = field(body, "name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name is required and must be a non-empty string")
    model_task = field(body, "modelTask") or "MODEL_TASK_UNSPECIFIED"
    if model_task not in MODEL_TASKS:
        raise bad_request(f"modelTask {model_task!r} is not one of {', '.join(sorted(MODEL_TASKS))}")
    description = field(body, "description") or ""
    if not isinstance(description, str):
        raise bad_request("description must be a string")
    for key in ("profilingConfig", "runTimeInfo"):
        value = field(body, key)
        if value is not None and not isinstance(value, dict):
            raise bad_request(f"{key} must be an object")
    project = Project(
        id=str(uuid.uuid4()),
        name=name.strip(),
        description=description,
        model_task=model_task,
        use_case=field(body, "useCase"),
        ethical_consideration=field(body, "ethicalConsideration"),
        profiling_config=field(body, "profilingConfig"),
        run_time_info=field(body, "runTimeInfo"),
        created_at=now(),
    )
    s.add(project)
    s.commit()
    return {"project": project_json(project)}


@router.get("/v1/projects")
def list_projects(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    offset, size, query = paged(
        request, {"name": request.query_params.get("firstPageQuery.search.expression")}
    )
    stmt = select(Project)
    if query.get("name"):
        stmt = stmt.where(Project.name.contains(query["name"]))
    rows, total = select_page(s, stmt.order_by(Project.created_at, Project.id), offset, size)
    return page_response("projects", [project_with_details(p) for p in rows], offset, size, total, query)


@router.get("/v1/projects/{project_id}")
def read_project(project_id: str, s: Session = Depends(session)) -> dict[str, Any]:
    return {"project": project_with_details(get_project(s, project_id))}


@router.get("/v1/projects/{project_id}/url")
def read_project_url(project_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    get_project(s, project_id)
    return {"url": {"url": project_url(ctx(request).settings.base_url, project_id)}}


@router.delete("/v1/projects/{project_id}")
def delete_project(project_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    project = get_project(s, project_id)
    running = s.scalars(
        select(Job.id).where(
            Job.project_id == project_id, Job.status.in_(["JOB_STATUS_PENDING", "JOB_STATUS_RUNNING"])
        )
    ).all()
    if running:
        # Cancel first, so no worker writes into a project that no longer exists.
        for job in s.scalars(select(Job).where(Job.id.in_(running))):
            job.cancellation_requested = True
        s.commit()
        ctx(request).runner.wake()
    s.execute(delete(Job).where(Job.project_id == project_id, Job.id.not_in(running)))
    s.delete(project)
    s.commit()
    return {}


@router.put("/v1/projects/{project_id}/role/workspace")
async def set_workspace_role(
    project_id: str, request: Request, s: Session = Depends(session)
) -> dict[str, Any]:
    get_project(s, project_id)
    body = await json_body(request)
    pairs = field(body, "rolePairs")
    if pairs is not None and not isinstance(pairs, list):
        raise bad_request("rolePairs must be a list")
    # One user on a local engine: roles are accepted and have no effect.
    json.dumps(pairs)
    return {}
