"""Registered models run in their own limited process: misbehaving ones fail their job, not the engine.

Each hostile model (``rime_dev/model_zoo/hostile``) is registered through the REST API and stress
tested on small data; the job ends FAILED with a message naming the model and the cause, and
the engine keeps answering. The session's engine runs with ``RIME_LOCAL_MODEL_TIMEOUT`` from
``tests/conftest.py``; the process-level tests use their own short limits.

Every test that starts a model process runs twice: with the process forked by a model zygote
(the session's engine; a zygote of the module's own for the process-level tests) and with a new
interpreter per model process (an engine started with ``--no-model-zygote``).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_provider_rime.local.data import DataRoots
from airflow_provider_rime.local.models import (
    ModelCallError,
    ModelError,
    ModelLimits,
    ModelProcess,
    resolve_model_source,
)
from airflow_provider_rime.local.models.zygote import ModelZygote
from rime_dev.model_zoo import frames, hostile_dir, model_dir
from rime_dev.processes import wait_gone
from tests.conftest import ENGINE_API_KEY, start_engine
from tests.engine.flow import (
    ok,
    post_registration,
    register_frames,
    register_predictions,
    wait_job,
    wait_valid,
)

# The model files of these tests lie in tmp dirs; the data-roots rule has its own tests.
ANYWHERE = DataRoots.of(["/"])

PROJECT = "model runner"
SHORT = ModelLimits(load_timeout_s=60, call_timeout_s=3, memory_mb=1024)

EXPECTED = {
    "hang": "did not answer within 3 s when predicting 5 rows; it was stopped",
    "memory": "ran out of memory when predicting 5 rows: it needed more than its limit of 1,024 MB",
    "raise": "raised KeyError at model.py:2 in predict_df when predicting 5 rows: 'transaction_amount_usd'",
    "wrong_shape": "returned an array of shape (5, 3) for 5 rows",
    "not_probabilities": "returned 5 values that are not probabilities in [0, 1] (e.g. -2, -0.25, 1.5)",
    "exit": "exited with code 7 when predicting 5 rows (model code must not exit)",
}


#: How ``ModelProcess.how`` and the job log say the model process was started, per mode.
HOW = {"zygote": "forked by the model zygote", "new interpreter": "started"}


@pytest.fixture(scope="module", params=sorted(HOW))
def mode(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def zygote(mode, tmp_path_factory):
    """The socket of a model zygote of this module's own (mode ``zygote``), else ``None``."""
    if mode != "zygote":
        yield None
        return
    with ModelZygote(tmp_path_factory.mktemp("zygote") / "run") as started:
        assert started.wait_ready(120) is not None, "the model zygote did not start"
        yield str(started.socket_path)


@pytest.fixture(scope="module")
def api(mode, request, tmp_path_factory):
    """A client of the session's engine (mode ``zygote``), or of an engine without the zygote."""
    if mode == "zygote":
        with request.getfixturevalue("rime_engine").client() as client:
            yield client
        return
    engine = start_engine(tmp_path_factory.mktemp("engine-no-zygote"), extra_args=("--no-model-zygote",))
    try:
        with engine.client() as client:
            yield client
    finally:
        engine.stop()


def assert_model_started(api, job_id: str, mode: str) -> None:
    """The job's log says how its model process started."""
    log = ok(api.get(f"/v1-beta/logs/{job_id}"))["result"]["chunk"]
    assert re.search(rf"model process \d+ {HOW[mode]}\n", log), log


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_hostile_model_process(kind, tmp_path, mode, zygote):
    source = resolve_model_source(str(hostile_dir(tmp_path, kind)), f"{kind}-model", ANYWHERE)
    started = time.monotonic()
    with ModelProcess(source, SHORT, zygote) as process, pytest.raises(ModelError) as caught:
        assert process.how == HOW[mode]
        process.predict(pd.DataFrame({"x": range(5)}))
    message = str(caught.value)
    assert message.startswith(f"model '{kind}-model' "), message
    assert EXPECTED[kind] in message, message
    # Raising on some rows and non-probabilities keep the process usable; the rest stop it.
    assert isinstance(caught.value, ModelCallError) == (kind in ("raise", "not_probabilities"))
    assert time.monotonic() - started < 60  # the hang was cut short, not waited out


def test_model_output_is_limited_before_it_is_read(tmp_path, zygote):
    directory = tmp_path / "flood"
    directory.mkdir()
    (directory / "model.py").write_text(
        "import numpy as np\ndef predict_df(df):\n    return np.zeros(10_000_000)\n"
    )
    with (
        ModelProcess(resolve_model_source(str(directory), "flood", ANYWHERE), SHORT, zygote) as process,
        pytest.raises(ModelError, match=r"returned an array of shape \(10000000,\) for 5 rows"),
    ):
        process.predict(pd.DataFrame({"x": range(5)}))


def _register_model(api, project_id: str, name: str, path: Path) -> tuple[str, str]:
    model_info = {"modelPath": {"path": str(path)}}
    body = post_registration(api, project_id, "model", {"name": name, "modelInfo": model_info})
    return body["modelId"]["uuid"], body["registryValidationJobId"]["uuid"]


@pytest.fixture(scope="module")
def datasets(api, project_id, tmp_path_factory) -> dict[str, str]:
    ref, ev = frames(seed=5, n=150)
    directory = tmp_path_factory.mktemp("model-runner-data")
    ids = register_frames(api, project_id, "runner", directory, ref=ref, eval=ev)
    for dataset_id in ids.values():
        assert wait_valid(api, dataset_id)["validityStatus"] == "VALIDITY_STATUS_VALID"
    return ids


def _start(api, project_id: str, datasets: dict[str, str], model_id: str, name: str) -> str:
    config = {
        "run_name": name,
        "data_info": {"ref_dataset_id": datasets["ref"], "eval_dataset_id": datasets["eval"]},
        "model_id": {"uuid": model_id},
        "categories": ["TEST_CATEGORY_TYPE_TRANSFORMATIONS", "TEST_CATEGORY_TYPE_ADVERSARIAL"],
    }
    return str(ok(api.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": config}))["job"]["jobId"])


def _done(api, job_id: str) -> bool:
    status = ok(api.get(f"/v1/jobs/{job_id}"))["job"]["status"]
    return status in ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED")


ENGINE_CASES = ("hang", "memory", "raise", "wrong_shape")


def test_hostile_models_fail_their_stress_tests_and_the_engine_keeps_answering(
    api, project_id, datasets, tmp_path, mode
):
    """All four at once, as a busy engine would see them."""
    models = {}
    for kind in ENGINE_CASES:
        models[kind] = _register_model(api, project_id, f"hostile-{kind}", hostile_dir(tmp_path, kind))
    for kind, (model_id, validation_job) in models.items():
        # Validation loads the model (these load fine: they misbehave when called).
        assert wait_job(api, validation_job)["status"] == "JOB_STATUS_SUCCEEDED", kind
        model = ok(api.get("/v1/registry/model", params={"modelId.uuid": model_id}))["model"]["model"]
        assert model["validityStatusMessage"] == "model file model.py: loaded in a model process"
    jobs = {
        kind: _start(api, project_id, datasets, model_id, f"hostile {kind}")
        for kind, (model_id, _) in models.items()
    }
    while not all(_done(api, job_id) for job_id in jobs.values()):
        assert ok(api.get("/healthz"))["status"] == "ok"
        time.sleep(0.5)
    for kind, job_id in jobs.items():
        job = wait_job(api, job_id)
        assert job["status"] == "JOB_STATUS_FAILED", job
        message = job["errorMsg"]
        assert message.startswith(f"model 'hostile-{kind}' "), message
        assert EXPECTED[kind].replace("3 s", "20 s").replace("1,024 MB", "4,096 MB") in message, message
        assert message.endswith("(checked on the first 5 reference rows, before any test)"), message
        assert_model_started(api, job_id, mode)
    assert ok(api.get(f"/v1/projects/{project_id}"))["project"]["project"]["name"] == PROJECT


def _run_to_the_end(api, project_id: str, ids: dict[str, str], model_id: str, *categories: str) -> dict:
    config = {
        "run_name": model_id,
        "data_info": {"ref_dataset_id": ids["ref"], "eval_dataset_id": ids["eval"]},
        "model_id": {"uuid": model_id},
        "categories": [f"TEST_CATEGORY_TYPE_{c}" for c in categories],
    }
    job = ok(api.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": config}))["job"]
    return wait_job(api, job["jobId"], timeout=240)


def test_with_registered_predictions_the_tests_that_do_not_call_the_model_run_while_it_loads(
    api, project_id, tmp_path, mode
):
    """The model process starts before the data is read; Model Performance (on the registered
    predictions) runs meanwhile, and the model is checked before the first test that calls it."""
    ref, ev = frames(seed=7, n=150)
    for frame in (ref, ev):
        frame["pred"] = np.linspace(0.01, 0.99, len(frame))
    ids = register_frames(api, project_id, "early", tmp_path, ref=ref, eval=ev)
    model_id, _ = _register_model(api, project_id, "hostile-raise-early", hostile_dir(tmp_path, "raise"))
    for split in ("ref", "eval"):
        register_predictions(api, project_id, model_id, ids[split], tmp_path / f"early-{split}.parquet")
    done = _run_to_the_end(api, project_id, ids, model_id, "MODEL_PERFORMANCE", "TRANSFORMATIONS")
    assert done["status"] == "JOB_STATUS_FAILED", done
    message = done["errorMsg"]
    assert message.startswith("model 'hostile-raise-early' "), message
    assert EXPECTED["raise"] in message, message
    assert message.endswith("(checked on the first 5 reference rows, before the tests that call it)")
    run_id = done["jobData"]["stress"]["testRunId"]
    cases = ok(api.get("/v1/test-cases", params={"listTestCasesQuery.testRunId": run_id, "pageSize": 500}))
    tests = {c["testBatchType"] for c in cases["testCases"]}
    assert "accuracy" in tests  # ran before the model was checked
    assert not tests & {"null_substitution", "capitalization_change"}


def test_model_that_fails_to_load_is_invalid(api, project_id, tmp_path, mode):
    directory = tmp_path / "broken"
    directory.mkdir()
    (directory / "model.py").write_text(
        "import not_installed_anywhere\n\ndef predict_df(df):\n    return df\n"
    )
    model_id, validation_job = _register_model(api, project_id, "broken", directory)
    assert wait_job(api, validation_job)["status"] == "JOB_STATUS_FAILED"
    model = ok(api.get("/v1/registry/model", params={"modelId.uuid": model_id}))["model"]["model"]
    assert model["validityStatus"] == "VALIDITY_STATUS_INVALID"
    assert model["validityStatusMessage"].startswith(
        "model 'broken' raised ModuleNotFoundError at model.py:1 in <module> when loading it"
    )


def test_model_without_registered_predictions_predicts_and_abnormal_inputs_show_its_impact(
    api, project_id, tmp_path, mode
):
    """No predictions registered: the engine calls the model for them (as RIME does), so
    performance runs and abnormal inputs report what failing rows do to this model."""
    ref, ev = frames(seed=6, n=300)
    ev.loc[:59, "age"] = None  # the reference has no missing ages
    ids = register_frames(api, project_id, "impact", tmp_path, ref=ref, eval=ev)
    model_id, _ = _register_model(api, project_id, "wrong-on-null-age", model_dir(tmp_path, "nulls"))
    done = _run_to_the_end(api, project_id, ids, model_id, "MODEL_PERFORMANCE", "ABNORMAL_INPUTS")
    assert done["status"] == "JOB_STATUS_SUCCEEDED", done
    assert_model_started(api, done["jobId"], mode)
    run_id = done["jobData"]["stress"]["testRunId"]
    cases = ok(api.get("/v1/test-cases", params={"listTestCasesQuery.testRunId": run_id, "pageSize": 500}))
    by_test = {(c["testBatchType"], tuple(c["features"])): c for c in cases["testCases"]}
    assert any(test == "auc_degradation" for test, _ in by_test)  # performance from the model's answers
    null_age = by_test[("null_check", ("age",))]
    assert null_age["severity"] == "SEVERITY_ALERT"
    assert "the model's accuracy there is" in null_age["explanation"]
    metrics = {m["metric"]: m for m in null_age["metrics"]}
    assert metrics["Average Prediction Shift"]["floatValue"] > 0.5  # the model answers 0.97 there


def test_model_execution_off_refuses_model_categories_and_skips_loading(monkeypatch):
    """``--no-model-execution`` (RIME_LOCAL_MODEL_EXECUTION=0): configs naming Transformations
    or Attacks are refused with the reason; the default categories leave them out."""
    from airflow_provider_rime.local.errors import InvalidInput
    from airflow_provider_rime.local.services.stress_tests import check_test_run_config
    from airflow_provider_rime.rime_api.documents import TestRunConfig

    monkeypatch.setenv("RIME_LOCAL_MODEL_EXECUTION", "0")
    config = {
        "run_name": "off",
        "data_info": {"ref_dataset_id": "r", "eval_dataset_id": "e"},
        "model_id": {"uuid": "m"},
        "categories": ["TEST_CATEGORY_TYPE_TRANSFORMATIONS"],
    }
    with pytest.raises(
        InvalidInput, match="calls the model, and model execution is turned off on this engine"
    ):
        check_test_run_config(TestRunConfig.model_validate(config), "testRunConfig")
    del config["categories"]
    assert check_test_run_config(TestRunConfig.model_validate(config), "testRunConfig").categories is None
    monkeypatch.setenv("RIME_LOCAL_MODEL_EXECUTION", "1")
    config["categories"] = ["TEST_CATEGORY_TYPE_ADVERSARIAL"]
    check_test_run_config(TestRunConfig.model_validate(config), "testRunConfig")


def test_a_hung_model_dies_with_the_worker_that_started_it(tmp_path, mode, zygote):
    """A worker killed mid-call (a cancelled or stopped job) leaves no model process behind
    (forked by the zygote, it is killed when the worker's connection to the zygote closes)."""
    import os
    import signal
    import subprocess
    import sys

    directory = hostile_dir(tmp_path, "hang")
    script = (
        "import sys, threading, pandas as pd\n"
        "from airflow_provider_rime.local.data import DataRoots\n"
        "from airflow_provider_rime.local.models import ModelLimits, ModelProcess, resolve_model_source\n"
        f"p = ModelProcess(resolve_model_source({str(directory)!r}, 'hang', DataRoots.of(['/'])),"
        f" ModelLimits(call_timeout_s=3600), {zygote!r})\n"
        "p.start()\n"
        f"assert p.how == {HOW[mode]!r}, p.how\n"
        "print(p._proc.pid, flush=True)\n"
        "p.predict(pd.DataFrame({'x': [1]}))\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    child = int(worker.stdout.readline())
    time.sleep(1)  # the child is inside predict_df's sleep
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    # A zombie until reaped by init: dead all the same.
    if not wait_gone(child, 30):
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the model process outlived its worker")


def test_model_processes_see_none_of_the_engines_settings(api, project_id, tmp_path, mode):
    """Neither the model process nor (mode ``zygote``) the zygote it is forked from has the
    engine's keys, database URL or Airflow settings: the model dumps its environment when loaded."""
    directory = tmp_path / "env-dump"
    directory.mkdir()
    (directory / "model.py").write_text(
        "import json, os\n"
        "from pathlib import Path\n"
        "Path(__file__).with_name('env.json').write_text(json.dumps(dict(os.environ)))\n"
        "def predict_df(df):\n"
        "    return [0.5] * len(df)\n"
    )
    _, validation_job = _register_model(api, project_id, "env-dump", directory)
    assert wait_job(api, validation_job)["status"] == "JOB_STATUS_SUCCEEDED"
    assert_model_started(api, validation_job, mode)
    env = json.loads((directory / "env.json").read_text())
    hidden = [k for k in env if k.startswith(("RIME_LOCAL_", "AIRFLOW__", "AIRFLOW_CONN_"))]
    assert not hidden, hidden
    assert not [k for k, v in env.items() if ENGINE_API_KEY in v or "rime-local.db" in v]


def test_a_cancelled_job_leaves_no_model_process(api, project_id, datasets, tmp_path, mode):
    """Cancelled while its model hangs: the worker is stopped, and its model process with it
    (forked by the zygote: killed when the worker's connection closes)."""
    model_id, validation_job = _register_model(
        api, project_id, "hang-cancelled", hostile_dir(tmp_path, "hang")
    )
    assert wait_job(api, validation_job)["status"] == "JOB_STATUS_SUCCEEDED"
    job_id = _start(api, project_id, datasets, model_id, "cancelled while the model hangs")
    deadline = time.monotonic() + 60
    while not (
        found := re.search(r"model process (\d+) ", ok(api.get(f"/v1-beta/logs/{job_id}"))["result"]["chunk"])
    ):
        assert time.monotonic() < deadline, "the job never started its model process"
        time.sleep(0.2)
    child = int(found[1])
    ok(api.post(f"/v1/jobs/cancel/{job_id}", json={}))
    assert wait_job(api, job_id)["status"] == "JOB_STATUS_CANCELLED"
    assert wait_gone(child, 30), "the model process outlived its cancelled job"
