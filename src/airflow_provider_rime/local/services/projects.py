"""Projects: create, find, list, update, delete."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.errors import InvalidInput
from airflow_provider_rime.local.render import (
    CONTINUOUS_TEST_CHOICES,
    stress_test_categories,
)
from airflow_provider_rime.local.services.firewall import checked_mask, firewall_of_project, sync_monitors
from airflow_provider_rime.local.store.queries import get_existing, select_page
from airflow_provider_rime.local.store.schema import Job, Project
from airflow_provider_rime.rime_api.documents import (
    UPDATABLE_PROJECT_FIELDS,
    CreateProjectRequest,
    UpdateProjectRequest,
)
from airflow_provider_rime.rime_api.enums import JobStatus, TestCategory
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


def _categories(values: list[str] | None, allowed: list[str], field: str, kind: str) -> list[str] | None:
    """The chosen categories as wire names, in order, each once; ``None`` (the defaults) for none."""
    out: list[str] = []
    for value in values or []:
        try:
            name = TestCategory.parse(value).value
        except ValueError:
            name = None
        if name not in allowed:
            raise InvalidInput(
                f"{field}: {value!r} is not a {kind} category this engine runs; choose from "
                f"{', '.join(allowed)} (or send an empty list for all of them)"
            )
        if name not in out:
            out.append(name)
    return out or None


def update_project(s: Session, project: Project, request: UpdateProjectRequest) -> Project:
    """Apply the fields the mask names; an unknown path or a bad value changes nothing.

    Choosing continuous-test categories also keeps the project's firewall's monitors to them:
    a monitor of a dropped category goes (with its values and events), a new one's appear.
    """
    paths = checked_mask(request.mask_paths(), UPDATABLE_PROJECT_FIELDS)
    if request.project_id is not None and request.project_id.uuid != project.id:
        raise InvalidInput(f"projectId {request.project_id.uuid!r} does not match the path's {project.id!r}")
    body = request.project
    changes: dict[str, object] = {}
    if "name" in paths:
        if body.name is None:
            raise InvalidInput("project.name is required when the mask names name")
        changes["name"] = body.name
    for path, attribute in (
        ("description", "description"),
        ("useCase", "use_case"),
        ("ethicalConsideration", "ethical_consideration"),
    ):
        if path in paths:
            value = getattr(body, attribute)
            changes[attribute] = value if value is not None or attribute != "description" else ""
    if "stressTestCategories" in paths:
        changes["stress_test_categories"] = _categories(
            body.stress_test_categories,
            stress_test_categories(),
            "project.stressTestCategories",
            "stress-test",
        )
    if "continuousTestCategories" in paths:
        changes["continuous_test_categories"] = _categories(
            body.continuous_test_categories,
            [c.value for c in CONTINUOUS_TEST_CHOICES],
            "project.continuousTestCategories",
            "continuous-test",
        )
    for key, value in changes.items():
        setattr(project, key, value)
    if "continuousTestCategories" in paths:
        fw = firewall_of_project(s, project.id)
        if fw is not None:
            sync_monitors(s, fw, project)
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
