"""A stress test, from registered ids to stored results. Runs inside a worker process."""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_rime.local.api.wire import i64, now
from airflow_provider_rime.local.catalogue import plan_tests, run_tests
from airflow_provider_rime.local.catalogue.features import infer_features
from airflow_provider_rime.local.catalogue.model_performance import model_perf_summary
from airflow_provider_rime.local.catalogue.runner import PlannedTest
from airflow_provider_rime.local.catalogue.types import (
    Severity,
    StressInputs,
    SuiteConfig,
    TestBatch,
    parse_sensitivity,
)
from airflow_provider_rime.local.data import DataError, missing_column_message, read_table
from airflow_provider_rime.local.jobs.status import SUCCEEDED, finish_job
from airflow_provider_rime.local.store.schema import (
    CategoryResult,
    Dataset,
    Job,
    Prediction,
    Project,
    TestBatchResult,
    TestCaseResult,
    TestRun,
)
from airflow_provider_rime.rime_api.enums import MetricCategory, TestCategory

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

log = logging.getLogger(__name__)

VALIDATION_WAIT_SECONDS = 600

_CATEGORY_DESCRIPTIONS = {
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


class Cancelled(Exception):
    pass


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


def _wait_until_validated(sessions: sessionmaker[Session], dataset_ids: list[str]) -> None:
    deadline = time.monotonic() + VALIDATION_WAIT_SECONDS
    while True:
        with sessions() as s:
            pending = [
                d.name
                for d in (s.get(Dataset, i) for i in dataset_ids)
                if d is not None and d.validity_status == "VALIDITY_STATUS_PENDING"
            ]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise DataError(f"dataset(s) {', '.join(pending)} still being validated after 10 minutes")
        time.sleep(0.5)


def _labels(frame: pd.DataFrame, column: str, data_name: str) -> np.ndarray:
    import numpy as np
    import pandas as pd

    series = frame[column]
    if series.isna().any():
        raise DataError(
            f"label column {column!r} has {int(series.isna().sum())} missing values in the {data_name}; "
            f"every row needs a label for binary classification"
        )
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.int8)
    values = set(pd.unique(series).tolist())
    if pd.api.types.is_numeric_dtype(series) and values <= {0, 1}:
        return series.to_numpy(dtype=np.int8)
    shown = ", ".join(map(repr, sorted(values, key=str)[:10]))
    raise DataError(
        f"label column {column!r} in the {data_name} must hold 0/1 (or true/false) for binary "
        f"classification; it holds: {shown}"
    )


def _predictions(
    session: Session, model_id: str, dataset: Dataset, n_rows: int, data_name: str
) -> tuple[np.ndarray | None, str | None]:
    import numpy as np
    import pandas as pd

    from airflow_provider_rime.local.api.wire import field

    pred = session.get(Prediction, (model_id, dataset.id))
    if pred is None:
        return None, None
    if pred.validity_status == "VALIDITY_STATUS_INVALID":
        raise DataError(f"the predictions for the {data_name} are invalid: {pred.validity_message}")
    info = pred.pred_info
    path = field(field(field(info, "connectionInfo"), "dataFile"), "path")
    column = field(field(info, "predParams"), "predCol") or "pred"
    frame = read_table(path)
    if column not in frame.columns:
        raise DataError(
            missing_column_message(
                column, "prediction", f"predictions for the {data_name}", list(map(str, frame.columns))
            )
        )
    if len(frame) != n_rows:
        raise DataError(
            f"the predictions for the {data_name} have {len(frame)} rows but the data has {n_rows}; "
            f"predictions are matched to data rows by position"
        )
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(
            f"prediction column {column!r} for the {data_name} has {int(bad.sum())} missing or "
            f"non-numeric values"
        )
    if values.min() < 0 or values.max() > 1:
        raise DataError(
            f"prediction column {column!r} for the {data_name} must hold probabilities of class 1 in [0, 1]; "
            f"found values from {values.min():.4g} to {values.max():.4g}"
        )
    return values, column


def load_inputs(sessions: sessionmaker[Session], payload: dict[str, Any]) -> StressInputs:
    """Read the registered data and predictions of a stress test into ``StressInputs``."""
    from airflow_provider_rime.local.api.wire import field

    _wait_until_validated(sessions, [payload["ref_dataset_id"], payload["eval_dataset_id"]])
    with sessions() as s:
        ref_ds = s.get(Dataset, payload["ref_dataset_id"])
        eval_ds = s.get(Dataset, payload["eval_dataset_id"])
        if ref_ds is None or eval_ds is None:
            raise DataError("a dataset of this test run was deleted before it ran")
        for ds, role in ((ref_ds, "reference"), (eval_ds, "evaluation")):
            if ds.validity_status == "VALIDITY_STATUS_INVALID":
                raise DataError(f"the {role} dataset {ds.name!r} is invalid: {ds.validity_message}")

        frames = {}
        params = {}
        for ds, role in ((ref_ds, "reference data"), (eval_ds, "evaluation data")):
            path = field(field(field(ds.data_info, "connectionInfo"), "dataFile"), "path")
            frames[role] = read_table(path)
            params[role] = field(ds.data_info, "dataParams") or {}

        label_col = field(params["reference data"], "labelCol") or field(
            params["evaluation data"], "labelCol"
        )
        labels: dict[str, np.ndarray | None] = {}
        for role, frame in frames.items():
            if label_col:
                if label_col not in frame.columns:
                    raise DataError(
                        missing_column_message(label_col, "label", role, list(map(str, frame.columns)))
                    )
                labels[role] = _labels(frame, label_col, role)
            else:
                labels[role] = None

        preds: dict[str, np.ndarray | None] = {}
        pred_cols: set[str] = set()
        for ds, role in ((ref_ds, "reference data"), (eval_ds, "evaluation data")):
            values, column = _predictions(s, payload["model_id"], ds, len(frames[role]), role)
            preds[role] = values
            if column:
                pred_cols.add(column)

    if (preds["reference data"] is None) != (preds["evaluation data"] is None):
        missing = "reference" if preds["reference data"] is None else "evaluation"
        raise DataError(
            f"predictions are registered for one dataset only; register the model's predictions on the "
            f"{missing} dataset too (or on neither, to run data-only tests)"
        )

    non_features = {c for c in (label_col,) if c} | pred_cols | set(payload.get("exclude_columns") or [])
    for p in params.values():
        ts_col = field(p, "timestampCol")
        if ts_col:
            non_features.add(ts_col)
    ref = frames["reference data"]
    ev = frames["evaluation data"]
    ref_features = [c for c in ref.columns if str(c) not in non_features]
    eval_features = [c for c in ev.columns if str(c) not in non_features]
    categorical = list(field(params["reference data"], "categoricalFeatures") or [])
    text = list(field(params["reference data"], "textFeatures") or [])
    shared = [c for c in ref_features if c in set(eval_features)]
    features = infer_features(ref[shared], categorical, text)

    categories = payload.get("categories")
    suite = SuiteConfig(
        sensitivity=parse_sensitivity(payload.get("sensitivity")),
        individual_tests_config=payload.get("individual_tests_config") or {},
        exclude_columns=frozenset(payload.get("exclude_columns") or []),
        categories=frozenset(TestCategory(c) for c in categories) if categories is not None else None,
        random_seed=int(payload.get("random_seed") or 0),
    )
    return StressInputs(
        ref=ref[ref_features],
        eval=ev[eval_features],
        features=features,
        ref_labels=labels["reference data"],
        eval_labels=labels["evaluation data"],
        ref_preds=preds["reference data"],
        eval_preds=preds["evaluation data"],
        config=suite,
    )


def _batch_doc(run_id: str, batch: TestBatch) -> dict[str, Any]:
    counts = batch.summary_counts()
    return json_safe(
        {
            "testRunId": run_id,
            "testType": batch.test_type,
            "testName": batch.name,
            "description": batch.description,
            "testCategory": batch.category.value,
            "category": batch.category.display_name,
            "durationInMillis": i64(batch.duration_ms),
            "severity": batch.severity.api_name,
            "summaryCounts": {k: i64(v) for k, v in counts.items()},
            "failingFeatures": batch.failing_features,
            "metrics": [m.to_api() for m in batch.metrics],
            "showInTestComparisons": True,
            "display": {"summaryDetails": _batch_summary(batch)},
        }
    )


def _batch_summary(batch: TestBatch) -> str:
    failing = [c for c in batch.cases if not c.skipped and c.severity > Severity.PASS]
    if not failing:
        return f"{batch.name}: all {len(batch.cases)} test case(s) passed."
    worst = max(failing, key=lambda c: (c.severity, c.importance))
    return f"{batch.name}: {len(failing)} of {len(batch.cases)} test case(s) failed. {worst.explanation}"


def _case_doc(run_id: str, batch: TestBatch, position: int) -> dict[str, Any]:
    case = batch.cases[position]
    case_id = f"{batch.test_type}:{position}"
    return json_safe(
        {
            "testRunId": run_id,
            "features": list(case.features),
            "testBatchType": batch.test_type,
            "status": case.status,
            "severity": case.severity.api_name,
            "importanceScore": float(case.importance),
            "testCategory": batch.category.value,
            "category": batch.category.display_name,
            "metrics": [m.to_api() for m in case.metrics],
            "urlSafeFeatureId": "-".join(case.features) or batch.test_type,
            "testCaseId": case_id,
            "display": {"details": case.explanation},
            "explanation": case.explanation,
        }
    )


def _severity_counts(severities: list[Severity]) -> dict[str, str]:
    return {
        "numNoneSeverity": i64(sum(1 for s in severities if s is Severity.PASS)),
        "numLowSeverity": i64(sum(1 for s in severities if s is Severity.WARNING)),
        "numHighSeverity": i64(sum(1 for s in severities if s is Severity.ALERT)),
    }


def category_results(run_id: str, batches: list[TestBatch]) -> list[dict[str, Any]]:
    out = []
    for category in TestCategory:
        members = [b for b in batches if b.category is category]
        if not members:
            continue
        severity = max((b.severity for b in members), default=Severity.PASS)
        cases = [c for b in members for c in b.cases if not c.skipped]
        passed = sum(1 for c in cases if c.severity is Severity.PASS)
        failing = [b.test_type for b in members if b.severity > Severity.PASS]
        duration = sum(b.duration_ms for b in members) / 1000.0
        importance = max((c.importance for c in cases if math.isfinite(c.importance)), default=0.0)
        if failing:
            names = ", ".join(b.name for b in members if b.severity > Severity.PASS)
            suggestion = f"Look at the failing tests: {names}."
        else:
            suggestion = "No action needed: every test in this category passed."
        out.append(
            json_safe(
                {
                    "id": f"{run_id}:{category.name.lower()}",
                    "severity": severity.api_name,
                    "suggestion": {"details": suggestion},
                    "categoryMetrics": [
                        {
                            "name": "Pass Rate",
                            "value": passed / len(cases) if cases else 1.0,
                            "description": "Share of this category's test cases that passed.",
                            "riskCategoryType": category.risk_category,
                        },
                        {
                            "name": "Failing Test Cases",
                            "value": float(len(cases) - passed),
                            "description": "Test cases with a warning or an alert.",
                            "riskCategoryType": category.risk_category,
                        },
                    ],
                    "testBatchTypes": [b.test_type for b in members],
                    "description": _CATEGORY_DESCRIPTIONS.get(category, category.display_name),
                    "severityCounts": _severity_counts([b.severity for b in members]),
                    "failingTestTypes": failing,
                    "duration": round(duration, 3),
                    "categoryImportance": importance,
                    "riskCategory": category.risk_category,
                    "testCategory": category.value,
                }
            )
        )
    return out


def _num_failing_inputs(batches: list[TestBatch]) -> int:
    # The largest failing-row count of any abnormal-inputs case: a lower bound of the union.
    best = 0
    for b in batches:
        if b.category is not TestCategory.ABNORMAL_INPUTS:
            continue
        for c in b.cases:
            for m in c.metrics:
                if m.category is MetricCategory.FAILING_INPUTS and isinstance(m.value, int):
                    best = max(best, m.value)
    return best


def run_stress_test_job(
    sessions: sessionmaker[Session], job_id: str, is_cancelled: Callable[[], bool]
) -> None:
    started = time.perf_counter()
    with sessions() as s:
        job = s.get(Job, job_id)
        assert job is not None
        payload = dict(job.payload)
        run_id = job.test_run_id
        assert run_id is not None

    log.info("loading data for test run %s", run_id)
    inputs = load_inputs(sessions, payload)
    log.info(
        "loaded %d reference and %d evaluation rows, %d features (%s)",
        len(inputs.ref),
        len(inputs.eval),
        len(inputs.features),
        ", ".join(f"{f.name}: {f.kind.value}" for f in inputs.features.values()),
    )
    planned = plan_tests(inputs.config, has_labels=inputs.has_labels, has_preds=inputs.has_preds)
    progress: dict[str, Any] = {
        "testRunId": run_id,
        "status": "TEST_TASK_STATUS_RUNNING",
        "testBatches": [{"type": p.spec.key, "status": "TEST_TASK_STATUS_PENDING"} for p in planned],
    }
    with sessions.begin() as s:
        s.get_one(Job, job_id).progress = progress
        s.get_one(TestRun, run_id).status = "TEST_TASK_STATUS_RUNNING"

    position = {"batch": 0}

    def on_batch_done(test: PlannedTest, batch: TestBatch | None) -> None:
        for entry in progress["testBatches"]:
            if entry["type"] == test.spec.key:
                entry["status"] = "TEST_TASK_STATUS_COMPLETED"
        with sessions.begin() as s:
            if batch is not None:
                s.add(
                    TestBatchResult(
                        test_run_id=run_id,
                        test_type=batch.test_type,
                        position=position["batch"],
                        category=batch.category.value,
                        severity=batch.severity.api_name,
                        doc=_batch_doc(run_id, batch),
                    )
                )
                for i, case in enumerate(batch.cases):
                    s.add(
                        TestCaseResult(
                            test_run_id=run_id,
                            test_type=batch.test_type,
                            position=i,
                            severity=case.severity.api_name,
                            importance=float(case.importance) if math.isfinite(case.importance) else 0.0,
                            doc=_case_doc(run_id, batch, i),
                        )
                    )
                position["batch"] += 1
            s.get_one(Job, job_id).progress = json_safe(progress)
        log.info("finished %s (%s)", test.spec.key, batch.severity.name if batch else "not applicable")
        if is_cancelled():
            raise Cancelled()

    # A retried worker starts from a clean slate.
    with sessions.begin() as s:
        s.execute(delete(TestCaseResult).where(TestCaseResult.test_run_id == run_id))
        s.execute(delete(TestBatchResult).where(TestBatchResult.test_run_id == run_id))
        s.execute(delete(CategoryResult).where(CategoryResult.test_run_id == run_id))

    batches = run_tests(inputs, planned, on_batch_done)

    cases = [c for b in batches for c in b.cases]
    summary = {"total": len(cases), "pass": 0, "warning": 0, "fail": 0, "skip": 0}
    for b in batches:
        for k, v in b.summary_counts().items():
            if k != "total":
                summary[k] += v
    category_metrics: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {
        "modelPerf": model_perf_summary(inputs),
        "averagePrediction": float(inputs.eval_preds.mean()) if inputs.eval_preds is not None else None,
        "numInputs": i64(len(inputs.eval)),
        "numFailingInputs": i64(_num_failing_inputs(batches)),
        "durationMillis": i64(int((time.perf_counter() - started) * 1000)),
        "severityCounts": _severity_counts([b.severity for b in batches]),
        "summaryCounts": {k: i64(v) for k, v in summary.items()},
        "categorySummaryMetrics": category_metrics,
        "riskScores": [],
    }
    results = category_results(run_id, batches)
    for entry in results:
        for m in entry["categoryMetrics"]:
            category_metrics.append(
                {
                    "testCategory": entry["testCategory"],
                    "categoryId": entry["id"],
                    "name": m["name"],
                    "value": m["value"],
                }
            )
    progress["status"] = "TEST_TASK_STATUS_COMPLETED"
    with sessions.begin() as s:
        for i, doc in enumerate(results):
            s.add(CategoryResult(test_run_id=run_id, category=doc["testCategory"], position=i, doc=doc))
        run = s.get_one(TestRun, run_id)
        run.metrics = json_safe(metrics)
        run.categories = sorted({b.category.value for b in batches})
        run.status = "TEST_TASK_STATUS_COMPLETED"
        run.completed_at = now()
        project = s.get(Project, run.project_id)
        if project is not None:
            project.last_test_run_at = run.completed_at
        s.get_one(Job, job_id).progress = json_safe(progress)
        finish_job(s, job_id, SUCCEEDED, only_if_running=True)
    log.info("test run %s completed: %s", run_id, summary)


def new_id() -> str:
    return str(uuid.uuid4())
