"""``make demo`` and ``make demo-ui``: the walkthrough on one machine, against the local engine.

``python -m rime_dev.demo`` with ``dev/`` on ``PYTHONPATH`` (``make demo``):

1. starts the local engine (``rime-local serve``) on 127.0.0.1:8642 (the previous demo's port
   if that one differed, a free port if both are taken), data under ``.demo/engine``;
2. migrates a SQLite Airflow metadata DB under ``.demo/airflow`` and adds the connection
   ``rime`` (the engine's URL and API key), while MLflow's tracking store is created;
3. runs the DAG ``RIME_Stress_Testing`` from ``example_dags/`` to completion with
   ``airflow dags test`` (MLflow tracking in SQLite under ``.demo/mlflow``);
4. prints each model's pass rate and AUC, the chosen model and the test run links, and
   how to open the UIs; stops the engine. The exit status is non-zero if anything failed.

``python -m rime_dev.demo ui`` (``make demo-ui``) starts the engine, Airflow
(``airflow standalone``, http://localhost:8081, everyone is admin: a local demo) and the
MLflow UI (http://localhost:7081) on the same ``.demo`` state, until Ctrl-C.

All state lives under ``--demo-dir`` (default ``.demo``); ``make clean`` removes it. The DAG's
id, connection, MLflow experiment and registered model come from the example DAG's helper
package ``example_dags/rime_demo``; the engine is started by :mod:`rime_dev.engine`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import rime_dev
from rime_dev.engine import EngineStartError, RunningEngine, running_engine
from rime_dev.processes import free_port, log_tail, port_is_free, start_process, stop_process

#: The repository's ``dev/`` folder, and its ``example_dags/`` beside it.
DEV_DIR = Path(rime_dev.__file__).resolve().parents[1]
DAGS_FOLDER = DEV_DIR.parent / "example_dags"

# The example DAG's names, from its helper package (Airflow puts the DAG folder on sys.path too).
sys.path.insert(0, str(DAGS_FOLDER))
from rime_demo import (  # noqa: E402
    DAG_ID,
    FIREWALL_DAG_ID,
    MLFLOW_EXPERIMENT,
    PRODUCTION_ALIAS,
    PRODUCTION_CONN_ID,
    REGISTERED_MODEL,
)
from rime_demo import RIME_CONN_ID as CONN_ID  # noqa: E402

ENGINE_PORT = 8642
AIRFLOW_PORT = 8081
MLFLOW_PORT = 7081


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and where its log is."""


class DemoPaths:
    """Where the demo keeps its state: everything under one root."""

    def __init__(self, root: Path, dags_folder: Path) -> None:
        self.root = root
        self.dags_folder = dags_folder
        self.airflow_home = root / "airflow"
        self.engine_dir = root / "engine"
        self.mlflow_dir = root / "mlflow"
        self.work_dir = root / "work"
        self.production_db = root / "production.db"
        self.logs = root / "logs"
        self.mlflow_tracking_uri = f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    def make(self) -> None:
        for path in (self.airflow_home, self.engine_dir, self.mlflow_dir, self.work_dir, self.logs):
            path.mkdir(parents=True, exist_ok=True)


def find_dags_folder() -> Path:
    """``example_dags/`` of the repository this ``dev/`` folder belongs to."""
    if not (DAGS_FOLDER / "rime_stress_testing.py").is_file():
        raise DemoError(f"{DAGS_FOLDER / 'rime_stress_testing.py'} not found: the demo runs from a checkout")
    return DAGS_FOLDER


def demo_env(paths: DemoPaths) -> dict[str, str]:
    """The environment of every Airflow process of the demo."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(paths.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(paths.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{paths.airflow_home / 'airflow.db'}",
        "MLFLOW_TRACKING_URI": paths.mlflow_tracking_uri,
        "RIME_DEMO_WORK_DIR": str(paths.work_dir),
        "RIME_DEMO_MLFLOW_ARTIFACT_LOCATION": str(paths.mlflow_dir / "artifacts"),
        "PYTHONUNBUFFERED": "1",
        # The example DAG's generated data comes from rime_dev.datagen (dev/ is not installed).
        "PYTHONPATH": os.pathsep.join(filter(None, [str(DEV_DIR), os.environ.get("PYTHONPATH")])),
        # `airflow standalone` starts its components as `airflow ...` from PATH: this venv's.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    # A stale connection or variable from the user's shell must not redirect the demo.
    env.pop(f"AIRFLOW_CONN_{CONN_ID.upper()}", None)
    return env


def api_key(paths: DemoPaths) -> str:
    """The engine's API key, made once per demo directory (so ``demo-ui`` reuses the connection)."""
    key_file = paths.engine_dir / "api-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(24))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def login_hint(paths: DemoPaths, engine_url: str) -> str:
    """How a person logs in to the engine's result pages: a fresh login link, or the API key's file."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_rime.local.cli",
            "login-link",
            "--data-dir",
            str(paths.engine_dir),
            "--url",
            engine_url,
            "--minutes",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    link = result.stdout.strip()
    key_file = paths.engine_dir / "api-key"
    if result.returncode != 0 or not link:
        return f"with the API key in {key_file}"
    return f"open {link} within the hour, or use the API key in {key_file}"


def start_logged(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with its output in ``log`` (see :func:`wait_logged`)."""
    with log.open("ab") as handle:
        return subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT)


def wait_logged(process: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 900) -> None:
    """Wait for ``process``; raise :class:`DemoError` with the log's tail if it failed."""
    try:
        returncode = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    if returncode != 0:
        raise DemoError(f"{what} failed (exit {returncode}); log {log}:\n{log_tail(log)}")


def run_logged(cmd: list[str], env: dict[str, str], log: Path, what: str, timeout: float = 900) -> None:
    """Run ``cmd`` with its output in ``log``; raise :class:`DemoError` with the log's tail on failure."""
    wait_logged(start_logged(cmd, env, log), log, what, timeout)


def start_mlflow_store(paths: DemoPaths, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Create the MLflow tracking store's tables in the background.

    Its migrations take seconds; done while the engine starts and Airflow's DB migrates, the
    first training task does not wait for them. A store that exists is only opened.
    """
    code = "from mlflow import MlflowClient; MlflowClient().search_experiments(max_results=1)"
    return start_logged([sys.executable, "-c", code], env, paths.logs / "mlflow-setup.log")


def engine_port(paths: DemoPaths) -> int:
    """The port of the previous demo's engine if free (its links keep working), else 8642, else any.

    The links RIME returns (stored in MLflow, printed by the demo) carry the engine's port.
    """
    port_file = paths.engine_dir / "port"
    saved = int(port_file.read_text()) if port_file.exists() else None
    for port in dict.fromkeys(p for p in (saved, ENGINE_PORT) if p):
        if port_is_free(port):
            break
    else:
        port = free_port()
        print(f"  ports {saved or ENGINE_PORT} and {ENGINE_PORT} are taken; the engine uses {port}")
        print("  (links to test runs of earlier demos name the old port)")
    port_file.write_text(str(port))
    return port


def demo_engine(paths: DemoPaths, key: str) -> contextlib.AbstractContextManager[RunningEngine]:
    """The local engine on the demo's data directory, port and key, stopped when the block ends."""
    return running_engine(
        paths.engine_dir, api_key=key, port=engine_port(paths), log_path=paths.logs / "engine.log"
    )


def airflow_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "airflow", *args]


def prepare_airflow(paths: DemoPaths, env: dict[str, str], engine_url: str, key: str) -> None:
    """Migrate the metadata DB and (re)create the ``rime`` connection (one Airflow CLI start)."""
    log = paths.logs / "airflow-setup.log"
    # Through a private file, so the API key is neither on a command line nor in a log.
    conn = {
        CONN_ID: {"conn_type": "rime", "host": engine_url, "password": key, "extra": {"max_retries": 3}},
        # RIME_Firewall's production database (common-sql, SQLite file).
        PRODUCTION_CONN_ID: {"conn_type": "sqlite", "host": str(paths.production_db)},
    }
    conn_file = paths.airflow_home / "rime-connection.json"
    conn_file.touch(mode=0o600)
    try:
        conn_file.write_text(json.dumps(conn))
        run_logged(
            [
                sys.executable,
                "-m",
                "rime_dev.airflow_cli",
                "db migrate",
                shlex.join(["connections", "import", "--overwrite", str(conn_file)]),
            ],
            env,
            log,
            f"airflow db migrate, or adding the connections {CONN_ID} and {PRODUCTION_CONN_ID},",
        )
    finally:
        conn_file.unlink(missing_ok=True)


def run_dag(paths: DemoPaths, env: dict[str, str]) -> tuple[str, float]:
    """``airflow dags test RIME_Stress_Testing``; return the DAG run's id and the seconds it took."""
    log = paths.logs / "dag-test.log"
    log.write_text("")
    started = time.monotonic()
    with log.open("ab") as handle:
        process = subprocess.Popen(
            airflow_cmd("dags", "test", DAG_ID), env=env, stdout=handle, stderr=subprocess.STDOUT
        )
        reported: set[str] = set()
        while process.poll() is None:
            time.sleep(1)
            report_finished_tasks(log, reported, started)
        report_finished_tasks(log, reported, started)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise DemoError(
            f"airflow dags test {DAG_ID} failed (exit {process.returncode}); log {log}:\n{log_tail(log)}"
        )
    latest = latest_run(env)
    run_id, state = str(latest["run_id"]), str(latest["state"])
    if state != "success":
        raise DemoError(f"DAG run {run_id} ended in state {state!r}; log {log}:\n{log_tail(log)}")
    return run_id, seconds


def load_production_db(paths: DemoPaths) -> int:
    """Write the production month into ``.demo/production.db`` once; return its row count."""
    from rime_demo.production import load_production_db as load

    return load(str(paths.production_db))


def run_firewall_month(paths: DemoPaths, env: dict[str, str]) -> tuple[list[dict[str, Any]], float]:
    """``RIME_Firewall`` for every day of the production month (``rime_dev.firewall_month``).

    Prints one table row per day as it finishes; returns the days and the seconds it took.
    """
    log = paths.logs / "firewall-month.log"
    log.write_text("")
    started = time.monotonic()
    days: list[dict[str, Any]] = []
    print(f"  {'day':<10} {'state':<8} {'rows':>5} {'verdict':<8} {'events':>6}  monitors with events")
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "rime_dev.firewall_month", "--dags-folder", str(paths.dags_folder)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if not line.startswith("{"):
                handle.write(line.encode())
                continue
            day = json.loads(line)
            days.append(day)
            rows = "-" if day["rows"] is None else str(day["rows"])
            verdict = day["verdict"] or "skipped"
            events = "-" if day["events"] is None else str(day["events"])
            monitors = ", ".join(day.get("event_monitors") or [])
            print(f"  {day['day']:<10} {day['state']:<8} {rows:>5} {verdict:<8} {events:>6}  {monitors}")
        process.wait()
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise DemoError(
            f"{FIREWALL_DAG_ID} failed on some days (exit {process.returncode}); log {log}:\n{log_tail(log)}"
        )
    return days, seconds


def print_firewall_results(days: list[dict[str, Any]], seconds: float) -> None:
    tested = [d for d in days if d["verdict"]]
    by_verdict = {v: sum(d["verdict"] == v for d in tested) for v in ("pass", "warning", "alert")}
    url = next((d["url"] for d in reversed(days) if d.get("url")), None)
    print()
    print(
        f"{FIREWALL_DAG_ID}: {len(days)} daily runs in {seconds:.0f} s; {len(tested)} days tested "
        f"({by_verdict['pass']} pass, {by_verdict['warning']} warning, {by_verdict['alert']} alert), "
        f"{len(days) - len(tested)} without production rows skipped"
    )
    if url:
        print(f"  the firewall page: {url}")


def report_finished_tasks(log: Path, reported: set[str], started: float) -> None:
    """Print one line per task whose end ``airflow dags test`` has logged, with its final state."""
    state = "?"
    for line in log.read_text(errors="replace").splitlines():
        if "new_state=" in line:
            state = line.split("new_state=", 1)[1].split()[0]
        elif "[DAG TEST] end task task_id=" in line:
            task_id = line.split("task_id=", 1)[1].split()[0]
            if task_id not in reported:
                reported.add(task_id)
                print(f"  [{time.monotonic() - started:4.0f} s] {task_id:<40} {state}")


def list_runs(env: dict[str, str]) -> list[dict[str, Any]]:
    """``airflow dags list-runs RIME_Stress_Testing -o json`` (log lines before the JSON are skipped)."""
    out = subprocess.run(
        airflow_cmd("dags", "list-runs", DAG_ID, "-o", "json"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("[{", "[]")):
            with contextlib.suppress(json.JSONDecodeError):
                runs: list[dict[str, Any]] = json.loads("\n".join(lines[i:]))
                return runs
    raise DemoError(f"could not read the runs of {DAG_ID} from `airflow dags list-runs`:\n{out[-2000:]}")


def latest_run(env: dict[str, str]) -> dict[str, Any]:
    """The latest run of the DAG (one ``airflow dags list-runs``: each takes seconds to start)."""
    runs = list_runs(env)
    if not runs:
        raise DemoError(f"no run of {DAG_ID} found after airflow dags test")
    return max(runs, key=lambda r: r.get("start_date") or r.get("run_after") or r.get("logical_date") or "")


def collect_results(paths: DemoPaths, run_id: str) -> dict[str, Any]:
    """Read the DAG run's results back from MLflow: per model and the production version."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=paths.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(MLFLOW_EXPERIMENT)
    if experiment is None:
        raise DemoError(f"the MLflow experiment {MLFLOW_EXPERIMENT!r} does not exist")
    escaped = run_id.replace("'", "\\'")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.airflow_dag_run_id = '{escaped}'"
    )
    models = []
    for run in runs:
        metrics, tags = run.data.metrics, run.data.tags
        if "rime_pass_rate" not in metrics:
            raise DemoError(f"MLflow run {run.info.run_id} ({tags.get('model_type')}) has no RIME results")
        models.append(
            {
                "model_type": tags.get("model_type", run.info.run_name),
                "mlflow_run_id": run.info.run_id,
                "experiment_id": experiment.experiment_id,
                "pass_rate": metrics["rime_pass_rate"],
                "auc_test": metrics.get("test_auc"),
                "auc_rime_eval": metrics.get("rime_model_metrics_AUC_eval"),
                "tests": {
                    k: metrics.get(f"rime_summary_counts_{k}") for k in ("total", "pass", "warning", "fail")
                },
                "link": tags.get("RIME Stress Test Link"),
            }
        )
    production = client.get_model_version_by_alias(REGISTERED_MODEL, PRODUCTION_ALIAS)
    return {
        "run_id": run_id,
        "models": sorted(models, key=lambda m: m["model_type"]),
        "production": {
            "version": production.version,
            "model_type": production.tags.get("model_type"),
            "test_run_id": production.tags.get("rime_stress_test_run_id"),
            "mlflow_run_id": production.run_id,
        },
    }


def print_results(results: dict[str, Any], engine_url: str, dag_seconds: float, total_seconds: float) -> None:
    def fmt(value: float | None) -> str:
        return "   -  " if value is None else f"{value:6.3f}"

    print()
    print(
        f"{DAG_ID} run {results['run_id']} succeeded: `airflow dags test` took {dag_seconds:.0f} s, "
        f"the whole demo {total_seconds:.0f} s"
    )
    print()
    print(f"  {'model':<32} {'pass rate':>9} {'tests':>13} {'AUC (test)':>10} {'AUC (RIME eval)':>15}")
    for model in results["models"]:
        tests = model["tests"]
        counts = f"{int(tests['pass'] or 0)}/{int(tests['total'] or 0)} pass"
        print(
            f"  {model['model_type']:<32} {model['pass_rate']:>9.3f} {counts:>13} "
            f"{fmt(model['auc_test']):>10} {fmt(model['auc_rime_eval']):>15}"
        )
    production = results["production"]
    print()
    print(
        f"  chosen: {production['model_type']} -> {REGISTERED_MODEL} version {production['version']} "
        f"(alias '{PRODUCTION_ALIAS}', models:/{REGISTERED_MODEL}@{PRODUCTION_ALIAS})"
    )
    print()
    print("  stress test runs (served by the local engine; `make demo-ui` starts it again):")
    for model in results["models"]:
        print(f"    {model['model_type']:<32} {model['link']}")
    print()
    print("  to browse everything: make demo-ui, then open")
    print(
        f"    Airflow  http://localhost:{AIRFLOW_PORT}   "
        f"(DAGs {DAG_ID}, {FIREWALL_DAG_ID}; a local demo: no login)"
    )
    print(
        f"    MLflow   http://localhost:{MLFLOW_PORT}   "
        f"(experiment {MLFLOW_EXPERIMENT}, model {REGISTERED_MODEL})"
    )
    print(f"    RIME     {engine_url}   (the local engine's pages; `make demo-ui` prints a login link)")


def run_demo(paths: DemoPaths) -> int:
    """``make demo``: run the example DAG end to end and print what it found."""
    started = time.monotonic()
    paths.make()
    env = demo_env(paths)
    key = api_key(paths)
    print(f"demo state in {paths.root} (logs in {paths.logs})")
    mlflow_store = start_mlflow_store(paths, env)
    print("starting the local RIME engine ...")
    with demo_engine(paths, key) as engine:
        print(f"  engine at {engine.url}")
        print("preparing Airflow (SQLite metadata DB, connection 'rime') ...")
        prepare_airflow(paths, env, engine.url, key)
        wait_logged(mlflow_store, paths.logs / "mlflow-setup.log", "creating the MLflow tracking store")
        print(f"running {DAG_ID} with `airflow dags test` ...")
        run_id, dag_seconds = run_dag(paths, env)
        results = collect_results(paths, run_id)
        print_results(results, engine.url, dag_seconds, time.monotonic() - started)
        rows = load_production_db(paths)
        print()
        print(
            f"running {FIREWALL_DAG_ID} over the production month ({rows} rows in {paths.production_db}) ..."
        )
        days, firewall_seconds = run_firewall_month(paths, env)
        results["firewall"] = {"days": days, "seconds": firewall_seconds}
        (paths.root / "last-demo.json").write_text(json.dumps(results, indent=2))
        print_firewall_results(days, firewall_seconds)
        print(f"\nboth pipelines took {time.monotonic() - started:.0f} s")
    print("\nengine stopped. Demo finished successfully.")
    return 0


def last_firewall_page(paths: DemoPaths) -> str | None:
    """The firewall page the last ``make demo`` printed (from ``last-demo.json``), if any."""
    try:
        results = json.loads((paths.root / "last-demo.json").read_text())
    except (OSError, ValueError):
        return None
    days = (results.get("firewall") or {}).get("days") or []
    return next((str(d["url"]) for d in reversed(days) if d.get("url")), None)


def run_ui(paths: DemoPaths) -> int:
    """``make demo-ui``: engine, Airflow and MLflow UI on the demo's state, until Ctrl-C."""
    paths.make()
    env = demo_env(paths)
    # A local demo: every user is admin, no password to copy.
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
    env["AIRFLOW__API__PORT"] = str(AIRFLOW_PORT)
    env["AIRFLOW__API__BASE_URL"] = f"http://localhost:{AIRFLOW_PORT}"
    key = api_key(paths)
    for port, what in ((AIRFLOW_PORT, "Airflow"), (MLFLOW_PORT, "MLflow")):
        if not port_is_free(port):
            raise DemoError(f"port {port} (for {what}) is taken; stop what uses it and retry")
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    # Stop as on Ctrl-C when terminated (e.g. `kill`), so no component is left running.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    with demo_engine(paths, key) as engine:
        print(f"engine at {engine.url}")
        prepare_airflow(paths, env, engine.url, key)
        try:
            for name, cmd in (
                ("airflow", airflow_cmd("standalone")),
                (
                    "mlflow",
                    [
                        sys.executable,
                        "-m",
                        "mlflow",
                        "ui",
                        "--backend-store-uri",
                        paths.mlflow_tracking_uri,
                        "--default-artifact-root",
                        str(paths.mlflow_dir / "artifacts"),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(MLFLOW_PORT),
                    ],
                ),
            ):
                processes.append((name, start_process(cmd, env, paths.logs / f"{name}-ui.log")))
            print(f"Airflow  http://localhost:{AIRFLOW_PORT}  (log {paths.logs / 'airflow-ui.log'})")
            print(f"MLflow   http://localhost:{MLFLOW_PORT}  (log {paths.logs / 'mlflow-ui.log'})")
            print(f"RIME     {engine.url}  (log in: {login_hint(paths, engine.url)})")
            firewall_page = last_firewall_page(paths)
            if firewall_page:
                print(f"         the firewall page: {firewall_page}")
            print(
                f"DAGs {DAG_ID} and {FIREWALL_DAG_ID} (with the runs of `make demo`). Trigger {DAG_ID} "
                "to run the walkthrough again. Ctrl-C stops everything."
            )
            while True:
                for name, process in processes:
                    if process.poll() is not None:
                        raise DemoError(f"{name} exited with {process.returncode}; see {paths.logs}")
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nstopping ...")
        finally:
            for _, process in reversed(processes):
                stop_process(process)
    return 0


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rime_dev.demo", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("run", "ui"), default="run")
    parser.add_argument(
        "--demo-dir", type=Path, default=Path(".demo"), help="state directory (default .demo)"
    )
    parser.add_argument("--fresh", action="store_true", help="delete the state directory first")
    args = parser.parse_args(argv)
    root = args.demo_dir.resolve()
    if args.fresh and root.exists():
        shutil.rmtree(root)
    try:
        paths = DemoPaths(root=root, dags_folder=find_dags_folder())
        return run_demo(paths) if args.command == "run" else run_ui(paths)
    except (DemoError, EngineStartError) as err:
        print(f"\nDEMO FAILED: {err}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as err:
        print(f"\nDEMO FAILED: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
