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


def _schema_differences(database_url: str) -> list[object]:
    """What the migrations at head and the store's models disagree on (types included)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from airflow_provider_rime.local.store.db import make_engine, upgrade
    from airflow_provider_rime.local.store.schema import Base

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            return list(
                compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
            )
    finally:
        engine.dispose()


def _column_of(diff: object) -> tuple[object, ...]:
    """The (table, column) a column change of ``compare_metadata`` is about."""
    change = diff[0] if isinstance(diff, list) else diff
    return tuple(change[2:4]) if isinstance(change, tuple) else ()


def test_migrations_build_the_models_schema_on_sqlite(tmp_path):
    differences = _schema_differences(f"sqlite:///{tmp_path / 'store.db'}")
    # Migration 0005 leaves SQLite's datasets.size_bytes declared INTEGER: 64-bit there already.
    assert [d for d in differences if _column_of(d) != ("datasets", "size_bytes")] == []


_NOW = "'2026-12-01 00:00:00'"
#: Rows of every table a later migration rebuilds, or that refers to one, at the first revision.
_FIRST_ROWS = {
    "projects": f"(id, name, description, model_task, created_at) VALUES "
    f"('p', 'n', '', 'MODEL_TASK_BINARY_CLASSIFICATION', {_NOW})",
    "datasets": f"(id, project_id, name, data_info, size_bytes, validity_status, validity_message, "
    f"created_at) VALUES ('d', 'p', 'ds', '{{}}', 5, 'VALID', '', {_NOW})",
    "models": f"(id, project_id, name, validity_status, validity_message, created_at) VALUES "
    f"('m', 'p', 'mm', 'VALID', '', {_NOW})",
    "predictions": f"(model_id, dataset_id, project_id, pred_info, validity_status, validity_message, "
    f"created_at) VALUES ('m', 'd', 'p', '{{}}', 'VALID', '', {_NOW})",
    "test_runs": f"(id, project_id, job_id, name, status, testing_type, config, created_at) VALUES "
    f"('t', 'p', 'j', 'run', 'TEST_TASK_STATUS_COMPLETED', 'TEST_TYPE_STRESS_TEST', '{{}}', {_NOW})",
    "category_results": "(test_run_id, category, position, doc) VALUES ('t', 'c', 0, '{}')",
}


@pytest.mark.parametrize("since", ["0001", "0004_i8_categories"])
def test_upgrading_a_sqlite_store_keeps_its_rows(tmp_path, since):
    """A migration that rebuilds a table on SQLite must not cascade its drop to the rows that
    refer to it (0002 rebuilds ``test_runs``: its results went with it)."""
    from alembic import command

    from airflow_provider_rime.local.store.db import alembic_config, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, since)
    with engine.begin() as conn:
        for table, values in _FIRST_ROWS.items():
            conn.exec_driver_sql(f"INSERT INTO {table} {values}")
    upgrade(engine)
    with engine.connect() as conn:
        counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in _FIRST_ROWS}
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # enforced again after
    engine.dispose()
    assert counts == dict.fromkeys(_FIRST_ROWS, 1)


@pytest.mark.postgres
def test_migrations_build_the_models_schema_on_postgresql_and_sizes_are_64_bit(postgres_url):
    from datetime import datetime, timezone

    from airflow_provider_rime.local.store.db import make_engine, session_factory
    from airflow_provider_rime.local.store.schema import Dataset, Project

    assert _schema_differences(postgres_url) == []
    # A file over 2 GiB: the size overflowed a 32-bit column before migration 0005.
    size = 3 << 30
    engine = make_engine(postgres_url)
    now = datetime.now(timezone.utc)
    try:
        with session_factory(engine).begin() as s:
            s.add(Project(id="p", name="big", model_task="MODEL_TASK_BINARY_CLASSIFICATION", created_at=now))
            s.flush()
            s.add(
                Dataset(
                    id="d",
                    project_id="p",
                    name="big.parquet",
                    data_info={},
                    size_bytes=size,
                    validity_status="VALIDITY_STATUS_VALID",
                    created_at=now,
                )
            )
        with session_factory(engine)() as s:
            assert s.get(Dataset, "d").size_bytes == size
    finally:
        engine.dispose()
