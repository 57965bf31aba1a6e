"""Test runs and their results: test cases, category results, batch results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from airflow_provider_rime.local import render
from airflow_provider_rime.local.api.deps import Db, Engine, Paged, PagedBySdk, Pager
from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.errors import InvalidInput
from airflow_provider_rime.local.services import results
from airflow_provider_rime.local.store.schema import TestRun
from airflow_provider_rime.rime_api.enums import TestType
from airflow_provider_rime.rime_api.paging import PageState

router = APIRouter(tags=["results"])

# The test run whose results a list is of, as rime-sdk names it for each list.
RunId = Annotated[str | None, Query(alias="testRunId")]
QueryRunId = Annotated[str | None, Query(alias="query.testRunId")]


def _required(value: Any, name: str) -> Any:
    # A filter that is optional on the wire because later pages carry it in their token.
    if not value:
        raise InvalidInput(f"{name} is required")
    return value


def _start_for_run(pager: Pager, test_run_id: str | None, param: str) -> tuple[PageState, str]:
    """A page of a list of one test run's results; ``param`` names the run's id on the wire."""
    state = pager.start({"r": test_run_id})
    return state, _required(state.query.get("r"), param)


def _render_test_run(s: Session, run: TestRun, engine: EngineContext) -> dict[str, Any]:
    return render.test_run(run, results.model_task_of(s, run), engine.settings.base_url)


@router.get("/v1/test-runs/{test_run_id}")
def read_test_run(test_run_id: str, engine: Engine, s: Db) -> dict[str, Any]:
    return {"testRun": _render_test_run(s, results.get_test_run(s, test_run_id), engine)}


@router.get("/v1/test-runs")
def list_test_runs(
    engine: Engine,
    s: Db,
    pager: Paged,
    project_id: Annotated[str | None, Query(alias="firstPageQuery.projectId.uuid")] = None,
    testing_type: Annotated[TestType, Query(alias="firstPageQuery.testingType")] = TestType.STRESS_TESTING,
) -> dict[str, Any]:
    state = pager.start({"p": project_id, "t": testing_type.value})
    project = _required(state.query.get("p"), "firstPageQuery.projectId.uuid")
    rows, total = results.list_test_runs(s, project, state.query["t"], state.offset, pager.size)
    return pager.page("testRuns", [_render_test_run(s, r, engine) for r in rows], state, total)


@router.get("/v1/test-cases")
def list_test_cases(
    s: Db,
    pager: PagedBySdk,
    test_run_id: Annotated[str | None, Query(alias="listTestCasesQuery.testRunId")] = None,
    test_types: Annotated[list[str], Query(alias="listTestCasesQuery.testTypes")] = [],  # noqa: B006
) -> dict[str, Any]:
    state = pager.start({"r": test_run_id, "types": [t for t in test_types if t]})
    run_id = _required(state.query.get("r"), "listTestCasesQuery.testRunId")
    docs, total = results.list_test_cases(s, run_id, state.query.get("types", []), state.offset, pager.size)
    return pager.page("testCases", docs, state, total)


@router.get("/v1/category-results/{test_run_id}")
def category_results(test_run_id: str, s: Db) -> dict[str, Any]:
    return {"categoryTestResults": results.category_results(s, test_run_id)}


@router.get("/v1/summary-tests")
def summary_tests(s: Db, pager: PagedBySdk, test_run_id: QueryRunId = None) -> dict[str, Any]:
    # Deprecated in rime-sdk in favour of category results, and the same documents.
    state, run_id = _start_for_run(pager, test_run_id, "query.testRunId")
    docs = results.category_results(s, run_id)
    return pager.page("summaryTestResults", docs[state.offset : state.offset + pager.size], state, len(docs))


@router.get("/v1/batch-results")
def batch_results(s: Db, pager: PagedBySdk, test_run_id: RunId = None) -> dict[str, Any]:
    state, run_id = _start_for_run(pager, test_run_id, "testRunId")
    docs, total = results.list_test_batches(s, run_id, state.offset, pager.size)
    return pager.page("testBatches", docs, state, total)


@router.get("/v1/test-runs/{test_run_id}/batch-result/{test_type}")
def batch_result(test_run_id: str, test_type: str, s: Db) -> dict[str, Any]:
    return {"testBatch": results.get_test_batch(s, test_run_id, test_type)}
