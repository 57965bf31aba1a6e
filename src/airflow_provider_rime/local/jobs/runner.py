"""Runs jobs in worker processes, so the API stays responsive and a crash stays contained.

One runner per engine process. It claims PENDING jobs from the store (an atomic
PENDING -> RUNNING update, so several engines can share one PostgreSQL store), starts a
worker process per job, stops the process when a cancel is requested, and fails jobs whose
worker died or whose heartbeat stopped (e.g. after the engine was killed).

Worker processes are forked from a fork server (``multiprocessing``'s ``forkserver``) that
imported the job modules (pandas, SciPy, the catalogue) once, when the runner started: a job
starts in milliseconds instead of paying seconds of imports in a fresh interpreter. Where the
platform has no fork server, each worker is a new interpreter (``python -m ...worker``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_rime.local.data import DataRoots
from airflow_provider_rime.local.jobs.status import fail_running_job, finish_job
from airflow_provider_rime.local.models.process import ENV_MODEL_ZYGOTE_SOCKET, model_execution_enabled
from airflow_provider_rime.local.models.zygote import DEFAULT_PRELOAD, ModelZygote
from airflow_provider_rime.local.processes import stop_process
from airflow_provider_rime.local.settings import ENV_DATA_ROOTS, ENV_DATABASE_URL, EngineSettings
from airflow_provider_rime.local.store.schema import Dataset, Job, JobKind, Model, Prediction
from airflow_provider_rime.rime_api.enums import JobStatus, ValidityStatus
from airflow_provider_rime.rime_api.naming import utc_now as now

log = logging.getLogger(__name__)

HEARTBEAT_STALE_AFTER = timedelta(seconds=30)
#: ``0`` starts each worker as a new interpreter instead of forking it from the fork server.
ENV_FORK_SERVER = "RIME_LOCAL_FORK_SERVER"
ENGINE_STOPPED = "the engine was stopped while this job ran; start the job again"
HEARTBEAT_LOST = "the engine running this job stopped (no heartbeat for 30 s); start the job again"


#: What the fork server imports once, so that a forked worker starts with it loaded.
WORKER_PRELOAD = [
    "airflow_provider_rime.local.jobs.worker",
    "airflow_provider_rime.local.jobs.validation",
    "airflow_provider_rime.local.jobs.stress",
    "airflow_provider_rime.local.jobs.continuous",
]


class _WorkerProcess(Protocol):
    """The part of ``subprocess.Popen`` the runner uses (a forked worker offers the same)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class _ForkedWorker:
    """A worker forked by the fork server, behind ``subprocess.Popen``'s interface."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
        return code


def fork_server() -> multiprocessing.context.ForkServerContext | None:
    """The ``forkserver`` context preloading :data:`WORKER_PRELOAD`; ``None`` where there is none,
    or when the environment variable ``RIME_LOCAL_FORK_SERVER`` is ``0`` (a new interpreter per job)."""
    if os.environ.get(ENV_FORK_SERVER, "").strip().lower() in ("0", "false", "no"):
        return None
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, multiprocessing.context.ForkServerContext)
    context.set_forkserver_preload(WORKER_PRELOAD)
    return context


@dataclass
class _Running:
    job_id: str
    kind: str
    process: _WorkerProcess
    started: float


class JobRunner:
    def __init__(self, settings: EngineSettings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.runner_id = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._running: dict[str, _Running] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ticks = 0
        self.log_dir = settings.data_dir / "job-logs"
        self._fork_server = fork_server()
        self.zygote = model_zygote(settings)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._fail_stale_jobs()
        self._settle_orphaned_entries()
        if self.zygote is not None:
            # Its imports take seconds, in its own process: a job meanwhile waits for them.
            try:
                self.zygote.start()
            except OSError:
                log.warning("could not start the model zygote: model processes start afresh", exc_info=True)
                self.zygote = None
        if self._fork_server is not None:
            # Its imports take seconds: started now, off the request path, not by the first job.
            threading.Thread(target=_start_fork_server, name="rime-local-fork-server", daemon=True).start()
        self._thread = threading.Thread(target=self._loop, name="rime-local-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and the workers; their jobs end FAILED with a message saying why."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for running in list(self._running.values()):
            stop_process(running.process)
            with self.sessions.begin() as s:
                fail_running_job(s, running.job_id, ENGINE_STOPPED)
        self._running.clear()
        if self.zygote is not None:
            self.zygote.stop()

    def wake(self) -> None:
        self._wake.set()

    def log_path(self, job_id: str) -> Path:
        return self.log_dir / f"{job_id}.log"

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap_finished()
                self._enforce_cancellations()
                self._enforce_validation_timeout()
                self._claim_pending()
                self._watch_zygote()
                self._ticks += 1
                if self._ticks % 20 == 0:
                    self._fail_stale_jobs()
            except Exception:  # keep the loop alive whatever one tick hits
                log.exception("job runner tick failed")
            self._wake.wait(0.25)
            self._wake.clear()

    def _watch_zygote(self) -> None:
        """Say once what the model zygote preloaded; start it again if it died."""
        zygote = self.zygote
        if zygote is None:
            return
        if zygote.report is None and zygote.wait_ready(0) is not None:
            report: dict[str, Any] = zygote.report or {}
            skipped = "; ".join(f"{k}: {v}" for k, v in report.get("skipped", {}).items()) or "none"
            log.info(
                "model zygote ready in %s s: preloaded %s (skipped: %s); %s MB resident, "
                "%s MB of address space, %s thread(s)",
                report.get("seconds"),
                ", ".join(report.get("preloaded", [])) or "nothing",
                skipped,
                report.get("VmRSS"),
                report.get("VmSize"),
                report.get("Threads"),
            )
        zygote.ensure_running()

    def _capacity(self, kind: str) -> int:
        # Stress tests and registry validations have separate pools: a long stress test never
        # keeps a dataset from being validated.
        # A continuous test is stress tests in a row: it shares their pool.
        heavy = (JobKind.STRESS_TEST, JobKind.CONTINUOUS_TEST)
        is_stress = kind in heavy
        limit = self.settings.max_stress_workers if is_stress else self.settings.max_validation_workers
        in_use = sum(1 for r in self._running.values() if (r.kind in heavy) == is_stress)
        return limit - in_use

    def _claim_pending(self) -> None:
        # The oldest PENDING jobs of each pool: a queue of hundreds of validations never hides
        # a stress test from a free stress-test worker (nor the other way round).
        heavy = [JobKind.STRESS_TEST.value, JobKind.CONTINUOUS_TEST.value]
        pending: list[Any] = []
        with self.sessions() as s:
            for in_pool in (Job.kind.in_(heavy), Job.kind.not_in(heavy)):
                pending += s.execute(
                    select(Job.id, Job.kind)
                    .where(Job.status == JobStatus.PENDING, in_pool)
                    .order_by(Job.created_at)
                    .limit(20)
                ).all()
        for job_id, kind in pending:
            if self._capacity(kind) <= 0:
                continue
            with self.sessions.begin() as s:
                claimed = s.execute(  # type: ignore[attr-defined]
                    update(Job)
                    .where(Job.id == job_id, Job.status == JobStatus.PENDING)
                    .values(
                        status=JobStatus.RUNNING.value,
                        runner_id=self.runner_id,
                        started_at=now(),
                        heartbeat_at=now(),
                    )
                ).rowcount
            if claimed == 1:
                self._spawn(job_id, kind)

    def _spawn(self, job_id: str, kind: str) -> None:
        env = {
            ENV_DATABASE_URL: self.settings.resolved_database_url,
            # The worker reads only inside these: the upload area and the data roots, resolved.
            ENV_DATA_ROOTS: DataRoots.of(self.settings.readable_roots).to_env(),
        }
        if self.zygote is not None and self.zygote.running():
            env[ENV_MODEL_ZYGOTE_SOCKET] = str(self.zygote.socket_path)
        args = ["--data-dir", str(self.settings.data_dir), "--runner-id", self.runner_id]
        process: _WorkerProcess
        if self._fork_server is not None:
            # The fork server is the worker's parent: the worker watches it (it exits with the engine).
            from airflow_provider_rime.local.jobs.worker import run_forked

            forked = self._fork_server.Process(
                target=run_forked,
                args=([*args, job_id], str(self.log_path(job_id)), env),
                name=f"rime-local-worker-{job_id}",
                daemon=True,
            )
            forked.start()
            process = _ForkedWorker(forked)
        else:
            cmd = [sys.executable, "-m", "airflow_provider_rime.local.jobs.worker", *args]
            cmd += ["--engine-pid", str(os.getpid()), job_id]
            with open(self.log_path(job_id), "ab") as log_file:
                process = subprocess.Popen(
                    cmd, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, **env}
                )
        self._running[job_id] = _Running(job_id, kind, process, time.monotonic())
        how = "forked" if self._fork_server is not None else "new"
        log.info("job %s (%s) started in worker process %s (%s)", job_id, kind, process.pid, how)

    def _reap_finished(self) -> None:
        for job_id, running in list(self._running.items()):
            code = running.process.poll()
            if code is None:
                continue
            del self._running[job_id]
            if code != 0:
                with self.sessions.begin() as s:
                    job = s.get(Job, job_id)
                    cancelled = job is not None and job.cancellation_requested
                    finish_job(
                        s,
                        job_id,
                        JobStatus.CANCELLED if cancelled else JobStatus.FAILED,
                        "cancelled on request"
                        if cancelled
                        else f"the worker process stopped unexpectedly (exit code {code}); "
                        f"see GET /v1-beta/logs/{job_id}",
                        only_if_running=True,
                    )
            self.wake()

    def _enforce_cancellations(self) -> None:
        if not self._running:
            return
        with self.sessions() as s:
            cancelled = s.scalars(
                select(Job.id).where(Job.id.in_(list(self._running)), Job.cancellation_requested.is_(True))
            ).all()
        for job_id in cancelled:
            running = self._running.pop(job_id, None)
            if running is None:
                continue
            stop_process(running.process)
            with self.sessions.begin() as s:
                finish_job(s, job_id, JobStatus.CANCELLED, "cancelled on request", only_if_running=True)

    def _enforce_validation_timeout(self) -> None:
        """Stop registry validations that run too long, so they cannot hold the validation slots."""
        limit = self.settings.validation_timeout_seconds
        for job_id, running in list(self._running.items()):
            if running.kind == JobKind.STRESS_TEST or time.monotonic() - running.started < limit:
                continue
            del self._running[job_id]
            stop_process(running.process)
            with self.sessions.begin() as s:
                finish_job(
                    s,
                    job_id,
                    JobStatus.FAILED,
                    f"validation took longer than {limit:.0f} s and was stopped (rime-local serve "
                    f"--validation-timeout); register a smaller file or a single file",
                    only_if_running=True,
                )
            log.warning("validation job %s stopped after %.0f s", job_id, limit)

    def _settle_orphaned_entries(self) -> None:
        """Registry entries still PENDING whose validation job is gone or ended: INVALID, saying so.

        Entries and their job are stored in one transaction, and a job that ends unvalidated
        makes its entry INVALID (``finish_job``); this catches what an older engine left.
        """
        active = (JobStatus.PENDING.value, JobStatus.RUNNING.value)
        kinds = (
            JobKind.VALIDATE_DATASET.value,
            JobKind.VALIDATE_MODEL.value,
            JobKind.VALIDATE_PREDICTIONS.value,
        )
        message = "validation did not finish (the engine stopped while it ran); register the entry again"
        with self.sessions.begin() as s:
            payloads = s.scalars(select(Job.payload).where(Job.kind.in_(kinds), Job.status.in_(active))).all()
            live = {(p.get("dataset_id"), p.get("model_id")) for p in payloads}
            pending = ValidityStatus.PENDING.value
            orphans: list[Dataset | Model | Prediction] = []
            for d in s.scalars(select(Dataset).where(Dataset.validity_status == pending)):
                if (d.id, None) not in live:
                    orphans.append(d)
            for m in s.scalars(select(Model).where(Model.validity_status == pending)):
                if (None, m.id) not in live:
                    orphans.append(m)
            for p in s.scalars(select(Prediction).where(Prediction.validity_status == pending)):
                if (p.dataset_id, p.model_id) not in live:
                    orphans.append(p)
            for entry in orphans:
                entry.validity_status = ValidityStatus.INVALID.value
                entry.validity_message = message
        if orphans:
            log.warning("%d registry entries an engine left unvalidated are now INVALID", len(orphans))

    def _fail_stale_jobs(self) -> None:
        """RUNNING jobs whose worker stopped sending heartbeats (engine killed, machine lost)."""
        cutoff = now() - HEARTBEAT_STALE_AFTER
        with self.sessions.begin() as s:
            stale = s.scalars(
                select(Job.id).where(
                    Job.status == JobStatus.RUNNING, (Job.heartbeat_at < cutoff) | Job.heartbeat_at.is_(None)
                )
            ).all()
            for job_id in stale:
                if job_id in self._running:
                    continue
                fail_running_job(s, job_id, HEARTBEAT_LOST)


def model_zygote(settings: EngineSettings) -> ModelZygote | None:
    """The engine's model zygote, or ``None`` (and why, logged) where model processes start afresh."""
    if not model_execution_enabled():
        return None  # no model process at all
    why = None
    if not settings.model_zygote:
        why = "turned off (--no-model-zygote or RIME_LOCAL_MODEL_ZYGOTE=0)"
    elif not hasattr(os, "pidfd_open") or not sys.platform.startswith("linux"):
        why = "it needs Linux 5.3 or later"
    if why is not None:
        log.info("model zygote: %s; each model process starts as a new interpreter", why)
        return None
    preload = DEFAULT_PRELOAD if settings.model_preload is None else settings.model_preload
    return ModelZygote(settings.run_dir, preload)


def _start_fork_server() -> None:
    try:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    except Exception:  # the first job starts it again, and says why if it cannot
        log.warning("could not start the worker fork server", exc_info=True)
