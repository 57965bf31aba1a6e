"""The parent side of the model runner: one child process per model, limits, batched calls.

The child (``models.child``) sets its own memory and file-size limits before it imports the
model, reads requests from a pipe and answers on another; the model's own prints go to the
worker's log, never into the answers. Every read and write here has a deadline, and an answer
larger than a call can legitimately produce is refused before it is read, so a hostile or
broken model can delay a job by at most the timeout and never takes the worker down with it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_rime.local.data import DataError
from airflow_provider_rime.local.models.source import ModelSource

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

log = logging.getLogger(__name__)

#: Turns model execution off for the whole engine (``rime-local serve --no-model-execution``).
ENV_MODEL_EXECUTION = "RIME_LOCAL_MODEL_EXECUTION"
ENV_MODEL_TIMEOUT = "RIME_LOCAL_MODEL_TIMEOUT"
ENV_MODEL_LOAD_TIMEOUT = "RIME_LOCAL_MODEL_LOAD_TIMEOUT"
ENV_MODEL_MEMORY_MB = "RIME_LOCAL_MODEL_MEMORY_MB"
ENV_MODEL_BATCH_ROWS = "RIME_LOCAL_MODEL_BATCH_ROWS"
#: The model zygote's socket (``models.zygote``), as the engine hands it to its job workers.
ENV_MODEL_ZYGOTE_SOCKET = "RIME_LOCAL_MODEL_ZYGOTE_SOCKET"
#: The child (and the zygote) sees none of the engine's own settings (keys, database URL).
_HIDDEN_ENV_PREFIXES = ("RIME_LOCAL_", "AIRFLOW__", "AIRFLOW_CONN_")
_HEADER_LIMIT = 1 << 20
_FRAME = struct.Struct(">Q")
_FALSE = ("0", "false", "no", "off")
_LOADING = "loading it"
#: How long a worker waits for the zygote to fork (it may still be importing, at engine start).
_ZYGOTE_WAIT_S = 30.0


def model_execution_enabled() -> bool:
    """Whether this engine calls registered models (``RIME_LOCAL_MODEL_EXECUTION``, default on)."""
    return os.environ.get(ENV_MODEL_EXECUTION, "1").strip().lower() not in _FALSE


class ModelError(DataError):
    """The model cannot be used: it failed to load, crashed, hung, ran out of memory, or
    answered in the wrong shape. The model process is gone; the job fails with this message."""


class ModelCallError(ModelError):
    """The model raised, or returned values that are not probabilities, on these rows.

    The process is still usable: a transformation that makes the model raise is a finding
    of that test, not the end of the job.
    """


@dataclass(frozen=True)
class ModelLimits:
    """How long, how big, how many rows at a time (environment twins in brackets)."""

    #: Seconds to import and load the model (``RIME_LOCAL_MODEL_LOAD_TIMEOUT``).
    load_timeout_s: float = 120.0
    #: Seconds for one batch of rows (``RIME_LOCAL_MODEL_TIMEOUT``).
    call_timeout_s: float = 60.0
    #: Address-space limit of the child (``RIME_LOCAL_MODEL_MEMORY_MB``).
    memory_mb: int = 4096
    #: Rows per call (``RIME_LOCAL_MODEL_BATCH_ROWS``).
    batch_rows: int = 10_000
    #: Largest file the model may write, and so the most it may print to the job log.
    file_size_mb: int = 64

    @classmethod
    def from_env(cls) -> ModelLimits:
        """The defaults, overridden by the environment variables of the engine."""
        default = cls()

        def read(name: str, kind: type, fallback: Any) -> Any:
            raw = os.environ.get(name)
            if not raw:
                return fallback
            try:
                value = kind(raw)
            except ValueError:
                raise DataError(f"{name}={raw!r} is not a {kind.__name__}") from None
            if value <= 0:
                raise DataError(f"{name} must be positive, got {raw!r}")
            return value

        return cls(
            load_timeout_s=read(ENV_MODEL_LOAD_TIMEOUT, float, default.load_timeout_s),
            call_timeout_s=read(ENV_MODEL_TIMEOUT, float, default.call_timeout_s),
            memory_mb=read(ENV_MODEL_MEMORY_MB, int, default.memory_mb),
            batch_rows=read(ENV_MODEL_BATCH_ROWS, int, default.batch_rows),
        )


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_HIDDEN_ENV_PREFIXES)}
    # One thread per numeric library: the engine host runs jobs side by side, and each
    # thread pool reserves address space that counts against the memory limit.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    env.setdefault("MALLOC_ARENA_MAX", "2")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


class _Subprocess:
    """A model process started as a new interpreter (``subprocess``): the way without a zygote."""

    how = "started"

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self._proc = proc
        self.pid = proc.pid
        self.requests = proc.stdin.fileno()
        self.answers = proc.stdout.fileno()

    def kill(self) -> None:
        """Kill its whole process group (what the model started goes too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> int | None:
        """Its exit status (``subprocess`` convention); ``subprocess.TimeoutExpired`` if still running."""
        return self._proc.wait(timeout=timeout)

    def close(self) -> None:
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class _Forked:
    """A model process forked by the model zygote (``models.zygote``), which is its parent: the
    zygote kills it on request or when this connection closes, and sends its exit status."""

    how = "forked by the model zygote"

    def __init__(self, conn: socket.socket, pid: int, requests: int, answers: int) -> None:
        self._conn = conn
        self.pid = pid
        self.requests = requests
        self.answers = answers
        self._code: int | None = None
        self._ended = False
        #: The child's CPU time in seconds, once it ended (the zygote measures it when reaping it).
        self.cpu_s: float | None = None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(b'{"op": "kill"}')

    def wait(self, timeout: float) -> int | None:
        """Its exit status, or ``None`` if the zygote went away without saying (it died: its
        children die with it); ``subprocess.TimeoutExpired`` if it is still running."""
        deadline = time.monotonic() + timeout
        while not self._ended:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._conn], [], [], max(remaining, 0))
            if not ready:
                raise subprocess.TimeoutExpired(f"model process {self.pid}", timeout)
            try:
                data = self._conn.recv(4096)
                message = json.loads(data) if data else {}
            except (OSError, ValueError):
                message = {}
            if "exit" in message:
                self._code = int(message["exit"])
                self.cpu_s = float(message.get("cpu_s", 0.0))
            self._ended = "exit" in message or not data
        return self._code

    def close(self) -> None:
        """Close the pipes and the connection (the zygote then kills the child if it still runs)."""
        for fd in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._conn.close()


class _ZygoteRefused(Exception):
    pass


#: Why this process last started a model process without the zygote (logged once per reason).
_fallbacks_logged: set[str] = set()


def _fall_back(reason: str) -> None:
    level = logging.WARNING if reason not in _fallbacks_logged else logging.DEBUG
    _fallbacks_logged.add(reason)
    log.log(level, "model process started as a new interpreter, not by the model zygote: %s", reason)


class ModelProcess:
    """A model loaded in its own process; ``predict(df)`` gives each row's probability of class 1.

    Use as a context manager: the process is stopped on exit, whatever happened.
    """

    def __init__(
        self,
        source: ModelSource,
        limits: ModelLimits | None = None,
        zygote: str | os.PathLike[str] | None = None,
    ) -> None:
        """``zygote``: the model zygote's socket (default ``RIME_LOCAL_MODEL_ZYGOTE_SOCKET``, set by
        the engine for its workers); without one, or when it cannot fork, a new interpreter."""
        self.source = source
        self.limits = limits or ModelLimits()
        self.zygote = zygote if zygote is not None else os.environ.get(ENV_MODEL_ZYGOTE_SOCKET) or None
        self._proc: _Subprocess | _Forked | None = None
        #: How the process was started: ``"forked by the model zygote"`` or ``"started"``.
        self.how = ""
        #: Forked by the zygote: the process's CPU time in seconds, after ``close``.
        self.cpu_s: float | None = None
        self._loaded = False
        self._load_deadline = 0.0
        self.calls = 0

    @property
    def pid(self) -> int | None:
        """The model process's pid while it runs."""
        return None if self._proc is None else self._proc.pid

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> ModelProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the child and load the model in it."""
        self.spawn()
        self.wait_loaded()

    def spawn(self) -> None:
        """Start the child and send it the model to load, without waiting for it.

        Starting Python and importing the model's libraries takes seconds, bound by imports
        and I/O: the caller reads its data meanwhile. ``wait_loaded`` (or the first
        ``predict``) waits for the answer, at most ``limits.load_timeout_s`` from this call.
        """
        self._load_deadline = time.monotonic() + self.limits.load_timeout_s
        self._loaded = False
        self._proc = self._fork_from_zygote() or self._start_subprocess()
        self.how = self._proc.how
        log.info("model %r: model process %s %s", self.source.name, self._proc.pid, self.how)
        os.set_blocking(self._proc.requests, False)
        self._transfer(("load", self.source.to_message()), self._load_deadline, _LOADING)

    def _start_subprocess(self) -> _Subprocess:
        cmd = [
            sys.executable,
            "-m",
            "airflow_provider_rime.local.models.child",
            "--memory-mb",
            str(self.limits.memory_mb),
            "--file-size-mb",
            str(self.limits.file_size_mb),
            "--parent-pid",
            str(os.getpid()),
        ]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_child_env(),
            start_new_session=True,
        )
        return _Subprocess(proc)

    def _fork_from_zygote(self) -> _Forked | None:
        """A model process forked by the zygote; ``None`` (logged once per reason) where there is
        no zygote, it cannot be reached or it refuses (then a new interpreter is started)."""
        if self.zygote is None:
            return None
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        mine: list[int] = []
        theirs: list[int] = []
        try:
            wait = min(_ZYGOTE_WAIT_S, max(self._load_deadline - time.monotonic(), 0.1))
            conn.settimeout(wait)
            conn.connect(os.fspath(self.zygote))
            request_r, request_w = os.pipe()
            answer_r, answer_w = os.pipe()
            mine, theirs = [request_w, answer_r], [request_r, answer_w]
            request = {
                "op": "start",
                "memory_mb": self.limits.memory_mb,
                "file_size_mb": self.limits.file_size_mb,
            }
            # The model's prints go where this process's go (the job's log), as with a subprocess.
            socket.send_fds(conn, [json.dumps(request).encode()], [*theirs, 2])
            for fd in theirs:
                os.close(fd)
            theirs = []
            reply = json.loads(conn.recv(4096) or b"{}")
            if "pid" not in reply:
                raise _ZygoteRefused(str(reply.get("refused", "it closed the connection")))
            conn.settimeout(None)
            return _Forked(conn, int(reply["pid"]), request_w, answer_r)
        except (OSError, ValueError, _ZygoteRefused) as exc:
            conn.close()
            for fd in mine + theirs:
                os.close(fd)
            reason = "it refused" if isinstance(exc, _ZygoteRefused) else "it cannot be reached"
            _fall_back(f"{reason} ({exc or type(exc).__name__}; socket {self.zygote})")
            return None

    def wait_loaded(self) -> None:
        """Wait until the model is loaded (after ``spawn``); raises ``ModelError`` if it failed."""
        if not self._loaded:
            self._transfer(None, self._load_deadline, _LOADING)
            self._loaded = True

    def close(self) -> None:
        """Stop the child (its whole process group)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        try:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        finally:
            proc.close()
        self.cpu_s = getattr(proc, "cpu_s", None)

    # -- calls -----------------------------------------------------------------------------
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of class 1 for each row of ``frame``, in batches of ``limits.batch_rows``.

        Raises
        ------
        ModelCallError
            The model raised on these rows, or answered with values outside [0, 1].
        ModelError
            Anything else (timeout, memory, crash, wrong shape); the process is stopped.
        """
        import numpy as np

        self.wait_loaded()
        n = len(frame)
        if n == 0:
            return np.empty(0, dtype=np.float64)
        parts = []
        step = self.limits.batch_rows
        for start in range(0, n, step):
            parts.append(self._predict_batch(frame.iloc[start : start + step]))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _predict_batch(self, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        n = len(frame)
        what = f"predicting {n:,} rows"
        deadline = time.monotonic() + self.limits.call_timeout_s
        self._transfer(("predict", frame), deadline, what)
        header = self._transfer(None, deadline, what, rows=n)
        shape = tuple(int(s) for s in header["shape"])
        self.calls += 1
        values = np.frombuffer(header["_data"], dtype="<f8").reshape(shape)
        if shape == (n,):
            probs = values
        elif shape in ((n, 1), (n, 2)):
            probs = values[:, -1]
        else:
            self.close()
            raise self._error(
                f"returned an array of shape {shape} for {n:,} rows; predict_df must return one "
                f"probability of class 1 per row (shape ({n},)) or both classes' (shape ({n}, 2))"
            )
        bad = ~np.isfinite(probs) | (probs < 0) | (probs > 1)
        if bad.any():
            shown = ", ".join(f"{v:.4g}" for v in probs[bad][:3])
            raise self._error(
                f"returned {int(bad.sum()):,} values that are not probabilities in [0, 1] "
                f"(e.g. {shown}) when {what}",
                call=True,
            )
        return probs.astype(np.float64, copy=True)

    # -- the pipe --------------------------------------------------------------------------
    def _error(self, cause: str, *, call: bool = False) -> ModelError:
        kind = ModelCallError if call else ModelError
        return kind(f"model {self.source.name!r} {cause}")

    def _transfer(self, request: Any, deadline: float, what: str, rows: int = 0) -> dict[str, Any]:
        """Send ``request`` (and return ``{}``), or with ``None`` read the answer to the last one."""
        proc = self._proc
        if proc is None:
            raise self._error("is not running (it failed earlier in this job)")
        try:
            if request is not None:
                payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
                self._write(proc.requests, _FRAME.pack(len(payload)) + payload, deadline)
                return {}
            header = json.loads(self._read_frame(proc.answers, _HEADER_LIMIT, deadline))
            if not isinstance(header, dict):
                raise ValueError("header is not an object")
            if header.get("ok") and "shape" in header:
                shape = [int(s) for s in header["shape"]]
                expected = 8
                for s in shape:
                    expected *= max(s, 0)
                # At most two values per row: anything larger is refused unread.
                if expected > max(rows, 1) * 2 * 8:
                    self.close()
                    raise self._error(
                        f"returned an array of shape {tuple(shape)} for {rows:,} rows; predict_df "
                        f"must return one probability per row"
                    )
                header["_data"] = self._read_frame(proc.answers, expected, deadline)
        except ModelError:
            raise
        except TimeoutError:
            self.close()
            loading = what == _LOADING
            setting = ENV_MODEL_LOAD_TIMEOUT if loading else ENV_MODEL_TIMEOUT
            timeout = self.limits.load_timeout_s if loading else self.limits.call_timeout_s
            raise self._error(
                f"did not answer within {timeout:g} s when {what}; it was stopped "
                f"(raise the limit with {setting})"
            ) from None
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise self._died(what) from None
        except (ValueError, KeyError, TypeError) as exc:
            self.close()
            raise self._error(f"broke the model runner's protocol when {what} ({exc})") from None
        if header.get("ok"):
            return header
        return self._failed(header, what)

    def _failed(self, header: dict[str, Any], what: str) -> dict[str, Any]:
        error = header.get("error")
        message = str(header.get("message", ""))[:500]
        if error == "raised":
            where = f" at {header['where']}" if header.get("where") else ""
            cause = f"raised {header.get('type', 'an exception')}{where} when {what}: {message}"
            if what == _LOADING:
                self.close()
                raise self._error(cause)
            raise self._error(cause, call=True)
        if error == "memory":
            self.close()
            raise self._error(
                f"ran out of memory when {what}: it needed more than its limit of "
                f"{self.limits.memory_mb:,} MB (raise it with {ENV_MODEL_MEMORY_MB})"
            )
        if error == "output":
            raise self._error(f"{message} when {what}", call=True)
        self.close()
        raise self._error(f"could not be loaded: {message}")

    def _died(self, what: str) -> ModelError:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        self.close()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = " (SIGKILL: often the system's out-of-memory killer)" if name == "SIGKILL" else ""
            return self._error(f"crashed with {name}{hint} when {what}")
        if code is not None:
            return self._error(f"exited with code {code} when {what} (model code must not exit)")
        if isinstance(proc, _Forked):
            return self._error(f"was stopped when {what}: the model zygote that started it ended")
        return self._error(f"closed its pipe when {what}")

    @staticmethod
    def _write(fd: int, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            _, ready, _ = select.select([], [fd], [], remaining)
            if not ready:
                continue
            try:
                written = os.write(fd, view[: 1 << 16])
            except BlockingIOError:
                continue
            view = view[written:]

    @staticmethod
    def _read_exact(fd: int, n: int, deadline: float) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, min(n - len(chunks), 1 << 20))
            if not chunk:
                raise EOFError
            chunks += chunk
        return bytes(chunks)

    def _read_frame(self, fd: int, limit: int, deadline: float) -> bytes:
        (size,) = _FRAME.unpack(self._read_exact(fd, _FRAME.size, deadline))
        if size > limit:
            raise ValueError(f"an answer of {size:,} bytes, more than the {limit:,} allowed")
        return self._read_exact(fd, size, deadline)
