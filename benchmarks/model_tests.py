"""Model-based stress tests: detection of planted weaknesses over seeds, and their cost.

    .venv/bin/python benchmarks/model_tests.py --seeds 10 --rows 2000

For each seed, the ground-truth models of ``rime_dev.model_zoo`` (a robust fraud score, and
the same score with one weakness planted: wrong on nulls in ``age``, a case-sensitive lookup
of ``channel``, a fast periodic term in ``hour``) run Transformations and Attacks in a real
model process, as the engine runs them: forked by a model zygote started (and preloaded) before
the first seed, as the engine does at startup, or with ``--no-zygote`` a new interpreter per
model. Recorded per model and seed: the (test, feature)
pairs that alert or warn, whether the planted pair alerts, alerts on any other feature, the
model calls made and the wall time (model process start included). Results in
``benchmarks/results/model_tests_detection.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, log, machine_info, model_test_inputs


def run_seed(seed: int, rows: int, work: Path, zygote: Path | None) -> list[dict[str, Any]]:
    from airflow_provider_rime.local.catalogue import plan_tests, run_tests
    from airflow_provider_rime.local.catalogue.types import (
        Severity,
    )
    from airflow_provider_rime.local.data import DataRoots
    from airflow_provider_rime.local.models import (
        ModelProcess,
        resolve_model_source,
    )
    from rime_dev.model_zoo import WEAKNESSES, frames, model_dir

    ref, ev = frames(seed=seed, n=rows)
    features = [c for c in ref.columns if c != "label"]
    out = []
    for weakness in ("robust", *WEAKNESSES):
        directory = model_dir(work / f"seed-{seed}", weakness)
        started = time.perf_counter()
        source = resolve_model_source(str(directory), weakness, DataRoots.of(["/"]))
        with ModelProcess(source, zygote=zygote) as process:
            inputs = model_test_inputs(process, ref, ev, features, seed)
            planned = plan_tests(inputs.config, has_labels=True, has_preds=False, has_model=True)
            batches = run_tests(inputs, planned)
            calls = process.calls
        wall = time.perf_counter() - started
        alerts, warnings = set(), set()
        for batch in batches:
            for case in batch.cases:
                for feature in case.features:
                    if case.severity is Severity.ALERT:
                        alerts.add((batch.test_type, feature))
                    elif case.severity is Severity.WARNING:
                        warnings.add((batch.test_type, feature))
        planted = WEAKNESSES.get(weakness)
        record: dict[str, Any] = {
            "seed": seed,
            "model": weakness,
            "alerts": sorted(map(list, alerts)),
            "warnings": sorted(map(list, warnings)),
            "model_calls": calls,
            "wall_s": round(wall, 3),
            "test_cases": sum(len(b.cases) for b in batches),
        }
        if planted is not None:
            feature, test = planted
            single = {f for t, f in alerts if t != "multi_feat_sensitivity"}
            record["planted_detected"] = (test, feature) in alerts
            record["other_features_alerted"] = sorted(single - {feature})
        else:
            record["false_alerts"] = len(alerts)
            record["false_warnings"] = len(warnings)
        out.append(record)
        log(f"seed {seed} {weakness:15s} {wall:6.2f} s, {calls} calls, alerts {sorted(alerts)}")
    return out


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for model in sorted({r["model"] for r in records}):
        mine = [r for r in records if r["model"] == model]
        row: dict[str, Any] = {
            "runs": len(mine),
            "median_wall_s": sorted(r["wall_s"] for r in mine)[len(mine) // 2],
            "model_calls": sorted({r["model_calls"] for r in mine}),
        }
        if model == "robust":
            row["runs_with_any_alert"] = sum(1 for r in mine if r["false_alerts"])
            row["runs_with_any_warning"] = sum(1 for r in mine if r["false_warnings"])
        else:
            row["planted_detected"] = sum(1 for r in mine if r["planted_detected"])
            row["runs_alerting_other_features"] = sum(1 for r in mine if r["other_features_alerted"])
        summary[model] = row
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rows", type=int, default=2000, help="reference and evaluation rows per seed")
    parser.add_argument(
        "--no-zygote", action="store_true", help="a new interpreter per model process (no model zygote)"
    )
    args = parser.parse_args()
    from airflow_provider_rime.local.models.zygote import ModelZygote

    records = []
    with tempfile.TemporaryDirectory(prefix="rime-model-tests-") as tmp:
        zygote = None if args.no_zygote else ModelZygote(Path(tmp) / "run")
        with contextlib.nullcontext() if zygote is None else zygote:
            if zygote is not None and zygote.wait_ready(300) is None:
                raise RuntimeError("the model zygote did not start")
            socket_path = None if zygote is None else zygote.socket_path
            for seed in range(args.seeds):
                records += run_seed(seed, args.rows, Path(tmp), socket_path)
    result = {
        "machine": machine_info(),
        "seeds": args.seeds,
        "rows": args.rows,
        "model_processes": "new interpreters" if zygote is None else "forked by the model zygote",
        "summary": summarize(records),
        "runs": records,
    }
    path = RESULTS / "model_tests_detection.json"
    path.write_text(json.dumps(result, indent=1))
    log(json.dumps(result["summary"], indent=1))
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
