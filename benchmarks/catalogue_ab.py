"""The whole catalogue timed on two source trees, alternating, on the same data.

For a change to the catalogue: "before" is an exported source tree (``git archive <commit> src``),
"after" is this checkout's ``src``. Each run is a fresh ``_catalogue_worker.py`` process on the
parquet pair of ``catalogue_vs_evidently.py`` (``benchmarks/.work/data/<rows>``, generated if
missing); the two trees alternate (before, after, after, before, ...) so that load on a shared
machine hits both alike.

Usage (from the repository root)::

    mkdir -p /tmp/before && git archive <commit> src | tar -x -C /tmp/before
    .venv/bin/python benchmarks/catalogue_ab.py /tmp/before/src --rows 1000000 --reps 3 \\
        --out benchmarks/results/<name>.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import HERE, ROOT, WORK, log, machine_info, make_data


def run_once(src: Path, ref: Path, ev: Path, out: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), str(ROOT / "dev"), env.get("PYTHONPATH")]))
    load = os.getloadavg()[0]
    subprocess.run(
        [sys.executable, str(HERE / "_catalogue_worker.py"), str(ref), str(ev), str(out)], env=env, check=True
    )
    result: dict[str, Any] = json.loads(out.read_text())
    result["load_1min_before"] = load
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path, help="the 'before' source tree (its src/ folder)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    ref, ev, _ = make_data(args.rows)
    trees = {"before": args.before.resolve(), "after": ROOT / "src"}
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    order = [("before", "after"), ("after", "before")]
    for rep in range(args.reps):
        for name in order[rep % 2]:
            result = run_once(trees[name], ref, ev, WORK / f"ab_{name}.json")
            runs[name].append(result)
            drift = {k: round(v, 2) for k, v in result["by_category_s"].items() if "DRIFT" in k}
            log(
                f"{name:6} compute {result['compute_s']:.2f} s (CPU {result['compute_cpu_s']:.2f} s), {drift}"
            )
    summary = {}
    for name, results in runs.items():
        summary[name] = {
            "compute_s_median": statistics.median(r["compute_s"] for r in results),
            "compute_cpu_s_median": statistics.median(r["compute_cpu_s"] for r in results),
            "by_category_median": {
                c: statistics.median(r["by_category_s"][c] for r in results)
                for c in results[0]["by_category_s"]
            },
            "n_tests_planned": results[0]["n_tests_planned"],
        }
    payload = {
        "machine": machine_info(),
        "finished_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rows": args.rows,
        "before": str(args.before),
        "summary": summary,
        "runs": runs,
    }
    args.out.write_text(json.dumps(payload, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
