"""Parse time of the example DAG ``RIME_Stress_Testing`` against a trivial DAG file.

Airflow's DAG processor parses every DAG file again and again, each time in a fresh child
process that has Airflow already imported (and, with ``parsing_pre_import_modules``, the
``airflow.*`` modules the file names) but nothing else. So this benchmark measures, for
each file, in a fresh Python process per repetition:

1. import Airflow and ``airflow.sdk`` (not timed: the DAG processor has them loaded);
2. pre-import the ``airflow.*`` modules the file imports (not timed, as the DAG processor);
3. timed: ``DagBag(dag_folder=<file>)`` (what the processor's child runs: import the file,
   collect its DAGs), then serialising the DAGs as the processor does before sending them.

The two files alternate so that drift of the machine affects both alike. The result is
the median over the repetitions and the ratio of the medians. The worker also reports
which heavy modules (pandas, numpy, mlflow, sklearn, catboost, scipy) the parse imported:
there should be none.

Run: ``.venv/bin/python benchmarks/parse_time.py [--repetitions 40] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = REPO_ROOT / "example_dags"
EXAMPLE_DAG_FILE = EXAMPLE_DAGS / "rime_stress_testing.py"
HEAVY_MODULES = ("pandas", "numpy", "mlflow", "sklearn", "catboost", "scipy", "pyarrow")

TRIVIAL_DAG = textwrap.dedent(
    """
    from datetime import datetime

    from airflow.providers.common.compat.sdk import DAG, task
    from airflow.providers.standard.operators.empty import EmptyOperator

    @task
    def hello() -> int:
        return 1

    with DAG(dag_id="trivial", schedule="@once", start_date=datetime(2018, 7, 31), catchup=False):
        EmptyOperator(task_id="start") >> hello()
    """
)

WORKER = textwrap.dedent(
    """
    import json, sys, time
    file_path, extra_path = sys.argv[1], sys.argv[2]
    sys.path.insert(0, extra_path)  # the DAG folder is on sys.path in a real deployment
    import airflow, airflow.sdk
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.file import iter_airflow_imports
    import importlib
    for module in iter_airflow_imports(file_path):
        importlib.import_module(module)
    before = set(sys.modules)
    start = time.perf_counter()
    bag = DagBag(dag_folder=file_path, safe_mode=False)
    parsed = time.perf_counter()
    for dag in bag.dags.values():
        DagSerialization.to_dict(dag)
    done = time.perf_counter()
    heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before} & set(sys.argv[3].split(",")))
    print(json.dumps({"parse": parsed - start, "total": done - start, "dags": sorted(bag.dags),
                      "import_errors": bag.import_errors, "heavy": heavy}))
    """
)


def measure_once(dag_file: Path, env: dict[str, str]) -> dict[str, Any]:
    """Parse ``dag_file`` in a fresh process and return the worker's report."""
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(dag_file), str(EXAMPLE_DAGS), ",".join(HEAVY_MODULES)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"parsing {dag_file} failed:\n{result.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if report["import_errors"] or not report["dags"]:
        raise RuntimeError(f"{dag_file} did not parse cleanly: {report}")
    return report


def summarise(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "min_ms": ordered[0] * 1000,
        "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] * 1000,
    }


def run(repetitions: int) -> dict[str, Any]:
    """Measure both files ``repetitions`` times each (alternating) and compare the medians."""
    with tempfile.TemporaryDirectory(prefix="rime-parse-time-") as tmp:
        trivial_file = Path(tmp) / "trivial_dag.py"
        trivial_file.write_text(TRIVIAL_DAG)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(Path(tmp) / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        }
        files = {"trivial": trivial_file, "example": EXAMPLE_DAG_FILE}
        reports: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
        measure_once(trivial_file, env)  # warm the OS file cache and .pyc files of both
        measure_once(EXAMPLE_DAG_FILE, env)
        for _ in range(repetitions):
            for name, path in files.items():
                reports[name].append(measure_once(path, env))

    result: dict[str, Any] = {"repetitions": repetitions, "machine": machine()}
    for name, items in reports.items():
        result[name] = {
            "file": str(files[name].relative_to(REPO_ROOT)) if name == "example" else "trivial_dag.py",
            "dags": items[0]["dags"],
            "parse": summarise([r["parse"] for r in items]),
            "parse_and_serialize": summarise([r["total"] for r in items]),
            "heavy_modules_imported": sorted({m for r in items for m in r["heavy"]}),
        }
    for phase in ("parse", "parse_and_serialize"):
        result[f"ratio_{phase}"] = (
            result["example"][phase]["median_ms"] / result["trivial"][phase]["median_ms"]
        )
    return result


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import airflow

    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "airflow": airflow.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=40, help="parses of each file (default 40)")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)

    started = time.monotonic()
    result = run(args.repetitions)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    print(f"machine: {result['machine']}")
    print(f"{'file':<34} {'phase':<22} {'median ms':>10} {'min ms':>8} {'p90 ms':>8}")
    for name in ("trivial", "example"):
        for phase in ("parse", "parse_and_serialize"):
            stats = result[name][phase]
            print(
                f"{result[name]['file']:<34} {phase:<22} {stats['median_ms']:>10.1f} "
                f"{stats['min_ms']:>8.1f} {stats['p90_ms']:>8.1f}"
            )
    print(
        f"ratio example/trivial (medians): parse {result['ratio_parse']:.2f}x, "
        f"parse+serialize {result['ratio_parse_and_serialize']:.2f}x"
    )
    print(
        f"heavy modules imported while parsing the example DAG: {result['example']['heavy_modules_imported']}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
