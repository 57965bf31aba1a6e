"""Start the local engine (``rime-local serve``) for the demo, the tests and the benchmarks.

One way to do it everywhere: a real server process on a loopback port, its own data
directory and log file, the API key passed through the environment (a command line is
visible to every user in ``ps``), ready once ``GET /healthz`` answers 200::

    with running_engine(tmp_path / "engine") as engine:
        with engine.client() as api:
            api.get("/v1/rime-info")
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from rime_dev.processes import free_port, log_tail, start_process, stop_process

#: The interpreter that runs the engine, when not this one (an environment with the ``local`` extra).
ENV_ENGINE_PYTHON = "RIME_ENGINE_PYTHON"
#: The environment variable ``rime-local serve`` reads API keys from (comma-separated).
API_KEYS_ENV = "RIME_LOCAL_API_KEYS"
HOST = "127.0.0.1"


class EngineStartError(RuntimeError):
    """The engine exited or did not answer ``/healthz`` in time; the message holds its log's tail."""


@dataclass
class RunningEngine:
    """A ``rime-local serve`` process and how to reach it."""

    url: str
    api_key: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self, api_key: str | None = None, timeout: float = 30) -> httpx.Client:
        """An httpx client on the engine's URL sending ``api_key`` (default: the engine's key)."""
        key = self.api_key if api_key is None else api_key
        return httpx.Client(base_url=self.url, headers={"rime-api-key": key}, timeout=timeout)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM (the engine fails its running jobs with a message saying so), then clean up."""
        stop_process(self.process, grace, whole_group=False)


def engine_command(
    data_dir: Path, port: int, database_url: str, *, host: str = HOST, extra_args: Sequence[str] = ()
) -> list[str]:
    """The command line of ``rime-local serve`` (no API key on it).

    The engine runs with this interpreter, or with ``$RIME_ENGINE_PYTHON`` when set: the
    Airflow 2 test environment has the provider's core only and borrows ``.venv``'s engine.
    """
    return [
        os.environ.get(ENV_ENGINE_PYTHON) or sys.executable,
        "-m",
        "airflow_provider_rime.local.cli",
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--database-url",
        database_url,
        *extra_args,
    ]


def start_engine(
    data_dir: Path,
    *,
    api_key: str | None = None,
    database_url: str | None = None,
    port: int | None = None,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 60,
) -> RunningEngine:
    """Start ``rime-local serve`` on 127.0.0.1 and wait until ``/healthz`` answers.

    :param data_dir: the engine's data directory (created if missing).
    :param api_key: the key clients send; default: a random one (see ``RunningEngine.api_key``).
    :param database_url: default: the SQLite file ``rime-local.db`` in ``data_dir``.
    :param port: default: a free port.
    :param log_path: the server's output; default ``data_dir/engine-<port>.log``.
    :param extra_args: more ``rime-local serve`` flags (``--upload-limit-mb 1``, ``--log-level warning``).
    :param env: the environment (default: this process's); the API key is added to it.
    :raises EngineStartError: the engine exited, or did not answer within ``startup_timeout`` seconds.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    key = api_key or secrets.token_urlsafe(24)
    database_url = database_url or f"sqlite:///{data_dir / 'rime-local.db'}"
    log_path = log_path or data_dir / f"engine-{port}.log"
    cmd = engine_command(data_dir, port, database_url, extra_args=extra_args)
    process = start_process(cmd, {**(os.environ if env is None else env), API_KEYS_ENV: key}, log_path)
    engine = RunningEngine(f"http://{HOST}:{port}", key, data_dir, database_url, process, log_path)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            engine.stop()
            raise EngineStartError(
                f"rime-local serve exited with {process.returncode}; log {log_path}:\n{log_tail(log_path)}"
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{engine.url}/healthz", timeout=2).status_code == 200:
                return engine
        time.sleep(0.2)
    engine.stop()
    raise EngineStartError(
        f"rime-local serve did not answer within {startup_timeout:.0f} s; "
        f"log {log_path}:\n{log_tail(log_path)}"
    )


@contextlib.contextmanager
def running_engine(data_dir: Path, **options: Any) -> Iterator[RunningEngine]:
    """:func:`start_engine` (same options) as a context manager that stops the engine on exit."""
    engine = start_engine(data_dir, **options)
    try:
        yield engine
    finally:
        engine.stop()
