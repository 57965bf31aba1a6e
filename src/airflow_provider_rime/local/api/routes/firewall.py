"""Continuous tests (RIME's "firewall"), their monitors and detection events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, StrictBool

from airflow_provider_rime.local import render
from airflow_provider_rime.local.api.deps import Db, Engine, ExistingProject, Paged
from airflow_provider_rime.local.errors import InvalidInput
from airflow_provider_rime.local.services import firewall as firewalls
from airflow_provider_rime.local.services import monitors
from airflow_provider_rime.rime_api.documents import RimeUUID
from airflow_provider_rime.rime_api.enums import RISK_CATEGORY_SDK_NAMES, MonitorType, RiskCategory
from airflow_provider_rime.rime_api.firewall import (
    CreateFirewallRequest,
    StartContinuousTestRequest,
    UpdateFirewallRequest,
)

router = APIRouter(tags=["continuous tests"])


@router.post("/v1/firewall")
def create_firewall(body: CreateFirewallRequest, s: Db) -> dict[str, Any]:
    return {"firewallId": render.uuid(firewalls.create_firewall(s, body).id)}


@router.get("/v1/firewall/{firewall_id}")
def read_firewall(firewall_id: str, s: Db) -> dict[str, Any]:
    return {"firewall": firewalls.render_firewall(s, firewalls.get_firewall(s, firewall_id))}


@router.put("/v1/firewall/{firewall_id}")
def update_firewall(firewall_id: str, body: UpdateFirewallRequest, s: Db) -> dict[str, Any]:
    fw = firewalls.update_firewall(s, firewalls.get_firewall(s, firewall_id), body)
    return {"firewall": firewalls.render_firewall(s, fw)}


@router.delete("/v1/firewall/{firewall_id}")
def delete_firewall(firewall_id: str, s: Db) -> dict[str, Any]:
    firewalls.delete_firewall(s, firewalls.get_firewall(s, firewall_id))
    return {}


@router.get("/v1-beta/firewall/{firewall_id}/url")
def firewall_url(firewall_id: str, engine: Engine, s: Db) -> dict[str, Any]:
    fw = firewalls.get_firewall(s, firewall_id)
    return {"url": {"url": render.firewall_url(engine.settings.base_url, fw.project_id)}}


@router.post("/v1/continuous-tests/{firewall_id}")
def start_continuous_test(
    firewall_id: str, body: StartContinuousTestRequest, engine: Engine, s: Db
) -> dict[str, Any]:
    fw = firewalls.get_firewall(s, firewall_id)
    return {"job": render.job(firewalls.start_continuous_test(engine, s, fw, body))}


def _risk_category(value: str) -> str:
    # rime-sdk sends the wire names; its user-facing names ("Operational") are accepted too.
    named = RISK_CATEGORY_SDK_NAMES.get(value)
    return named.value if named is not None else RiskCategory(value).value


@router.get("/v1-beta/monitors/{firewall_id}")
def list_monitors(
    firewall_id: str,
    s: Db,
    pager: Paged,
    types: Annotated[list[MonitorType], Query(alias="firstPageReq.includedMonitorTypes")] = [],  # noqa: B006
    risks: Annotated[list[str], Query(alias="firstPageReq.includedRiskCategoryTypes")] = [],  # noqa: B006
    pinned_only: Annotated[bool | None, Query(alias="firstPageReq.pinnedMonitorsOnly")] = None,
) -> dict[str, Any]:
    firewalls.get_firewall(s, firewall_id)
    risk_values = []
    for risk in (r for r in risks if r):
        try:
            risk_values.append(_risk_category(risk))
        except ValueError:
            known = ", ".join([*RISK_CATEGORY_SDK_NAMES, *(r.value for r in RiskCategory)])
            raise InvalidInput(
                f"firstPageReq.includedRiskCategoryTypes: {risk!r} is not one of {known}"
            ) from None
    state = pager.start(
        {
            "types": [t.value for t in types if t is not MonitorType.UNSPECIFIED],
            "risks": risk_values,
            "pinned": "true" if pinned_only else None,
        }
    )
    rows, total = monitors.list_monitors(
        s,
        firewall_id,
        state.query.get("types", []),
        state.query.get("risks", []),
        state.query.get("pinned") == "true",
        state.offset,
        pager.size,
    )
    return pager.page("monitors", [render.monitor(m) for m in rows], state, total)


@router.get("/v1-beta/monitors/result/{monitor_id}")
def monitor_result(
    monitor_id: str,
    s: Db,
    start: Annotated[str | None, Query(alias="timeInterval.startTime")] = None,
    end: Annotated[str | None, Query(alias="timeInterval.endTime")] = None,
) -> dict[str, Any]:
    monitor = monitors.get_monitor(s, monitor_id)
    return render.monitor_result(monitor, monitors.monitor_values(s, monitor, start, end))


class _MonitorFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: RimeUUID | str | None = None
    notify: StrictBool | None = None


class _UpdateMonitorRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    monitor: _MonitorFields
    mask: str


@router.put("/v1-beta/monitors/{monitor_id}")
def update_monitor(monitor_id: str, body: _UpdateMonitorRequest, s: Db) -> dict[str, Any]:
    monitor = monitors.update_monitor_notify(
        s, monitors.get_monitor(s, monitor_id), body.mask, body.monitor.notify
    )
    return {"monitor": render.monitor(monitor)}


@router.get("/v1-beta/detection-events/{project_id}")
def list_detection_events(
    project: ExistingProject,
    s: Db,
    pager: Paged,
    event_object_id: Annotated[str | None, Query(alias="firstPageReq.eventObjectId")] = None,
    start: Annotated[str | None, Query(alias="firstPageReq.eventTimeRange.startTime")] = None,
    end: Annotated[str | None, Query(alias="firstPageReq.eventTimeRange.endTime")] = None,
    severity: Annotated[str | None, Query(alias="firstPageReq.severity")] = None,
    event_types: Annotated[list[str], Query(alias="firstPageReq.eventTypes")] = [],  # noqa: B006
    risks: Annotated[list[str], Query(alias="firstPageReq.riskCategoryTypes")] = [],  # noqa: B006
    categories: Annotated[list[str], Query(alias="firstPageReq.testCategories")] = [],  # noqa: B006
    sort_order: Annotated[str | None, Query(alias="firstPageReq.sort.sortOrder")] = None,
    sort_by: Annotated[str | None, Query(alias="firstPageReq.sort.sortBy")] = None,
    include_resolved: Annotated[bool | None, Query(alias="firstPageReq.includeResolved")] = None,
) -> dict[str, Any]:
    # Events are never resolved on a local engine: includeResolved changes nothing.
    filters = monitors.EventFilters(
        event_object_id=event_object_id or None,
        start_time=start or None,
        end_time=end or None,
        severity=severity or None,
        event_types=tuple(t for t in event_types if t),
        risk_categories=tuple(r for r in risks if r),
        test_categories=tuple(c for c in categories if c),
        sort_order=sort_order or None,
        sort_by=sort_by or None,
    )
    monitors.check_event_filters(filters)
    state = pager.start(filters.as_query())
    rows, total = monitors.list_events(
        s, project.id, monitors.EventFilters.from_query(state.query), state.offset, pager.size
    )
    return pager.page("events", [render.detection_event(e, name) for e, name in rows], state, total)
