"""rime_dev.engine: the one way the demo, the tests and the benchmarks start the local engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from rime_dev.engine import EngineStartError, start_engine
from rime_dev.processes import wait_gone


def test_started_engine_answers_with_its_key_only_and_stops_with_its_whole_group(tmp_path: Path) -> None:
    engine = start_engine(tmp_path / "engine", api_key="starter-test-key")
    try:
        with engine.client() as api:
            assert api.get("/v1/rime-info").status_code == 200
        with engine.client(api_key="another-key") as api:
            assert api.get("/v1/rime-info").status_code == 401
        # The key travels in the environment: a command line is visible to every user (ps).
        command_line = Path(f"/proc/{engine.process.pid}/cmdline").read_bytes()
        assert b"starter-test-key" not in command_line
        assert engine.url == f"http://127.0.0.1:{engine.port}"
    finally:
        engine.stop()

    assert engine.process.returncode is not None
    assert wait_gone(engine.process.pid, 5, group=True)  # nothing of its process group is left


def test_an_engine_that_cannot_start_raises_with_the_cause_from_its_log(tmp_path: Path) -> None:
    with pytest.raises(EngineStartError, match=r"exited with 2(.|\n)*invalid int value: 'many'"):
        start_engine(tmp_path / "engine", extra_args=("--max-workers", "many"))
