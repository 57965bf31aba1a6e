"""Session-wide fixtures: the local engine as a real HTTP server on a free loopback port.

Airflow's and MLflow's homes are set here, before anything imports them, so every test
runs against a throwaway SQLite metadata DB and tracking store of this session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="rime-tests-"))
os.environ.setdefault("AIRFLOW_HOME", str(_SESSION_DIR / "airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault(
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_SESSION_DIR / 'airflow' / 'airflow.db'}"
)
os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{_SESSION_DIR / 'mlflow.db'}")
# Airflow 3 resolves connections outside a task runner from the metadata DB only in a
# "server" process context; tests call hooks directly, so they are one.
os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
# One Fernet key for this process and the `airflow` CLI subprocesses, so they read each
# other's encrypted connection passwords (unit-test mode otherwise makes one per process).
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "cmltZS1wcm92aWRlci10ZXN0cy1mZXJuZXQta2V5ISE=")
(_SESSION_DIR / "airflow").mkdir(exist_ok=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
FRAUD_DIR = REPO_ROOT.parent / "shared" / "data" / "fraud"
ENGINE_API_KEY = "test-engine-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningEngine:
    """A ``rime-local serve`` process and how to reach it."""

    url: str
    api_key: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, api_key: str | None = None) -> httpx.Client:
        key = self.api_key if api_key is None else api_key
        return httpx.Client(base_url=self.url, headers={"rime-api-key": key}, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_engine(
    data_dir: Path,
    *,
    database_url: str | None = None,
    api_key: str = ENGINE_API_KEY,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> RunningEngine:
    """Start ``rime-local serve`` and wait until ``/healthz`` answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    database_url = database_url or f"sqlite:///{data_dir / 'rime-local.db'}"
    log_path = data_dir / f"engine-{port}.log"
    cmd = [
        sys.executable,
        "-m",
        "airflow_provider_rime.local.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--database-url",
        database_url,
        "--api-key",
        api_key,
        *extra_args,
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    engine = RunningEngine(f"http://127.0.0.1:{port}", api_key, data_dir, database_url, process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rime-local exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{engine.url}/healthz", timeout=2).status_code == 200:
                return engine
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    engine.stop()
    raise RuntimeError(f"rime-local did not answer within 60 s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def rime_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """One engine for the whole session (tests create their own projects in it)."""
    engine = start_engine(tmp_path_factory.mktemp("engine"))
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def fraud_dir() -> Path:
    if not (FRAUD_DIR / "fraud_ref.csv").exists():
        pytest.skip(f"the walkthrough's fraud data is not at {FRAUD_DIR} (CI has it; a user's clone may not)")
    return FRAUD_DIR


# --------------------------------------------------------------------- Airflow metadata DB

RIME_CONN_ID = "rime"


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the session's SQLite Airflow metadata DB once; return AIRFLOW_HOME."""
    from airflow.utils import db

    db.resetdb()
    return Path(os.environ["AIRFLOW_HOME"])


def create_rime_connection(conn_id: str, host: str, api_key: str, extra: dict | None = None) -> str:
    """(Re)create an Airflow connection of type ``rime`` in the metadata DB."""
    import json

    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        session.add(
            Connection(
                conn_id=conn_id,
                conn_type="rime",
                host=host,
                password=api_key,
                extra=json.dumps(extra or {}),
            )
        )
    return conn_id


@pytest.fixture(scope="session")
def rime_connection(airflow_db: Path, rime_engine: RunningEngine) -> str:
    """The Airflow connection ``rime`` (in the metadata DB) pointing at the session's engine."""
    return create_rime_connection(RIME_CONN_ID, rime_engine.url, rime_engine.api_key, {"max_retries": 3})
