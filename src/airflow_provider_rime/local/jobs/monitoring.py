"""A firewall's default monitor rows: made with the firewall, refreshed by its jobs, kept to its categories.

RIME creates a continuous test's default monitors with the continuous test itself: they are
listed before any bin ran, with no values until one does. Which monitors a firewall has
follows its project's continuous-test categories (a monitor reads a test of one category).
A monitor made before any bin ran has no thresholds yet: they come from the reference data
and the test parameters, and the first job that tests a bin sets them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.catalogue.monitors import DEFAULT_MONITORS, MonitorSpec, monitor_thresholds
from airflow_provider_rime.local.catalogue.registry import CATALOGUE
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.local.store.schema import Monitor
from airflow_provider_rime.rime_api.enums import MonitorType, TestCategory
from airflow_provider_rime.rime_api.firewall import ArtifactIdentifier, TestCaseMetricIdentifier
from airflow_provider_rime.rime_api.naming import utc_now


def monitor_specs(
    categories: Iterable[str], *, has_labels: bool = True, has_preds: bool = True
) -> list[MonitorSpec]:
    """The default monitors of ``categories`` (catalogue names) that the data can feed.

    A monitor is listed under its category and reads a test of the catalogue's, mostly the
    same one; it needs both chosen (Average Confidence, a Model Performance monitor, reads the
    Drift category's prediction test).
    """
    chosen = set(categories)
    return [
        spec
        for spec in DEFAULT_MONITORS
        if CATALOGUE[spec.test_type].category.value in chosen
        and spec.category.value in chosen
        and (has_labels or not spec.needs_labels)
        and (has_preds or not spec.needs_preds)
    ]


def upsert_monitors(
    s: Session, firewall_id: str, specs: list[MonitorSpec], inputs: StressInputs | None
) -> dict[str, str]:
    """Create the firewall's monitors of ``specs`` or refresh them; keeps notify and pinned.

    With ``inputs`` (a bin against the reference data) the thresholds are set from them;
    without, a new monitor has none yet and an existing one keeps its own.

    :return: Every monitor's id by its key, including those not in ``specs``.
    """
    existing = {m.key: m for m in s.scalars(select(Monitor).where(Monitor.firewall_id == firewall_id))}
    ids = {key: row.id for key, row in existing.items()}
    for position, spec in enumerate(DEFAULT_MONITORS):
        if spec not in specs:
            continue
        row = existing.get(spec.key)
        if row is None:
            row = Monitor(
                id=str(uuid.uuid4()),
                firewall_id=firewall_id,
                key=spec.key,
                monitor_type=MonitorType.DEFAULT.value,
                notify=spec.category in (TestCategory.MODEL_PERFORMANCE, TestCategory.DRIFT),
                pinned=False,
                created_at=utc_now(),
                warning=None,
                alert=None,
            )
            s.add(row)
        row.position = position
        row.name = spec.name
        row.metric_name = spec.metric_name
        row.risk_category = spec.category.risk_category.value
        row.test_category = spec.category.value
        row.artifact = ArtifactIdentifier(
            test_case_metric_identifier=TestCaseMetricIdentifier(
                test_batch_id=spec.test_type, metric=spec.metric_name
            )
        ).to_wire()
        row.threshold_type = spec.threshold_type.value
        if inputs is not None:
            limits = monitor_thresholds(spec, inputs)
            row.warning = limits[0] if limits else None
            row.alert = limits[1] if limits else None
        row.description = spec.description
        ids[spec.key] = row.id
    return ids


def prune_monitors(s: Session, firewall_id: str, categories: Iterable[str]) -> int:
    """Delete the firewall's monitors of tests outside ``categories``, with their values and events.

    :return: How many monitors were deleted.
    """
    keep = {spec.key for spec in monitor_specs(categories)}
    gone = [
        m.id
        for m in s.scalars(select(Monitor).where(Monitor.firewall_id == firewall_id))
        if m.key not in keep
    ]
    if gone:
        # Values and detection events go with their monitor (ON DELETE CASCADE).
        s.execute(delete(Monitor).where(Monitor.id.in_(gone)))
    return len(gone)
