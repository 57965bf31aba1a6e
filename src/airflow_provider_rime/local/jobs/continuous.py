"""A continuous test: new evaluation data split into time bins, each bin tested like a small stress test.

Runs inside a worker process (``JobKind.CONTINUOUS_TEST``). The job

1. reads the reference and evaluation data with the stress test's loader and the evaluation
   data's ``timestampCol``, and puts each row in the bin of the firewall's size that holds its
   timestamp (bins are aligned to the UNIX epoch in UTC: daily bins start at midnight UTC);
2. decides per non-empty bin: a bin that already has a completed test run is skipped, or
   replaced when ``overrideExistingBins`` is true (the job log says which);
3. runs the catalogue's continuous-testing categories on each bin against the reference data,
   and stores the bin's results, its monitor readings and the rebuilt detection events in one
   transaction, so a job stopped mid-way keeps every finished bin and nothing half-written.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_rime.local import render
from airflow_provider_rime.local.catalogue import plan_tests, run_tests
from airflow_provider_rime.local.catalogue.monitors import (
    DRIFT_MONITOR_KEYS,
    BinReading,
    Reading,
    read_monitors,
    root_cause,
    stretches,
)
from airflow_provider_rime.local.catalogue.runner import PlannedTest
from airflow_provider_rime.local.catalogue.types import StressInputs, TestBatch
from airflow_provider_rime.local.data import DataError, DataRoots, missing_column_message, read_table
from airflow_provider_rime.local.jobs.monitoring import monitor_specs, upsert_monitors
from airflow_provider_rime.local.jobs.queue import ContinuousTestPayload, StressTestPayload
from airflow_provider_rime.local.jobs.status import finish_job
from airflow_provider_rime.local.jobs.stress import (
    Cancelled,
    add_batch_rows,
    complete_run,
    load_inputs,
    run_summary,
)
from airflow_provider_rime.local.jobs.validation import data_file_path, read_stored
from airflow_provider_rime.local.store.queries import aware
from airflow_provider_rime.local.store.schema import (
    Dataset,
    DetectionEvent,
    Firewall,
    Job,
    Monitor,
    MonitorValue,
    Project,
    TestRun,
)
from airflow_provider_rime.rime_api.documents import DataInfo
from airflow_provider_rime.rime_api.enums import (
    EventType,
    JobStatus,
    Severity,
    TestTaskStatus,
    TestType,
    ThresholdType,
)
from airflow_provider_rime.rime_api.naming import format_timestamp, utc_now

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

log = logging.getLogger(__name__)

#: Detection event ids are derived from the monitor and the stretch's first bin, so an event
#: keeps its id when later bins extend it.
_EVENT_NAMESPACE = uuid.UUID("6f6b8a4e-1d0c-4c55-9a53-5b1f0e2a9c11")


# ----------------------------------------------------------------------------- timestamps


def utc_nanoseconds(values: pd.Series, column: str) -> np.ndarray:
    """The timestamps of a column as int64 nanoseconds since the epoch, in UTC.

    Text is read as ISO 8601 (``2024-05-01``, ``2024-05-01 13:00:00``, ``2024-05-01T13:00:00Z``,
    ``...+02:00``); timestamps without an offset are taken as UTC. Parquet timestamp columns
    are used as they are (naive ones as UTC).

    :raises DataError: A missing or unparsable value (naming the first such row), numbers
        instead of timestamps, or offsets on some rows and none on others.
    """
    import numpy as np
    import pandas as pd

    def row(i: int) -> str:
        return f"row {i + 1} (counting data rows from 1)"

    def reject(flagged: Any, message: Callable[[int, int], str]) -> None:
        """Raise ``message(count, first)`` if any row is flagged."""
        if flagged.any():
            raise DataError(message(int(flagged.sum()), int(np.flatnonzero(flagged)[0])))

    reject(
        values.isna().to_numpy(),
        lambda count, first: (
            f"timestamp column {column!r} has {count} empty value(s), the first at "
            f"{row(first)}; every row of a continuous test needs a timestamp"
        ),
    )
    if pd.api.types.is_datetime64_any_dtype(values):
        return _epoch_ns(values)
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise DataError(
            f"timestamp column {column!r} holds numbers ({values.iloc[0]!r} at {row(0)}); write timestamps "
            f"as text such as 2024-05-01 or 2024-05-01T13:00:00Z, or store a Parquet timestamp column"
        )
    text = values.astype(str)
    parsed_any: Any = None
    try:
        parsed_any = pd.to_datetime(text, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        parsed_any = None
    if parsed_any is not None and pd.api.types.is_datetime64_any_dtype(parsed_any):
        return utc_nanoseconds(parsed_any, column)
    # Slow path: say what is wrong, row by row.
    coerced = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    reject(
        coerced.isna().to_numpy(),
        lambda count, first: (
            f"timestamp column {column!r} has {count} value(s) that are not timestamps, "
            f"the first {text.iloc[first]!r} at {row(first)}; write ISO 8601 such as 2024-05-01 or "
            "2024-05-01T13:00:00Z"
        ),
    )
    zoned = text.str.contains(r"(?:[zZ]|[+-]\d{2}:?\d{2})\s*$", regex=True).to_numpy()
    if zoned.any() and not zoned.all():
        first_aware = int(np.flatnonzero(zoned)[0])
        first_naive = int(np.flatnonzero(~zoned)[0])
        raise DataError(
            f"timestamp column {column!r} mixes time zones: {text.iloc[first_aware]!r} at {row(first_aware)} "
            f"has an offset, {text.iloc[first_naive]!r} at {row(first_naive)} has none; give every "
            f"timestamp an offset (e.g. Z for UTC) or none (read as UTC)"
        )
    return _epoch_ns(coerced)


def _epoch_ns(values: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch of a datetime column (naive values are UTC)."""
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[ns]").to_numpy().view("int64")


@dataclass(frozen=True)
class Bin:
    """One non-empty bin of the evaluation data: its time range and its rows."""

    start: datetime
    end: datetime
    rows: np.ndarray


def split_bins(nanoseconds: np.ndarray, bin_size: timedelta) -> list[Bin]:
    """The non-empty bins of ``bin_size`` (aligned to the epoch in UTC) and their rows, oldest first.

    Rows keep their order within a bin.
    """
    import numpy as np

    size = int(bin_size.total_seconds()) * 1_000_000_000
    index = np.floor_divide(nanoseconds, size)
    order = np.argsort(index, kind="stable")
    keys, starts = np.unique(index[order], return_index=True)
    bounds = [*starts.tolist(), len(order)]
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return [
        Bin(
            start=epoch + timedelta(seconds=int(key) * (size // 1_000_000_000)),
            end=epoch + timedelta(seconds=(int(key) + 1) * (size // 1_000_000_000)),
            rows=order[bounds[i] : bounds[i + 1]],
        )
        for i, key in enumerate(keys.tolist())
    ]


# ----------------------------------------------------------------------------- the job


def _timestamps(
    sessions: sessionmaker[Session], dataset_id: str, n_rows: int, roots: DataRoots
) -> np.ndarray:
    with sessions() as s:
        ds = s.get(Dataset, dataset_id)
        if ds is None:
            raise DataError("the evaluation dataset was deleted before the continuous test ran")
        info = read_stored(DataInfo, ds.data_info, "dataInfo")
        name = ds.name
    column = info.data_params.timestamp_col if info.data_params else None
    if not column:
        raise DataError(
            f"the evaluation dataset {name!r} was registered without data_params.timestamp_col; a continuous "
            f"test splits rows into time bins by it: register the data again with timestamp_col"
        )
    path = data_file_path(info.connection_info, "dataInfo")
    try:
        frame = read_table(path, roots, columns=[column])
    except DataError:
        columns = list(map(str, read_table(path, roots).columns))
        raise DataError(
            missing_column_message(column, "timestamp", f"evaluation dataset {name!r}", columns)
        ) from None
    if len(frame) != n_rows:
        raise DataError(f"the evaluation dataset {name!r} changed while it was read; start the test again")
    return utc_nanoseconds(frame[column], column)


def _subset(inputs: StressInputs, rows: np.ndarray) -> StressInputs:
    return StressInputs(
        ref=inputs.ref,
        eval=inputs.eval.iloc[rows].reset_index(drop=True),
        features=inputs.features,
        ref_labels=inputs.ref_labels,
        eval_labels=inputs.eval_labels[rows] if inputs.eval_labels is not None else None,
        ref_preds=inputs.ref_preds,
        eval_preds=inputs.eval_preds[rows] if inputs.eval_preds is not None else None,
        config=inputs.config,
        cache=inputs.cache.for_new_evaluation(),
    )


def test_bin(
    inputs: StressInputs,
    rows: np.ndarray,
    planned: list[PlannedTest],
    on_batch_done: Callable[[PlannedTest, TestBatch | None], None] | None = None,
) -> tuple[StressInputs, list[TestBatch], dict[str, Reading]]:
    """One bin as a small stress test: the planned tests on ``rows`` of the evaluation data against
    the reference, and the default monitors' readings of the results."""
    bin_inputs = _subset(inputs, rows)
    batches = run_tests(bin_inputs, planned, on_batch_done)
    return bin_inputs, batches, read_monitors(bin_inputs, batches)


def rebuild_events(s: Session, firewall: Firewall) -> int:
    """Replace the firewall's detection events by those its stored monitor readings give."""
    monitors = list(s.scalars(select(Monitor).where(Monitor.firewall_id == firewall.id)))
    values = list(
        s.scalars(select(MonitorValue).where(MonitorValue.monitor_id.in_([m.id for m in monitors])))
    )
    by_monitor: dict[str, list[MonitorValue]] = {}
    for v in values:
        by_monitor.setdefault(v.monitor_id, []).append(v)
    drift_ids = {m.id for m in monitors if m.key in DRIFT_MONITOR_KEYS}
    drifted: dict[str, list[str]] = {}
    for v in values:
        if v.monitor_id in drift_ids and Severity(v.severity).rank > 0:
            drifted.setdefault(v.test_run_id, []).extend(v.features or [])
    s.execute(delete(DetectionEvent).where(DetectionEvent.firewall_id == firewall.id))
    now = utc_now()
    count = 0
    for monitor in monitors:
        readings = [
            BinReading(aware(v.bin_start), aware(v.bin_end), Severity(v.severity), v.value, v.test_run_id)
            for v in by_monitor.get(monitor.id, [])
        ]
        for stretch in stretches(readings):
            s.add(_event(firewall, monitor, stretch, drifted, now))
            count += 1
    return count


def _event(
    firewall: Firewall,
    monitor: Monitor,
    stretch: list[BinReading],
    drifted: dict[str, list[str]],
    now: datetime,
) -> DetectionEvent:
    severity = Severity.from_rank(max(r.severity.rank for r in stretch))
    lower = monitor.threshold_type == ThresholdType.LOWER_BOUND
    finite = [r.value for r in stretch if r.value is not None and math.isfinite(r.value)]
    worst = (min(finite) if lower else max(finite)) if finite else None
    threshold = monitor.alert if severity is Severity.ALERT else monitor.warning
    start, end = stretch[0].start, stretch[-1].end
    plural = "s" if len(stretch) > 1 else ""
    span = f"{len(stretch)} bin{plural} from {format_timestamp(start)} to {format_timestamp(end)}"
    level = "alert" if severity is Severity.ALERT else "warning"
    if threshold is not None:
        verb = "fell below" if lower else "rose above"
        description = f"{monitor.name} {verb} its {level} threshold {threshold:.4g} over {span}"
    else:
        description = f"{monitor.name} raised a {level} over {span}"
    if worst is not None:
        description += f"; {'lowest' if lower else 'highest'} {monitor.metric_name}: {worst:.4g}"
    description += "."
    cause, features = root_cause(drifted, stretch)
    detail = {
        "metricDegradation": {
            "rcaResult": {"description": cause, "features": features},
            "metricName": monitor.metric_name,
            "threshold": render.monitor_threshold(monitor),
            "worstValue": worst,
            "bins": [
                {"startTime": format_timestamp(r.start), "endTime": format_timestamp(r.end)} for r in stretch
            ],
            "testRunIds": [r.test_run_id for r in stretch],
        }
    }
    return DetectionEvent(
        id=str(uuid.uuid5(_EVENT_NAMESPACE, f"{monitor.id}:{start.isoformat()}")),
        project_id=firewall.project_id,
        firewall_id=firewall.id,
        monitor_id=monitor.id,
        event_type=EventType.METRIC_DEGRADATION.value,
        severity=severity.value,
        risk_category=monitor.risk_category,
        test_category=monitor.test_category,
        start_time=start,
        end_time=end,
        description=description,
        root_cause=cause,
        detail=render.json_safe(detail),
        last_update_time=now,
    )


def _plan_bins(
    s: Session, job_id: str, payload: ContinuousTestPayload, bins: list[Bin]
) -> tuple[list[tuple[Bin, str, list[str]]], list[str]]:
    """Which bins this job tests (with a new test run id and the runs it replaces), and what it says."""
    runs = list(s.scalars(select(TestRun).where(TestRun.firewall_id == payload.firewall_id)))
    by_start: dict[datetime, list[TestRun]] = {}
    for run in runs:
        if run.bin_start is not None and run.job_id != job_id:
            by_start.setdefault(aware(run.bin_start), []).append(run)
    planned, notes = [], []
    for b in bins:
        previous = by_start.get(b.start, [])
        done = [r for r in previous if r.status == TestTaskStatus.COMPLETED]
        label = f"bin {format_timestamp(b.start)} - {format_timestamp(b.end)} ({len(b.rows)} rows)"
        if done and not payload.override_existing_bins:
            notes.append(
                f"skipping {label}: it already has results (test run {done[0].id}); "
                f"set overrideExistingBins to replace them"
            )
            continue
        if done:
            notes.append(f"replacing {label}: its results (test run {done[0].id}) are overridden")
        else:
            notes.append(f"testing {label}")
        planned.append((b, str(uuid.uuid4()), [r.id for r in previous]))
    return planned, notes


def run_continuous_test_job(
    sessions: sessionmaker[Session], job_id: str, is_cancelled: Callable[[], bool], roots: DataRoots
) -> None:
    """The worker's entry point for ``JobKind.CONTINUOUS_TEST``."""
    with sessions() as s:
        job = s.get_one(Job, job_id)
        payload = ContinuousTestPayload.model_validate(job.payload)
        project_id = job.project_id or ""
    stress_payload = StressTestPayload(
        run_name="continuous test",
        ref_dataset_id=payload.ref_dataset_id,
        eval_dataset_id=payload.eval_dataset_id,
        model_id=payload.model_id,
        categories=payload.categories,
        random_seed=payload.random_seed,
    )
    log.info("loading data for continuous test %s", payload.firewall_id)
    inputs = load_inputs(sessions, stress_payload, roots)
    nanoseconds = _timestamps(sessions, payload.eval_dataset_id, len(inputs.eval), roots)
    bins = split_bins(nanoseconds, timedelta(seconds=payload.bin_size_seconds))
    log.info(
        "%d evaluation rows in %d bin(s) of %d s; %d reference rows, %d features",
        len(inputs.eval),
        len(bins),
        payload.bin_size_seconds,
        len(inputs.ref),
        len(inputs.features),
    )
    planned_tests = plan_tests(inputs.config, has_labels=inputs.has_labels, has_preds=inputs.has_preds)
    specs = monitor_specs(payload.categories, has_labels=inputs.has_labels, has_preds=inputs.has_preds)

    with sessions.begin() as s:
        if s.get(Firewall, payload.firewall_id) is None:
            raise DataError("the continuous test (firewall) was deleted before its job ran")
        plan, notes = _plan_bins(s, job_id, payload, bins)
        for note in notes:
            log.info("%s", note)
        now = utc_now()
        for b, run_id, _ in plan:
            s.add(
                TestRun(
                    id=run_id,
                    project_id=project_id,
                    job_id=job_id,
                    name=f"Continuous test {format_timestamp(b.start)}",
                    status=TestTaskStatus.PENDING.value,
                    testing_type=TestType.CONTINUOUS_TESTING.value,
                    model_id=payload.model_id,
                    ref_data_id=payload.ref_dataset_id,
                    eval_data_id=payload.eval_dataset_id,
                    config={"binSize": f"{payload.bin_size_seconds}s", "categories": payload.categories},
                    created_at=now,
                    firewall_id=payload.firewall_id,
                    bin_start=b.start,
                    bin_end=b.end,
                )
            )
        monitor_ids = (
            upsert_monitors(s, payload.firewall_id, specs, _subset(inputs, plan[0][0].rows)) if plan else {}
        )
    skipped = len(bins) - len(plan)
    if not plan:
        log.info("nothing to test: all %d bin(s) already have results", len(bins))

    def check_cancel(_test: Any, _batch: Any) -> None:
        if is_cancelled():
            raise Cancelled()

    for b, run_id, replaced in plan:
        started = time.perf_counter()
        with sessions.begin() as s:
            s.get_one(TestRun, run_id).status = TestTaskStatus.RUNNING.value
        bin_inputs, batches, readings = test_bin(inputs, b.rows, planned_tests, check_cancel)
        _store_bin(
            sessions,
            payload,
            run_id,
            replaced,
            bin_inputs,
            batches,
            {monitor_ids[k]: r for k, r in readings.items() if k in monitor_ids},
            b,
            int((time.perf_counter() - started) * 1000),
        )
        worst = max((r.severity for r in readings.values()), default=None)
        log.info(
            "bin %s: %d rows, %d tests, monitors' worst severity %s",
            format_timestamp(b.start),
            len(b.rows),
            len(batches),
            worst.api_name.value if worst is not None else "none",
        )
        if is_cancelled():
            raise Cancelled()

    with sessions.begin() as s:
        finish_job(s, job_id, JobStatus.SUCCEEDED, only_if_running=True)
    log.info("continuous test done: %d bin(s) tested, %d skipped", len(plan), skipped)


def _store_bin(
    sessions: sessionmaker[Session],
    payload: ContinuousTestPayload,
    run_id: str,
    replaced: list[str],
    inputs: StressInputs,
    batches: list[TestBatch],
    readings: dict[str, Any],
    b: Bin,
    duration_ms: int,
) -> None:
    """One bin's results, monitor readings and the firewall's events, in one transaction."""
    results, metrics = run_summary(run_id, inputs, batches, duration_ms)
    with sessions.begin() as s:
        firewall = s.get(Firewall, payload.firewall_id)
        if firewall is None:
            raise DataError("the continuous test (firewall) was deleted while its job ran")
        if replaced:
            s.execute(delete(TestRun).where(TestRun.id.in_(replaced)))
        for position, batch in enumerate(batches):
            add_batch_rows(s, run_id, batch, position)
        run = complete_run(s, run_id, results, metrics, batches)
        for monitor_id, reading in readings.items():
            s.add(
                MonitorValue(
                    monitor_id=monitor_id,
                    test_run_id=run_id,
                    bin_start=b.start,
                    bin_end=b.end,
                    value=reading.value
                    if reading.value is not None and math.isfinite(reading.value)
                    else None,
                    severity=reading.wire_severity.value,
                    features=list(reading.features),
                )
            )
        s.flush()
        rebuild_events(s, firewall)
        project = s.get(Project, firewall.project_id)
        if project is not None:
            project.last_test_run_at = run.completed_at
