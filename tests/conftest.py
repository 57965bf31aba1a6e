"""Session-wide fixtures: the local engine as a real HTTP server on a free loopback port.

The engine is started by ``rime_dev.engine`` (``dev/`` is on pytest's ``pythonpath``), the one
starter the demo and the benchmarks use too.

Airflow's and MLflow's homes are set here, before anything imports them, so every test
runs against a throwaway SQLite metadata DB and tracking store of this session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rime_dev.engine import RunningEngine
from rime_dev.engine import start_engine as _start_engine
from rime_dev.processes import free_port

if TYPE_CHECKING:
    import httpx

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
# The engine's model processes: a hung model is stopped after 20 s (tests/engine/test_model_runner).
os.environ.setdefault("RIME_LOCAL_MODEL_TIMEOUT", "20")
(_SESSION_DIR / "airflow").mkdir(exist_ok=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
FRAUD_DIR = REPO_ROOT.parent / "shared" / "data" / "fraud"
ENGINE_API_KEY = "test-engine-key"


__all__ = ["ENGINE_API_KEY", "RunningEngine", "create_rime_connection", "free_port", "start_engine"]


def start_engine(
    data_dir: Path,
    *,
    database_url: str | None = None,
    api_key: str = ENGINE_API_KEY,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> RunningEngine:
    """Start ``rime-local serve`` with the tests' API key and wait until ``/healthz`` answers."""
    return _start_engine(
        data_dir, api_key=api_key, database_url=database_url, port=port, extra_args=extra_args
    )


@contextlib.contextmanager
def engine_api(data_dir: Path, *, killed: bool = False) -> Iterator[httpx.Client]:
    """An engine on ``data_dir`` for the ``with`` block: a client of it.

    With ``killed``, the engine ends with SIGKILL (no shutdown handler runs) when the block
    ends without error; it is stopped either way.
    """
    engine = start_engine(data_dir)
    try:
        with engine.client() as api:
            yield api
        if killed:
            os.kill(engine.process.pid, signal.SIGKILL)
            engine.process.wait(10)
    finally:
        engine.stop()


#: The environment variable of ``rime-local serve``'s data roots (the twin of ``--data-root``).
DATA_ROOTS_ENV = "RIME_LOCAL_DATA_ROOTS"


@pytest.fixture(scope="session", autouse=True)
def engine_data_roots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """What every engine of the session may read: pytest's temporary directories and the fraud data.

    Tests register files they write under ``tmp_path``; engines inherit this environment.
    """
    roots = [tmp_path_factory.getbasetemp().resolve()]
    if FRAUD_DIR.is_dir():
        roots.append(FRAUD_DIR.resolve())
    os.environ[DATA_ROOTS_ENV] = os.pathsep.join(map(str, roots))
    return roots


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
