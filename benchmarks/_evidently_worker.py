"""Evidently's ``DataDriftPreset`` on a reference/evaluation parquet pair, timed.

Runs inside ``benchmarks/.work/evidently-venv`` (Evidently 0.7 needs ``pandas<3``), so it
imports nothing from this project. Usage::

    python _evidently_worker.py REF.parquet EVAL.parquet OUT.json

Writes ``{"import_s", "load_s", "compute_s", "n_drifted", "n_columns", ...}`` to OUT.json.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def main(ref_path: str, eval_path: str, out_path: str) -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")  # no usage reporting from inside a benchmark
    t0 = time.perf_counter()
    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    t1 = time.perf_counter()
    c1 = time.process_time()
    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(eval_path)
    t2 = time.perf_counter()
    c2 = time.process_time()

    # The same columns the catalogue's drift tests see: features, label and prediction.
    numeric = [c for c in ref.columns if c.startswith("num_")]
    categorical = [c for c in ref.columns if c.startswith("cat_")]
    if "pred" in ref.columns:
        numeric.append("pred")
    if "label" in ref.columns:
        categorical.append("label")
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    ref_ds = Dataset.from_pandas(ref, data_definition=definition)
    cur_ds = Dataset.from_pandas(cur, data_definition=definition)
    report = Report([DataDriftPreset()])
    snapshot = report.run(current_data=cur_ds, reference_data=ref_ds)
    result = snapshot.dict()
    t3 = time.perf_counter()
    c3 = time.process_time()

    drifted = None
    share = None
    methods: dict[str, int] = {}
    for metric in result.get("metrics", []):
        name = str(metric.get("metric_name", ""))
        config = metric.get("config", {})
        if name.startswith("DriftedColumnsCount"):
            drifted = int(metric["value"]["count"])
            share = float(metric["value"]["share"])
        elif name.startswith("ValueDrift"):
            method = str(config.get("method"))
            methods[method] = methods.get(method, 0) + 1
    out = {
        "tool": "evidently",
        "version": evidently.__version__,
        "pandas": pd.__version__,
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "compute_s": t3 - t2,
        # CPU time of this process (all its threads): less sensitive to other work on the machine.
        "load_cpu_s": c2 - c1,
        "compute_cpu_s": c3 - c2,
        "n_rows_ref": len(ref),
        "n_rows_eval": len(cur),
        "n_columns": len(numeric) + len(categorical),
        "n_drifted": drifted,
        "drift_share": share,
        "methods": methods,
        "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    with open(out_path, "w", encoding="utf8") as fh:
        json.dump(out, fh, indent=2)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: _evidently_worker.py REF.parquet EVAL.parquet OUT.json")
    main(*sys.argv[1:])
