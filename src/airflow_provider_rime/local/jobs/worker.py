"""The worker process: ``python -m airflow_provider_rime.local.jobs.worker JOB_ID``.

Started by the engine's job runner with the job already claimed (RUNNING): forked by the
runner's fork server (:func:`run_forked`), or as a new interpreter. It sends a heartbeat
every few seconds, watches for a cancel request and for the death of the engine that
started it, and always ends its job with a terminal status.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_rime.local.data import DataError, DataRoots
from airflow_provider_rime.local.jobs import validation
from airflow_provider_rime.local.jobs.queue import DatasetPayload, ModelPayload, PredictionsPayload
from airflow_provider_rime.local.jobs.status import Cancelled, fail_running_job, finish_job
from airflow_provider_rime.local.settings import ENV_DATABASE_URL
from airflow_provider_rime.local.store.db import make_engine, session_factory
from airflow_provider_rime.local.store.schema import Job, JobKind
from airflow_provider_rime.rime_api.enums import JobStatus
from airflow_provider_rime.rime_api.naming import utc_now

log = logging.getLogger("rime-local.worker")

HEARTBEAT_SECONDS = 2.0
ENGINE_GONE = "the engine running this job stopped; start the job again"


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
                    fail_running_job(s, self.job_id, ENGINE_GONE)
                log.error("engine process went away; stopping")
                os._exit(3)
            if self.stopped.wait(HEARTBEAT_SECONDS):
                return
            try:
                with self.sessions.begin() as s:
                    s.execute(update(Job).where(Job.id == self.job_id).values(heartbeat_at=utc_now()))
                    job = s.get(Job, self.job_id)
                    if job is not None and job.cancellation_requested:
                        self.cancelled.set()
            except Exception:  # a busy database must not kill the worker
                log.warning("heartbeat failed", exc_info=True)


def _run_validation(sessions: sessionmaker[Session], kind: str, payload: dict[str, object]) -> None:
    roots = DataRoots.from_env()
    if kind == JobKind.VALIDATE_DATASET:
        validation.validate_dataset(sessions, DatasetPayload.model_validate(payload).dataset_id, roots)
    elif kind == JobKind.VALIDATE_PREDICTIONS:
        preds = PredictionsPayload.model_validate(payload)
        validation.validate_predictions(sessions, preds.model_id, preds.dataset_id, roots)
    elif kind == JobKind.VALIDATE_MODEL:
        validation.validate_model(sessions, ModelPayload.model_validate(payload).model_id, roots)
    else:
        raise DataError(f"unknown job kind {kind!r}")


def run_job(sessions: sessionmaker[Session], job_id: str, engine_pid: int = 0) -> int:
    with sessions() as s:
        job = s.get_one(Job, job_id)
        kind, payload = job.kind, dict(job.payload)
    heartbeat = Heartbeat(sessions, job_id, engine_pid)
    heartbeat.start()
    try:
        if kind == JobKind.STRESS_TEST:
            # The catalogue (pandas, SciPy, scikit-learn) takes seconds to import: a registry
            # validation, which has a time limit, does not pay for it.
            from airflow_provider_rime.local.jobs.stress import run_stress_test_job

            run_stress_test_job(sessions, job_id, heartbeat.cancelled.is_set, DataRoots.from_env())
        elif kind == JobKind.CONTINUOUS_TEST:
            from airflow_provider_rime.local.jobs.continuous import run_continuous_test_job

            run_continuous_test_job(sessions, job_id, heartbeat.cancelled.is_set, DataRoots.from_env())
        else:
            _run_validation(sessions, kind, payload)
            with sessions.begin() as s:
                finish_job(s, job_id, JobStatus.SUCCEEDED, only_if_running=True)
    except Cancelled:
        with sessions.begin() as s:
            finish_job(s, job_id, JobStatus.CANCELLED, "cancelled on request", only_if_running=True)
    except DataError as exc:
        log.error("job failed: %s", exc)
        with sessions.begin() as s:
            fail_running_job(s, job_id, str(exc))
    except MemoryError:
        with sessions.begin() as s:
            fail_running_job(s, job_id, "the job ran out of memory; use smaller data")
    except Exception as exc:
        log.exception("job crashed")
        with sessions.begin() as s:
            fail_running_job(
                s,
                job_id,
                f"internal error in the local engine ({type(exc).__name__}: {exc}); "
                f"see GET /v1-beta/logs/{job_id}",
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


def run_forked(argv: list[str], log_path: str, env: dict[str, str]) -> None:
    """A worker forked by the runner's fork server: ``main(argv)`` with its output in ``log_path``.

    The fork server is this process's parent and exits when the engine does: the worker
    watches it as it would watch the engine.
    """
    os.environ.update(env)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.exit(main([*argv[:-1], "--engine-pid", str(os.getppid()), argv[-1]]))


if __name__ == "__main__":
    sys.exit(main())
