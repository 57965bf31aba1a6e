"""Rows fetched with SQL through any Airflow common-sql connection, as a pandas DataFrame.

The firewall operator's ``sql`` + ``sql_conn_id`` arguments come here: the connection's hook
must be a :class:`~airflow.providers.common.sql.hooks.sql.DbApiHook` (SQLite, PostgreSQL,
MySQL, Snowflake, BigQuery, ...), and the query runs through its ``get_df``. Failures become
:class:`~airflow_provider_rime.exceptions.RimeSqlFetchError`, naming the connection and what
to check; the query's text is shown, the connection's password never.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_rime.exceptions import RimeSqlFetchError

if TYPE_CHECKING:
    import pandas as pd


#: The connections ``fetch_dataframe`` resolved in this process, by id: lineage reads them here,
#: because OpenLineage extracts in a forked child that must not ask the Airflow supervisor.
RESOLVED_CONNECTIONS: dict[str, Any] = {}


def _short(sql: str, limit: int = 300) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fetch_dataframe(
    conn_id: str,
    sql: str,
    parameters: Mapping[str, Any] | list[Any] | tuple[Any, ...] | None = None,
) -> pd.DataFrame:
    """
    Run ``sql`` on the common-sql connection ``conn_id`` and return the rows.

    :param conn_id: An Airflow connection whose hook is a ``DbApiHook``.
    :param sql: One ``SELECT`` statement.
    :param parameters: Bind parameters of the query, in the driver's style.
    :raises RimeSqlFetchError: The connection is unknown or not a SQL one, or the query failed.
    """
    from airflow.providers.common.compat.sdk import BaseHook
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    if not sql or not str(sql).strip():
        raise RimeSqlFetchError("sql is empty: give the SELECT that fetches the batch's rows")
    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise RimeSqlFetchError(
            f"sql_conn_id {conn_id!r}: no such Airflow connection ({type(exc).__name__}); "
            "create it (Admin > Connections) or fix the id"
        ) from None
    RESOLVED_CONNECTIONS[conn_id] = connection
    try:
        hook = connection.get_hook()
    except Exception as exc:
        raise RimeSqlFetchError(
            f"sql_conn_id {conn_id!r} (type {connection.conn_type!r}) has no usable hook: {exc}; "
            "is the provider package of that connection type installed?"
        ) from None
    if not isinstance(hook, DbApiHook):
        raise RimeSqlFetchError(
            f"sql_conn_id {conn_id!r} is a {connection.conn_type!r} connection, not a SQL database "
            f"(its hook {type(hook).__name__} is no common-sql DbApiHook)"
        )
    try:
        if hasattr(hook, "get_df"):
            return hook.get_df(sql, parameters=parameters, df_type="pandas")
        return hook.get_pandas_df(sql, parameters=parameters)  # common-sql before 1.26
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RimeSqlFetchError(
            f"The query on sql_conn_id {conn_id!r} ({connection.conn_type}) failed: {reason}. "
            f"Check the connection (host, database, login) and the query: {_short(sql)}"
        ) from None
