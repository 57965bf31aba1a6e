"""Monitors, their per-bin values, and detection events of a continuous test.

:func:`firewall_overview` gathers what a firewall page shows: every monitor's series (one
point per bin, with its thresholds), the bins with their verdicts and test runs, the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.errors import InvalidInput, NotFound
from airflow_provider_rime.local.store.queries import aware, select_page
from airflow_provider_rime.local.store.schema import (
    DetectionEvent,
    Firewall,
    Monitor,
    MonitorValue,
    TestRun,
)
from airflow_provider_rime.rime_api.enums import (
    EventType,
    RiskCategory,
    Severity,
    SortOrder,
    TestCategory,
    TestTaskStatus,
)
from airflow_provider_rime.rime_api.naming import parse_timestamp


def _naive_utc(value: datetime) -> datetime:
    # SQLite keeps timestamps without their zone (in UTC); compare like with like.
    return aware(value).astimezone(timezone.utc).replace(tzinfo=None)


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise InvalidInput(
            f"{name}: {value!r} is not an RFC 3339 timestamp (e.g. 2024-05-01T00:00:00Z)"
        ) from None


def get_monitor(s: Session, monitor_id: str) -> Monitor:
    monitor = s.get(Monitor, monitor_id)
    if monitor is None:
        raise NotFound.named("monitor", monitor_id)
    return monitor


def list_monitors(
    s: Session,
    firewall_id: str,
    monitor_types: list[str],
    risk_categories: list[str],
    pinned_only: bool,
    offset: int,
    size: int,
) -> tuple[list[Monitor], int]:
    """A page of the firewall's monitors in their listed order, filtered by type and risk category."""
    stmt = select(Monitor).where(Monitor.firewall_id == firewall_id)
    if monitor_types:
        stmt = stmt.where(Monitor.monitor_type.in_(monitor_types))
    if risk_categories:
        stmt = stmt.where(Monitor.risk_category.in_(risk_categories))
    if pinned_only:
        stmt = stmt.where(Monitor.pinned.is_(True))
    return select_page(s, stmt.order_by(Monitor.position, Monitor.id), offset, size)


def monitor_values(
    s: Session, monitor: Monitor, start: str | None = None, end: str | None = None
) -> list[MonitorValue]:
    """The monitor's values, one per bin, oldest first; optionally of the bins inside [start, end)."""
    stmt = select(MonitorValue).where(MonitorValue.monitor_id == monitor.id)
    begin = _time(start, "timeInterval.startTime")
    finish = _time(end, "timeInterval.endTime")
    values = list(s.scalars(stmt.order_by(MonitorValue.bin_start)))
    if begin is not None:
        values = [v for v in values if aware(v.bin_start) >= begin]
    if finish is not None:
        values = [v for v in values if aware(v.bin_end) <= finish]
    return values


def update_monitor_notify(s: Session, monitor: Monitor, mask: str, notify: bool | None) -> Monitor:
    """``PUT /v1-beta/monitors/{id}``: only ``notify`` can be changed (as rime-sdk's ``Monitor.update``)."""
    paths = [p.strip() for p in mask.split(",") if p.strip()]
    if paths != ["notify"]:
        raise InvalidInput(f"mask: only 'notify' can be updated on a monitor, got {mask!r}")
    if notify is None:
        raise InvalidInput("monitor.notify is required when the mask names notify")
    monitor.notify = notify
    s.commit()
    return monitor


@dataclass(frozen=True)
class EventFilters:
    """The ``firstPageReq`` filters of ``GET /v1-beta/detection-events/{projectId}``."""

    event_object_id: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    severity: str | None = None
    event_types: tuple[str, ...] = ()
    risk_categories: tuple[str, ...] = ()
    test_categories: tuple[str, ...] = ()
    sort_order: str | None = None
    sort_by: str | None = None
    include_resolved: bool = False

    def as_query(self) -> dict[str, Any]:
        """The filters as a page token holds them (strings and lists of strings)."""
        return {
            "object": self.event_object_id,
            "start": self.start_time,
            "end": self.end_time,
            "severity": self.severity,
            "types": list(self.event_types),
            "risks": list(self.risk_categories),
            "categories": list(self.test_categories),
            "order": self.sort_order,
            "by": self.sort_by,
        }

    @classmethod
    def from_query(cls, query: dict[str, Any]) -> EventFilters:
        return cls(
            event_object_id=query.get("object"),
            start_time=query.get("start"),
            end_time=query.get("end"),
            severity=query.get("severity"),
            event_types=tuple(query.get("types") or ()),
            risk_categories=tuple(query.get("risks") or ()),
            test_categories=tuple(query.get("categories") or ()),
            sort_order=query.get("order"),
            sort_by=query.get("by"),
        )


#: ``sort.sortBy`` values (rime-sdk sends ``event_time_range.end_time``, in snake_case).
_SORT_COLUMNS = {
    "event_time_range.end_time": DetectionEvent.end_time,
    "eventTimeRange.endTime": DetectionEvent.end_time,
    "event_time_range.start_time": DetectionEvent.start_time,
    "eventTimeRange.startTime": DetectionEvent.start_time,
    "last_update_time": DetectionEvent.last_update_time,
    "lastUpdateTime": DetectionEvent.last_update_time,
    "severity": DetectionEvent.severity,
}


def _check_enum(values: Sequence[str], enum: Any, name: str) -> None:
    known = {m.value for m in enum}
    bad = [v for v in values if v not in known]
    if bad:
        raise InvalidInput(f"{name}: {', '.join(bad)} is not one of {', '.join(sorted(known))}")


def check_event_filters(filters: EventFilters) -> None:
    """Refuse unknown enum values, bad timestamps and sort keys before the query runs."""
    _check_enum(filters.event_types, EventType, "firstPageReq.eventTypes")
    _check_enum(filters.risk_categories, RiskCategory, "firstPageReq.riskCategoryTypes")
    _check_enum(filters.test_categories, TestCategory, "firstPageReq.testCategories")
    if filters.severity:
        _check_enum([filters.severity], Severity, "firstPageReq.severity")
    if filters.sort_order:
        _check_enum([filters.sort_order], SortOrder, "firstPageReq.sort.sortOrder")
    if filters.sort_by and filters.sort_by not in _SORT_COLUMNS:
        raise InvalidInput(
            f"firstPageReq.sort.sortBy: {filters.sort_by!r} is not one of {', '.join(sorted(_SORT_COLUMNS))}"
        )
    _time(filters.start_time, "firstPageReq.eventTimeRange.startTime")
    _time(filters.end_time, "firstPageReq.eventTimeRange.endTime")


def _events_query(project_id: str, filters: EventFilters) -> Select[Any]:
    stmt = select(DetectionEvent).where(DetectionEvent.project_id == project_id)
    if filters.event_object_id:
        stmt = stmt.where(DetectionEvent.monitor_id == filters.event_object_id)
    if filters.event_types:
        stmt = stmt.where(DetectionEvent.event_type.in_(filters.event_types))
    if filters.risk_categories:
        stmt = stmt.where(DetectionEvent.risk_category.in_(filters.risk_categories))
    if filters.test_categories:
        stmt = stmt.where(DetectionEvent.test_category.in_(filters.test_categories))
    if filters.severity and filters.severity != Severity.UNSPECIFIED.value:
        stmt = stmt.where(DetectionEvent.severity == filters.severity)
    # Events that overlap the time range.
    start = _time(filters.start_time, "firstPageReq.eventTimeRange.startTime")
    end = _time(filters.end_time, "firstPageReq.eventTimeRange.endTime")
    if start is not None:
        stmt = stmt.where(DetectionEvent.end_time > _naive_or_aware(start))
    if end is not None:
        stmt = stmt.where(DetectionEvent.start_time < _naive_or_aware(end))
    column = _SORT_COLUMNS.get(filters.sort_by or "", DetectionEvent.end_time)
    descending = filters.sort_order != SortOrder.ASCENDING.value
    return stmt.order_by(column.desc() if descending else column.asc(), DetectionEvent.id)


def _naive_or_aware(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def list_events(
    s: Session, project_id: str, filters: EventFilters, offset: int, size: int
) -> tuple[list[tuple[DetectionEvent, str]], int]:
    """A page of the project's detection events (newest end first unless sorted), with monitor names."""
    rows, total = select_page(s, _events_query(project_id, filters), offset, size)
    names = dict(
        s.execute(select(Monitor.id, Monitor.name).where(Monitor.id.in_([e.monitor_id for e in rows]))).all()
    )
    return [(e, names.get(e.monitor_id, "")) for e in rows], total


# ----------------------------------------------------------------------------- the firewall page


@dataclass(frozen=True)
class SeriesPoint:
    """One bin of a monitor's series."""

    start: datetime
    end: datetime
    value: float | None
    severity: Severity
    test_run_id: str


@dataclass(frozen=True)
class MonitorSeries:
    """A monitor with its thresholds and one point per bin (oldest first)."""

    monitor: Monitor
    warning: float | None
    alert: float | None
    lower_is_worse: bool
    points: list[SeriesPoint]


@dataclass(frozen=True)
class BinSummary:
    """A bin of the continuous test: its test run and its verdict (the worst monitor severity)."""

    start: datetime
    end: datetime
    test_run_id: str
    status: str
    num_inputs: int
    severity: Severity
    #: The monitors that warned or alerted in the bin, worst first.
    flagged: list[tuple[str, Severity]]


@dataclass(frozen=True)
class FirewallOverview:
    """Everything a firewall page shows."""

    firewall: Firewall
    series: list[MonitorSeries]
    bins: list[BinSummary]
    events: list[tuple[DetectionEvent, str]]


def firewall_overview(s: Session, fw: Firewall) -> FirewallOverview:
    """The firewall's monitors with their series, its bins with verdicts, and its events (newest first)."""
    monitors = list(s.scalars(select(Monitor).where(Monitor.firewall_id == fw.id).order_by(Monitor.position)))
    values = list(
        s.scalars(
            select(MonitorValue)
            .where(MonitorValue.monitor_id.in_([m.id for m in monitors]))
            .order_by(MonitorValue.bin_start)
        )
    )
    runs = list(
        s.scalars(select(TestRun).where(TestRun.firewall_id == fw.id).order_by(TestRun.bin_start, TestRun.id))
    )
    by_monitor: dict[str, list[MonitorValue]] = {}
    flagged: dict[str, list[tuple[str, Severity]]] = {}
    names = {m.id: m.name for m in monitors}
    for v in values:
        by_monitor.setdefault(v.monitor_id, []).append(v)
        severity = Severity(v.severity)
        if severity.rank > 0:
            flagged.setdefault(v.test_run_id, []).append((names.get(v.monitor_id, ""), severity))
    series = [
        MonitorSeries(
            monitor=m,
            warning=m.warning,
            alert=m.alert,
            lower_is_worse=m.threshold_type == "TYPE_LOWER_BOUND",
            points=[
                SeriesPoint(
                    aware(v.bin_start), aware(v.bin_end), v.value, Severity(v.severity), v.test_run_id
                )
                for v in by_monitor.get(m.id, [])
            ],
        )
        for m in monitors
    ]
    bins = []
    for run in runs:
        if run.bin_start is None or run.bin_end is None:
            continue
        marks = sorted(flagged.get(run.id, []), key=lambda f: -f[1].rank)
        worst = Severity.from_rank(max((sev.rank for _, sev in marks), default=0))
        num_inputs = int((run.metrics or {}).get("numInputs") or 0)
        bins.append(
            BinSummary(
                start=aware(run.bin_start),
                end=aware(run.bin_end),
                test_run_id=run.id,
                status=run.status,
                num_inputs=num_inputs,
                severity=worst if run.status == TestTaskStatus.COMPLETED else Severity.UNSPECIFIED,
                flagged=marks,
            )
        )
    events = list(
        s.scalars(
            select(DetectionEvent)
            .where(DetectionEvent.firewall_id == fw.id)
            .order_by(DetectionEvent.end_time.desc(), DetectionEvent.id)
        )
    )
    return FirewallOverview(fw, series, bins, [(e, names.get(e.monitor_id, "")) for e in events])
