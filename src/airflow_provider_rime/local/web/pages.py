"""Server-rendered result pages at the URLs the API returns (``webAppUrl``, project URL)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from airflow_provider_rime.local import render as documents
from airflow_provider_rime.local.context import session
from airflow_provider_rime.local.errors import NotFound
from airflow_provider_rime.local.services import firewall, monitors, projects, results
from airflow_provider_rime.local.web import figures
from airflow_provider_rime.rime_api.enums import Severity, TestCategory, TestType
from airflow_provider_rime.rime_api.results import metric_value_of

router = APIRouter(include_in_schema=False)

#: Failing test cases listed on a test run's page, and how many of them show before "more".
FAILING_CASES_SHOWN = 200
FAILING_CASES_OPEN = 10


def _severity_label(value: str | None) -> str:
    """ "Passing", "Warning" or "Alert", as RIME's web app says it."""
    try:
        return Severity(value).label if value else ""
    except ValueError:
        return value or ""


def _severity_class(value: str | None) -> str:
    """The CSS class of a severity pill: pass, warning or alert."""
    try:
        return Severity(value).name.lower() if value else ""
    except ValueError:
        return ""


def _category_name(value: str | None) -> str:
    """A test category's name in RIME's web app."""
    try:
        return TestCategory(value).display_name if value else ""
    except ValueError:
        return value or ""


@lru_cache(maxsize=1)
def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("airflow_provider_rime.local.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["severity"] = _severity_label
    env.filters["sevclass"] = _severity_class
    env.filters["status"] = lambda s: (s or "").split("_STATUS_")[-1].replace("_", " ").lower()
    env.filters["category"] = _category_name
    env.filters["num"] = _fmt_number
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else ""
    return env


def _fmt_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def metric_value(metric: dict[str, Any]) -> Any:
    """A test metric's value as a page shows it: a list's first ten values, joined."""
    value = metric_value_of(metric)
    if isinstance(value, list):
        return ", ".join(_fmt_number(v) for v in value[:10])
    return "" if value is None else value


def render(name: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(
        templates()
        .get_template(name)
        .render(metric_value=metric_value, scalar_metrics=figures.scalar_metrics, **context)
    )


@router.get("/", response_class=HTMLResponse)
def home(s: Session = Depends(session)) -> HTMLResponse:
    return render("home.html", projects=projects.newest_first(s))


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(project_id: str, s: Session = Depends(session)) -> HTMLResponse:
    project = projects.get_project(s, project_id)
    fw = firewall.firewall_of_project(s, project_id)
    return render(
        "project.html",
        project=project,
        runs=results.project_test_runs(s, project_id, TestType.STRESS_TESTING.value),
        firewall=fw,
        bins=results.project_test_runs(s, project_id, TestType.CONTINUOUS_TESTING.value) if fw else [],
    )


@router.get("/projects/{project_id}/firewall", response_class=HTMLResponse)
def firewall_page(project_id: str, s: Session = Depends(session)) -> HTMLResponse:
    project = projects.get_project(s, project_id)
    fw = firewall.firewall_of_project(s, project_id)
    if fw is None:
        raise NotFound(f"project {project_id} has no continuous test (firewall) yet")
    overview = monitors.firewall_overview(s, fw)
    charted = figures.monitor_figures(overview, lambda run_id: documents.test_run_url("", project_id, run_id))
    return render(
        "firewall.html",
        project=project,
        overview=overview,
        bin_size=figures.bin_size_text(fw.bin_size_seconds),
        flagged_figures=[f for f in charted if f.severity != Severity.PASS.value],
        other_figures=[f for f in charted if f.severity == Severity.PASS.value],
        alert_bins=sum(1 for b in overview.bins if b.severity is Severity.ALERT),
        warning_bins=sum(1 for b in overview.bins if b.severity is Severity.WARNING),
        categories=[
            TestCategory(c).display_name for c in documents.project_continuous_test_categories(project)
        ],
        waiting=[series.monitor for series in overview.series if not series.points],
    )


@router.get("/projects/{project_id}/test-runs/{test_run_id}", response_class=HTMLResponse)
def test_run_page(project_id: str, test_run_id: str, s: Session = Depends(session)) -> HTMLResponse:
    run = results.get_test_run(s, test_run_id)
    if run.project_id != project_id:
        raise NotFound.named("test run", test_run_id)
    by_category: dict[str, list[dict[str, Any]]] = {}
    for batch in results.test_batches(s, run.id):
        by_category.setdefault(batch["testCategory"], []).append(batch)
    test_names = {b["testType"]: b["testName"] for batches in by_category.values() for b in batches}
    subset_types = [b["testType"] for b in by_category.get(TestCategory.SUBSET_PERFORMANCE.value, [])]
    limit = figures.CHARTS_PER_SECTION
    metrics = run.metrics or {}
    return render(
        "test_run.html",
        project=projects.get_project(s, project_id),
        run=run,
        job=results.job_of(s, run),
        metrics=metrics,
        summary=metrics.get("summaryCounts", {}),
        model_perf=metrics.get("modelPerf", {}),
        categories=results.category_results(s, run.id),
        batches_by_category=by_category,
        test_names=test_names,
        failing_cases=results.failing_test_cases(s, run.id, FAILING_CASES_SHOWN),
        failing_total=results.count_failing_test_cases(s, run.id),
        failing_open=FAILING_CASES_OPEN,
        drift_figures=figures.drift_figures(
            results.failing_test_cases(s, run.id, limit, figures.DISTRIBUTION_TESTS)
        ),
        subset_figures=figures.subset_figures(
            results.failing_test_cases(s, run.id, limit, subset_types), test_names
        ),
        calibration=figures.calibration_figure(
            results.list_test_cases(s, run.id, ["calibration_comparison"], 0, 1)[0]
        ),
    )
