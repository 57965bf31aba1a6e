"""Stored rows as RIME's JSON shapes (rime-api.md §4–§11)."""

from __future__ import annotations

from typing import Any

from airflow_provider_rime.local.api.wire import i64, ts
from airflow_provider_rime.local.settings import RIME_COMPAT_VERSION
from airflow_provider_rime.local.store import schema

ZERO_SUMMARY = {"total": "0", "pass": "0", "warning": "0", "fail": "0", "skip": "0"}
ZERO_SEVERITY = {"numNoneSeverity": "0", "numLowSeverity": "0", "numHighSeverity": "0"}


def project_url(base_url: str, project_id: str) -> str:
    return f"{base_url}/projects/{project_id}"


def test_run_url(base_url: str, project_id: str, test_run_id: str) -> str:
    return f"{base_url}/projects/{project_id}/test-runs/{test_run_id}"


def project_json(p: schema.Project, firewall_ids: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": {"uuid": p.id},
        "name": p.name,
        "description": p.description,
        "modelTask": p.model_task,
        "creationTime": ts(p.created_at),
        "ownerId": {"uuid": "local"},
        "workspaceId": {"uuid": "local"},
        "tags": [],
        "firewallIds": [{"uuid": f} for f in firewall_ids or []],
        "isPublished": False,
        "stressTestCategories": [],
        "continuousTestCategories": [],
        "riskScores": [],
    }
    for key, value in (
        ("useCase", p.use_case),
        ("ethicalConsideration", p.ethical_consideration),
        ("profilingConfig", p.profiling_config),
        ("runTimeInfo", p.run_time_info),
        ("lastTestRunTime", ts(p.last_test_run_at)),
    ):
        if value is not None:
            out[key] = value
    return out


def project_with_details(p: schema.Project) -> dict[str, Any]:
    return {
        "project": project_json(p),
        "ownerDetails": {"name": "local", "email": ""},
        "lastUpdatedTime": ts(p.last_test_run_at or p.created_at),
    }


def dataset_json(d: schema.Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": d.name,
        "datasetId": d.id,
        "projectIds": [{"uuid": d.project_id}],
        "creatorId": {"uuid": "local"},
        "creationTime": ts(d.created_at),
        "dataInfo": d.data_info,
        "validityStatus": d.validity_status,
        "validityStatusMessage": d.validity_message,
        "sizeBytes": i64(d.size_bytes),
    }
    if d.user_metadata:
        out["userMetadata"] = d.user_metadata
    return out


def model_json(m: schema.Model) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": m.name,
        "modelId": {"uuid": m.id},
        "projectIds": [{"uuid": m.project_id}],
        "creatorId": {"uuid": "local"},
        "creationTime": ts(m.created_at),
        "validityStatus": m.validity_status,
        "validityStatusMessage": m.validity_message,
    }
    if m.model_info:
        out["modelInfo"] = m.model_info
    if m.external_id:
        out["externalId"] = m.external_id
    if m.user_metadata:
        out["userMetadata"] = m.user_metadata
    return out


def prediction_json(p: schema.Prediction) -> dict[str, Any]:
    out: dict[str, Any] = {
        "datasetId": p.dataset_id,
        "modelId": {"uuid": p.model_id},
        "creationTime": ts(p.created_at),
        "predInfo": p.pred_info,
        "validityStatus": p.validity_status,
        "validityStatusMessage": p.validity_message,
    }
    if p.user_metadata:
        out["userMetadata"] = p.user_metadata
    return out


def job_json(j: schema.Job, *, full: bool = True) -> dict[str, Any]:
    running_secs = 0.0
    if j.started_at is not None:
        from airflow_provider_rime.local.api.wire import now

        end = j.completed_at or now()
        started = j.started_at
        if started.tzinfo is None:
            from datetime import timezone

            started = started.replace(tzinfo=timezone.utc)
            end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
        running_secs = max(0.0, (end - started).total_seconds())
    out: dict[str, Any] = {
        "jobId": j.id,
        "jobType": j.job_type,
        "status": j.status,
        "creationTime": ts(j.created_at),
        "runningTimeSecs": round(running_secs, 3),
        "jobProgressStr": _progress_str(j),
        "cancellationRequested": bool(j.cancellation_requested),
        "errorMsg": j.error_msg or "",
        "archivedJobLogs": {"url": {"url": ""}},
    }
    if j.started_at is not None:
        out["startTime"] = ts(j.started_at)
    if j.completed_at is not None:
        out["completionTime"] = ts(j.completed_at)
    if j.kind == "stress_test":
        stress: dict[str, Any] = {"projectId": {"uuid": j.project_id}, "testRunId": j.test_run_id or ""}
        if full:
            stress["progress"] = {"testRun": j.progress or _empty_progress(j)}
        out["jobData"] = {"stress": stress}
    return out


def _empty_progress(j: schema.Job) -> dict[str, Any]:
    return {"testRunId": j.test_run_id or "", "status": "TEST_TASK_STATUS_PENDING", "testBatches": []}


def _progress_str(j: schema.Job) -> str:
    batches = (j.progress or {}).get("testBatches") or []
    if not batches:
        return ""
    done = sum(1 for b in batches if b.get("status") == "TEST_TASK_STATUS_COMPLETED")
    return f"{done} / {len(batches)} test batches completed"


def test_run_json(run: schema.TestRun, model_task: str, base_url: str) -> dict[str, Any]:
    metrics = dict(run.metrics or {})
    metrics.setdefault("summaryCounts", dict(ZERO_SUMMARY))
    metrics.setdefault("severityCounts", dict(ZERO_SEVERITY))
    metrics.setdefault("modelPerf", {})
    metrics.setdefault("numInputs", "0")
    metrics.setdefault("numFailingInputs", "0")
    metrics.setdefault("durationMillis", "0")
    metrics.setdefault("categorySummaryMetrics", [])
    metrics.setdefault("riskScores", [])
    out: dict[str, Any] = {
        "testRunId": run.id,
        "name": run.name,
        "projectId": {"uuid": run.project_id},
        "testingType": run.testing_type,
        "modelTask": model_task,
        "refDataId": run.ref_data_id or "",
        "evalDataId": run.eval_data_id or "",
        "modelId": {"uuid": run.model_id or ""},
        "uploadTime": ts(run.created_at),
        "webAppUrl": {"url": test_run_url(base_url, run.project_id, run.id)},
        "testCategories": list(run.categories or []),
        "metrics": metrics,
        "status": run.status,
        "rimeVersion": RIME_COMPAT_VERSION,
        "refDataSamplingPct": 100.0,
        "evalDataSamplingPct": 100.0,
    }
    return out
