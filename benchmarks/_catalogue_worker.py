"""The whole test catalogue on a reference/evaluation parquet pair, timed per test.

Runs in the project's venv, one process per measurement (the driver reads its peak RSS).
Usage::

    python _catalogue_worker.py REF.parquet EVAL.parquet OUT.json [--profile PROFILE.txt]

The frames are split the way a stress test sees them (``_common.labelled_inputs``): ``label``
and ``pred`` columns become label and prediction arrays, every other column is a feature
(types from ``infer_features``).
All categories that have tests are requested, so the run covers the whole catalogue.
With ``--profile`` each test runs under its own cProfile and the hottest functions of the
slowest tests are written to PROFILE.txt (profiled timings are not comparable to plain ones).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import time
from collections import defaultdict
from typing import Any

import _common


def _blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return []
    return [
        {k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for info in threadpool_info()
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("ref")
    parser.add_argument("eval")
    parser.add_argument("out")
    parser.add_argument("--profile", help="write per-test cProfile hotspots to this file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    import numpy as np
    import pandas as pd

    from airflow_provider_rime.local.catalogue import plan_tests, run_tests, runnable_categories
    from airflow_provider_rime.rime_api.enums import TestCategory

    t1 = time.perf_counter()
    c1 = time.process_time()
    ref = pd.read_parquet(args.ref)
    ev = pd.read_parquet(args.eval)
    t2 = time.perf_counter()
    c2 = time.process_time()

    inputs = _common.labelled_inputs(ref, ev, runnable_categories())
    config, features = inputs.config, inputs.features
    categories = config.categories
    planned = plan_tests(config, has_labels=inputs.has_labels, has_preds=inputs.has_preds)
    t3 = time.perf_counter()

    per_test: list[dict[str, Any]] = []
    profiles: dict[str, pstats.Stats] = {}
    if args.profile:
        batches = []
        for test in planned:
            prof = cProfile.Profile()
            started = time.perf_counter()
            prof.enable()
            batch = test.run(inputs)
            prof.disable()
            elapsed = time.perf_counter() - started
            profiles[test.spec.key] = pstats.Stats(prof)
            per_test.append(_entry(test, batch, elapsed))
            if batch is not None:
                batches.append(batch)
    else:
        last = [time.perf_counter()]

        def done(test: Any, batch: Any) -> None:
            now = time.perf_counter()
            per_test.append(_entry(test, batch, now - last[0]))
            last[0] = now

        batches = run_tests(inputs, planned, on_batch_done=done)
    t4 = time.perf_counter()
    c4 = time.process_time()

    by_category: dict[str, float] = defaultdict(float)
    for entry in per_test:
        by_category[entry["category"]] += entry["seconds"]
    out = {
        "tool": "catalogue",
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "blas": _blas_info(),
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "prepare_s": t3 - t2,
        "tests_s": t4 - t3,
        "compute_s": t4 - t2,
        # CPU time of this process (all its threads): less sensitive to other work on the machine.
        "load_cpu_s": c2 - c1,
        "compute_cpu_s": c4 - c2,
        "n_rows_ref": len(ref),
        "n_rows_eval": len(ev),
        "n_features": len(features),
        "categories_requested": sorted(c.name for c in categories),
        "categories_without_tests": sorted(
            c.name for c in TestCategory if c not in categories and c is not TestCategory.UNSPECIFIED
        ),
        "n_tests_planned": len(planned),
        "n_batches": len(batches),
        "n_cases": sum(len(b.cases) for b in batches),
        "by_category_s": dict(sorted(by_category.items())),
        "per_test": per_test,
        "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "profiled": bool(args.profile),
    }
    with open(args.out, "w", encoding="utf8") as fh:
        json.dump(out, fh, indent=2)
    if args.profile:
        _write_profile(args.profile, per_test, profiles, total=t4 - t3)


def _entry(test: Any, batch: Any, seconds: float) -> dict[str, Any]:
    return {
        "key": test.spec.key,
        "category": test.spec.category.name,
        "seconds": seconds,
        "ran": batch is not None,
        "cases": len(batch.cases) if batch is not None else 0,
    }


def _write_profile(
    path: str, per_test: list[dict[str, Any]], profiles: dict[str, pstats.Stats], total: float
) -> None:
    lines = [f"# cProfile per test; all tests {total:.2f} s (profiled)", ""]
    ranked = sorted(per_test, key=lambda e: e["seconds"], reverse=True)
    for entry in ranked:
        if entry["seconds"] < 0.02 * total:
            break
        buf = io.StringIO()
        stats = profiles[entry["key"]]
        stats.stream = buf  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(12)
        body = buf.getvalue()
        body = body[body.find("   ncalls") :] if "   ncalls" in body else body
        lines.append(f"## {entry['key']} ({entry['category']}): {entry['seconds']:.3f} s")
        lines.append(body.rstrip())
        lines.append("")
    with open(path, "w", encoding="utf8") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
