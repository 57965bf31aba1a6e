"""Load check: 20 concurrent clients for 60 s against the local engine while a stress test runs.

One command::

    .venv/bin/python benchmarks/engine_load.py --clients 20 --seconds 60 --rows 200000

It starts ``rime-local serve`` on a free loopback port (fresh data directory, data root
``benchmarks/.work``), registers the generated reference and evaluation parquet with a
predictions-only model and its predictions, keeps a stress test of every category the engine
runs going for the whole window (the next starts when one ends), and meanwhile lets
``--clients`` threads, each with its own keep-alive connection,
send a mix of what Airflow tasks and rime-sdk send: list projects, read a project, register a
small dataset (every tenth request of a client), read a dataset, read the stress test's job,
list test runs, ``/healthz``. Each request's latency and status are recorded. Afterwards every
dataset a client registered is read back, and the project's dataset list must hold them all.

It reports p50 / p99 / max latency per kind of request and overall, the request count, the
errors (transport errors and any status other than 200), and the stress tests that ran.
Results go to ``benchmarks/results/engine_load.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from _common import RESULTS, WORK, log, machine_info, make_data
from engine_responsiveness import (
    api,
    create_project,
    data_only,
    fresh_engine,
    register_split,
    split_predictions,
)

TERMINAL = {"JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"}


class Client(threading.Thread):
    """One client: its own connection, a fixed mix of requests until the window closes."""

    def __init__(self, n: int, base: str, headers: dict[str, str], ctx: dict[str, Any], until: float) -> None:
        super().__init__(daemon=True)
        self.n, self.ctx, self.until = n, ctx, until
        self.client = httpx.Client(base_url=base, headers=headers, timeout=30.0)
        self.samples: list[tuple[str, float, int | str]] = []
        self.registered: list[str] = []

    def call(self, kind: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.samples.append((kind, time.perf_counter() - started, type(exc).__name__))
            return None
        self.samples.append((kind, time.perf_counter() - started, response.status_code))
        return response

    def run(self) -> None:
        pid, i = self.ctx["project_id"], 0
        while time.monotonic() < self.until:
            i += 1
            step = i % 10
            if step == 0:
                body = {
                    "name": f"load-{self.n}-{i}",
                    "dataInfo": {
                        "connectionInfo": {"dataFile": {"path": self.ctx["small_csv"]}},
                        "dataParams": {"labelCol": "label"},
                    },
                }
                response = self.call("register dataset", "POST", f"/v1/registry/{pid}/dataset", json=body)
                if response is not None and response.status_code == 200:
                    self.registered.append(response.json()["datasetId"])
            elif step in (1, 5):
                self.call("list projects", "GET", "/v1/projects")
            elif step == 2:
                self.call("read project", "GET", f"/v1/projects/{pid}")
            elif step == 3 and self.registered:
                self.call(
                    "read dataset", "GET", "/v1/registry/dataset", params={"datasetId": self.registered[-1]}
                )
            elif step in (4, 8):
                self.call(
                    "read job", "GET", f"/v1/jobs/{self.ctx['job_id']}", params={"view": "JOB_VIEW_FULL"}
                )
            elif step == 6:
                params = {"firstPageQuery.projectId.uuid": pid}
                self.call("list test runs", "GET", "/v1/test-runs", params=params)
            else:
                self.call("healthz", "GET", "/healthz")
        self.client.close()


class StressLoop(threading.Thread):
    """Keeps a stress test running for the whole window: starts the next when one ends."""

    def __init__(
        self, base: str, headers: dict[str, str], pid: str, config: dict[str, Any], until: float
    ) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base, headers=headers, timeout=60.0)
        self.pid, self.config, self.until = pid, config, until
        self.jobs: list[dict[str, Any]] = []
        self.current = ""

    def start_one(self) -> str:
        config = {**self.config, "run_name": f"under load {len(self.jobs) + 1}"}
        job_id = api(self.client, "POST", f"/v1/stress-tests/{self.pid}", {"testRunConfig": config})["job"][
            "jobId"
        ]
        self.current = job_id
        return job_id

    def run(self) -> None:
        job_id = self.current
        while True:
            job = api(self.client, "GET", f"/v1/jobs/{job_id}")["job"]
            if job["status"] in TERMINAL:
                self.jobs.append(
                    {"job_id": job_id, "status": job["status"], "secs": job.get("runningTimeSecs")}
                )
                if time.monotonic() >= self.until:
                    break
                job_id = self.start_one()
            time.sleep(0.5)
        self.client.close()


def stats(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"n": 0}
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rows", type=int, default=200_000, help="rows per side of the stress test")
    parser.add_argument("--out", type=Path, default=RESULTS / "engine_load.json")
    args = parser.parse_args()

    ref, ev, meta = make_data(args.rows)
    files = {"ref": data_only(ref), "eval": data_only(ev), "ref_pred": split_predictions(ref)}
    files["eval_pred"] = split_predictions(ev)
    small = WORK / "load-small.csv"
    small.write_text(
        "amount,channel,label\n" + "".join(f"{i % 97},{'ab'[i % 2]},{i % 2}\n" for i in range(200))
    )
    from airflow_provider_rime.local.catalogue import CATALOGUE

    categories = sorted({spec.category.value for spec in CATALOGUE.values()})

    data_dir = WORK / "engine-load-data"
    engine, key = fresh_engine(data_dir, WORK / "engine-load-server.log")
    log(f"engine at {engine.url}")
    headers = {"rime-api-key": key}
    result: dict[str, Any] = {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "clients": args.clients,
        "window_s": args.seconds,
        "rows_per_side": args.rows,
        "data": meta,
    }
    try:
        with httpx.Client(base_url=engine.url, headers=headers, timeout=60.0) as client:
            pid = create_project(client, "load check")
            datasets, mid = register_split(client, pid, files, model_name="load-model")
            config = {
                "run_name": "under load",
                "data_info": {"ref_dataset_id": datasets["ref"], "eval_dataset_id": datasets["eval"]},
                "model_id": {"uuid": mid},
                "categories": categories,
            }
            until = time.monotonic() + args.seconds
            stress = StressLoop(engine.url, headers, pid, config, until)
            job_id = stress.start_one()
            stress.start()
            log(f"stress test {job_id} started; {args.clients} clients for {args.seconds:.0f} s")
            ctx = {"project_id": pid, "job_id": job_id, "small_csv": str(small)}
            clients = [Client(n, engine.url, headers, ctx, until) for n in range(args.clients)]
            for c in clients:
                c.start()
            for c in clients:
                c.join(timeout=args.seconds + 120)
            stress.join(timeout=3600)

            by_kind: dict[str, list[float]] = defaultdict(list)
            statuses: Counter[str] = Counter()
            errors: list[str] = []
            for c in clients:
                for kind, latency, status in c.samples:
                    by_kind[kind].append(latency)
                    statuses[str(status)] += 1
                    if status != 200:
                        errors.append(f"{kind}: {status}")
            registered = [d for c in clients for d in c.registered]
            missing = [
                d
                for d in registered
                if client.get("/v1/registry/dataset", params={"datasetId": d}).status_code != 200
            ]
            listed = set()
            token = None
            while True:
                params = {"pageSize": 500, **({"pageToken": token} if token else {})}
                page = api(client, "GET", f"/v1/registry/{pid}/dataset?" + str(httpx.QueryParams(params)))
                listed |= {d["datasetId"] for d in page.get("datasets", [])}
                token = page.get("nextPageToken")
                if not page.get("hasMore"):
                    break
            result.update(
                {
                    "requests": sum(statuses.values()),
                    "statuses": dict(statuses),
                    "errors": len(errors),
                    "error_samples": errors[:20],
                    "latency_all": stats([x for v in by_kind.values() for x in v]),
                    "latency_by_kind": {k: stats(v) for k, v in sorted(by_kind.items())},
                    "datasets_registered_under_load": len(registered),
                    "datasets_missing_afterwards": len(missing),
                    "datasets_not_listed": len(set(registered) - listed),
                    # One after the other, so that one always ran while the clients did.
                    "stress_tests": stress.jobs,
                }
            )
    finally:
        engine.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    lat, r = result["latency_all"], result
    log(f"{r['requests']} requests from {args.clients} clients in {args.seconds:.0f} s")
    log(f"  p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms; errors {r['errors']}")
    log(
        f"  {r['datasets_registered_under_load']} datasets registered, "
        f"{r['datasets_missing_afterwards']} missing afterwards"
    )
    log(f"  stress tests run meanwhile: {[j['status'] for j in r['stress_tests']]}")
    log(f"results in {args.out}")
    failed = any(j["status"] != "JOB_STATUS_SUCCEEDED" for j in result["stress_tests"])
    if failed or result["errors"] or result["datasets_missing_afterwards"] or result["datasets_not_listed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
