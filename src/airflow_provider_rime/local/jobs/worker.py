"""The worker process: ``python -m airflow_provider_rime.local.jobs.worker JOB_ID``.

Started by the engine's job runner with the job already claimed (RUNNING). It sends a
heartbeat every few seconds, watches for a cancel request and for the death of the
engine that started it, and always ends its job with a terminal status.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_rime.local.api.wire import field, now
from airflow_provider_rime.local.data import (
    DataError,
    inspect_table,
    missing_column_message,
    resolve_path,
)
from airflow_provider_rime.local.jobs.runner import ENV_DATABASE_URL
from airflow_provider_rime.local.jobs.status import CANCELLED, FAILED, SUCCEEDED, finish_job
from airflow_provider_rime.local.store.db import make_engine, session_factory
from airflow_provider_rime.local.store.schema import Dataset, Job, Model, Prediction

log = logging.getLogger("rime-local.worker")

HEARTBEAT_SECONDS = 2.0
VALID = "VALIDITY_STATUS_VALID"
INVALID = "VALIDITY_STATUS_INVALID"


class Heartbeat(threading.Thread):
    """Keeps the job's heartbeat fresh; notices cancel requests and an orphaned worker."""

    def __init__(self, sessions: sessionmaker[Session], job_id: str, engine_pid: int) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.sessions = sessions
        self.job_id = job_id
        self.cancelled = threading.Event()
        self.stopped = threading.Event()
        # Given by the engine, not read here: the engine may already be gone when we get here.
        self.engine_pid = engine_pid

    def run(self) -> None:
        while True:
            if self.engine_pid and os.getppid() != self.engine_pid:
                # The engine that started us is gone: say so and stop, rather than run unobserved.
                with self.sessions.begin() as s:
                    finish_job(
                        s,
                        self.job_id,
                        FAILED,
                        "the engine running this job stopped; start the job again",
                        only_if_running=True,
                    )
                log.error("engine process went away; stopping")
                os._exit(3)
            if self.stopped.wait(HEARTBEAT_SECONDS):
                return
            try:
                with self.sessions.begin() as s:
                    s.execute(update(Job).where(Job.id == self.job_id).values(heartbeat_at=now()))
                    job = s.get(Job, self.job_id)
                    if job is not None and job.cancellation_requested:
                        self.cancelled.set()
            except Exception:  # a busy database must not kill the worker
                log.warning("heartbeat failed", exc_info=True)


def _data_path(info: dict[str, Any], where: str) -> str:
    connection = field(info, "connectionInfo") or {}
    data_file = field(connection, "dataFile")
    path = field(data_file, "path")
    if not path:
        kinds = ", ".join(sorted(connection)) or "none"
        raise DataError(
            f"{where}: the local engine reads connectionInfo.dataFile.path (a CSV or Parquet file); "
            f"got {kinds}"
        )
    return str(path)


def validate_dataset(sessions: sessionmaker[Session], dataset_id: str) -> None:
    with sessions() as s:
        info = dict(s.get_one(Dataset, dataset_id).data_info)
    rows: int | None = None
    columns: list[str] | None = None
    size: int | None = None
    try:
        table, _ = inspect_table(_data_path(info, "dataInfo"))
        params = field(info, "dataParams") or {}
        for role, key in (("label", "labelCol"), ("timestamp", "timestampCol")):
            column = field(params, key)
            if column and column not in table.columns:
                raise DataError(missing_column_message(column, role, "data", table.columns))
        for key in ("categoricalFeatures", "textFeatures", "protectedFeatures", "featuresNotInModel"):
            missing = [c for c in field(params, key) or [] if c not in table.columns]
            if missing:
                raise DataError(f"dataParams.{key} names columns not in the data: {', '.join(missing)}")
        if table.num_rows == 0:
            raise DataError("the file has no rows")
        status = VALID
        message = f"{table.num_rows} rows, {len(table.columns)} columns ({table.file_format})"
        rows, columns, size = table.num_rows, table.columns, table.size_bytes
    except DataError as exc:
        status, message = INVALID, str(exc)
    with sessions.begin() as s:
        ds = s.get_one(Dataset, dataset_id)
        ds.validity_status, ds.validity_message = status, message
        ds.num_rows, ds.columns, ds.size_bytes = rows, columns, size
    if status == INVALID:
        raise DataError(message)


def validate_predictions(sessions: sessionmaker[Session], model_id: str, dataset_id: str) -> None:
    import pyarrow.compute as pc

    # The dataset's own validation tells the row count; wait for it.
    deadline = time.monotonic() + 600
    while True:
        with sessions() as s:
            ds = s.get_one(Dataset, dataset_id)
            if ds.validity_status != "VALIDITY_STATUS_PENDING" or time.monotonic() > deadline:
                n_rows = ds.num_rows
                break
        time.sleep(0.2)
    with sessions() as s:
        info = dict(s.get_one(Prediction, (model_id, dataset_id)).pred_info)
    try:
        column = field(field(info, "predParams"), "predCol") or "pred"
        table, values = inspect_table(_data_path(info, "predInfo"), numeric_column=column)
        if values is None:
            raise DataError(missing_column_message(column, "prediction", "predictions file", table.columns))
        nulls = values.null_count + int(pc.sum(pc.is_nan(values)).as_py() or 0)
        if nulls:
            raise DataError(f"prediction column {column!r} has {nulls} missing values")
        low, high = pc.min_max(values).values()
        if table.num_rows and (low.as_py() < 0 or high.as_py() > 1):
            raise DataError(
                f"prediction column {column!r} must hold probabilities of class 1 in [0, 1]; "
                f"found values from {low.as_py():.4g} to {high.as_py():.4g}"
            )
        if n_rows is not None and table.num_rows != n_rows:
            raise DataError(f"the predictions have {table.num_rows} rows but the dataset has {n_rows}")
        status, message = VALID, f"{table.num_rows} predictions in column {column!r}"
    except DataError as exc:
        status, message = INVALID, str(exc)
    with sessions.begin() as s:
        pred = s.get_one(Prediction, (model_id, dataset_id))
        pred.validity_status, pred.validity_message = status, message
    if status == INVALID:
        raise DataError(message)


def validate_model(sessions: sessionmaker[Session], model_id: str) -> None:
    with sessions() as s:
        info = dict(s.get_one(Model, model_id).model_info or {})
    try:
        path = field(field(info, "modelPath"), "path")
        if not path:
            raise DataError("modelInfo.modelPath.path is required for a model with a model file")
        resolved = resolve_path(str(path))
        if resolved.is_dir():
            resolved = resolved / "model.py"
        if not resolved.is_file():
            raise DataError(
                f"{path}: no such model file (expected a .py file defining predict_df or predict_dict)"
            )
        source = resolved.read_text(errors="replace")
        if "def predict_df" not in source and "def predict_dict" not in source:
            raise DataError(f"{resolved.name} defines neither predict_df nor predict_dict")
        status, message = VALID, f"model file {resolved.name}"
    except DataError as exc:
        status, message = INVALID, str(exc)
    with sessions.begin() as s:
        model = s.get_one(Model, model_id)
        model.validity_status, model.validity_message = status, message
    if status == INVALID:
        raise DataError(message)


def run_job(sessions: sessionmaker[Session], job_id: str, engine_pid: int = 0) -> int:
    from airflow_provider_rime.local.jobs.stress import Cancelled, run_stress_test_job

    with sessions() as s:
        job = s.get_one(Job, job_id)
        kind, payload = job.kind, dict(job.payload)
    heartbeat = Heartbeat(sessions, job_id, engine_pid)
    heartbeat.start()
    try:
        if kind == "stress_test":
            run_stress_test_job(sessions, job_id, heartbeat.cancelled.is_set)
        else:
            if kind == "validate_dataset":
                validate_dataset(sessions, payload["dataset_id"])
            elif kind == "validate_predictions":
                validate_predictions(sessions, payload["model_id"], payload["dataset_id"])
            elif kind == "validate_model":
                validate_model(sessions, payload["model_id"])
            else:
                raise DataError(f"unknown job kind {kind!r}")
            with sessions.begin() as s:
                finish_job(s, job_id, SUCCEEDED, only_if_running=True)
    except Cancelled:
        with sessions.begin() as s:
            finish_job(s, job_id, CANCELLED, "cancelled on request", only_if_running=True)
    except DataError as exc:
        log.error("job failed: %s", exc)
        with sessions.begin() as s:
            finish_job(s, job_id, FAILED, str(exc), only_if_running=True)
    except MemoryError:
        with sessions.begin() as s:
            finish_job(s, job_id, FAILED, "the job ran out of memory; use smaller data", only_if_running=True)
    except Exception as exc:
        log.exception("job crashed")
        with sessions.begin() as s:
            finish_job(
                s,
                job_id,
                FAILED,
                f"internal error in the local engine ({type(exc).__name__}: {exc}); "
                f"see GET /v1-beta/logs/{job_id}",
                only_if_running=True,
            )
    finally:
        heartbeat.stopped.set()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rime-local-worker")
    parser.add_argument("job_id")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runner-id", default="")
    parser.add_argument(
        "--engine-pid", type=int, default=0, help="stop if this process is no longer our parent"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    database_url = os.environ.get(ENV_DATABASE_URL) or f"sqlite:///{args.data_dir / 'rime-local.db'}"
    engine = make_engine(database_url)
    try:
        return run_job(session_factory(engine), args.job_id, args.engine_pid)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
