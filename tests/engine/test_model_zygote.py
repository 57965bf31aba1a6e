"""The model zygote: model processes forked from a process that preloaded their libraries.

What the zygote must not change: limits, isolation, and how a model process ends. It dies with
the engine and takes its model processes with it; when it is gone, model processes start as new
interpreters and jobs still succeed; the engine starts it again. (The model runner's own tests,
``test_model_runner.py``, run with and without it.)
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from airflow_provider_rime.local.data import DataRoots
from airflow_provider_rime.local.models import ModelError, ModelLimits, ModelProcess, resolve_model_source
from airflow_provider_rime.local.models.zygote import ModelZygote
from rime_dev.model_zoo import frames, hostile_dir, model_dir
from rime_dev.processes import wait_gone
from tests.conftest import start_engine
from tests.engine.flow import create_project, ok, post_registration, register_frames, wait_job, wait_valid

ANYWHERE = DataRoots.of(["/"])
FORKED = "forked by the model zygote"


@pytest.fixture
def zygote(tmp_path):
    with ModelZygote(tmp_path / "run") as started:
        assert started.wait_ready(120) is not None, "the model zygote did not start"
        yield started


def _rows() -> pd.DataFrame:
    ref, _ = frames(seed=3, n=20)
    return ref.drop(columns=["label"])


def test_a_model_process_dies_with_its_zygote_and_the_next_one_starts_without_it(zygote, tmp_path):
    source = resolve_model_source(str(model_dir(tmp_path, "nulls")), "nulls", ANYWHERE)
    with ModelProcess(source, zygote=zygote.socket_path) as process:
        assert process.how == FORKED
        assert len(process.predict(_rows())) == 20
        child = process.pid
        assert zygote.pid is not None
        os.kill(zygote.pid, signal.SIGKILL)
        assert wait_gone(child, 30), "the model process outlived its zygote"
        with pytest.raises(ModelError, match="the model zygote that started it ended"):
            process.predict(_rows())
    with ModelProcess(source, zygote=zygote.socket_path) as process:
        assert process.how == "started"  # a new interpreter: the zygote cannot be reached
        assert len(process.predict(_rows())) == 20


def test_the_memory_limit_holds_in_a_forked_model_process_and_a_smaller_one_starts_it_afresh(
    zygote, tmp_path
):
    """The limit counts the preloaded libraries too; one too small for them is not worth forking
    for (the zygote refuses), and the model process is a new interpreter under the same limit."""
    source = resolve_model_source(str(hostile_dir(tmp_path, "memory")), "memory", ANYWHERE)
    for memory_mb, how in ((1024, FORKED), (600, "started")):
        limits = ModelLimits(call_timeout_s=30, memory_mb=memory_mb)
        with ModelProcess(source, limits, zygote.socket_path) as process:
            assert process.how == how
            with pytest.raises(ModelError, match=f"needed more than its limit of {memory_mb:,} MB"):
                process.predict(pd.DataFrame({"x": range(5)}))


def test_the_zygote_dies_with_whoever_started_it(tmp_path):
    """Its parent killed (no chance to stop it): the zygote notices the closed lifeline and exits."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from airflow_provider_rime.local.models.zygote import ModelZygote\n"
        f"z = ModelZygote(Path({str(tmp_path / 'run')!r}), ('numpy',))\n"
        "z.start()\n"
        "z.wait_ready(60)\n"
        "print(z.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    if not wait_gone(pid, 30):
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the zygote outlived the process that started it")


def _engine_log_match(path: Path, pattern: str, timeout: float, after: int = 0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = re.compile(pattern).search(path.read_text(), after)
        if found:
            return found
        assert time.monotonic() < deadline, (
            f"{pattern!r} not in the engine's log:\n{path.read_text()[-3000:]}"
        )
        time.sleep(0.2)


def _stress_test_with_model(api, tmp_path: Path, name: str) -> dict:
    """A Transformations run of a small model on small data, to its end."""
    project = create_project(api, name)
    ref, ev = frames(seed=11, n=120)
    ids = register_frames(api, project, name, tmp_path, ref=ref, eval=ev)
    for dataset_id in ids.values():
        assert wait_valid(api, dataset_id)["validityStatus"] == "VALIDITY_STATUS_VALID"
    body = post_registration(
        api,
        project,
        "model",
        {"name": name, "modelInfo": {"modelPath": {"path": str(model_dir(tmp_path / name, "case"))}}},
    )
    config = {
        "run_name": name,
        "data_info": {"ref_dataset_id": ids["ref"], "eval_dataset_id": ids["eval"]},
        "model_id": {"uuid": body["modelId"]["uuid"]},
        "categories": ["TEST_CATEGORY_TYPE_TRANSFORMATIONS"],
    }
    job = ok(api.post(f"/v1/stress-tests/{project}", json={"testRunConfig": config}))["job"]
    done = wait_job(api, job["jobId"], timeout=240)
    assert done["status"] == "JOB_STATUS_SUCCEEDED", done
    done["log"] = ok(api.get(f"/v1-beta/logs/{job['jobId']}"))["result"]["chunk"]
    return done


def test_the_engine_restarts_its_zygote_and_leaves_none_behind(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("zygote-engine")
    work = tmp_path_factory.mktemp("zygote-engine-data")
    engine = start_engine(data_dir)
    try:
        log = engine.log_path
        first = int(_engine_log_match(log, r"model zygote started \(pid (\d+)", 60)[1])
        _engine_log_match(log, r"model zygote ready in", 120)
        # Private: the socket's directory is the engine user's only; the zygote has no secrets.
        run_dir = data_dir / "run"
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
        environ = Path(f"/proc/{first}/environ").read_bytes().split(b"\0")
        assert not [e for e in environ if e.startswith((b"RIME_LOCAL_", b"AIRFLOW__", b"AIRFLOW_CONN_"))]
        with engine.client() as api:
            os.kill(first, signal.SIGKILL)
            # Right away: the zygote is gone, its socket left behind; the job does not depend on it.
            _stress_test_with_model(api, work, "without-zygote")
            restarted = _engine_log_match(log, r"ended \(exit status -9\); starting it again", 60)
            second = int(_engine_log_match(log, r"model zygote started \(pid (\d+)", 60, restarted.end())[1])
            assert second != first
            _engine_log_match(log, r"model zygote ready in", 120, restarted.end())
            assert re.search(
                rf"model process \d+ {FORKED}\n", _stress_test_with_model(api, work, "again")["log"]
            )
    finally:
        engine.stop()
    assert wait_gone(second, 30), "the engine left its model zygote running"
    assert not list(run_dir.iterdir()), "the engine left its zygote's socket behind"


def test_a_preload_list_of_what_are_not_module_names_is_refused_naming_where_it_came_from(
    tmp_path, monkeypatch, capsys
):
    from airflow_provider_rime.local.cli import main

    serve = ["serve", "--data-dir", str(tmp_path), "--port", "1"]
    assert main([*serve, "--model-preload", "pandas,os;rm"]) == 2
    assert "--model-preload: 'os;rm' is not a module name" in capsys.readouterr().err
    monkeypatch.setenv("RIME_LOCAL_MODEL_PRELOAD", "numpy, ../x")
    assert main(serve) == 2
    assert "RIME_LOCAL_MODEL_PRELOAD: '../x' is not a module name" in capsys.readouterr().err
