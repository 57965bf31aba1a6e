"""The firewall pipeline's production database and its SQL fetch, on SQLite and PostgreSQL.

Real parts: the demo's loader writes the production month into a SQLite file and into the
PostgreSQL server at 127.0.0.1:5432 (db ``test``); the rows come back through Airflow
connections of those types and common-sql's ``DbApiHook.get_df``.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from airflow_provider_rime.exceptions import RimeSqlFetchError
from airflow_provider_rime.utils.sql import fetch_dataframe

PG_URL = os.environ.get("RIME_TEST_PRODUCTION_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def small_month(rows_per_day: int = 20, days: int = 3):
    """Generated production rows of the walkthrough's schema: ``days`` days from 2018-08-01."""
    from rime_dev.datagen import generate_fraud

    return generate_fraud(rows_per_day * days, seed=5, start="2018-08-01", days=days, with_pred=False)


def add_connection(conn_id: str, conn_type: str, **fields: object) -> str:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        session.add(Connection(conn_id=conn_id, conn_type=conn_type, **fields))
    return conn_id


def day_query(table: str, day: str, next_day: str) -> str:
    return f"SELECT * FROM {table} WHERE timestamp >= '{day}' AND timestamp < '{next_day}'"


@pytest.fixture(scope="module")
def month():
    return small_month()


@pytest.fixture(scope="module")
def sqlite_production(airflow_db, tmp_path_factory, month) -> str:
    from rime_demo.production import load_production_db

    path = tmp_path_factory.mktemp("production") / "production.db"
    assert load_production_db(str(path), frame=month) == len(month)
    return add_connection("production_sqlite", "sqlite", host=str(path))


@pytest.fixture(scope="module")
def postgres_production(airflow_db, month):
    """The month in a table of its own in PostgreSQL db ``test`` (dropped afterwards)."""
    import sqlalchemy as sa
    from rime_demo.production import load_production_db

    table = f"fraud_production_{uuid.uuid4().hex[:8]}"
    try:
        load_production_db(PG_URL, table=table, frame=month)
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}: {str(exc).splitlines()[0]}")
    conn_id = add_connection(
        "production_postgres", "postgres", host="127.0.0.1", port=5432, login="postgres", schema="test"
    )
    yield conn_id, table
    engine = sa.create_engine(PG_URL)
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')
    engine.dispose()


def test_loader_writes_once_and_replaces_only_when_asked(tmp_path, month):
    from rime_demo.production import load_production_db

    path = str(tmp_path / "p.db")
    assert load_production_db(path, frame=month) == len(month)
    # A second load leaves the table alone (the row count is the table's, not the frame's).
    assert load_production_db(path, frame=month.head(5)) == len(month)
    assert load_production_db(path, frame=month.head(5), replace=True) == 5


def test_walkthrough_month_loads_with_its_days(tmp_path, fraud_dir, monkeypatch):
    from rime_demo.production import production_frame

    monkeypatch.setenv("RIME_DEMO_FRAUD_DATA_DIR", str(fraud_dir))
    frame = production_frame()

    assert len(frame) == 29_000
    assert "preds" not in frame.columns
    assert frame["timestamp"].min() == "2018-08-01"
    assert frame["timestamp"].max() == "2018-08-29"


def test_sqlite_day_comes_back_through_common_sql(sqlite_production, month):
    frame = fetch_dataframe(sqlite_production, day_query("fraud_production", "2018-08-02", "2018-08-03"))

    expected = month[month["timestamp"] == "2018-08-02"]
    assert len(frame) == len(expected) > 0
    assert set(frame["timestamp"]) == {"2018-08-02"}
    assert list(frame.columns) == list(month.columns)


def test_a_day_without_rows_is_an_empty_frame(sqlite_production):
    frame = fetch_dataframe(sqlite_production, day_query("fraud_production", "2018-07-31", "2018-08-01"))

    assert frame.empty


@pytest.mark.postgres
def test_postgres_day_comes_back_through_common_sql(postgres_production, month):
    conn_id, table = postgres_production
    frame = fetch_dataframe(conn_id, day_query(table, "2018-08-03", "2018-08-04"))

    assert len(frame) == int((month["timestamp"] == "2018-08-03").sum()) > 0
    assert set(frame["timestamp"]) == {"2018-08-03"}


def test_fetch_errors_name_the_connection_and_what_to_fix(airflow_db, tmp_path, sqlite_production):
    with pytest.raises(RimeSqlFetchError, match=r"no_such_conn.*no such Airflow connection"):
        fetch_dataframe("no_such_conn", "SELECT 1")

    broken = add_connection("production_broken", "sqlite", host=str(tmp_path / "missing" / "dir" / "x.db"))
    with pytest.raises(RimeSqlFetchError, match=r"production_broken.*failed.*Check the connection"):
        fetch_dataframe(broken, "SELECT * FROM fraud_production")

    with pytest.raises(RimeSqlFetchError, match="no such table"):
        fetch_dataframe(sqlite_production, "SELECT * FROM not_a_table")

    add_connection("not_sql", "rime", host="http://127.0.0.1:1", password="secret-key", extra=json.dumps({}))
    with pytest.raises(RimeSqlFetchError, match="not a SQL database") as caught:
        fetch_dataframe("not_sql", "SELECT 1")
    assert "secret-key" not in str(caught.value)


def test_fetch_refuses_an_empty_query(sqlite_production):
    with pytest.raises(RimeSqlFetchError, match="sql is empty"):
        fetch_dataframe(sqlite_production, "  ")


def test_loader_accepts_paths_and_urls(tmp_path: Path):
    from rime_demo.production import sqlalchemy_url

    assert sqlalchemy_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql://u@h/db"
