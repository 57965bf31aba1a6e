"""Evidently's ``DataDriftPreset`` on one reference against several evaluation bins, timed.

Runs inside ``benchmarks/.work/evidently-venv`` (Evidently 0.7 needs ``pandas<3``), so it
imports nothing from this project. Usage::

    python _evidently_bins_worker.py REF.parquet OUT.json BIN1.parquet [BIN2.parquet ...]

Writes ``{"import_s", "load_s", "compute_s", "bins": [{"rows", "compute_s", "n_drifted"}]}``:
``compute_s`` is the sum over bins of ``Report.run`` plus ``snapshot.dict()``, as the
continuous test's per-bin compute is the sum of its bins.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(ref_path: str, out_path: str, bin_paths: list[str]) -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    t0 = time.perf_counter()
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    t1 = time.perf_counter()
    ref = pd.read_parquet(ref_path)
    bins = [pd.read_parquet(p) for p in bin_paths]
    t2 = time.perf_counter()
    numeric = [c for c in ref.columns if c.startswith("num_")] + ["pred"]
    categorical = [c for c in ref.columns if c.startswith("cat_")] + ["label"]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    out = []
    for frame in bins:
        started = time.perf_counter()
        ref_ds = Dataset.from_pandas(ref, data_definition=definition)
        cur_ds = Dataset.from_pandas(frame, data_definition=definition)
        result = Report([DataDriftPreset()]).run(current_data=cur_ds, reference_data=ref_ds).dict()
        drifted = None
        for metric in result.get("metrics", []):
            if str(metric.get("metric_name", "")).startswith("DriftedColumnsCount"):
                drifted = int(metric["value"]["count"])
        out.append({"rows": len(frame), "compute_s": time.perf_counter() - started, "n_drifted": drifted})
    with open(out_path, "w") as fh:
        json.dump(
            {
                "import_s": t1 - t0,
                "load_s": t2 - t1,
                "compute_s": sum(b["compute_s"] for b in out),
                "bins": out,
            },
            fh,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
