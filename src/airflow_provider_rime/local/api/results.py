"""Reading test runs and their results (rime-api.md §11)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.api.deps import ctx, select_page, session
from airflow_provider_rime.local.api.serialize import test_run_json
from airflow_provider_rime.local.api.wire import multi, page_response, paged
from airflow_provider_rime.local.errors import bad_request, not_found
from airflow_provider_rime.local.store.schema import (
    CategoryResult,
    Project,
    TestBatchResult,
    TestCaseResult,
    TestRun,
)

router = APIRouter()


def get_test_run(s: Session, test_run_id: str) -> TestRun:
    run = s.get(TestRun, test_run_id)
    if run is None:
        raise not_found("test run", test_run_id)
    return run


def render_test_run(s: Session, run: TestRun, request: Request) -> dict[str, Any]:
    project = s.get(Project, run.project_id)
    model_task = project.model_task if project else "MODEL_TASK_UNSPECIFIED"
    return test_run_json(run, model_task, ctx(request).settings.base_url)


@router.get("/v1/test-runs/{test_run_id}")
def read_test_run(test_run_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    return {"testRun": render_test_run(s, get_test_run(s, test_run_id), request)}


@router.get("/v1/test-runs")
def list_test_runs(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    first = {
        "p": request.query_params.get("firstPageQuery.projectId.uuid"),
        "t": request.query_params.get("firstPageQuery.testingType") or "TEST_TYPE_STRESS_TESTING_UNSPECIFIED",
    }
    offset, size, query = paged(request, first)
    if not query.get("p"):
        raise bad_request("firstPageQuery.projectId.uuid is required")
    stmt = select(TestRun).where(TestRun.project_id == query["p"], TestRun.testing_type == query["t"])
    rows, total = select_page(s, stmt.order_by(TestRun.created_at.desc(), TestRun.id), offset, size)
    return page_response(
        "testRuns", [render_test_run(s, r, request) for r in rows], offset, size, total, query
    )


@router.get("/v1/test-cases")
def list_test_cases(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    first = {
        "r": request.query_params.get("listTestCasesQuery.testRunId"),
        "types": multi(request, "listTestCasesQuery.testTypes"),
    }
    offset, size, query = paged(request, first, default_size=20)
    if not query.get("r"):
        raise bad_request("listTestCasesQuery.testRunId is required")
    get_test_run(s, query["r"])
    stmt = select(TestCaseResult.doc).where(TestCaseResult.test_run_id == query["r"])
    if query.get("types"):
        stmt = stmt.where(TestCaseResult.test_type.in_(query["types"]))
    rows, total = select_page(s, stmt.order_by(TestCaseResult.id), offset, size)
    return page_response("testCases", list(rows), offset, size, total, query)


def _category_docs(s: Session, test_run_id: str) -> list[dict[str, Any]]:
    get_test_run(s, test_run_id)
    stmt = (
        select(CategoryResult.doc)
        .where(CategoryResult.test_run_id == test_run_id)
        .order_by(CategoryResult.position)
    )
    return list(s.scalars(stmt).all())


@router.get("/v1/category-results/{test_run_id}")
def category_results(test_run_id: str, s: Session = Depends(session)) -> dict[str, Any]:
    return {"categoryTestResults": _category_docs(s, test_run_id)}


@router.get("/v1/summary-tests")
def summary_tests(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    offset, size, query = paged(request, {"r": request.query_params.get("query.testRunId")}, default_size=20)
    if not query.get("r"):
        raise bad_request("query.testRunId is required")
    docs = _category_docs(s, query["r"])
    return page_response("summaryTestResults", docs[offset : offset + size], offset, size, len(docs), query)


@router.get("/v1/batch-results")
def batch_results(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    offset, size, query = paged(request, {"r": request.query_params.get("testRunId")}, default_size=20)
    if not query.get("r"):
        raise bad_request("testRunId is required")
    get_test_run(s, query["r"])
    stmt = select(TestBatchResult.doc).where(TestBatchResult.test_run_id == query["r"])
    rows, total = select_page(s, stmt.order_by(TestBatchResult.position), offset, size)
    return page_response("testBatches", list(rows), offset, size, total, query)


@router.get("/v1/test-runs/{test_run_id}/batch-result/{test_type}")
def batch_result(test_run_id: str, test_type: str, s: Session = Depends(session)) -> dict[str, Any]:
    get_test_run(s, test_run_id)
    batch = s.get(TestBatchResult, (test_run_id, test_type))
    if batch is None:
        raise not_found(f"test batch of test run {test_run_id}:", test_type)
    return {"testBatch": batch.doc}
