"""Parse time of the example DAGs ``RIME_Stress_Testing`` and ``RIME_Firewall`` against a trivial DAG file.

Each repetition parses one DAG file in a fresh Python process and reports three figures,
measured the same way for every file:

``process``
    Wall time of the whole process, spawn to exit, as the parent sees it: interpreter
    start, importing Airflow, parsing the file, serialising its DAGs. This is what
    ``airflow dags list`` or a cold parse costs, and the figure the goal (≤ 1.2× the
    trivial file) is about.
``parse``
    Inside the process, after Airflow and the ``airflow.*`` modules the file names are
    imported (the DAG processor pre-imports those, ``parsing_pre_import_modules``) and the
    heap is frozen (``gc.freeze()``, as the DAG processor does before it forks a parser):
    ``DagBag(dag_folder=<file>)``, i.e. importing the file and collecting its DAGs.
``parse+serialize``
    ``parse`` plus serialising the DAGs, which the DAG processor's child does before
    sending them to the database. This grows with the number of tasks.

Four files are compared: a trivial DAG (2 tasks), a plain DAG of the stress-testing example's
shape (23 tasks of ``@task`` and ``EmptyOperator``, same dependencies), that example DAG, and
the firewall example DAG (6 tasks).
The second one separates "the example has more tasks" from "the provider is heavy to
import". Files alternate, so drift of the machine affects all alike; the result is the
median over the repetitions. The worker also reports which heavy modules (pandas, numpy,
mlflow, sklearn, catboost, scipy, pyarrow) the parse imported: there should be none.

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

from _common import cpu_name

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = REPO_ROOT / "example_dags"
EXAMPLE_DAG_FILE = EXAMPLE_DAGS / "rime_stress_testing.py"
FIREWALL_DAG_FILE = EXAMPLE_DAGS / "rime_firewall.py"
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

SAME_SHAPE_DAG = textwrap.dedent(
    """
    from datetime import datetime

    from airflow.providers.common.compat.sdk import DAG, task
    from airflow.providers.standard.operators.empty import EmptyOperator

    @task
    def step(*inputs: object) -> str:
        return "path"

    with DAG(dag_id="same_shape", schedule="@once", start_date=datetime(2018, 7, 31), catchup=False):
        project = step.override(task_id="create_rime_project")()
        train = step.override(task_id="fetch_train_data")()
        test = step.override(task_id="fetch_test_data")()
        logged = []
        for i in range(3):
            model = step.override(task_id=f"train_model_{i}")(train, test)
            model_dir = step.override(task_id=f"write_model_dir_{i}")(model)
            ref = step.override(task_id=f"add_preds_to_ref_data_{i}")(train, model_dir)
            ev = step.override(task_id=f"add_preds_to_eval_data_{i}")(test, model_dir)
            stress = EmptyOperator(task_id=f"run_stress_test_{i}")
            [project, ref, ev] >> stress
            log = EmptyOperator(task_id=f"log_results_to_mlflow_{i}")
            stress >> log
            logged.append(log)
        best = step.override(task_id="choose_best_model")()
        logged >> best
        step.override(task_id="transition_best_model_to_production")(best)
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
    import gc
    gc.freeze()  # the DAG processor freezes its heap before forking a parser (manager.before_run)
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
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(dag_file), str(EXAMPLE_DAGS), ",".join(HEAVY_MODULES)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"parsing {dag_file} failed:\n{result.stderr[-4000:]}")
    process_seconds = time.perf_counter() - started
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    report["process"] = process_seconds
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


PHASES = ("process", "parse", "parse_and_serialize")


def run(repetitions: int) -> dict[str, Any]:
    """Parse each file ``repetitions`` times (alternating) and compare the medians."""
    with tempfile.TemporaryDirectory(prefix="rime-parse-time-") as tmp:
        files = {
            "trivial": Path(tmp) / "trivial_dag.py",
            "same_shape": Path(tmp) / "same_shape_dag.py",
            "example": EXAMPLE_DAG_FILE,
            "firewall": FIREWALL_DAG_FILE,
        }
        files["trivial"].write_text(TRIVIAL_DAG)
        files["same_shape"].write_text(SAME_SHAPE_DAG)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(Path(tmp) / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        }
        # An installed provider has its bytecode compiled (pip does it); without .pyc files
        # every parse would compile the provider's modules from source again.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        reports: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
        for path in files.values():  # warm the OS file cache and write the .pyc files
            measure_once(path, env)
        for _ in range(repetitions):
            for name, path in files.items():
                reports[name].append(measure_once(path, env))

    result: dict[str, Any] = {"repetitions": repetitions, "machine": machine()}
    for name, items in reports.items():
        result[name] = {
            "file": str(files[name].relative_to(REPO_ROOT))
            if name in ("example", "firewall")
            else files[name].name,
            "dags": items[0]["dags"],
            "heavy_modules_imported": sorted({m for r in items for m in r["heavy"]}),
            **{
                phase: summarise([r[phase if phase != "parse_and_serialize" else "total"] for r in items])
                for phase in PHASES
            },
        }
    result["ratios"] = {
        f"example/{base}": {
            phase: result["example"][phase]["median_ms"] / result[base][phase]["median_ms"]
            for phase in PHASES
        }
        for base in ("trivial", "same_shape")
    }
    result["ratios"]["firewall/trivial"] = {
        phase: result["firewall"][phase]["median_ms"] / result["trivial"][phase]["median_ms"]
        for phase in PHASES
    }
    return result


def machine() -> dict[str, Any]:
    import airflow

    cpu = cpu_name(default=platform.processor() or platform.machine())

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
    print(f"machine: {result['machine']}, {args.repetitions} repetitions, {result['wall_seconds']} s")
    print(f"{'file':<36} {'phase':<20} {'median ms':>10} {'min ms':>8} {'p90 ms':>8}")
    for name in ("trivial", "same_shape", "example", "firewall"):
        for phase in PHASES:
            stats = result[name][phase]
            print(
                f"{result[name]['file']:<36} {phase:<20} {stats['median_ms']:>10.1f} "
                f"{stats['min_ms']:>8.1f} {stats['p90_ms']:>8.1f}"
            )
    for pair, ratios in result["ratios"].items():
        print(f"ratio {pair} (medians): " + ", ".join(f"{p} {r:.2f}x" for p, r in ratios.items()))
    for name in ("example", "firewall"):
        heavy = result[name]["heavy_modules_imported"]
        print(f"heavy modules imported while parsing {result[name]['file']}: {heavy}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
