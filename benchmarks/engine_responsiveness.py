"""Does the local engine's API stay responsive while a large stress test runs?

One command::

    .venv/bin/python benchmarks/engine_responsiveness.py --rows 1000000

It starts ``rime-local serve`` on a free loopback port with a fresh data directory, registers
the generated reference and evaluation parquet (``benchmarks/.work/data/<rows>/``, made as
for ``catalogue_vs_evidently.py``) with their labels, a predictions-only model and its
predictions (each split's ``pred`` column in a parquet file of its own), starts a stress test
of every category the engine runs, and while the job runs polls ``GET /v1/jobs/{id}`` and
``GET /healthz`` every ``--interval`` seconds from two threads, recording each request's
latency. It reports max / p99 / median latency per endpoint, whether every request while the
job ran was answered within ``--budget`` seconds (the issue's bar is one second), the job's
wall time, and the engine's peak RSS (server plus its worker processes, sampled with psutil).
Results go to ``benchmarks/results/engine_responsiveness.json``. Only 127.0.0.1 is contacted;
the polling stops by itself when the job ends or after ``--max-minutes``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import RESULTS, WORK, gib, log, machine_info, make_data

from rime_dev.engine import RunningEngine, start_engine

TERMINAL = {"JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"}


def split_predictions(path: Path) -> Path:
    """``<name>.pred.parquet`` beside ``path``, holding its ``pred`` column only."""
    import pyarrow.parquet as pq

    out = path.with_name(path.stem + ".pred.parquet")
    if not out.exists() or out.stat().st_mtime < path.stat().st_mtime:
        pq.write_table(pq.read_table(path, columns=["pred"]), out)
    return out


def data_only(path: Path) -> Path:
    """``<name>.data.parquet`` beside ``path``: every column but ``pred``."""
    import pyarrow.parquet as pq

    out = path.with_name(path.stem + ".data.parquet")
    if not out.exists() or out.stat().st_mtime < path.stat().st_mtime:
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(["pred"]), out)
    return out


def tree_rss(engine: RunningEngine) -> int:
    """RSS of the server and all its descendants (the job worker processes), in bytes."""
    try:
        root = psutil.Process(engine.process.pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def max_child_rss(engine: RunningEngine) -> int:
    best = 0
    try:
        for p in psutil.Process(engine.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                best = max(best, p.memory_info().rss)
    except psutil.NoSuchProcess:
        pass
    return best


def api(client: httpx.Client, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = client.request(method, path, json=body if body is not None else {})
    if response.status_code >= 300:
        raise SystemExit(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
    return response.json() if response.content else {}


def wait_job(client: httpx.Client, job_id: str, what: str, timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api(client, "GET", f"/v1/jobs/{job_id}")["job"]
        if job["status"] in TERMINAL:
            if job["status"] != "JOB_STATUS_SUCCEEDED":
                raise SystemExit(f"{what} job {job_id} ended {job['status']}: {job.get('errorMsg')}")
            return job
        time.sleep(0.5)
    raise SystemExit(f"{what} job {job_id} still running after {timeout:.0f} s")


class Poller(threading.Thread):
    """GET ``path`` every ``interval`` seconds until stopped; records (t, latency, status, job status)."""

    def __init__(self, base: str, path: str, headers: dict[str, str], interval: float, timeout: float):
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base, headers=headers, timeout=timeout)
        self.path = path
        self.interval = interval
        self.samples: list[dict[str, Any]] = []
        self.stop_event = threading.Event()
        self.last_job: dict[str, Any] | None = None
        self.phase = "setup"  # set by the main thread: setup, registration, submit, job

    def run(self) -> None:
        next_at = time.perf_counter()
        while not self.stop_event.is_set():
            started = time.perf_counter()
            sample: dict[str, Any] = {"t": time.time(), "phase": self.phase}
            try:
                response = self.client.get(self.path)
                sample["latency_s"] = time.perf_counter() - started
                sample["http"] = response.status_code
                if self.path.startswith("/v1/jobs/") and response.status_code == 200:
                    self.last_job = response.json()["job"]
                    sample["job_status"] = self.last_job["status"]
            except httpx.HTTPError as exc:
                sample["latency_s"] = time.perf_counter() - started
                sample["error"] = type(exc).__name__
            self.samples.append(sample)
            next_at += self.interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                self.stop_event.wait(delay)
            else:
                next_at = time.perf_counter()
        self.client.close()


def fresh_engine(data_dir: Path, log_path: Path) -> tuple[RunningEngine, str]:
    """An engine on an emptied ``data_dir`` with a new random API key, logging to ``log_path``;
    it may read the generated data under ``benchmarks/.work``. Returns it and its key."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    api_key = secrets.token_urlsafe(24)
    engine = start_engine(
        data_dir,
        api_key=api_key,
        log_path=log_path,
        extra_args=("--log-level", "warning", "--data-root", str(WORK)),
    )
    return engine, api_key


def create_project(client: httpx.Client, name: str, description: str = "") -> str:
    """A binary-classification project; its id."""
    body = {"name": name, "modelTask": "MODEL_TASK_BINARY_CLASSIFICATION"}
    if description:
        body["description"] = description
    return str(api(client, "POST", "/v1/projects", body)["project"]["id"]["uuid"])


def register_split(
    client: httpx.Client,
    pid: str,
    files: dict[str, Path],
    *,
    model_name: str,
    dataset_suffix: str = "",
    sample: bool = False,
) -> tuple[dict[str, str], str]:
    """Register ``files`` (``ref``, ``eval`` and their ``*_pred`` files) in project ``pid``: two
    datasets, a predictions-only model and its predictions on both; wait for every validation.

    Returns the dataset ids by role and the model id.
    """
    datasets, validations = {}, []
    for role in ("ref", "eval"):
        data_params: dict[str, Any] = {"labelCol": "label", **({"sample": True} if sample else {})}
        body = {
            "projectId": {"uuid": pid},
            "name": f"{role}{dataset_suffix}",
            "dataInfo": {
                "connectionInfo": {"dataFile": {"path": str(files[role])}},
                "dataParams": data_params,
            },
        }
        reply = api(client, "POST", f"/v1/registry/{pid}/dataset", body)
        datasets[role] = reply["datasetId"]
        if reply.get("registryValidationJobId"):
            validations.append(reply["registryValidationJobId"]["uuid"])
    model = {"projectId": {"uuid": pid}, "name": model_name}
    mid = api(client, "POST", f"/v1/registry/{pid}/model", model)["modelId"]["uuid"]
    for role in ("ref", "eval"):
        body = {
            "projectId": {"uuid": pid},
            "modelId": {"uuid": mid},
            "predInfo": {
                "connectionInfo": {"dataFile": {"path": str(files[f"{role}_pred"])}},
                "predParams": {"predCol": "pred"},
            },
        }
        path = f"/v1/registry/{pid}/model/{mid}/dataset/{datasets[role]}/prediction"
        reply = api(client, "POST", path, body)
        if reply.get("registryValidationJobId"):
            validations.append(reply["registryValidationJobId"]["uuid"])
    for job_id in validations:
        wait_job(client, job_id, "validation")
    return datasets, mid


def latency_stats(samples: list[dict[str, Any]], budget: float) -> dict[str, Any]:
    lat = sorted(s["latency_s"] for s in samples)
    if not lat:
        return {"n": 0}
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
    failed = [s for s in samples if "error" in s or s.get("http") != 200]
    return {
        "n": len(lat),
        "max_s": lat[-1],
        "p99_s": p99,
        "median_s": statistics.median(lat),
        "over_budget": sum(1 for x in lat if x > budget),
        "errors": len(failed),
        "all_within_budget": lat[-1] <= budget and not failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per side")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between polls per endpoint")
    parser.add_argument("--budget", type=float, default=1.0, help="latency every poll must stay under")
    parser.add_argument("--max-minutes", type=float, default=20.0, help="give up on the job after this")
    parser.add_argument("--categories", nargs="*", help="TEST_CATEGORY_TYPE_* (default: all the engine runs)")
    parser.add_argument("--out", type=Path, default=RESULTS / "engine_responsiveness.json")
    parser.add_argument("--jobs", type=int, default=2, help="stress tests to run one after the other")
    parser.add_argument("--keep", action="store_true", help="keep the engine's data directory")
    args = parser.parse_args()

    ref, ev, meta = make_data(args.rows)
    files = {
        "ref": data_only(ref),
        "eval": data_only(ev),
        "ref_pred": split_predictions(ref),
        "eval_pred": split_predictions(ev),
    }
    if args.categories:
        categories = args.categories
    else:
        from airflow_provider_rime.local.catalogue import CATALOGUE

        categories = sorted({spec.category.value for spec in CATALOGUE.values()})

    data_dir = WORK / "engine-data"
    log("starting rime-local serve")
    engine, api_key = fresh_engine(data_dir, WORK / "engine-responsiveness-server.log")
    log(f"  at {engine.url}")
    headers = {"rime-api-key": api_key, "Content-Type": "application/json"}
    # /healthz is polled from start to end, so that stalls outside the job (registering data,
    # submitting the test) show too; /v1/jobs/{id} once the job exists.
    health = Poller(engine.url, "/healthz", headers, args.interval, timeout=10.0)
    health.start()
    result: dict[str, Any] = {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "rows_per_side": args.rows,
        "data": meta,
        "categories": categories,
        "interval_s": args.interval,
        "budget_s": args.budget,
    }
    try:
        with httpx.Client(base_url=engine.url, headers=headers, timeout=30.0) as client:
            pid = create_project(client, "responsiveness benchmark", "benchmarks/engine_responsiveness.py")
            health.phase = "registration"
            started = time.perf_counter()
            datasets, mid = register_split(
                client, pid, files, dataset_suffix=f"-{args.rows}", model_name="bench-model", sample=True
            )
            result["registration_and_validation_s"] = time.perf_counter() - started
            log(
                "datasets, model and predictions registered and validated in "
                f"{result['registration_and_validation_s']:.1f} s"
            )

            config = {
                "run_name": f"responsiveness {args.rows:,} rows",
                "data_info": {"ref_dataset_id": datasets["ref"], "eval_dataset_id": datasets["eval"]},
                "model_id": {"uuid": mid},
                "categories": categories,
            }
            runs = []
            jobs_samples: list[dict[str, Any]] = []
            peak_tree, peak_worker = 0, 0
            for run in range(1, args.jobs + 1):
                health.phase = f"submit {run}"
                submitted = time.perf_counter()
                reply = api(client, "POST", f"/v1/stress-tests/{pid}", {"testRunConfig": config})
                job_id = reply["job"]["jobId"]
                submit_s = time.perf_counter() - submitted
                health.phase = f"job {run}"
                jobs = Poller(
                    engine.url, f"/v1/jobs/{job_id}?view=JOB_VIEW_FULL", headers, args.interval, 10.0
                )
                jobs.phase = f"job {run}"
                jobs.start()
                log(f"stress test {run}/{args.jobs}: job {job_id}, POST took {submit_s:.2f} s; polling")
                deadline = time.monotonic() + args.max_minutes * 60
                while time.monotonic() < deadline:
                    peak_tree = max(peak_tree, tree_rss(engine))
                    peak_worker = max(peak_worker, max_child_rss(engine))
                    job = jobs.last_job
                    if job and job["status"] in TERMINAL:
                        break
                    time.sleep(0.25)
                job_wall = time.perf_counter() - submitted
                jobs.stop_event.set()
                jobs.join(timeout=15)
                final = api(client, "GET", f"/v1/jobs/{job_id}")["job"]
                jobs_samples += jobs.samples
                runs.append(
                    {
                        "job_id": job_id,
                        "status": final["status"],
                        "error": final.get("errorMsg"),
                        "submit_s": submit_s,
                        "job_wall_s": job_wall,
                        "running_time_secs": final.get("runningTimeSecs"),
                        "jobs_endpoint": latency_stats(jobs.samples, args.budget),
                        "healthz_during_submit": latency_stats(
                            [x for x in health.samples if x["phase"] == f"submit {run}"], args.budget
                        ),
                        "healthz_during_job": latency_stats(
                            [x for x in health.samples if x["phase"] == f"job {run}"], args.budget
                        ),
                    }
                )
                log(f"  {final['status']} in {job_wall:.1f} s")
    finally:
        health.stop_event.set()
        engine.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)

    running = [s for s in jobs_samples if s.get("job_status") in ("JOB_STATUS_PENDING", "JOB_STATUS_RUNNING")]
    during_jobs = [s for s in health.samples if s["phase"].startswith("job")]
    result.update(
        {
            "runs": runs,
            "engine_peak_rss_bytes": peak_tree,
            "worker_peak_rss_bytes": peak_worker,
            "jobs_endpoint": latency_stats(jobs_samples, args.budget),
            "jobs_endpoint_while_running": latency_stats(running, args.budget),
            "healthz_during_jobs": latency_stats(during_jobs, args.budget),
            "healthz_during_registration": latency_stats(
                [s for s in health.samples if s["phase"] == "registration"], args.budget
            ),
        }
    )
    # The bar: while a job runs, every poll of the job and of /healthz within the budget.
    ok = all(r["status"] == "JOB_STATUS_SUCCEEDED" for r in runs)
    ok = (
        ok
        and result["jobs_endpoint"].get("all_within_budget")
        and result["healthz_during_jobs"].get("all_within_budget")
    )
    result["all_within_budget"] = bool(ok)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))

    def line(name: str, st: dict[str, Any]) -> None:
        if st.get("n"):
            print(
                f"  {name:<30} n={st['n']:>5}  max {st['max_s'] * 1000:7.1f} ms  "
                f"p99 {st['p99_s'] * 1000:7.1f} ms  median {st['median_s'] * 1000:6.1f} ms  "
                f"over {args.budget:g} s: {st['over_budget']}  errors: {st['errors']}"
            )

    print()
    for i, r in enumerate(runs, 1):
        print(
            f"stress test {i} on {args.rows:,} rows per side: {r['status']} in {r['job_wall_s']:.1f} s "
            f"(POST /v1/stress-tests {r['submit_s']:.2f} s)"
        )
        line(f"/healthz during POST {i}", r["healthz_during_submit"])
    for name in (
        "jobs_endpoint",
        "jobs_endpoint_while_running",
        "healthz_during_jobs",
        "healthz_during_registration",
    ):
        line(name, result[name])
    print(f"  engine peak RSS (server + workers) {gib(peak_tree)}, largest worker {gib(peak_worker)}")
    print(f"  every poll while a job ran answered within {args.budget:g} s: {'yes' if ok else 'NO'}")
    log(f"results in {args.out}")


if __name__ == "__main__":
    main()
