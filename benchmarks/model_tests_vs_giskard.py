"""Model-based stress tests beside Giskard 2.x's scan, on the walkthrough's CatBoost model.

    .venv/bin/python benchmarks/model_tests_vs_giskard.py --eval-rows 5000

The walkthrough's CatBoost pipeline (the example DAG's settings, fitted on ``fraud_ref.csv``)
is wrapped as a RIME model file (``_catboost_model.py``) with one planted weakness at a time:
none, ``nulls`` (a missing transaction amount scores 0.97), ``case`` (a city in another case
than in training scores 0.97), ``high_frequency`` (a fast periodic term in the amount). For
each, on the first ``--eval-rows`` rows of ``fraud_eval.csv``:

- this project: Transformations and Attacks, the model in a model process as the engine runs
  it (start the model process, read both CSV files while the model loads, the model check on
  5 reference rows, every test), twice: on a running engine, the model process forked by the
  model zygote, started and preloaded before the timed span as the engine does at startup
  ("ours"); and cold, the model process a new interpreter (``--no-model-zygote``, "ours_cold");
- Giskard 2.x ``scan`` (every detector), in its own venv ``benchmarks/.work/giskard-venv``
  (``_giskard_worker.py``), with the model file imported directly.

Measured: wall and CPU time (CPU includes child processes; for this project also the model
process's own share, which the zygote reports for the processes it forks), the model process's
memory after the tests (resident, proportional, private; ``/proc/PID/smaps_rollup``), the 1-minute load
average before and after each variant, and whether the planted weakness is found, judged the
same way for both: a finding on the planted feature that the unweakened model did not get (for
this project an alert (test, feature), for Giskard an issue (detector, features)); for this
project also whether it is the planted test that newly alerts. The model is fitted once, in
Giskard's venv (its pickle loads in both). Results in
``benchmarks/results/model_tests_vs_giskard.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, WORK, log, machine_info, model_test_inputs, tool_python

HERE = Path(__file__).resolve().parent
FRAUD = HERE.parent.parent / "shared" / "data" / "fraud"
GISKARD_VENV = WORK / "giskard-venv"
GISKARD_REQUIREMENTS = ["giskard>=2.14,<3", "catboost==1.2.10", "scikit-learn==1.9.1", "pyarrow"]
PLANTED = {
    "nulls": ("transaction_amount", "null_substitution"),
    "case": ("city", "capitalization_change"),
    "high_frequency": ("transaction_amount", "sensitivity"),
}


def giskard_python() -> Path:
    return tool_python(
        GISKARD_VENV,
        GISKARD_REQUIREMENTS,
        "import giskard, catboost, sklearn; assert giskard.__version__ < '3'",
    )


def run_measured(cmd: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[:3]} failed")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def model_process_memory(pid: int | None) -> dict[str, float]:
    """The model process's memory at the end of the tests (MB): resident, proportional (its
    shared pages divided among the processes sharing them) and private to it."""
    fields = {"Rss": "rss", "Pss": "pss", "Private_Clean": "private", "Private_Dirty": "private"}
    out = {"rss": 0.0, "pss": 0.0, "private": 0.0}
    if pid is None:
        return out
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            key, _, value = line.partition(":")
            if key in fields:
                out[fields[key]] += round(int(value.split()[0]) / 1024, 1)
    return out


def ours(model_dir: Path, ref_path: Path, eval_path: Path, zygote: Path | None) -> dict[str, Any]:
    import pandas as pd

    from airflow_provider_rime.local.catalogue import plan_tests, run_tests
    from airflow_provider_rime.local.catalogue.types import (
        Severity,
    )
    from airflow_provider_rime.local.data import DataRoots
    from airflow_provider_rime.local.models import ModelProcess, resolve_model_source

    started, cpu0 = time.perf_counter(), time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # As the engine's worker: the model process starts, then the data is read while it loads.
    source = resolve_model_source(str(model_dir), model_dir.name, DataRoots.of(["/"]))
    process = ModelProcess(source, zygote=zygote)
    process.spawn()
    if (zygote is not None) != (process.how == "forked by the model zygote"):
        raise RuntimeError(f"the model process was {process.how}, with zygote {zygote}")
    with contextlib.closing(process):
        ref = pd.read_csv(ref_path)
        ev = pd.read_csv(eval_path)
        features = [c for c in ref.columns if c not in ("label", "preds")]
        process.predict(ref[features].head(5))  # the engine's model check
        inputs = model_test_inputs(process, ref, ev, features)
        batches = run_tests(
            inputs, plan_tests(inputs.config, has_labels=True, has_preds=False, has_model=True)
        )
        calls = process.calls
        memory = model_process_memory(process.pid)
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    model_cpu = (children.ru_utime - children0.ru_utime) + (children.ru_stime - children0.ru_stime)
    if process.cpu_s is not None:  # forked by the zygote: its child, not ours
        model_cpu += process.cpu_s
    cpu = (time.process_time() - cpu0) + model_cpu
    alerts = sorted(
        {
            (b.test_type, f)
            for b in batches
            for c in b.cases
            if c.severity is Severity.ALERT
            for f in c.features
        }
    )
    return {
        "model_process": process.how,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "model_process_cpu_s": round(model_cpu, 3),
        "model_calls": calls,
        "model_process_memory_mb": memory,
        "alerts": alerts,
    }


def judge(rows: list[dict[str, Any]]) -> None:
    """Add the detection verdicts to ``rows`` (the first row is the unweakened model)."""
    base_alerts = {tuple(a) for a in rows[0]["ours"]["alerts"]}
    base_issues = {(i["detector"], tuple(i["features"])) for i in rows[0]["giskard"]["issues"]}
    for row in rows[1:]:
        feature, test = PLANTED[row["weakness"]]
        new_alerts = {tuple(a) for a in row["ours"]["alerts"]} - base_alerts
        new_issues = {(i["detector"], tuple(i["features"])) for i in row["giskard"]["issues"]} - base_issues
        row["ours_new_alerts"] = sorted(map(list, new_alerts))
        row["ours_detected"] = any(f == feature for _, f in new_alerts)
        row["ours_planted_test_newly_alerts"] = (test, feature) in new_alerts
        row["giskard_new_issues"] = sorted([d, list(f)] for d, f in new_issues)
        row["giskard_detected"] = any(feature in f for _, f in new_issues)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eval-rows", type=int, default=5000)
    parser.add_argument(
        "--judge-only", action="store_true", help="recompute the verdicts of the saved results"
    )
    args = parser.parse_args()
    path = RESULTS / "model_tests_vs_giskard.json"
    if args.judge_only:
        saved = json.loads(path.read_text())
        judge(saved["runs"])
        path.write_text(json.dumps(saved, indent=1, default=list))
        return
    python = giskard_python()
    work = WORK / "model-tests-vs-giskard"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ref_path = FRAUD / "fraud_ref.csv"
    eval_path = work / "eval.csv"
    with (FRAUD / "fraud_eval.csv").open() as src, eval_path.open("w") as dst:
        for i, line in enumerate(src):
            if i > args.eval_rows:
                break
            dst.write(line)
    subprocess.run(
        [str(python), str(HERE / "_giskard_worker.py"), "train", str(ref_path), str(work)], check=True
    )
    from airflow_provider_rime.local.models.zygote import ModelZygote

    # As the engine does at startup, outside the timed spans: the zygote preloads its libraries.
    zygote = ModelZygote(work / "run")
    zygote.start()
    report = zygote.wait_ready(300)
    if report is None:
        raise RuntimeError("the model zygote did not start")
    log(
        f"model zygote: {report['seconds']} s to preload {', '.join(report['preloaded'])}; "
        f"{report['VmRSS']} MB resident, {report['VmSize']} MB of address space"
    )
    rows: list[dict[str, Any]] = []
    giskard_version = ""
    try:
        for weakness in ("none", *PLANTED):
            row, giskard_version = variant(weakness, work, python, ref_path, eval_path, zygote.socket_path)
            rows.append(row)
            judge(rows)
            log(
                f"{weakness:15s} ours {row['ours']['wall_s']:7.2f} s wall {row['ours']['cpu_s']:7.2f} s cpu "
                f"(cold {row['ours_cold']['wall_s']:6.2f} s, {row['ours_cold']['cpu_s']:6.2f} s) | giskard "
                f"{row['giskard']['wall_s']:7.2f} s wall {row['giskard']['cpu_s']:7.2f} s cpu | found: ours "
                f"{row.get('ours_detected')} giskard {row.get('giskard_detected')}"
            )
    finally:
        zygote.stop()
    result = {
        "machine": machine_info(),
        "eval_rows": args.eval_rows,
        "ref_rows": 10000,
        "giskard": giskard_version,
        "model_zygote": report,
        "runs": rows,
    }
    path.write_text(json.dumps(result, indent=1, default=list))
    log(f"wrote {path}")


def variant(
    weakness: str, work: Path, python: Path, ref_path: Path, eval_path: Path, zygote: Path
) -> tuple[dict[str, Any], str]:
    """One planted weakness: this project warm (zygote) and cold (new interpreter), then Giskard;
    the row and Giskard's version."""
    model_dir = work / weakness
    model_dir.mkdir()
    shutil.copyfile(work / "pipeline.pkl", model_dir / "pipeline.pkl")
    shutil.copyfile(HERE / "_catboost_model.py", model_dir / "model.py")
    (model_dir / "model_loading.json").write_text(json.dumps({"params": {"weakness": weakness}}))
    load_before = os.getloadavg()[0]
    mine = ours(model_dir, ref_path, eval_path, zygote)
    cold = ours(model_dir, ref_path, eval_path, None)
    if cold["alerts"] != mine["alerts"]:
        raise RuntimeError(f"{weakness}: alerts differ with and without the zygote")
    out = work / f"giskard-{weakness}.json"
    g_wall, g_cpu = run_measured(
        [str(python), str(HERE / "_giskard_worker.py"), "scan", str(model_dir), str(eval_path), str(out)]
    )
    scan = json.loads(out.read_text())
    row: dict[str, Any] = {
        "weakness": weakness,
        "ours": mine,
        "ours_cold": cold,
        "giskard": {
            "wall_s": round(g_wall, 3),
            "cpu_s": round(g_cpu, 3),
            "scan_s": round(scan["scan_s"], 3),
            "issues": scan["issues"],
        },
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "wall_ratio": round(mine["wall_s"] / g_wall, 4),
        "cpu_ratio": round(mine["cpu_s"] / g_cpu, 4),
        "cold_wall_ratio": round(cold["wall_s"] / g_wall, 4),
        "cold_cpu_ratio": round(cold["cpu_s"] / g_cpu, 4),
    }
    return row, scan["giskard"]


if __name__ == "__main__":
    main()
