"""Projects: create, find, list, delete."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.store.queries import get_existing, select_page
from airflow_provider_rime.local.store.schema import Job, Project
from airflow_provider_rime.rime_api.documents import CreateProjectRequest
from airflow_provider_rime.rime_api.enums import JobStatus
from airflow_provider_rime.rime_api.naming import utc_now


def get_project(s: Session, project_id: str) -> Project:
    """The project, or ``NotFound``."""
    return get_existing(s, Project, project_id, "project")


def create_project(s: Session, request: CreateProjectRequest) -> Project:
    """Store a new project (names need not be unique, as on RIME)."""
    # The request's fields are the project's columns (enums stored as their wire strings).
    project = Project(id=str(uuid.uuid4()), created_at=utc_now(), **request.model_dump(mode="json"))
    s.add(project)
    s.commit()
    return project


def list_projects(s: Session, name_contains: str | None, offset: int, size: int) -> tuple[list[Project], int]:
    """A page of projects, oldest first, optionally those whose name contains a text."""
    stmt = select(Project)
    if name_contains:
        # autoescape: "%" and "_" in the search are the characters, not LIKE wildcards.
        stmt = stmt.where(Project.name.contains(name_contains, autoescape=True))
    return select_page(s, stmt.order_by(Project.created_at, Project.id), offset, size)


def newest_first(s: Session) -> list[Project]:
    """Every project, newest first (the home page)."""
    return list(s.scalars(select(Project).order_by(Project.created_at.desc())).all())


def delete_project(engine: EngineContext, s: Session, project: Project) -> None:
    """Delete a project with everything in it; its running jobs are cancelled first."""
    active = (JobStatus.PENDING.value, JobStatus.RUNNING.value)
    running = s.scalars(select(Job.id).where(Job.project_id == project.id, Job.status.in_(active))).all()
    if running:
        # Cancel first, so no worker writes into a project that no longer exists.
        for job in s.scalars(select(Job).where(Job.id.in_(running))):
            job.cancellation_requested = True
        s.commit()
        engine.runner.wake()
    s.execute(delete(Job).where(Job.project_id == project.id, Job.id.not_in(running)))
    s.delete(project)
    s.commit()
