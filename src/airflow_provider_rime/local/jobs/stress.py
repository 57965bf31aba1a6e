"""A stress test, from registered ids to stored results. Runs inside a worker process."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_rime.local import render
from airflow_provider_rime.local.catalogue import plan_tests, run_tests
from airflow_provider_rime.local.catalogue.features import infer_features
from airflow_provider_rime.local.catalogue.model_performance import model_perf_summary
from airflow_provider_rime.local.catalogue.runner import PlannedTest
from airflow_provider_rime.local.catalogue.types import (
    ModelCallFailed,
    StressInputs,
    SuiteConfig,
    TestBatch,
    parse_sensitivity,
)
from airflow_provider_rime.local.data import (
    DataError,
    DataRoots,
    check_unchanged,
    missing_column_message,
    read_table,
)
from airflow_provider_rime.local.jobs.queue import StressTestPayload
from airflow_provider_rime.local.jobs.status import Cancelled, finish_job
from airflow_provider_rime.local.jobs.validation import data_file_path, model_source, read_stored
from airflow_provider_rime.local.models import (
    ModelCallError,
    ModelError,
    ModelLimits,
    ModelProcess,
    ModelSource,
)
from airflow_provider_rime.local.store.schema import (
    CategoryResult,
    Dataset,
    Job,
    Model,
    Prediction,
    Project,
    TestBatchResult,
    TestCaseResult,
    TestRun,
)
from airflow_provider_rime.rime_api.documents import DataInfo, DataParams, PredInfo
from airflow_provider_rime.rime_api.enums import JobStatus, TestCategory, TestTaskStatus, ValidityStatus
from airflow_provider_rime.rime_api.naming import utc_now

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

log = logging.getLogger(__name__)

VALIDATION_WAIT_SECONDS = 600


def _wait_until_validated(sessions: sessionmaker[Session], dataset_ids: list[str]) -> None:
    deadline = time.monotonic() + VALIDATION_WAIT_SECONDS
    while True:
        with sessions() as s:
            pending = [
                d.name
                for d in (s.get(Dataset, i) for i in dataset_ids)
                if d is not None and d.validity_status == ValidityStatus.PENDING
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
    session: Session, model_id: str, dataset: Dataset, n_rows: int, data_name: str, roots: DataRoots
) -> tuple[np.ndarray | None, str | None]:
    import numpy as np
    import pandas as pd

    pred = session.get(Prediction, (model_id, dataset.id))
    if pred is None:
        return None, None
    if pred.validity_status == ValidityStatus.INVALID:
        raise DataError(f"the predictions for the {data_name} are invalid: {pred.validity_message}")
    info = read_stored(PredInfo, pred.pred_info, "predInfo")
    column = (info.pred_params.pred_col if info.pred_params else None) or "pred"
    path = data_file_path(info.connection_info, "predInfo")
    check_unchanged(path, roots, pred.content_digest, f"the predictions file for the {data_name}")
    frame = read_table(path, roots)
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


#: Reference rows the model is called on before any test, to fail early and clearly.
MODEL_CHECK_ROWS = 5


@dataclass
class LoadedRun:
    """A run's inputs, and what calling its model needs (when it has a model file)."""

    inputs: StressInputs
    model: ModelSource | None = None
    model_ref_frame: pd.DataFrame | None = None


def load_inputs(
    sessions: sessionmaker[Session], payload: StressTestPayload, roots: DataRoots
) -> StressInputs:
    """Read the registered data and predictions of a stress test into ``StressInputs``."""
    return load_run(sessions, payload, roots, with_model=False).inputs


def suite_config(payload: StressTestPayload) -> SuiteConfig:
    """The run's test suite settings, from its payload."""
    categories = payload.categories
    return SuiteConfig(
        sensitivity=parse_sensitivity(payload.sensitivity),
        individual_tests_config=payload.individual_tests_config,
        exclude_columns=frozenset(payload.exclude_columns),
        categories=frozenset(TestCategory(c) for c in categories) if categories is not None else None,
        random_seed=payload.random_seed,
    )


def spawn_model_early(
    sessions: sessionmaker[Session], payload: StressTestPayload, roots: DataRoots
) -> ModelProcess | None:
    """The run's model process, started before its data is read when the run may call the model.

    Starting Python and importing the model's libraries takes seconds of imports and I/O; the
    worker reads the data meanwhile. Anything wrong here (a model file that is not there, bad
    settings) gives ``None``: ``load_run`` and the tests report it in their usual order.
    """
    try:
        with sessions() as s:
            model_row = s.get(Model, payload.model_id)
            source = model_source(model_row, roots) if model_row is not None else None
            has_preds = s.get(Prediction, (payload.model_id, payload.eval_dataset_id)) is not None
        if source is None:
            return None
        # A superset of what the run will plan (labels and protected features are not known yet).
        planned = plan_tests(
            suite_config(payload), has_labels=True, has_preds=True, has_model=True, has_protected=True
        )
        if has_preds and not any(p.spec.needs_model for p in planned):
            return None
        process = ModelProcess(source, ModelLimits.from_env())
        process.spawn()
    except (DataError, ValueError, OSError):
        return None
    log.info(
        "started model %r (%s) in its own process, loading while the data is read",
        source.name,
        source.location,
    )
    return process


def load_run(
    sessions: sessionmaker[Session], payload: StressTestPayload, roots: DataRoots, *, with_model: bool = True
) -> LoadedRun:
    """The run's inputs and, with ``with_model`` and a model file, the model's source and the
    frames it is called on (every column but label and predictions)."""
    _wait_until_validated(sessions, [payload.ref_dataset_id, payload.eval_dataset_id])
    with sessions() as s:
        ref_ds = s.get(Dataset, payload.ref_dataset_id)
        eval_ds = s.get(Dataset, payload.eval_dataset_id)
        if ref_ds is None or eval_ds is None:
            raise DataError("a dataset of this test run was deleted before it ran")
        for ds, role in ((ref_ds, "reference"), (eval_ds, "evaluation")):
            if ds.validity_status == ValidityStatus.INVALID:
                raise DataError(f"the {role} dataset {ds.name!r} is invalid: {ds.validity_message}")

        frames = {}
        params: dict[str, DataParams] = {}
        for ds, role in ((ref_ds, "reference data"), (eval_ds, "evaluation data")):
            info = read_stored(DataInfo, ds.data_info, "dataInfo")
            path = data_file_path(info.connection_info, "dataInfo")
            check_unchanged(path, roots, ds.content_digest, f"the {role} {ds.name!r}")
            frames[role] = read_table(path, roots)
            params[role] = info.data_params or DataParams()

        label_col = params["reference data"].label_col or params["evaluation data"].label_col
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
            values, column = _predictions(s, payload.model_id, ds, len(frames[role]), role, roots)
            preds[role] = values
            if column:
                pred_cols.add(column)
        model_row = s.get(Model, payload.model_id)
        source = model_source(model_row, roots) if with_model and model_row is not None else None

    if (preds["reference data"] is None) != (preds["evaluation data"] is None):
        missing = "reference" if preds["reference data"] is None else "evaluation"
        raise DataError(
            f"predictions are registered for one dataset only; register the model's predictions on the "
            f"{missing} dataset too (or on neither, to run data-only tests)"
        )

    non_features = {c for c in (label_col,) if c} | pred_cols | set(payload.exclude_columns)
    for p in params.values():
        if p.timestamp_col:
            non_features.add(p.timestamp_col)
    ref = frames["reference data"]
    ev = frames["evaluation data"]
    ref_features = [c for c in ref.columns if str(c) not in non_features]
    eval_features = [c for c in ev.columns if str(c) not in non_features]
    categorical = list(params["reference data"].categorical_features or [])
    text = list(params["reference data"].text_features or [])
    shared = [c for c in ref_features if c in set(eval_features)]
    features = infer_features(ref[shared], categorical, text)

    protected = tuple(params["reference data"].protected_features or [])
    suite = suite_config(payload)
    not_model_inputs = [c for c in (label_col, *sorted(pred_cols)) if c]
    inputs = StressInputs(
        ref=ref[ref_features],
        eval=ev[eval_features],
        features=features,
        ref_labels=labels["reference data"],
        eval_labels=labels["evaluation data"],
        ref_preds=preds["reference data"],
        eval_preds=preds["evaluation data"],
        config=suite,
        model_frame=ev.drop(columns=not_model_inputs) if source is not None else None,
        protected_features=tuple(p for p in protected if p in ev.columns),
    )
    ref_rows = ref.drop(columns=not_model_inputs) if source is not None else None
    return LoadedRun(inputs, source, ref_rows)


def _predict_with_model(run: LoadedRun, process: ModelProcess) -> None:
    """No predictions are registered for the model: compute them, as RIME does, so that the
    tests that read predictions (performance, prediction drift, the model impact of abnormal
    inputs) run too."""
    assert run.model_ref_frame is not None and run.inputs.model_frame is not None
    log.info("no predictions registered: calling the model on both datasets")
    try:
        run.inputs.ref_preds = process.predict(run.model_ref_frame)
        run.inputs.eval_preds = process.predict(run.inputs.model_frame)
    except ModelError as exc:
        raise ModelError(f"{exc} (computing predictions: none are registered for this model)") from None


def _attach_model(run: LoadedRun, process: ModelProcess, when: str = "before any test") -> None:
    """Check the model on a few reference rows (once it has loaded), then let the tests call it."""
    assert run.model_ref_frame is not None
    process.wait_loaded()  # a model that does not load says so, not "checked on ... rows"
    rows = run.model_ref_frame.head(MODEL_CHECK_ROWS)
    try:
        process.predict(rows)
    except ModelError as exc:
        raise ModelError(f"{exc} (checked on the first {len(rows)} reference rows, {when})") from None

    def predict(frame: pd.DataFrame) -> np.ndarray:
        try:
            return process.predict(frame)
        except ModelCallError as exc:
            raise ModelCallFailed(str(exc)) from None

    run.inputs.model = predict


def run_summary(
    run_id: str, inputs: StressInputs, batches: list[TestBatch], duration_ms: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A finished run's category results and its summary metrics, as RIME renders them."""
    results = render.category_results(run_id, batches)
    metrics = render.test_run_metrics(
        batches,
        results,
        model_perf=model_perf_summary(inputs),
        average_prediction=float(inputs.eval_preds.mean()) if inputs.eval_preds is not None else None,
        num_inputs=len(inputs.eval),
        duration_ms=duration_ms,
    )
    return results, metrics


def complete_run(
    s: Session, run_id: str, results: list[dict[str, Any]], metrics: dict[str, Any], batches: list[TestBatch]
) -> TestRun:
    """Store a finished run's category results and mark the run completed (the caller commits)."""
    for i, doc in enumerate(results):
        s.add(CategoryResult(test_run_id=run_id, category=doc["testCategory"], position=i, doc=doc))
    run = s.get_one(TestRun, run_id)
    run.metrics = metrics
    run.categories = sorted({b.category.value for b in batches})
    run.status = TestTaskStatus.COMPLETED.value
    run.completed_at = utc_now()
    return run


def add_batch_rows(s: Session, run_id: str, batch: TestBatch, position: int) -> None:
    """Add a test batch's result and its test cases to the session (the caller commits)."""
    doc = render.test_batch(run_id, batch)
    s.add(
        TestBatchResult(
            test_run_id=run_id,
            test_type=batch.test_type,
            position=position,
            category=batch.category.value,
            severity=doc["severity"],
            doc=doc,
        )
    )
    for i, case in enumerate(batch.cases):
        case_doc = render.test_case(run_id, batch, i)
        s.add(
            TestCaseResult(
                test_run_id=run_id,
                test_type=batch.test_type,
                position=i,
                severity=case_doc["severity"],
                importance=float(case.importance) if math.isfinite(case.importance) else 0.0,
                doc=case_doc,
            )
        )


def run_stress_test_job(
    sessions: sessionmaker[Session], job_id: str, is_cancelled: Callable[[], bool], roots: DataRoots
) -> None:
    started = time.perf_counter()
    with sessions() as s:
        job = s.get_one(Job, job_id)
        payload = StressTestPayload.model_validate(job.payload)
        run_id = job.test_run_id
        assert run_id is not None

    with contextlib.ExitStack() as stack:
        early = spawn_model_early(sessions, payload, roots)
        if early is not None:
            stack.callback(early.close)
        log.info("loading data for test run %s", run_id)
        loaded = load_run(sessions, payload, roots)
        inputs = loaded.inputs
        log.info(
            "loaded %d reference and %d evaluation rows, %d features (%s)",
            len(inputs.ref),
            len(inputs.eval),
            len(inputs.features),
            ", ".join(f"{f.name}: {f.kind.value}" for f in inputs.features.values()),
        )

        def plan() -> list[PlannedTest]:
            return plan_tests(
                inputs.config,
                has_labels=inputs.has_labels,
                has_preds=inputs.has_preds,
                has_model=loaded.model is not None,
                has_protected=bool(inputs.protected_features),
            )

        planned = plan()
        unchecked: ModelProcess | None = None
        if loaded.model is not None and (not inputs.has_preds or any(p.spec.needs_model for p in planned)):
            if early is not None and early.source == loaded.model:
                process = early
            else:
                log.info(
                    "starting model %r (%s) in its own process", loaded.model.name, loaded.model.location
                )
                process = stack.enter_context(ModelProcess(loaded.model, ModelLimits.from_env()))
            if inputs.has_preds:
                # The tests that do not call the model run while it loads; it is checked just
                # before the first test that calls it.
                unchecked = process
            else:
                _attach_model(loaded, process)
                _predict_with_model(loaded, process)
                planned = plan()
        elif early is not None:
            early.close()  # not called after all: free its CPU for the tests
        batch_status = {p.spec.key: TestTaskStatus.PENDING for p in planned}
        with sessions.begin() as s:
            s.get_one(Job, job_id).progress = render.progress(
                run_id, TestTaskStatus.RUNNING, batch_status.items()
            )
            s.get_one(TestRun, run_id).status = TestTaskStatus.RUNNING.value

        position = {"batch": 0}

        def on_batch_done(test: PlannedTest, batch: TestBatch | None) -> None:
            batch_status[test.spec.key] = TestTaskStatus.COMPLETED
            with sessions.begin() as s:
                if batch is not None:
                    add_batch_rows(s, run_id, batch, position["batch"])
                    position["batch"] += 1
                s.get_one(Job, job_id).progress = render.progress(
                    run_id, TestTaskStatus.RUNNING, batch_status.items()
                )
            log.info("finished %s (%s)", test.spec.key, batch.severity.name if batch else "not applicable")
            if is_cancelled():
                raise Cancelled()

        # A retried worker starts from a clean slate.
        with sessions.begin() as s:
            s.execute(delete(TestCaseResult).where(TestCaseResult.test_run_id == run_id))
            s.execute(delete(TestBatchResult).where(TestBatchResult.test_run_id == run_id))
            s.execute(delete(CategoryResult).where(CategoryResult.test_run_id == run_id))

        first = next((i for i, p in enumerate(planned) if p.spec.needs_model), len(planned))
        batches = run_tests(inputs, planned[:first], on_batch_done)
        if unchecked is not None:
            _attach_model(
                loaded, unchecked, "before any test" if first == 0 else "before the tests that call it"
            )
        try:
            batches += run_tests(inputs, planned[first:], on_batch_done)
        except ModelCallFailed as exc:
            # Tests catch what the model does on perturbed rows; this was on untouched rows.
            raise DataError(
                f"{exc} (on untouched evaluation rows, which the model tests compare against)"
            ) from None

    results, metrics = run_summary(run_id, inputs, batches, int((time.perf_counter() - started) * 1000))
    with sessions.begin() as s:
        run = complete_run(s, run_id, results, metrics, batches)
        project = s.get(Project, run.project_id)
        if project is not None:
            project.last_test_run_at = run.completed_at
        s.get_one(Job, job_id).progress = render.progress(
            run_id, TestTaskStatus.COMPLETED, batch_status.items()
        )
        finish_job(s, job_id, JobStatus.SUCCEEDED, only_if_running=True)
    log.info("test run %s completed: %s", run_id, metrics["summaryCounts"])
