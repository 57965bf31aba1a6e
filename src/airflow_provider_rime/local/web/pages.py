"""Server-rendered result pages at the URLs the API returns (``webAppUrl``, project URL)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.api.deps import session
from airflow_provider_rime.local.errors import not_found
from airflow_provider_rime.local.store.schema import (
    CategoryResult,
    Job,
    Project,
    TestBatchResult,
    TestCaseResult,
    TestRun,
)

router = APIRouter(include_in_schema=False)

SEVERITY_LABEL = {"SEVERITY_PASS": "Passing", "SEVERITY_WARNING": "Warning", "SEVERITY_ALERT": "Alert"}


@lru_cache(maxsize=1)
def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("airflow_provider_rime.local.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["severity"] = lambda s: SEVERITY_LABEL.get(s, s or "")
    env.filters["sevclass"] = lambda s: (s or "").replace("SEVERITY_", "").lower()
    env.filters["status"] = lambda s: (s or "").split("_STATUS_")[-1].replace("_", " ").lower()
    env.filters["category"] = lambda s: (s or "").replace("TEST_CATEGORY_TYPE_", "").replace("_", " ").title()
    env.filters["num"] = _fmt_number
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else ""
    return env


def _fmt_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def metric_value(metric: dict[str, Any]) -> Any:
    for key in ("floatValue", "intValue", "strValue"):
        if key in metric:
            return metric[key]
    for key in ("floatList", "intList", "strList"):
        if key in metric:
            return ", ".join(_fmt_number(v) for v in metric[key].get("values", [])[:10])
    return ""


def render(name: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates().get_template(name).render(metric_value=metric_value, **context))


@router.get("/", response_class=HTMLResponse)
def home(s: Session = Depends(session)) -> HTMLResponse:
    projects = s.scalars(select(Project).order_by(Project.created_at.desc())).all()
    return render("home.html", projects=projects)


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(project_id: str, s: Session = Depends(session)) -> HTMLResponse:
    project = s.get(Project, project_id)
    if project is None:
        raise not_found("project", project_id)
    runs = s.scalars(
        select(TestRun).where(TestRun.project_id == project_id).order_by(TestRun.created_at.desc())
    ).all()
    return render("project.html", project=project, runs=runs)


@router.get("/projects/{project_id}/test-runs/{test_run_id}", response_class=HTMLResponse)
def test_run_page(
    project_id: str, test_run_id: str, request: Request, s: Session = Depends(session)
) -> HTMLResponse:
    run = s.get(TestRun, test_run_id)
    if run is None or run.project_id != project_id:
        raise not_found("test run", test_run_id)
    project = s.get_one(Project, project_id)
    job = s.get(Job, run.job_id)
    categories = s.scalars(
        select(CategoryResult.doc)
        .where(CategoryResult.test_run_id == run.id)
        .order_by(CategoryResult.position)
    ).all()
    batches = s.scalars(
        select(TestBatchResult.doc)
        .where(TestBatchResult.test_run_id == run.id)
        .order_by(TestBatchResult.position)
    ).all()
    cases = s.scalars(
        select(TestCaseResult.doc)
        .where(TestCaseResult.test_run_id == run.id, TestCaseResult.severity != "SEVERITY_PASS")
        .order_by(TestCaseResult.importance.desc())
        .limit(200)
    ).all()
    by_category: dict[str, list[dict[str, Any]]] = {}
    for batch in batches:
        by_category.setdefault(batch["testCategory"], []).append(batch)
    metrics = run.metrics or {}
    return render(
        "test_run.html",
        project=project,
        run=run,
        job=job,
        metrics=metrics,
        summary=metrics.get("summaryCounts", {}),
        model_perf=metrics.get("modelPerf", {}),
        categories=categories,
        batches_by_category=by_category,
        failing_cases=cases,
    )
