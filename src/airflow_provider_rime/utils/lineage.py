"""OpenLineage: the data a RIME test read, and RIME's verdicts as data-quality assertions.

The operators' ``get_openlineage_facets_on_*`` methods build their lineage here. The
OpenLineage classes come through ``airflow.providers.common.compat.openlineage`` and the
OpenLineage provider, and are imported inside the functions: without the OpenLineage provider
nothing here is called, and DAG parsing never imports it.

Dataset names follow OpenLineage's naming conventions: a local file is namespace ``file`` and
its absolute path; ``s3://bucket/key`` (and any other URI) is namespace ``s3://bucket`` and name
``key``; a dataset already registered with RIME is namespace ``<RIME URL>`` and name
``datasets/<id>``. A SQL table is namespace ``<scheme>://<authority>`` and name
``<database>.<schema>.<table>``, as the SQL providers name them.
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
