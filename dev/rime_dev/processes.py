"""Processes of the developer tools: free loopback ports, process groups, log tails."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*:")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could bind 127.0.0.1:``port`` now."""
    with socket.socket() as sock:
        # As the servers bind: connections of an earlier run in TIME_WAIT do not block the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_process(cmd: Sequence[str], env: Mapping[str, str] | None, log: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a process group of its own, its output appended to ``log``.

    Its own group, so that :func:`stop_process` can stop it with every child it started
    (uvicorn's job workers, ``airflow standalone``'s components) and a Ctrl-C meant for the
    caller does not reach it first.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        return subprocess.Popen(
            list(cmd),
            env=None if env is None else dict(env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_gone(pid: int, timeout: float, *, group: bool = False) -> bool:
    """Wait up to ``timeout`` seconds for a process (with ``group``, every process of the group
    ``pid`` leads) to be gone; whether it is. A process that is dead but not yet reaped (a
    zombie) counts as gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            (os.killpg if group else os.kill)(pid, 0)
        except ProcessLookupError:
            return True
        if _group_all_zombies(pid) if group else _is_zombie(pid):
            return True
        time.sleep(0.2)
    return False


def _stat_fields(pid: int | str) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name (state first, then ppid, pgrp, ...)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None  # no /proc (not Linux), or reaped just now (the next probe says so)


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] == "Z"


def _group_all_zombies(group: int) -> bool:
    """Whether every process of ``group`` is a zombie (dead; an orphan's waits for init to reap it).

    A worker fork server that outlives the engine by a moment is re-parented to the machine's
    init, which in a container may never reap it: the group is then gone in all but name.
    """
    if not os.path.isdir("/proc"):
        return False
    members = [
        f for f in (_stat_fields(p) for p in os.listdir("/proc") if p.isdigit()) if f and f[2] == str(group)
    ]
    return all(f[0] == "Z" for f in members)


def stop_process(process: subprocess.Popen[bytes], grace: float = 20, *, whole_group: bool = True) -> None:
    """Stop a process started by :func:`start_process` and whatever is left of its group.

    :param grace: seconds the process has to exit after SIGTERM before it is killed.
    :param whole_group: send SIGTERM to every process of the group (servers that start
        independent components), or to the leader only (a server that stops its own
        children and records why, as ``rime-local serve`` does with its job workers).
    """
    group = process.pid
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if whole_group:
                os.killpg(group, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    # Children may outlive the leader briefly (or notice on their own that it is gone).
    if not wait_gone(group, 5, group=True):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    if process.poll() is None:
        process.wait(10)


def log_tail(path: Path, lines: int = 25) -> str:
    """The log's last lines, preceded by the distinct exception lines it contains (the cause)."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errors = list(dict.fromkeys(line.strip() for line in text if _EXCEPTION_LINE.match(line.strip())))
    cause = (
        ["exceptions in the log:", *(f"  {line}" for line in errors[-5:]), "last lines:"] if errors else []
    )
    return "\n".join([*cause, *text[-lines:]])
