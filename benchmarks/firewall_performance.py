"""Continuous-test performance through the REST API, beside Evidently's ``DataDriftPreset`` per bin.

Two cases, each one job on ``rime-local serve`` (loopback port, SQLite store):

- **month**: 30 daily bins, 1M evaluation rows in total (``generate_wide``, 15 numeric and 5
  categorical features, the catalogue-vs-Evidently evaluation split: drift, a degraded subset,
  abnormal rows), against a reference of ``--ref-rows``;
- **one bin**: 1M evaluation rows in one daily bin, against the same reference.

For each: the job's wall time from ``POST /v1/continuous-tests`` to ``SUCCEEDED`` (it includes
loading the data, the worker's start and writing results), and the compute of its bins (the sum
of the bin test runs' ``durationMillis``). Evidently (``_evidently_bins_worker.py``, in
``benchmarks/.work/evidently-venv``, see ``catalogue_vs_evidently.py``) runs ``DataDriftPreset``
on the reference against each bin in one process: its compute is the sum over bins.

Usage (from the repository root)::

    .venv/bin/python benchmarks/firewall_performance.py
    .venv/bin/python benchmarks/firewall_performance.py --evidently-python /path/to/venv/bin/python

Results go to ``benchmarks/results/firewall_performance.json``; figures in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

DAY_NS = 86_400 * 10**9
START = "2024-06-01"


def make_month(rows: int, ref_rows: int, days: int, folder: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from rime_dev import datagen

    shape = {"n_numeric": _common.N_NUMERIC, "n_categorical": _common.N_CATEGORICAL, "with_pred": True}
    ref = datagen.generate_wide(ref_rows, seed=0, **shape)
    ev = datagen.generate_wide(rows, **shape, **_common.EVAL_SPLIT)
    rng = np.random.default_rng(7)
    start = pd.Timestamp(START, tz="UTC").value
    stamps = start + rng.integers(0, days * DAY_NS, rows)
    ev["ts"] = pd.to_datetime(stamps, utc=True)
    folder.mkdir(parents=True, exist_ok=True)
    ref.to_parquet(folder / "ref.parquet", index=False)
    ev.to_parquet(folder / "eval.parquet", index=False)
    bins = []
    day_index = (stamps - start) // DAY_NS
    for day in range(days):
        path = folder / f"bin-{day:02d}.parquet"
        ev[day_index == day].drop(columns=["ts"]).to_parquet(path, index=False)
        bins.append(path)
    return {"ref": folder / "ref.parquet", "eval": folder / "eval.parquet", "bins": bins}


def run_engine(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    from rime_dev.engine import start_engine

    engine = start_engine(folder / "engine", api_key="benchmark", extra_args=("--data-root", str(folder)))
    try:
        client = engine.client(timeout=120)

        ok = _common.ok
        project = ok(
            client.post(
                "/v1/projects", json={"name": "perf", "modelTask": "MODEL_TASK_BINARY_CLASSIFICATION"}
            )
        )
        pid = project["project"]["id"]["uuid"]
        ids = {}
        for name, params in (
            ("ref", {"labelCol": "label"}),
            ("eval", {"labelCol": "label", "timestampCol": "ts"}),
        ):
            info = {"connectionInfo": {"dataFile": {"path": str(data[name])}}, "dataParams": params}
            ids[name] = ok(client.post(f"/v1/registry/{pid}/dataset", json={"name": name, "dataInfo": info}))[
                "datasetId"
            ]
        model = ok(client.post(f"/v1/registry/{pid}/model", json={"name": "m"}))["modelId"]["uuid"]
        for name in ("ref", "eval"):
            pred = {
                "connectionInfo": {"dataFile": {"path": str(data[name])}},
                "predParams": {"predCol": "pred"},
            }
            ok(
                client.post(
                    f"/v1/registry/{pid}/model/{model}/dataset/{ids[name]}/prediction",
                    json={"predInfo": pred},
                )
            )
        # Wait for the registry validations, so the job's time is the job's.
        for name in ("ref", "eval"):
            while ok(client.get("/v1/registry/dataset", params={"datasetId": ids[name]}))["dataset"][
                "validityStatus"
            ].endswith("PENDING"):
                time.sleep(0.5)
        firewall = _common.create_daily_firewall(client, pid, model, ids["ref"])
        started = time.perf_counter()
        job = _common.start_continuous_test(client, firewall, ids["eval"])
        job_id = job["job"]["jobId"]
        while True:
            job = ok(client.get(f"/v1/jobs/{job_id}"))["job"]
            if job["status"] in ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"):
                break
            time.sleep(0.25)
        wall = time.perf_counter() - started
        if job["status"] != "JOB_STATUS_SUCCEEDED":
            raise SystemExit(f"job {job['status']}: {job['errorMsg']}")
        runs = job["jobData"]["continuousInc"]["ctTestRunIds"]
        compute = []
        for run_id in runs:
            metrics = ok(client.get(f"/v1/test-runs/{run_id}"))["testRun"]["metrics"]
            compute.append(int(metrics["durationMillis"]) / 1000)
        log = ok(client.get(f"/v1-beta/logs/{job_id}"))["result"]["chunk"]
    finally:
        engine.stop()
    return {
        "bins": len(runs),
        "job_wall_s": round(wall, 2),
        "bins_compute_s": round(sum(compute), 2),
        "slowest_bin_compute_s": round(max(compute), 2),
        "job_log_tail": log[-1500:],
    }


def run_evidently(python: Path, data: dict[str, Any], folder: Path) -> dict[str, Any]:
    out = folder / "evidently.json"
    worker = _common.HERE / "_evidently_bins_worker.py"
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    subprocess.run(
        [str(python), str(worker), str(data["ref"]), str(out), *map(str, data["bins"])], check=True, env=env
    )
    result = json.loads(out.read_text())
    result["process_wall_s"] = round(time.perf_counter() - started, 2)
    result["bins"] = len(result["bins"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ref-rows", type=int, default=100_000)
    parser.add_argument("--evidently-python", type=Path, default=None)
    args = parser.parse_args()
    python = args.evidently_python
    if python is None:
        from catalogue_vs_evidently import evidently_python

        python = evidently_python()
    report: dict[str, Any] = {"rows": args.rows, "ref_rows": args.ref_rows, "machine": _common.machine_info()}
    _common.WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="firewall-perf-", dir=_common.WORK) as tmp:
        for case, days in (("month", 30), ("one_bin", 1)):
            folder = Path(tmp) / case
            _common.log(
                f"{case}: generating {args.rows:,} rows over {days} day(s), reference {args.ref_rows:,}"
            )
            data = make_month(args.rows, args.ref_rows, days, folder)
            load_before = os.getloadavg()[0]
            engine = run_engine(data, folder)
            _common.log(
                f"{case}: engine {engine['bins']} bins, job {engine['job_wall_s']} s, "
                f"bins' compute {engine['bins_compute_s']} s"
            )
            evidently = run_evidently(python, data, folder)
            _common.log(f"{case}: Evidently {evidently['bins']} bins, compute {evidently['compute_s']:.2f} s")
            report[case] = {
                "engine": engine,
                "evidently": evidently,
                "load_average": [load_before, os.getloadavg()[0]],
                "compute_ratio": round(engine["bins_compute_s"] / evidently["compute_s"], 3),
                "job_wall_over_evidently_compute": round(engine["job_wall_s"] / evidently["compute_s"], 3),
            }
    out = _common.RESULTS / "firewall_performance.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    _common.log(json.dumps({k: v for k, v in report.items() if k in ("month", "one_bin")}, indent=1)[:3000])
    _common.log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
