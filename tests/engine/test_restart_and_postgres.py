"""Durability: a killed engine loses no finished result and leaves no job RUNNING forever;
the same engine runs on PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import engine_api, start_engine

# Only Model Performance (start_labelled_run): these tests are about durability, not the catalogue.
from tests.engine.flow import create_project, ok, start_labelled_run, wait_job, wait_until

PG_ADMIN_URL = os.environ.get(
    "RIME_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def test_killed_engine_keeps_results_and_ends_interrupted_job(tmp_path_factory, tmp_path):
    data_dir = tmp_path_factory.mktemp("restart")
    with engine_api(data_dir, killed=True) as api:
        project = create_project(api, "restart")
        finished = start_labelled_run(api, tmp_path, project, "done", 1000)
        assert wait_job(api, finished["jobId"])["status"] == "JOB_STATUS_SUCCEEDED"
        run_id = finished["jobData"]["stress"]["testRunId"]
        before = ok(api.get(f"/v1/test-runs/{run_id}"))["testRun"]
        cases_before = ok(
            api.get("/v1/test-cases", params={"listTestCasesQuery.testRunId": run_id, "pageSize": 500})
        )

        big = start_labelled_run(api, tmp_path, project, "interrupted", 200_000, seeds=(3, 4), shift=0.4)
        wait_until(
            lambda: ok(api.get(f"/v1/jobs/{big['jobId']}"))["job"]["status"] == "JOB_STATUS_RUNNING",
            60,
            "the big job never started",
        )

    with engine_api(data_dir) as api:
        after = ok(api.get(f"/v1/test-runs/{run_id}"))["testRun"]
        assert after["status"] == "TEST_TASK_STATUS_COMPLETED"
        assert after["metrics"] == before["metrics"]
        cases_after = ok(
            api.get("/v1/test-cases", params={"listTestCasesQuery.testRunId": run_id, "pageSize": 500})
        )
        assert cases_after["testCases"] == cases_before["testCases"]
        ended = wait_job(api, big["jobId"], timeout=90)
        assert ended["status"] in ("JOB_STATUS_FAILED", "JOB_STATUS_SUCCEEDED")
        if ended["status"] == "JOB_STATUS_FAILED":
            assert "engine" in ended["errorMsg"] and "stopped" in ended["errorMsg"]


@pytest.fixture
def postgres_url():
    sqlalchemy = pytest.importorskip("sqlalchemy")
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"rime_local_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sqlalchemy.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.mark.postgres
def test_engine_on_postgresql(tmp_path_factory, tmp_path, postgres_url):
    engine = start_engine(tmp_path_factory.mktemp("pg"), database_url=postgres_url)
    try:
        with engine.client() as api:
            project = create_project(api, "on-postgres")
            job = start_labelled_run(api, tmp_path, project, "pg", 1500, shift=0.5)
            done = wait_job(api, job["jobId"])
            assert done["status"] == "JOB_STATUS_SUCCEEDED", done
            run = ok(api.get(f"/v1/test-runs/{job['jobData']['stress']['testRunId']}"))["testRun"]
            assert int(run["metrics"]["summaryCounts"]["total"]) > 0
    finally:
        engine.stop()
    # A second engine on the same store sees everything (schema already at head).
    again = start_engine(tmp_path_factory.mktemp("pg2"), database_url=postgres_url)
    try:
        with again.client() as api:
            names = [p["project"]["name"] for p in ok(api.get("/v1/projects"))["projects"]]
            assert "on-postgres" in names
    finally:
        again.stop()
