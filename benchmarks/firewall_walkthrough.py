"""The walkthrough's production month as one continuous test, through the engine's REST API.

Registers ``fraud_ref.csv`` (reference) and ``fraud_incremental.csv`` (29 days x 1,000 rows, the
walkthrough model's predictions in ``preds``) from ``../shared/data/fraud`` beside the checkout,
creates a daily continuous test, runs one job over the month and prints which days alert, on
which monitors, and the root-cause lines of the events. Skips (exit 0) when the data is absent.

Usage (from the repository root)::

    .venv/bin/python benchmarks/firewall_walkthrough.py

Results go to ``benchmarks/results/firewall_walkthrough.json``; the figures are in
``benchmarks/README.md``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

FRAUD = _common.ROOT.parent / "shared" / "data" / "fraud"


ok = _common.ok


def wait(client: Any, job_id: str) -> dict[str, Any]:
    while True:
        job = ok(client.get(f"/v1/jobs/{job_id}"))["job"]
        if job["status"] in ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"):
            return job
        time.sleep(0.5)


def main() -> int:
    if not (FRAUD / "fraud_incremental.csv").exists():
        _common.log(f"skipped: the walkthrough's data is not at {FRAUD}")
        return 0
    from rime_dev.engine import start_engine

    with tempfile.TemporaryDirectory(prefix="rime-firewall-walkthrough-") as tmp:
        engine = start_engine(Path(tmp), api_key="benchmark", extra_args=("--data-root", str(FRAUD)))
        try:
            client = engine.client()
            project = ok(
                client.post(
                    "/v1/projects",
                    json={"name": "walkthrough", "modelTask": "MODEL_TASK_BINARY_CLASSIFICATION"},
                )
            )["project"]["id"]["uuid"]

            def register(name: str, params: dict[str, Any]) -> str:
                path = str(FRAUD / f"{name}.csv")
                info = {"connectionInfo": {"dataFile": {"path": path}}, "dataParams": params}
                dataset = ok(
                    client.post(f"/v1/registry/{project}/dataset", json={"name": name, "dataInfo": info})
                )
                return str(dataset["datasetId"])

            ref = register("fraud_ref", {"labelCol": "label"})
            month = register("fraud_incremental", {"labelCol": "label", "timestampCol": "timestamp"})
            model = ok(client.post(f"/v1/registry/{project}/model", json={"name": "walkthrough model"}))[
                "modelId"
            ]["uuid"]
            for dataset, name in ((ref, "fraud_ref"), (month, "fraud_incremental")):
                pred = {
                    "connectionInfo": {"dataFile": {"path": str(FRAUD / f"{name}.csv")}},
                    "predParams": {"predCol": "preds"},
                }
                ok(
                    client.post(
                        f"/v1/registry/{project}/model/{model}/dataset/{dataset}/prediction",
                        json={"predInfo": pred},
                    )
                )
            firewall = _common.create_daily_firewall(client, project, model, ref)
            started = time.perf_counter()
            job = _common.start_continuous_test(client, firewall, month)
            job = wait(client, job["job"]["jobId"])
            seconds = time.perf_counter() - started
            if job["status"] != "JOB_STATUS_SUCCEEDED":
                raise SystemExit(f"the job ended {job['status']}: {job['errorMsg']}")
            bins = job["jobData"]["continuousInc"]["progress"]["testRuns"]
            events = ok(client.get(f"/v1-beta/detection-events/{project}", params={"pageSize": 500}))[
                "events"
            ]
        finally:
            engine.stop()

    days: dict[str, dict[str, list[str]]] = {
        b["binStartTime"][:10]: {"ALERT": [], "WARNING": []} for b in bins
    }
    for e in events:
        level = e["severity"].removeprefix("SEVERITY_")
        start, end = e["eventTimeRange"]["startTime"][:10], e["eventTimeRange"]["endTime"][:10]
        for day in days:
            if start <= day < end:
                days[day][level].append(e["eventObjectName"])
    for day, marks in days.items():
        _common.log(f"{day}: alert {sorted(set(marks['ALERT']))} warning {sorted(set(marks['WARNING']))}")
    alerts = [e for e in events if e["severity"] == "SEVERITY_ALERT"]
    for e in sorted(alerts, key=lambda e: e["eventTimeRange"]["startTime"]):
        _common.log(
            f"ALERT {e['description']} {e['detail']['metricDegradation']['rcaResult']['description']}"
        )
    out = {
        "bins": len(bins),
        "job_seconds": round(seconds, 1),
        "days": days,
        "alert_events": [
            {
                "monitor": e["eventObjectName"],
                "start": e["eventTimeRange"]["startTime"],
                "end": e["eventTimeRange"]["endTime"],
                "description": e["description"],
                "root_cause": e["detail"]["metricDegradation"]["rcaResult"]["description"],
            }
            for e in alerts
        ],
        "machine": _common.machine_info(),
        "source": _common.source_state(),
    }
    path = _common.RESULTS / "firewall_walkthrough.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    _common.log(f"{len(bins)} bins in {seconds:.1f} s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
