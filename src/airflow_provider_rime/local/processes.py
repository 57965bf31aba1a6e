"""Stopping a child process of the engine: ask it to end, then force it."""

from __future__ import annotations

import subprocess
from typing import Protocol


class ChildProcess(Protocol):
    """The part of ``subprocess.Popen`` that stopping a process uses."""

    def poll(self) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def stop_process(process: ChildProcess, grace: float = 10) -> None:
    """Terminate ``process`` if it still runs; kill it if it has not ended ``grace`` seconds later.

    ``wait`` must raise ``subprocess.TimeoutExpired`` when the process outlives its timeout.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
