"""OpenLineage: the data a RIME test read, and RIME's verdicts as data-quality assertions.

The operators' ``get_openlineage_facets_on_*`` methods build their lineage here. The
OpenLineage classes come through ``airflow.providers.common.compat.openlineage`` and the
OpenLineage provider, and are imported inside the functions: without the OpenLineage provider
nothing here is called, and DAG parsing never imports it.

Dataset names follow OpenLineage's naming conventions: a local file is namespace ``file`` and
its absolute path; ``s3://bucket/key`` (and any other URI) is namespace ``s3://bucket`` and name
``key``; a dataset already registered with RIME is namespace ``<RIME URL>`` and name
``datasets/<id>``. A SQL table is namespace ``<scheme>://<authority>`` and name
``<database>.<schema>.<table>``, as the SQL providers name them; a SQLite file is namespace
``sqlite://<absolute path>`` and its tables ``main.<table>``.

The firewall's verdicts are assertions per test case of every bin the batch filled: the
assertion is the test's name, suffixed with the bin's start (`` @ 2018-08-01``) only when the
batch spans several bins, so that one batch per DAG run keeps stable assertion names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_rime.rime_api.enums import TestCaseStatus
from airflow_provider_rime.utils.data_sources import DataSource, DataSourceKind

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import InputDataset

#: The input facet's key, as OpenLineage's data-quality integrations (Great Expectations, dbt) use it.
ASSERTIONS_FACET = "dataQualityAssertions"


@dataclass(frozen=True)
class DatasetName:
    """An OpenLineage dataset's identity: its namespace and its name."""

    namespace: str
    name: str


def data_source_name(source: DataSource, rime_url: str) -> DatasetName:
    """The OpenLineage name of a ``reference_data`` / ``evaluation_data`` source.

    :param source: The resolved data argument.
    :param rime_url: The RIME cluster's (or local engine's) base URL: the namespace of
        datasets that were registered already.
    """
    if source.kind is DataSourceKind.LOCAL:
        return DatasetName("file", source.value)
    if source.kind is DataSourceKind.REMOTE:
        return uri_name(source.value)
    return DatasetName(rime_url.rstrip("/"), f"datasets/{source.value}")


def uri_name(uri: str) -> DatasetName:
    """``scheme://authority/path`` as namespace ``scheme://authority`` and name ``path``."""
    parts = urlsplit(uri)
    return DatasetName(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or "/")


def sql_table_name(
    connection_uri: str, table: str, database: str | None = None, schema: str | None = None
) -> DatasetName:
    """A SQL table as OpenLineage names it: ``<scheme>://<host:port>`` and ``<db>.<schema>.<table>``.

    :param connection_uri: The Airflow connection's URI (``postgresql://host:5432/db``); user
        and password are left out of the namespace.
    :param table: The table, optionally qualified (``schema.table``).
    :param database: The database, when the table does not name it (default: the URI's path).
    :param schema: The schema, when the table does not name it.
    """
    parts = urlsplit(connection_uri)
    authority = parts.hostname or ""
    if parts.port:
        authority += f":{parts.port}"
    scheme = "postgres" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    qualified = [p for p in (database or parts.path.strip("/"), schema) if p]
    pieces = table.split(".")
    name = ".".join([*qualified[: max(0, 3 - len(pieces))], *pieces])
    return DatasetName(f"{scheme}://{authority}", name)


def sql_input_names(conn_id: str, sql: str, connection: Any) -> list[DatasetName]:
    """The tables a query reads on the common-sql connection ``conn_id``, named for OpenLineage.

    Connections whose hook gives OpenLineage its database info (PostgreSQL, MySQL, Snowflake,
    ...) are named by the OpenLineage provider's SQL parser exactly as the SQL operators name
    them (without querying the database's information schema). Other connections' queries are
    parsed with the same parser and named after the connection: SQLite as
    ``sqlite://<absolute path>`` / ``main.<table>``, the rest with :func:`sql_table_name`.

    :param conn_id: The Airflow connection the query runs on.
    :param sql: The rendered query.
    :param connection: That connection, resolved already (OpenLineage extracts in a forked
        child, where looking a connection up through the Airflow supervisor hangs).
    :return: The tables read, in the order the parser found them; empty when the query names none.
    """
    import os

    from airflow.providers.openlineage.sqlparser import SQLParser, get_openlineage_facets_with_sql

    hook = connection.get_hook()
    if getattr(hook, "_connection", False) is None:
        # common-sql hooks look their connection up on first use: give them this one.
        hook._connection = connection
    try:
        lineage = get_openlineage_facets_with_sql(
            hook, sql, conn_id, database=None, use_connection=False, connection=connection
        )
    except TypeError:  # an OpenLineage provider before ``connection=``: parse it here instead
        lineage = None
    if lineage is not None:
        return _unique(DatasetName(d.namespace, d.name) for d in lineage.inputs)
    is_sqlite = connection.conn_type == "sqlite"
    if is_sqlite:
        dialect, default_schema = "sqlite", "main"
    else:
        dialect = hook.get_openlineage_database_dialect(connection)
        default_schema = hook.get_openlineage_default_schema()
    parser = SQLParser(dialect=dialect, default_schema=default_schema)
    meta = parser.parse(parser.split_sql_string(sql))
    tables = list(meta.in_tables) if meta else []
    if is_sqlite:
        namespace = f"sqlite://{os.path.abspath(connection.host or '')}"
        return _unique(DatasetName(namespace, t.qualified_name) for t in tables)
    uri = connection.get_uri()
    return _unique(sql_table_name(uri, t.qualified_name) for t in tables)


def _unique(names: Iterable[DatasetName]) -> list[DatasetName]:
    return list(dict.fromkeys(names))


def firewall_assertions(bins: Iterable[Mapping[str, Any]], hook: Any) -> list[Any]:
    """The firewall's verdicts on a batch: one ``Assertion`` per test case of each of its bins.

    As :func:`assertions` (test name, feature column, passed or not); when the batch filled
    several bins, each assertion's name ends with its bin's start (``"Numeric Outliers @
    2018-08-01"``).

    :param bins: The firewall operator's ``bins`` (each with ``test_run_id`` and ``start``).
    :param hook: The RIME hook, to read each bin's test cases and test names.
    """
    filled = [b for b in bins if b.get("test_run_id")]
    out = []
    for item in filled:
        run_id = str(item["test_run_id"])
        test_names = {
            str(b.get("testType")): str(b.get("testName") or b.get("testType"))
            for b in hook.list_batch_results(run_id)
        }
        found = assertions(hook.list_test_cases(run_id), test_names)
        if len(filled) > 1:
            day = str(item.get("start") or "")[:10]
            for a in found:
                a.assertion = f"{a.assertion} @ {day}"
        out.extend(found)
    return out


def assertions(test_cases: Iterable[Mapping[str, Any]], test_names: Mapping[str, str]) -> list[Any]:
    """RIME's test cases as OpenLineage ``Assertion`` objects, one per case.

    ``assertion`` is the test's name (``"Numeric Outliers"``), ``column`` the feature when
    the case is about one feature, and ``success`` whether RIME passed the case: a warning
    or a failure is not a success, so the share of successes is the run's pass rate.
    Skipped cases are left out.

    :param test_cases: ``TestrunresultTestCase`` dicts of a test run.
    :param test_names: Test type (``testBatchType``) to the test's display name.
    """
    from openlineage.client.generated.data_quality_assertions_dataset import Assertion

    out = []
    for case in test_cases:
        status = str(case.get("status") or "")
        if status == TestCaseStatus.SKIP.value:
            continue
        test_type = str(case.get("testBatchType") or "")
        features = [str(f) for f in case.get("features") or []]
        out.append(
            Assertion(
                assertion=test_names.get(test_type) or test_type,
                success=status == TestCaseStatus.PASS.value,
                column=features[0] if len(features) == 1 else None,
            )
        )
    return out


def input_dataset(name: DatasetName, test_assertions: list[Any] | None = None) -> InputDataset:
    """An OpenLineage input dataset, with the assertions facet when ``test_assertions`` is given."""
    from airflow.providers.common.compat.openlineage.facet import InputDataset
    from openlineage.client.generated.data_quality_assertions_dataset import (
        DataQualityAssertionsDatasetFacet,
    )

    facets: dict[str, Any] = {}
    if test_assertions is not None:
        facets[ASSERTIONS_FACET] = DataQualityAssertionsDatasetFacet(assertions=test_assertions)
    return InputDataset(namespace=name.namespace, name=name.name, inputFacets=facets)
