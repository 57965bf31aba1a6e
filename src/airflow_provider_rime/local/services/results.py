"""Test runs and their stored results: batches, test cases, category results."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.store.queries import get_existing, select_page
from airflow_provider_rime.local.store.schema import (
    CategoryResult,
    Job,
    Project,
    TestBatchResult,
    TestCaseResult,
    TestRun,
)
from airflow_provider_rime.rime_api.enums import ModelTask, Severity


def get_test_run(s: Session, test_run_id: str) -> TestRun:
    """The test run, or ``NotFound``."""
    return get_existing(s, TestRun, test_run_id, "test run")


def model_task_of(s: Session, run: TestRun) -> str:
    """The model task of the run's project (test runs report it)."""
    project = s.get(Project, run.project_id)
    return project.model_task if project else ModelTask.UNSPECIFIED.value


def list_test_runs(
    s: Session, project_id: str, testing_type: str, offset: int, size: int
) -> tuple[list[TestRun], int]:
    """A page of a project's test runs of one testing type, newest first."""
    stmt = select(TestRun).where(TestRun.project_id == project_id, TestRun.testing_type == testing_type)
    return select_page(s, stmt.order_by(TestRun.created_at.desc(), TestRun.id), offset, size)


def project_test_runs(s: Session, project_id: str, testing_type: str | None = None) -> list[TestRun]:
    """A project's test runs (optionally of one testing type), newest first (the project page)."""
    stmt = select(TestRun).where(TestRun.project_id == project_id)
    if testing_type is not None:
        stmt = stmt.where(TestRun.testing_type == testing_type)
    return list(s.scalars(stmt.order_by(TestRun.created_at.desc())).all())


def list_test_cases(
    s: Session, test_run_id: str, test_types: list[str], offset: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of a test run's test cases (optionally of some test types), in the order they ran."""
    get_test_run(s, test_run_id)
    stmt = select(TestCaseResult.doc).where(TestCaseResult.test_run_id == test_run_id)
    if test_types:
        stmt = stmt.where(TestCaseResult.test_type.in_(test_types))
    return select_page(s, stmt.order_by(TestCaseResult.id), offset, size)


def failing_test_cases(
    s: Session, test_run_id: str, limit: int, test_types: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The test cases with a warning or an alert (optionally of some test types): alerts
    first, then warnings, each by importance."""
    alerts_first = case((TestCaseResult.severity == Severity.ALERT.value, 0), else_=1)
    stmt = select(TestCaseResult.doc).where(
        TestCaseResult.test_run_id == test_run_id,
        TestCaseResult.severity.in_([Severity.ALERT.value, Severity.WARNING.value]),
    )
    if test_types is not None:
        stmt = stmt.where(TestCaseResult.test_type.in_(list(test_types)))
    stmt = stmt.order_by(alerts_first, TestCaseResult.importance.desc(), TestCaseResult.id).limit(limit)
    return list(s.scalars(stmt).all())


def count_failing_test_cases(s: Session, test_run_id: str) -> int:
    """How many of the run's test cases have a warning or an alert."""
    stmt = select(func.count()).where(
        TestCaseResult.test_run_id == test_run_id,
        TestCaseResult.severity.in_([Severity.ALERT.value, Severity.WARNING.value]),
    )
    return int(s.scalar(stmt) or 0)


def category_results(s: Session, test_run_id: str) -> list[dict[str, Any]]:
    """The test run's category results, in the order the categories ran."""
    get_test_run(s, test_run_id)
    stmt = (
        select(CategoryResult.doc)
        .where(CategoryResult.test_run_id == test_run_id)
        .order_by(CategoryResult.position)
    )
    return list(s.scalars(stmt).all())


def _batches(test_run_id: str) -> Select[tuple[dict[str, Any]]]:
    return (
        select(TestBatchResult.doc)
        .where(TestBatchResult.test_run_id == test_run_id)
        .order_by(TestBatchResult.position)
    )


def list_test_batches(
    s: Session, test_run_id: str, offset: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the test run's batch results, in the order the tests ran."""
    get_test_run(s, test_run_id)
    return select_page(s, _batches(test_run_id), offset, size)


def test_batches(s: Session, test_run_id: str) -> list[dict[str, Any]]:
    """All of the test run's batch results, in the order the tests ran (the result page)."""
    return list(s.scalars(_batches(test_run_id)).all())


def get_test_batch(s: Session, test_run_id: str, test_type: str) -> dict[str, Any]:
    """One test type's batch result."""
    get_test_run(s, test_run_id)
    return get_existing(s, TestBatchResult, (test_run_id, test_type), "test batch").doc


def job_of(s: Session, run: TestRun) -> Job | None:
    """The job that produced the test run."""
    return s.get(Job, run.job_id)
