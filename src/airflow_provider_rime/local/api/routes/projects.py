"""Projects: create, list, read, update, link, delete, workspace roles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from airflow_provider_rime.local import render
from airflow_provider_rime.local.api.deps import Db, Engine, ExistingProject, Paged
from airflow_provider_rime.local.services import firewall, projects
from airflow_provider_rime.rime_api.documents import (
    CreateProjectRequest,
    UpdateProjectRequest,
    UpdateWorkspaceRoleRequest,
)

router = APIRouter(tags=["projects"])


@router.post("/v1/projects")
def create_project(body: CreateProjectRequest, s: Db) -> dict[str, Any]:
    return {"project": render.project(projects.create_project(s, body), [])}


@router.get("/v1/projects")
def list_projects(
    s: Db,
    pager: Paged,
    search: Annotated[str | None, Query(alias="firstPageQuery.search.expression", max_length=500)] = None,
) -> dict[str, Any]:
    state = pager.start({"name": search})
    rows, total = projects.list_projects(s, state.query.get("name"), state.offset, pager.size)
    ids = firewall.firewall_ids(s, [p.id for p in rows])
    return pager.page("projects", [render.project_with_details(p, ids[p.id]) for p in rows], state, total)


@router.get("/v1/projects/{project_id}")
def read_project(project: ExistingProject, s: Db) -> dict[str, Any]:
    ids = firewall.firewall_ids(s, [project.id])[project.id]
    return {"project": render.project_with_details(project, ids)}


@router.put("/v1/projects/{project_id}")
def update_project(project: ExistingProject, body: UpdateProjectRequest, s: Db) -> dict[str, Any]:
    # rime-sdk: Project.update_ct_categories, update_stress_test_categories (a field mask).
    updated = projects.update_project(s, project, body)
    return {"project": render.project(updated, firewall.firewall_ids(s, [updated.id])[updated.id])}


@router.get("/v1/projects/{project_id}/url")
def read_project_url(project: ExistingProject, engine: Engine) -> dict[str, Any]:
    return {"url": {"url": render.project_url(engine.settings.base_url, project.id)}}


@router.delete("/v1/projects/{project_id}")
def delete_project(project: ExistingProject, engine: Engine, s: Db) -> dict[str, Any]:
    projects.delete_project(engine, s, project)
    return {}


@router.put("/v1/projects/{project_id}/role/workspace")
def set_workspace_role(
    project: ExistingProject, body: UpdateWorkspaceRoleRequest | None = None
) -> dict[str, Any]:
    # One user on a local engine: roles are accepted and have no effect.
    return {}
