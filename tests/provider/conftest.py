"""Fixtures of the provider tests: one engine (session), one RIME project and data set per module."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_rime.exceptions import RimeJobError
from airflow_provider_rime.hooks.rime import RimeHook
from tests.task_context import TaskInstanceStandIn, TaskStateStore, make_context

# The provider tests import the stand-ins from here.
__all__ = ["TaskInstanceStandIn", "TaskStateStore", "assert_kill_cancels", "make_context"]


def assert_kill_cancels(operator: Any, ti: TaskInstanceStandIn, hook: RimeHook, what: str) -> None:
    """Run ``operator`` in a thread, ``on_kill`` it once its job id is in XCom, and check that
    the engine's job was cancelled and the task failed saying so.

    Skips when the job (``what``, for the message) finished before the kill reached the engine.
    """
    errors: list[BaseException] = []

    def run() -> None:
        try:
            operator.execute(make_context(ti))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while "job_id" not in ti.xcom and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    operator.on_kill()
    worker.join(120)
    assert not worker.is_alive()
    job = hook.get_job(ti.xcom["job_id"])
    if job.status == "JOB_STATUS_SUCCEEDED":
        pytest.skip(f"{what} finished before the kill reached the engine")
    assert job.status == "JOB_STATUS_CANCELLED"
    assert errors and isinstance(errors[0], RimeJobError)
    assert "cancelled" in str(errors[0])


def write_data(path: Path, rows: int, *, shift: float = 0.0, pred_noise: float = 0.5, seed: int = 0) -> Path:
    """
    A small binary-classification table with label ``label`` and prediction ``pred``.

    ``shift`` drifts the ``amount`` feature; ``pred_noise`` degrades the predictions.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3 + shift, 1, rows)
    age = rng.integers(18, 90, rows)
    channel = rng.choice(["web", "pos", "atm"], rows, p=[0.5, 0.3, 0.2])
    signal = 0.8 * (np.log(amount) - 3) + 0.02 * (age - 50)
    label = (signal + rng.normal(0, 0.7, rows) > 0.5).astype(int)
    pred = 1 / (1 + np.exp(-1.5 * (signal - 0.5 + rng.normal(0, pred_noise, rows))))
    frame = pd.DataFrame({"amount": amount, "age": age, "channel": channel, "label": label, "pred": pred})
    frame.to_csv(path, index=False)
    return path


@dataclass
class DataFiles:
    reference: Path
    evaluation: Path


@pytest.fixture(scope="module")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> DataFiles:
    """Reference and (drifted) evaluation CSVs, 2000 rows each."""
    root = tmp_path_factory.mktemp("data")
    return DataFiles(
        write_data(root / "ref.csv", 2000, seed=1),
        write_data(root / "eval.csv", 2000, shift=0.6, pred_noise=2.0, seed=2),
    )


@pytest.fixture(scope="module")
def hook(rime_connection: str) -> Iterator[RimeHook]:
    """A hook on the ``rime`` connection, with short backoff so retries stay quick."""
    with RimeHook(rime_connection, retry_min_wait=0.05, retry_max_wait=0.2) as rime_hook:
        yield rime_hook


@pytest.fixture(scope="module")
def project_name(request: pytest.FixtureRequest) -> str:
    return f"{request.module.__name__.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def project_id(hook: RimeHook, project_name: str) -> str:
    """One RIME project per test module."""
    return hook.get_or_create_project(project_name, "provider tests")


@pytest.fixture(scope="module")
def registered(hook: RimeHook, project_id: str, data_files: DataFiles) -> dict[str, Any]:
    """Both data files, a predictions-only model and its predictions, registered once per module."""
    ref_path = hook.upload_file(data_files.reference)
    eval_path = hook.upload_file(data_files.evaluation)
    ref_id = hook.register_dataset(
        project_id, "ref", ref_path, label_col="label", features_not_in_model=["pred"]
    )
    eval_id = hook.register_dataset(
        project_id, "eval", eval_path, label_col="label", features_not_in_model=["pred"]
    )
    model_id = hook.register_model(project_id, "predictions-only")
    hook.register_predictions(project_id, model_id, ref_id, ref_path, "pred")
    hook.register_predictions(project_id, model_id, eval_id, eval_path, "pred")
    return {"ref": ref_id, "eval": eval_id, "model": model_id, "ref_path": ref_path, "eval_path": eval_path}


#: A model directory whose calls are slow (see its docstring).
SLOW_MODEL_DIR = Path(__file__).parent / "slow_model"


@pytest.fixture(scope="module")
def slow_registered(hook: RimeHook, project_id: str, registered: dict[str, Any]) -> dict[str, Any]:
    """The module's data with a model that the stress test calls, slowly: its jobs run for a while."""
    model_id = hook.register_model_once(project_id, SLOW_MODEL_DIR, "slow")
    for split in ("ref", "eval"):
        path = registered["ref_path"] if split == "ref" else registered["eval_path"]
        hook.register_predictions(project_id, model_id, registered[split], path, "pred")
    return {**registered, "model": model_id}


def stress_test_config(registered: dict[str, Any], run_name: str) -> dict[str, Any]:
    """A minimal ``testRunConfig`` on the module's registered data."""
    return {
        "run_name": run_name,
        "data_info": {"ref_dataset_id": registered["ref"], "eval_dataset_id": registered["eval"]},
        "model_id": {"uuid": registered["model"]},
    }


class LogCapture:
    """Everything logged during a test: stdlib records and Airflow's structlog output (stdout/stderr)."""

    def __init__(self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
        self.caplog = caplog
        self.capfd = capfd
        self.seen = ""

    def text(self) -> str:
        out, err = self.capfd.readouterr()
        self.seen += out + err
        return self.caplog.text + self.seen


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> LogCapture:
    import logging

    caplog.set_level(logging.DEBUG)
    return LogCapture(caplog, capfd)
