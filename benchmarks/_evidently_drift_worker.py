"""Evidently's default per-column drift verdicts on many reference/evaluation parquet pairs.

Runs inside ``benchmarks/.work/evidently-venv`` (see ``_evidently_worker.py``), so it imports
nothing from this project. For each column it does what ``DataDriftPreset`` does per column
(``evidently.legacy.calculations.data_drift.get_one_column_drift``): drop nulls and
infinities, choose the default test with Evidently's own ``get_stattest`` (reference of at
most 1,000 rows: KS for numeric, chi-squared or Z for categorical, p < 0.05; more rows:
normalised Wasserstein >= 0.1 for numeric, Jensen-Shannon distance >= 0.1 for categorical;
few-valued numeric columns as Evidently treats them) and apply it at its default threshold.
The report machinery (plots, the legacy metrics that recompute the same drift) is left out:
the verdicts are the same, in a fraction of the time.

Usage::

    python _evidently_drift_worker.py JOBS.json OUT.json

``JOBS.json``: ``{"jobs": [[ref.parquet, eval.parquet], ...], "numeric": [...],
"categorical": [...]}``. ``OUT.json``: ``{"version", "results": [{"drifted": [...],
"methods": {...}}, ...]}`` in the order of the jobs.
"""

from __future__ import annotations

import json
import os
import sys


def main(jobs_path: str, out_path: str) -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")  # no usage reporting from inside a benchmark
    import evidently
    import numpy as np
    import pandas as pd
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    with open(jobs_path, encoding="utf8") as fh:
        spec = json.load(fh)
    kinds = {c: ColumnType.Numerical for c in spec["numeric"]}
    kinds.update({c: ColumnType.Categorical for c in spec["categorical"]})
    results = []
    for ref_path, eval_path in spec["jobs"]:
        ref = pd.read_parquet(ref_path)
        cur = pd.read_parquet(eval_path)
        drifted, methods = [], {}
        for column, kind in kinds.items():
            a = ref[column].replace([-np.inf, np.inf], np.nan).dropna()
            b = cur[column].replace([-np.inf, np.inf], np.nan).dropna()
            if a.empty or b.empty:
                continue
            test = get_stattest(a, b, kind, None)
            result = test(a, b, kind, None)
            methods[column] = test.name
            if result.drifted:
                drifted.append(column)
        results.append({"drifted": drifted, "methods": methods})
    with open(out_path, "w", encoding="utf8") as fh:
        json.dump({"version": evidently.__version__, "results": results}, fh)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: _evidently_drift_worker.py JOBS.json OUT.json")
    main(*sys.argv[1:])
