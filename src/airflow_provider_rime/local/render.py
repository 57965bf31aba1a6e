"""RIME's response JSON, written in one place.

Every document the engine returns or stores for later return is built here: server info,
projects, registry entries, upload URLs, jobs and their progress, test runs, and the result
documents a worker stores (test batches, test cases, category results). The API renders
rows with it; the stress-test worker renders its results with it, so this module lives below
both and imports neither.

The shapes follow RIME's grpc-gateway output: lowerCamelCase keys, int64 values as decimal
strings, RFC 3339 timestamps, ids wrapped as ``{"uuid": ...}`` (except dataset, job and test
run ids). Zero counts are always written: rime-sdk calls ``int()`` on every severity count and
indexes ``summaryCounts`` without a default, so a left-out zero breaks its DataFrames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_rime.local.settings import (
    ENGINE_VERSION,
    MODEL_TEST_CATEGORIES,
    RIME_COMPAT_VERSION,
    STRESS_TEST_CATEGORIES,
)
from airflow_provider_rime.local.store import schema
from airflow_provider_rime.local.store.queries import aware
from airflow_provider_rime.rime_api.enums import (
    CONTINUOUS_TEST_DEFAULT_CATEGORIES,
    EventType,
    LimitStatus,
    MetricCategory,
    Severity,
    TestCategory,
    TestTaskStatus,
)
from airflow_provider_rime.rime_api.naming import format_timestamp, int64, utc_now

if TYPE_CHECKING:
    from airflow_provider_rime.local.catalogue.types import TestBatch

#: What each bin of a continuous test runs on this engine: RIME's continuous-testing defaults,
#: with Subset Performance standing in for Subset Performance Degradation (not in the catalogue).
CONTINUOUS_TEST_CATEGORIES: tuple[TestCategory, ...] = tuple(
    TestCategory.SUBSET_PERFORMANCE if c is TestCategory.SUBSET_PERFORMANCE_DEGRADATION else c
    for c in CONTINUOUS_TEST_DEFAULT_CATEGORIES
)

#: The customer name, owner and workspace of everything on a local engine (one user).
LOCAL = "local"
#: How long the local engine's "licence" lasts: rime-sdk only checks that it has not expired.
LICENCE_DAYS = 3650

ZERO_SUMMARY = {"total": "0", "pass": "0", "warning": "0", "fail": "0", "skip": "0"}
ZERO_SEVERITY = {"numNoneSeverity": "0", "numLowSeverity": "0", "numHighSeverity": "0"}

_CATEGORY_DESCRIPTIONS: dict[str, str] = {
    TestCategory.MODEL_PERFORMANCE: "How well the model performs on the evaluation data, and how much worse "
    "than on the reference data.",
    TestCategory.SUBSET_PERFORMANCE: "Subsets of the data where the model performs much worse than overall.",
    TestCategory.DRIFT: "Changes in the distribution of features, predictions and labels from reference to "
    "evaluation data, and what they do to the model.",
    TestCategory.ABNORMAL_INPUTS: "Rows of the evaluation data the model should not be trusted on: outliers, "
    "unseen values, missing values, wrong types.",
    TestCategory.DATA_CLEANLINESS: "Problems in the data itself: missing features, duplicates, imbalance, "
    "redundant or leaking features.",
}


def json_safe(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return json_safe(value.item())
    return value


def uuid(value: str) -> dict[str, str]:
    """An id as RIME wraps it (``RimeUUID``)."""
    return {"uuid": value}


# ----------------------------------------------------------------------------- server


def rime_info(now: datetime) -> dict[str, Any]:
    """``GET /v1/rime-info``: rime-sdk checks ``clusterInfoVersion`` and the licence dates."""
    far = format_timestamp(now + timedelta(days=LICENCE_DAYS))
    return {
        "clusterInfoVersion": RIME_COMPAT_VERSION,
        "customerName": LOCAL,
        "expirationTime": far,
        "gracePeriodEndTime": far,
        "riPlan": "RI_PLAN_LOCAL_TRIAL",
        "buildVersion": f"rime-local {ENGINE_VERSION}",
    }


def limit_status(limit: str) -> dict[str, Any]:
    """``GET /v1/feature-flags/{customer}/limits/{limit}``: a local engine has no limits."""
    return {
        "limitStatus": {"limit": limit, "limitStatus": LimitStatus.OK, "limitValue": "0", "currentValue": "0"}
    }


# ----------------------------------------------------------------------------- links


def project_url(base_url: str, project_id: str) -> str:
    """The project's result page."""
    return f"{base_url}/projects/{project_id}"


def test_run_url(base_url: str, project_id: str, test_run_id: str) -> str:
    """The test run's result page (``webAppUrl``)."""
    return f"{base_url}/projects/{project_id}/test-runs/{test_run_id}"


def page(key: str, items: list[Any], next_page_token: str | None) -> dict[str, Any]:
    """One page of a list call: the items, ``nextPageToken`` and ``hasMore``."""
    return {key: items, "nextPageToken": next_page_token or "", "hasMore": next_page_token is not None}


# ----------------------------------------------------------------------------- projects


def stress_test_categories() -> list[str]:
    """What this engine's stress tests can run: a project's ``stressTestCategories``."""
    from airflow_provider_rime.local.models.process import model_execution_enabled

    if model_execution_enabled():
        return list(STRESS_TEST_CATEGORIES)
    return [c for c in STRESS_TEST_CATEGORIES if c not in MODEL_TEST_CATEGORIES]


#: What a project may choose for its continuous tests: the defaults (as this engine reports them)
#: and RIME's name for the one it stands in for.
CONTINUOUS_TEST_CHOICES: tuple[TestCategory, ...] = (
    *CONTINUOUS_TEST_CATEGORIES,
    TestCategory.SUBSET_PERFORMANCE_DEGRADATION,
)


def project_stress_test_categories(p: schema.Project) -> list[str]:
    """The project's ``stressTestCategories``: what it chose, else all this engine's stress tests run."""
    return list(p.stress_test_categories or stress_test_categories())


def project_continuous_test_categories(p: schema.Project) -> list[str]:
    """The project's ``continuousTestCategories``: what it chose, else RIME's defaults the engine runs."""
    return list(p.continuous_test_categories or [c.value for c in CONTINUOUS_TEST_CATEGORIES])


def continuous_test_run_categories(categories: Iterable[str]) -> list[str]:
    """The catalogue categories a bin runs for a project's continuous-test categories, in order.

    Subset Performance Degradation runs as the catalogue's Subset Performance.
    """
    out: list[str] = []
    for name in categories:
        category = TestCategory(name)
        if category is TestCategory.SUBSET_PERFORMANCE_DEGRADATION:
            category = TestCategory.SUBSET_PERFORMANCE
        if category.value not in out:
            out.append(category.value)
    return out


def project(p: schema.Project, firewall_ids: list[str] | None = None) -> dict[str, Any]:
    """``ProjectProject``."""
    out: dict[str, Any] = {
        "id": uuid(p.id),
        "name": p.name,
        "description": p.description,
        "modelTask": p.model_task,
        "creationTime": format_timestamp(p.created_at),
        "ownerId": uuid(LOCAL),
        "workspaceId": uuid(LOCAL),
        "tags": [],
        "firewallIds": [uuid(f) for f in firewall_ids or []],
        "isPublished": False,
        "stressTestCategories": project_stress_test_categories(p),
        "continuousTestCategories": project_continuous_test_categories(p),
        "riskScores": [],
    }
    for key, value in (
        ("useCase", p.use_case),
        ("ethicalConsideration", p.ethical_consideration),
        ("profilingConfig", p.profiling_config),
        ("runTimeInfo", p.run_time_info),
        ("lastTestRunTime", format_timestamp(p.last_test_run_at)),
    ):
        if value is not None:
            out[key] = value
    return out


def project_with_details(p: schema.Project, firewall_ids: list[str] | None = None) -> dict[str, Any]:
    """``ProjectProjectWithDetails``: what get and list return (note the double nesting)."""
    return {
        "project": project(p, firewall_ids),
        "ownerDetails": {"name": LOCAL, "email": ""},
        "lastUpdatedTime": format_timestamp(p.last_test_run_at or p.created_at),
    }


# ----------------------------------------------------------------------------- registry


def dataset(d: schema.Dataset) -> dict[str, Any]:
    """``DatasetDataset``."""
    out: dict[str, Any] = {
        "name": d.name,
        "datasetId": d.id,
        "projectIds": [uuid(d.project_id)],
        "creatorId": uuid(LOCAL),
        "creationTime": format_timestamp(d.created_at),
        "dataInfo": d.data_info,
        "validityStatus": d.validity_status,
        "validityStatusMessage": d.validity_message,
        "sizeBytes": int64(d.size_bytes),
    }
    if d.user_metadata:
        out["userMetadata"] = d.user_metadata
    return out


def model(m: schema.Model) -> dict[str, Any]:
    """``ModelModel``."""
    out: dict[str, Any] = {
        "name": m.name,
        "modelId": uuid(m.id),
        "projectIds": [uuid(m.project_id)],
        "creatorId": uuid(LOCAL),
        "creationTime": format_timestamp(m.created_at),
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


def model_with_owner(m: schema.Model) -> dict[str, Any]:
    """What get and list return for a model (note the double nesting)."""
    return {"model": model(m), "ownerDetails": {"name": LOCAL}}


def prediction(p: schema.Prediction) -> dict[str, Any]:
    """A registered prediction set."""
    out: dict[str, Any] = {
        "datasetId": p.dataset_id,
        "modelId": uuid(p.model_id),
        "creationTime": format_timestamp(p.created_at),
        "predInfo": p.pred_info,
        "validityStatus": p.validity_status,
        "validityStatusMessage": p.validity_message,
    }
    if p.user_metadata:
        out["userMetadata"] = p.user_metadata
    return out


def registration(
    *, dataset_id: str | None = None, model_id: str | None = None, validation_job_id: str | None = None
) -> dict[str, Any]:
    """The answer to a register call: the new id and the validation job, when one runs."""
    out: dict[str, Any] = {}
    if dataset_id is not None:
        out["datasetId"] = dataset_id
    if model_id is not None:
        out["modelId"] = uuid(model_id)
    if validation_job_id is not None:
        out["registryValidationJobId"] = uuid(validation_job_id)
    return out


# ----------------------------------------------------------------------------- uploads


def upload_urls(
    file_urls: dict[str, str], done_url: str, destination_url: str, upload_limit: int, *, directory: bool
) -> dict[str, Any]:
    """Where to PUT an upload's files (``uploadUrl`` for one file, ``uploadPathMap`` for a directory)."""
    out: dict[str, Any] = (
        {"uploadPathMap": file_urls} if directory else {"uploadUrl": next(iter(file_urls.values()))}
    )
    out.update(doneFileUploadUrl=done_url, destinationUrl=destination_url, uploadLimit=int64(upload_limit))
    return out


# ----------------------------------------------------------------------------- jobs


def job(j: schema.Job, *, full: bool = True, bin_runs: list[schema.TestRun] | None = None) -> dict[str, Any]:
    """``RimeJobMetadata``; ``full`` adds the progress (``JOB_VIEW_FULL``): a stress test's per
    batch, a continuous test's per bin (``bin_runs``: the job's test runs, oldest bin first)."""
    running_secs = 0.0
    if j.started_at is not None:
        end = aware(j.completed_at) if j.completed_at is not None else utc_now()
        running_secs = max(0.0, (end - aware(j.started_at)).total_seconds())
    out: dict[str, Any] = {
        "jobId": j.id,
        "jobType": j.job_type,
        "status": j.status,
        "creationTime": format_timestamp(j.created_at),
        "runningTimeSecs": round(running_secs, 3),
        "jobProgressStr": _progress_str(j),
        "cancellationRequested": bool(j.cancellation_requested),
        "errorMsg": j.error_msg or "",
        "archivedJobLogs": {"url": {"url": ""}},
    }
    if j.started_at is not None:
        out["startTime"] = format_timestamp(j.started_at)
    if j.completed_at is not None:
        out["completionTime"] = format_timestamp(j.completed_at)
    if j.kind == schema.JobKind.CONTINUOUS_TEST:
        out["jobData"] = {"continuousInc": continuous_job_data(j, bin_runs or [], full=full)}
        if bin_runs:
            done = sum(1 for r in bin_runs if r.status == TestTaskStatus.COMPLETED)
            out["jobProgressStr"] = f"{done} / {len(bin_runs)} time bins completed"
    if j.kind == schema.JobKind.STRESS_TEST:
        stress: dict[str, Any] = {"projectId": uuid(j.project_id or ""), "testRunId": j.test_run_id or ""}
        if full:
            stress["progress"] = {
                "testRun": j.progress or progress(j.test_run_id or "", TestTaskStatus.PENDING)
            }
        out["jobData"] = {"stress": stress}
    return out


def progress(
    test_run_id: str, status: TestTaskStatus, batches: Iterable[tuple[str, TestTaskStatus]] = ()
) -> dict[str, Any]:
    """A stress test's progress (``jobData.stress.progress.testRun``): one status per test batch."""
    return {
        "testRunId": test_run_id,
        "status": status.value,
        "testBatches": [{"type": test_type, "status": s.value} for test_type, s in batches],
    }


def _progress_str(j: schema.Job) -> str:
    batches = (j.progress or {}).get("testBatches") or []
    if not batches:
        return ""
    done = sum(1 for b in batches if b.get("status") == TestTaskStatus.COMPLETED)
    return f"{done} / {len(batches)} test batches completed"


def job_logs(chunk: str) -> dict[str, Any]:
    """``GET /v1-beta/logs/{jobId}``."""
    return {"result": {"chunk": chunk}}


# ----------------------------------------------------------------------------- test runs


def test_run(run: schema.TestRun, model_task: str, base_url: str) -> dict[str, Any]:
    """``TestrunresultTestRunDetail``; a run that has not finished has zero counts, not none."""
    metrics = dict(run.metrics or {})
    metrics.setdefault("summaryCounts", dict(ZERO_SUMMARY))
    metrics.setdefault("severityCounts", dict(ZERO_SEVERITY))
    metrics.setdefault("modelPerf", {})
    metrics.setdefault("numInputs", "0")
    metrics.setdefault("numFailingInputs", "0")
    metrics.setdefault("durationMillis", "0")
    metrics.setdefault("categorySummaryMetrics", [])
    metrics.setdefault("riskScores", [])
    return {
        "testRunId": run.id,
        "name": run.name,
        "projectId": uuid(run.project_id),
        "testingType": run.testing_type,
        "modelTask": model_task,
        "refDataId": run.ref_data_id or "",
        "evalDataId": run.eval_data_id or "",
        "modelId": uuid(run.model_id or ""),
        "uploadTime": format_timestamp(run.created_at),
        "webAppUrl": {"url": test_run_url(base_url, run.project_id, run.id)},
        "testCategories": list(run.categories or []),
        "metrics": metrics,
        "status": run.status,
        "rimeVersion": RIME_COMPAT_VERSION,
        "refDataSamplingPct": 100.0,
        "evalDataSamplingPct": 100.0,
        **(
            {"binTimeInterval": time_interval(run.bin_start, run.bin_end)}
            if run.bin_start is not None and run.bin_end is not None
            else {}
        ),
    }


def test_run_metrics(
    batches: list[TestBatch],
    categories: list[dict[str, Any]],
    *,
    model_perf: dict[str, Any],
    average_prediction: float | None,
    num_inputs: int,
    duration_ms: int,
) -> dict[str, Any]:
    """The ``metrics`` of a finished test run, from its batches and category results."""
    summary = {"total": sum(len(b.cases) for b in batches), "pass": 0, "warning": 0, "fail": 0, "skip": 0}
    for b in batches:
        for key, value in b.summary_counts().items():
            if key != "total":
                summary[key] += value
    return json_safe(
        {
            "modelPerf": model_perf,
            "averagePrediction": average_prediction,
            "numInputs": int64(num_inputs),
            "numFailingInputs": int64(_num_failing_inputs(batches)),
            "durationMillis": int64(duration_ms),
            "severityCounts": severity_counts(_severity(b.severity) for b in batches),
            "summaryCounts": {k: int64(v) for k, v in summary.items()},
            "categorySummaryMetrics": [
                {
                    "testCategory": entry["testCategory"],
                    "categoryId": entry["id"],
                    "name": metric["name"],
                    "value": metric["value"],
                }
                for entry in categories
                for metric in entry["categoryMetrics"]
            ],
            "riskScores": [],
        }
    )


def _num_failing_inputs(batches: list[TestBatch]) -> int:
    # The largest failing-row count of any abnormal-inputs case: a lower bound of the union.
    best = 0
    for b in batches:
        if b.category != TestCategory.ABNORMAL_INPUTS:
            continue
        for c in b.cases:
            for m in c.metrics:
                if m.category == MetricCategory.FAILING_INPUTS and isinstance(m.value, int):
                    best = max(best, m.value)
    return best


# ----------------------------------------------------------------------------- results


def severity_counts(severities: Iterable[str]) -> dict[str, str]:
    """``severityCounts`` of a list of wire severities (all three keys, zeros included)."""
    listed = list(severities)
    return {
        "numNoneSeverity": int64(sum(1 for s in listed if s == Severity.PASS)),
        "numLowSeverity": int64(sum(1 for s in listed if s == Severity.WARNING)),
        "numHighSeverity": int64(sum(1 for s in listed if s == Severity.ALERT)),
    }


def _severity(value: Any) -> Severity:
    """The wire severity of a catalogue result (whose severities are ordered for ``max()``)."""
    return Severity(value.api_name)


def test_batch(run_id: str, batch: TestBatch) -> dict[str, Any]:
    """``TestrunresultTestBatchResult`` of one test type."""
    counts = batch.summary_counts()
    return json_safe(
        {
            "testRunId": run_id,
            "testType": batch.test_type,
            "testName": batch.name,
            "description": batch.description,
            "testCategory": batch.category.value,
            "category": batch.category.display_name,
            "durationInMillis": int64(batch.duration_ms),
            "severity": _severity(batch.severity),
            "summaryCounts": {k: int64(v) for k, v in counts.items()},
            "failingFeatures": batch.failing_features,
            "metrics": [m.to_api() for m in batch.metrics],
            "showInTestComparisons": True,
            "display": {"summaryDetails": _batch_summary(batch)},
        }
    )


def _batch_summary(batch: TestBatch) -> str:
    failing = [c for c in batch.cases if not c.skipped and _severity(c.severity).rank > 0]
    if not failing:
        return f"{batch.name}: all {len(batch.cases)} test case(s) passed."
    worst = max(failing, key=lambda c: (_severity(c.severity).rank, c.importance))
    return f"{batch.name}: {len(failing)} of {len(batch.cases)} test case(s) failed. {worst.explanation}"


def test_case(run_id: str, batch: TestBatch, position: int) -> dict[str, Any]:
    """``TestrunresultTestCase``: the ``position``-th case of ``batch``."""
    case = batch.cases[position]
    return json_safe(
        {
            "testRunId": run_id,
            "features": list(case.features),
            "testBatchType": batch.test_type,
            "status": case.status,
            "severity": _severity(case.severity),
            "importanceScore": float(case.importance),
            "testCategory": batch.category.value,
            "category": batch.category.display_name,
            "metrics": [m.to_api() for m in case.metrics],
            "urlSafeFeatureId": "-".join(case.features) or batch.test_type,
            "testCaseId": f"{batch.test_type}:{position}",
            "display": {"details": case.explanation},
            "explanation": case.explanation,
        }
    )


def category_results(run_id: str, batches: list[TestBatch]) -> list[dict[str, Any]]:
    """``RimeCategoryTestResult`` per category that ran, in the order the batches ran."""
    out = []
    for category in dict.fromkeys(b.category for b in batches):
        members = [b for b in batches if b.category == category]
        severities = [_severity(b.severity) for b in members]
        cases = [c for b in members for c in b.cases if not c.skipped]
        passed = sum(1 for c in cases if _severity(c.severity) is Severity.PASS)
        failing = [b for b, severity in zip(members, severities, strict=True) if severity.rank > 0]
        importance = max((c.importance for c in cases if math.isfinite(c.importance)), default=0.0)
        if failing:
            suggestion = f"Look at the failing tests: {', '.join(b.name for b in failing)}."
        else:
            suggestion = "No action needed: every test in this category passed."
        risk = category.risk_category
        out.append(
            json_safe(
                {
                    "id": f"{run_id}:{category.name.lower()}",
                    "severity": Severity.from_rank(max(s.rank for s in severities)),
                    "suggestion": {"details": suggestion},
                    "categoryMetrics": [
                        {
                            "name": "Pass Rate",
                            "value": passed / len(cases) if cases else 1.0,
                            "description": "Share of this category's test cases that passed.",
                            "riskCategoryType": risk,
                        },
                        {
                            "name": "Failing Test Cases",
                            "value": float(len(cases) - passed),
                            "description": "Test cases with a warning or an alert.",
                            "riskCategoryType": risk,
                        },
                    ],
                    "testBatchTypes": [b.test_type for b in members],
                    "description": _CATEGORY_DESCRIPTIONS.get(category, category.display_name),
                    "severityCounts": severity_counts(severities),
                    "failingTestTypes": [b.test_type for b in failing],
                    "duration": round(sum(b.duration_ms for b in members) / 1000.0, 3),
                    "categoryImportance": importance,
                    "riskCategory": risk,
                    "testCategory": category.value,
                }
            )
        )
    return out


# ----------------------------------------------------------------------------- continuous tests


def firewall_url(base_url: str, project_id: str) -> str:
    """The project's continuous-test (firewall) page."""
    return f"{base_url}/projects/{project_id}/firewall"


def firewall(
    fw: schema.Firewall,
    latest_bin: tuple[datetime, datetime] | None = None,
    category_severities: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """``FirewallFirewall``: ``binSize`` as ``"<seconds>s"``, ``firewallId`` and ``modelId`` as ``{uuid}``."""
    out: dict[str, Any] = {
        "firewallId": uuid(fw.id),
        "projectId": uuid(fw.project_id),
        "modelId": uuid(fw.model_id),
        "binSize": f"{fw.bin_size_seconds}s",
        "refDataId": fw.ref_data_id,
        "riskScores": [],
        "testCategorySeverities": [
            {"testCategory": c, "riskCategoryType": TestCategory(c).risk_category.value, "severity": sev}
            for c, sev in category_severities or []
        ],
    }
    if fw.scheduled_ct_info:
        out["scheduledCtInfo"] = fw.scheduled_ct_info
    if latest_bin is not None:
        out["latestRunInfo"] = {"bin": time_interval(*latest_bin)}
    return out


def time_interval(start: datetime, end: datetime) -> dict[str, Any]:
    """``RimeTimeInterval``."""
    return {"startTime": format_timestamp(start), "endTime": format_timestamp(end)}


def continuous_job_data(j: schema.Job, bin_runs: list[schema.TestRun], *, full: bool) -> dict[str, Any]:
    """``jobData.continuousInc``: the job's firewall, one test run per bin, each bin's progress.

    Beyond RIME's fields, ``evalDatasetId`` names the batch from the job's creation on: a retried
    task finds its job by it even while the job is queued and has no bins yet.
    """
    payload = j.payload or {}
    out: dict[str, Any] = {
        "firewallId": str(payload.get("firewall_id", "")),
        "projectId": uuid(j.project_id or ""),
        "ctTestRunIds": [r.id for r in bin_runs],
    }
    if payload.get("eval_dataset_id"):
        out["evalDatasetId"] = str(payload["eval_dataset_id"])
    if full:
        out["progress"] = {
            "testRuns": [
                {
                    "testRun": {"testRunId": r.id, "status": r.status, "testBatches": []},
                    "binStartTime": format_timestamp(r.bin_start),
                    "binEndTime": format_timestamp(r.bin_end),
                }
                for r in bin_runs
            ]
        }
    return out


def monitor_threshold(m: schema.Monitor) -> dict[str, Any]:
    """``MonitorThreshold``: ``low`` warns, ``high`` alerts."""
    out: dict[str, Any] = {"type": m.threshold_type}
    if m.warning is not None and math.isfinite(m.warning):
        out["low"] = m.warning
    if m.alert is not None and math.isfinite(m.alert):
        out["high"] = m.alert
    return out


def monitor(m: schema.Monitor) -> dict[str, Any]:
    """``MonitorMonitor``: a default monitor of a continuous test."""
    return {
        "id": uuid(m.id),
        "name": m.name,
        "firewallId": uuid(m.firewall_id),
        "monitorType": m.monitor_type,
        "riskCategoryType": m.risk_category,
        "testCategory": m.test_category,
        "artifactIdentifier": m.artifact,
        "createdTime": format_timestamp(m.created_at),
        "notify": bool(m.notify),
        "config": {
            "degradation": {
                "aggregation": {"aggregationType": "AGGREGATION_TYPE_AVG", "timeWindow": "0s"},
                "threshold": monitor_threshold(m),
            }
        },
        "excludedTransforms": {"excludedTransforms": []},
        "pinned": bool(m.pinned),
    }


def monitor_result(m: schema.Monitor, values: list[schema.MonitorValue]) -> dict[str, Any]:
    """``RimeGetMonitorResultResponse``: one data point per bin, oldest first."""
    points = []
    for v in values:
        point: dict[str, Any] = {"timeInterval": time_interval(v.bin_start, v.bin_end)}
        if v.value is not None and math.isfinite(v.value):
            point["monitorValue"] = v.value
        points.append(point)
    return {
        "monitorId": uuid(m.id),
        "monitorName": m.name,
        "metricName": m.metric_name,
        "threshold": monitor_threshold(m),
        "dataPoints": points,
        "descriptionHtml": f"<p>{html_escape(m.description)}</p>",
        "longDescriptionTabs": [],
    }


def html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def detection_event(e: schema.DetectionEvent, monitor_name: str) -> dict[str, Any]:
    """``DetectionDetectionEvent``; ``eventObjectId`` is the monitor's id, as a plain string."""
    return {
        "id": uuid(e.id),
        "projectId": uuid(e.project_id),
        "firewallId": uuid(e.firewall_id),
        "eventType": e.event_type or EventType.METRIC_DEGRADATION.value,
        "severity": e.severity,
        "eventObjectId": e.monitor_id,
        "eventObjectName": monitor_name,
        "eventTimeRange": time_interval(e.start_time, e.end_time),
        "lastUpdateTime": format_timestamp(e.last_update_time),
        "riskCategoryType": e.risk_category,
        "testCategory": e.test_category,
        "description": e.description,
        "descriptionHtml": f"<p>{html_escape(e.description)}</p><p>{html_escape(e.root_cause)}</p>",
        "detail": e.detail,
    }
