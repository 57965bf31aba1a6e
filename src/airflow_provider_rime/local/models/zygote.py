"""The model zygote: a process that has imported the model libraries once and forks model processes.

A new model process (``python -m ...models.child``) spends most of a short job importing
pandas, scikit-learn, SciPy and CatBoost before it can answer. The zygote pays that once, when
the engine starts: ``python -m airflow_provider_rime.local.models.zygote`` is started by the
engine (:class:`ModelZygote`) with the same clean environment as a model process (none of the
engine's settings, keys or database URL: it is not forked from the engine or a worker, which
hold them in memory), imports the libraries of :data:`DEFAULT_PRELOAD` (or
``RIME_LOCAL_MODEL_PRELOAD``) with the garbage collector off, freezes that heap, and then serves
"start a model process" requests on a Unix socket in a private (0700) directory of the engine.
It never imports or runs model code itself.

Per request (a worker's :class:`~airflow_provider_rime.local.models.process.ModelProcess`), it
forks a child that starts a session of its own, asks Linux to kill it when the zygote dies,
takes the worker's request and answer pipes and log descriptor (passed over the socket), and
runs exactly the model process's code (``models.child.main``: limits, protocol, model). The
worker's connection stays open for the child's lifetime: when it closes (the worker died or
was cancelled) the zygote kills the child's process group; when the child ends the zygote
reaps it and sends its exit status (``subprocess`` convention: a negative number is the
signal), so the worker reports a crash as precisely as with a child of its own. The worker may
ask for the child to be killed (a timeout).

The zygote ends with the engine: when the engine's end of a pipe it holds closes (the engine
exited, however), on SIGTERM, killing its children first.

Messages on the socket (``SOCK_SEQPACKET``: one JSON object each):

- worker -> zygote: ``{"op": "start", "memory_mb": M, "file_size_mb": F}`` with three
  descriptors (the child's request pipe, its answer pipe, its log); later ``{"op": "kill"}``;
- zygote -> worker: ``{"pid": P}`` or ``{"refused": "why"}``; then ``{"exit": code, "cpu_s": s}``
  (the child's CPU time).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import importlib.util
import json
import logging
import os
import re
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: ``0`` turns the zygote off: every model process is a new interpreter (``--no-model-zygote``).
ENV_MODEL_ZYGOTE = "RIME_LOCAL_MODEL_ZYGOTE"
#: Comma-separated modules the zygote imports (``--model-preload``); unset: :data:`DEFAULT_PRELOAD`.
ENV_MODEL_PRELOAD = "RIME_LOCAL_MODEL_PRELOAD"

#: The common tabular stack; modules that are not installed are left out (and said so).
DEFAULT_PRELOAD: tuple[str, ...] = (
    "numpy",
    "pandas",
    "pyarrow",
    "scipy.stats",
    "sklearn",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "catboost",
    "lightgbm",
    "xgboost",
)
#: A child needs at least this much address space of its own beyond the zygote's; a request
#: whose memory limit leaves less is refused (the worker starts a new interpreter instead).
HEADROOM_MB = 128
#: The zygote's exit status when it cannot run here (or was started wrongly): not restarted.
CANNOT_RUN = 2
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_MESSAGE_LIMIT = 4096
_FALSE = ("0", "false", "no", "off")


def zygote_enabled() -> bool:
    """Whether the engine starts a model zygote (``RIME_LOCAL_MODEL_ZYGOTE``, default on)."""
    return os.environ.get(ENV_MODEL_ZYGOTE, "1").strip().lower() not in _FALSE


def preload_from_env() -> tuple[str, ...]:
    """``RIME_LOCAL_MODEL_PRELOAD`` as module names (checked), or the default list."""
    raw = os.environ.get(ENV_MODEL_PRELOAD, "")
    if not raw.strip():
        return DEFAULT_PRELOAD
    return check_preload([m.strip() for m in raw.split(",") if m.strip()], ENV_MODEL_PRELOAD)


def check_preload(modules: Sequence[str], where: str) -> tuple[str, ...]:
    """The module names, or ``ValueError`` naming ``where`` and the first that is not one."""
    for name in modules:
        if not _MODULE.match(name):
            raise ValueError(f"{where}: {name!r} is not a module name (e.g. pandas, sklearn.ensemble)")
    return tuple(modules)


# ---------------------------------------------------------------------------- engine side


@dataclass
class ModelZygote:
    """The engine's handle on its zygote process: start, watch, restart, stop.

    ``socket_dir`` is made private (0700); the socket is named after the engine's pid, so two
    engines sharing a data directory do not meet. Where that path is too long for a Unix
    socket, a private temporary directory is used instead.
    """

    socket_dir: Path
    preload: tuple[str, ...] = DEFAULT_PRELOAD
    #: A zygote that died is started again at least this many seconds after its last start
    #: (so that one that cannot start costs a few seconds of CPU in ten, not a core).
    restart_every_s: float = 10.0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _lifeline: int | None = field(default=None, init=False, repr=False)
    _ready: int | None = field(default=None, init=False, repr=False)
    _started: float = field(default=0.0, init=False, repr=False)
    _tempdir: str | None = field(default=None, init=False, repr=False)
    socket_path: Path = field(init=False)
    #: What the zygote said once it had preloaded (``None`` until then).
    report: dict[str, Any] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        name = f"model-zygote-{os.getpid()}.sock"
        path = self.socket_dir / name
        if len(os.fsencode(path)) > 100:  # sun_path holds 108 bytes
            self._tempdir = tempfile.mkdtemp(prefix="rime-local-zygote-")
            path = Path(self._tempdir) / name
        self.socket_path = path

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the zygote; it preloads in the background (requests meanwhile wait for it)."""
        from airflow_provider_rime.local.models.process import _child_env

        self._started = time.monotonic()
        directory = self.socket_path.parent
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        lifeline_r, self._lifeline = os.pipe()
        self._ready, ready_w = os.pipe()
        cmd = [
            sys.executable,
            "-m",
            "airflow_provider_rime.local.models.zygote",
            "--socket",
            str(self.socket_path),
            "--lifeline",
            str(lifeline_r),
            "--ready",
            str(ready_w),
            "--preload",
            ",".join(self.preload),
        ]
        try:
            self._process = subprocess.Popen(
                cmd, env=_child_env(), stdin=subprocess.DEVNULL, pass_fds=(lifeline_r, ready_w)
            )
        finally:
            os.close(lifeline_r)
            os.close(ready_w)
        self.report = None
        log.info("model zygote started (pid %s, socket %s)", self._process.pid, self.socket_path)

    def wait_ready(self, timeout: float) -> dict[str, Any] | None:
        """Wait up to ``timeout`` s for the zygote to finish preloading; what it reported, or ``None``."""
        if self.report is not None or self._ready is None:
            return self.report
        ready, _, _ = select.select([self._ready], [], [], timeout)
        if not ready:
            return None
        line = os.read(self._ready, 1 << 16)
        os.close(self._ready)
        self._ready = None
        with contextlib.suppress(ValueError):
            self.report = json.loads(line)
        return self.report

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def ensure_running(self) -> None:
        """Restart a zygote that died (at most once per ``restart_every_s``), saying why it ended."""
        if self._process is None or self.running():
            return
        if time.monotonic() - self._started < self.restart_every_s:
            return
        code = self._process.returncode
        self._close_pipes()
        if code == CANNOT_RUN:
            log.warning("the model zygote cannot run here (see its message above): not restarted")
            self._process = None
            return
        log.warning("the model zygote (pid %s) ended (exit status %s); starting it again", self.pid, code)
        self.start()

    def stop(self) -> None:
        """Stop the zygote and its model processes; remove the socket."""
        from airflow_provider_rime.local.processes import stop_process

        process, self._process = self._process, None
        if process is not None:
            stop_process(process)
        self._close_pipes()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        if self._tempdir is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._tempdir)

    def _close_pipes(self) -> None:
        for attr in ("_lifeline", "_ready"):
            fd = getattr(self, attr)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, attr, None)

    def __enter__(self) -> ModelZygote:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------- zygote side


def _vm_size_mb() -> float:
    """This process's address space (what ``RLIMIT_AS`` counts), in MB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _status() -> dict[str, float]:
    out: dict[str, float] = {}
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmSize", "VmRSS", "Threads"):
                number = int(value.split()[0])
                out[key] = number if key == "Threads" else round(number / 1024, 1)
    return out


def _preload(modules: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    loaded, skipped = [], {}
    for name in modules:
        try:
            if importlib.util.find_spec(name.split(".")[0]) is None:
                skipped[name] = "not installed"
                continue
            importlib.import_module(name)
        except Exception as exc:  # a broken optional library: serve without it
            skipped[name] = f"{type(exc).__name__}: {exc}"[:200]
            continue
        loaded.append(name)
    return loaded, skipped


@dataclass
class _Client:
    conn: socket.socket
    pid: int = 0
    pidfd: int = -1


class _Server:
    def __init__(self, listener: socket.socket, lifeline: int) -> None:
        self.listener = listener
        self.lifeline = lifeline
        self.selector = selectors.DefaultSelector()
        self.clients: dict[int, _Client] = {}  # by connection fd
        self.by_pidfd: dict[int, _Client] = {}
        self.selector.register(listener, selectors.EVENT_READ, "accept")
        self.selector.register(lifeline, selectors.EVENT_READ, "lifeline")

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select():
                what = key.data
                if what == "accept":
                    self._accept()
                elif what == "lifeline":
                    if not os.read(self.lifeline, 64):
                        return  # the engine is gone
                elif what == "conn":
                    self._message(self.clients[key.fd])
                else:
                    self._reap(self.by_pidfd[key.fd])

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _, uid, _ = struct.unpack("3i", creds)
        if uid != os.getuid():
            conn.close()
            return
        self.clients[conn.fileno()] = _Client(conn)
        self.selector.register(conn, selectors.EVENT_READ, "conn")

    def _message(self, client: _Client) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(client.conn, _MESSAGE_LIMIT, 4)
        except OSError:
            data, fds = b"", []
        if not data:  # the worker closed its end: its model process goes too
            if client.pid:
                self._kill(client)
            self._drop(client)
            return
        try:
            message = json.loads(data)
            op = message["op"]
        except (ValueError, KeyError, TypeError):
            op = None
        if op == "start" and not client.pid and len(fds) == 3:
            self._start(client, message, fds)
            return
        for fd in fds:
            os.close(fd)
        if op == "kill" and client.pid:
            self._kill(client)
            return
        if client.pid:
            self._kill(client)
        self._reply(client, {"refused": "not a request of the model runner"})
        self._drop(client)

    def _start(self, client: _Client, message: dict[str, Any], fds: list[int]) -> None:
        try:
            memory_mb, file_size_mb = int(message["memory_mb"]), int(message["file_size_mb"])
        except (KeyError, TypeError, ValueError):
            memory_mb = file_size_mb = 0
        size = _vm_size_mb()
        refused = None
        if memory_mb <= 0 or file_size_mb <= 0:
            refused = "memory_mb and file_size_mb must be positive integers"
        elif size + HEADROOM_MB > memory_mb:
            refused = (
                f"its preloaded libraries take {size:,.0f} MB of address space, too much for a "
                f"memory limit of {memory_mb:,} MB"
            )
        if refused is not None:
            for fd in fds:
                os.close(fd)
            self._reply(client, {"refused": refused})
            self._drop(client)
            return
        zygote = os.getpid()
        refusal = ""
        try:
            pid = os.fork()
        except OSError as exc:  # out of processes or memory: the worker starts one itself
            pid = -1
            refusal = f"it could not fork ({exc})"
        if pid == 0:
            self._become_child(fds, memory_mb, file_size_mb, zygote)
        for fd in fds:
            os.close(fd)
        if pid < 0:
            self._reply(client, {"refused": refusal})
            self._drop(client)
            return
        client.pid = pid
        client.pidfd = os.pidfd_open(pid)
        self.by_pidfd[client.pidfd] = client
        self.selector.register(client.pidfd, selectors.EVENT_READ, "exit")
        self._reply(client, {"pid": pid})

    def _become_child(self, fds: list[int], memory_mb: int, file_size_mb: int, zygote: int) -> None:
        """In the forked child: drop the zygote's descriptors, take the worker's, run the child."""
        code = 1
        try:
            os.setsid()
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.selector.close()
            self.listener.close()
            os.close(self.lifeline)
            for other in self.clients.values():
                other.conn.close()
                if other.pidfd >= 0:
                    os.close(other.pidfd)
            # Above the standard descriptors first, so that none is overwritten before it moved.
            moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3) for fd in fds]
            for fd in fds:
                os.close(fd)
            for target, fd in enumerate(moved):
                os.dup2(fd, target)
                os.close(fd)
            if "numpy.random" in sys.modules:
                # A new interpreter seeds numpy's global generator afresh; so does each child.
                sys.modules["numpy.random"].seed()
            from airflow_provider_rime.local.models import child

            args = ["--memory-mb", str(memory_mb), "--file-size-mb", str(file_size_mb)]
            sys.argv = [child.__file__, *args, "--parent-pid", str(zygote)]
            code = child.main(sys.argv[1:])
        except SystemExit as exc:  # the model called sys.exit
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _kill(self, client: _Client) -> None:
        # Not reaped yet (only ``_reap`` reaps): the pid and group cannot have been reused.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(client.pid, signal.SIGKILL)

    def _reap(self, client: _Client) -> None:
        self._kill(client)  # what the model started in its session goes with it
        _, status, usage = os.wait4(client.pid, 0)
        self.selector.unregister(client.pidfd)
        del self.by_pidfd[client.pidfd]
        os.close(client.pidfd)
        client.pidfd = -1
        cpu = round(usage.ru_utime + usage.ru_stime, 4)
        self._reply(client, {"exit": os.waitstatus_to_exitcode(status), "cpu_s": cpu})
        self._drop(client)

    def _reply(self, client: _Client, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            client.conn.send(json.dumps(message).encode())

    def _drop(self, client: _Client) -> None:
        """Forget the connection (a running child stays watched until it is reaped)."""
        if client.conn.fileno() in self.clients:
            del self.clients[client.conn.fileno()]
            self.selector.unregister(client.conn)
            client.conn.close()

    def stop(self) -> None:
        for client in list(self.by_pidfd.values()):
            self._kill(client)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(client.pid, 0)


def main(argv: list[str] | None = None) -> int:
    import argparse

    gc.disable()
    parser = argparse.ArgumentParser(prog="rime-local-model-zygote")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--lifeline", type=int, required=True)
    parser.add_argument("--ready", type=int, required=True)
    parser.add_argument("--preload", default="")
    args = parser.parse_args(argv)
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError) as exc:
        print(f"rime-local-model-zygote: needs Linux 5.3 or later (pidfd_open: {exc})", file=sys.stderr)
        return CANNOT_RUN
    # The engine stops it (SIGTERM, or by exiting); a Ctrl-C in the engine's terminal is the engine's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    modules = check_preload([m for m in args.preload.split(",") if m], "--preload")
    # Listening before the imports: a request arriving meanwhile waits for them, not in vain.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(args.socket)
    try:
        listener.bind(args.socket)
        os.chmod(args.socket, 0o600)
        listener.listen(64)
    except OSError as exc:  # e.g. a file system without Unix sockets
        print(f"rime-local-model-zygote: cannot listen on {args.socket}: {exc}", file=sys.stderr)
        return CANNOT_RUN
    server = _Server(listener, args.lifeline)
    try:
        started = time.perf_counter()
        loaded, skipped = _preload(modules)
        gc.collect()
        gc.freeze()
        gc.enable()
        report = {
            "pid": os.getpid(),
            "preloaded": loaded,
            "skipped": skipped,
            "seconds": round(time.perf_counter() - started, 3),
            **_status(),
        }
        with contextlib.suppress(OSError):
            os.write(args.ready, json.dumps(report).encode() + b"\n")
            os.close(args.ready)
        server.serve()
    finally:
        server.stop()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(args.socket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
