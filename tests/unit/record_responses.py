"""Record the local engine's answers to the calls RimeHook makes: the unit tests' RIME responses.

Run from the repository root (it takes a minute)::

    .venv/bin/python -m tests.unit.record_responses

It starts ``rime-local serve`` (``tests/conftest.py:start_engine``) in a temporary directory and
walks through what a stress test does, with plain httpx requests shaped as rime-sdk 2.13.2
sends them: project, uploads, registry, config check, stress test, job, results; then a
cancelled job, a failed one and the error answers. Each answer is written to
``tests/unit/responses/<name>.json`` as ``{"request": {...}, "status": ..., "body": ...}``.

The data it registers is written to ``tests/unit/data/`` first (kept in the repository), so
the unit tests can find the recorded registrations by the content hash of the same files.

Recordings do not depend on where they were made: the engine's URL becomes
``http://127.0.0.1:8642`` (its default port) and its data directory ``/srv/rime-local``. The
API key never appears in them (checked before writing).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from airflow_provider_rime.utils.data_sources import DataSourceKind, resolve_data_source
from airflow_provider_rime.utils.files import directory_digest
from tests.conftest import RunningEngine, start_engine
from tests.provider.conftest import write_data

HERE = Path(__file__).resolve().parent
RESPONSES = HERE / "responses"
DATA = HERE / "data"
#: Where the recordings say the engine was (the unit tests' connection points there).
PUBLIC_URL = "http://127.0.0.1:8642"
PUBLIC_DATA_DIR = "/srv/rime-local"
LABEL, PRED = "label", "pred"
ACTIVE = ["JOB_STATUS_PENDING", "JOB_STATUS_RUNNING", "JOB_STATUS_REQUESTED"]
STRESS = "JOB_TYPE_MODEL_STRESS_TEST"
TERMINAL = {"JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"}


def dataset_name(path: Path) -> str:
    """The name the hook's ``register_dataset_once`` gives this file with the operator's defaults."""
    source = resolve_data_source(str(path), "data")
    assert source.kind is DataSourceKind.LOCAL
    params = {"label_col": LABEL, "timestamp_col": None, "categorical_features": None, "pred_col": PRED}
    return f"{source.display_name}-{source.content_digest(json.dumps(params, sort_keys=True))[:12]}"


class Recorder:
    """Sends requests to the engine and keeps each answer under a name."""

    def __init__(self, engine: RunningEngine) -> None:
        self.engine = engine
        self.client = engine.client()
        self.recordings: dict[str, dict[str, Any]] = {}

    def call(
        self,
        name: str | None,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        expect: int = 200,
        client: httpx.Client | None = None,
    ) -> Any:
        response = (client or self.client).request(method, path, params=params, json=json_body)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {response.text[:500]}")
        body = response.json() if response.content else {}
        if name is not None:
            request = {"method": method, "path": path, "params": params, "json": json_body}
            self.recordings[name] = {"request": request, "status": response.status_code, "body": body}
        return body

    def put(self, name: str | None, url: str, content: bytes) -> None:
        response = httpx.put(url, content=content, timeout=30)
        response.raise_for_status()
        if name is not None:
            path = httpx.URL(url).path
            request = {"method": "PUT", "path": path, "params": None, "json": None}
            body = response.json() if response.content else {}
            self.recordings[name] = {"request": request, "status": response.status_code, "body": body}

    def write(self) -> None:
        if RESPONSES.exists():
            shutil.rmtree(RESPONSES)
        RESPONSES.mkdir(parents=True)
        for name, recording in sorted(self.recordings.items()):
            text = json.dumps(recording, indent=1, ensure_ascii=False) + "\n"
            text = text.replace(self.engine.url, PUBLIC_URL).replace(
                str(self.engine.data_dir), PUBLIC_DATA_DIR
            )
            if self.engine.api_key in text:
                raise RuntimeError(f"the API key is in the recording {name!r}; not writing it")
            (RESPONSES / f"{name}.json").write_text(text)


def wait_for(recorder: Recorder, job_id: str) -> dict[str, Any]:
    while True:
        job = recorder.call(None, "GET", f"/v1/jobs/{job_id}", params={"view": "JOB_VIEW_FULL"})["job"]
        if job["status"] in TERMINAL:
            return job
        time.sleep(0.3)


def write_inputs() -> dict[str, Path]:
    """The data files and the model directory the recordings register (kept in tests/unit/data)."""
    if DATA.exists():
        shutil.rmtree(DATA)
    (DATA / "fraud_model").mkdir(parents=True)
    model = DATA / "fraud_model"
    (model / "model.py").write_text(
        '"""A tiny model for the unit tests: the score grows with the amount."""\n\n'
        "import numpy as np\n\n\n"
        "def predict_df(df):\n"
        '    return 1 / (1 + np.exp(-(np.log(df["amount"]) - 3)))\n'
    )
    return {
        "ref": write_data(DATA / "ref.csv", 400, seed=1),
        "eval": write_data(DATA / "eval.csv", 400, shift=0.6, pred_noise=2.0, seed=2),
        "model": model,
    }


def record(engine: RunningEngine) -> Recorder:
    files = write_inputs()
    rec = Recorder(engine)
    rec.call("rime_info", "GET", "/v1/rime-info")

    # Projects.
    create = {
        "name": "Fraud detection",
        "description": "recorded",
        "modelTask": "MODEL_TASK_BINARY_CLASSIFICATION",
    }
    project_id = rec.call("create_project", "POST", "/v1/projects", json_body=create)["project"]["id"]["uuid"]
    rec.call("project", "GET", f"/v1/projects/{project_id}")
    rec.call("projects", "GET", "/v1/projects", params={"pageToken": ""})
    rec.call("project_url", "GET", f"/v1/projects/{project_id}/url")
    throwaway = rec.call(None, "POST", "/v1/projects", json_body={"name": "deleted"})["project"]["id"]["uuid"]
    rec.call("delete_project", "DELETE", f"/v1/projects/{throwaway}", json_body={})

    # Uploads: one data file, one model directory.
    paths: dict[str, str] = {}
    for role in ("ref", "eval"):
        path = files[role]
        urls = rec.call(
            f"dataset_upload_url_{role}",
            "POST",
            "/v1-beta/datasets/upload-url",
            json_body={"fileName": path.name, "uploadPath": f"airflow/{role}"},
        )
        rec.put("upload_put", urls["uploadUrl"], path.read_bytes())
        rec.put("upload_done", urls["doneFileUploadUrl"], b"Upload complete")
        paths[role] = urls["destinationUrl"]
    model_dir = files["model"]
    model_urls = rec.call(
        "model_upload_url",
        "POST",
        "/v1-beta/models/upload-url",
        json_body={
            "directoryName": model_dir.name,
            "relativeFilePaths": ["model.py"],
            "uploadPath": "airflow/models",
        },
    )
    for relative, url in model_urls["uploadPathMap"].items():
        rec.put(None, url, (model_dir / relative).read_bytes())
    rec.put(None, model_urls["doneFileUploadUrl"], b"Upload complete")

    # Registry: both datasets as the operator names them, a predictions-only model, a model directory.
    dataset_ids: dict[str, str] = {}
    for role in ("ref", "eval"):
        body = {
            "projectId": {"uuid": project_id},
            "name": dataset_name(files[role]),
            "dataInfo": {
                "connectionInfo": {"dataFile": {"path": paths[role]}},
                "dataParams": {"labelCol": LABEL, "featuresNotInModel": [PRED], "sample": True},
            },
        }
        registered = rec.call(
            f"register_dataset_{role}", "POST", f"/v1/registry/{project_id}/dataset", json_body=body
        )
        dataset_ids[role] = registered["datasetId"]
    rec.call("datasets", "GET", f"/v1/registry/{project_id}/dataset")
    model_body = {"projectId": {"uuid": project_id}, "name": "predictions-only"}
    model_id = rec.call("register_model", "POST", f"/v1/registry/{project_id}/model", json_body=model_body)[
        "modelId"
    ]["uuid"]
    with_path = {
        "projectId": {"uuid": project_id},
        "name": f"{model_dir.name}-{directory_digest(model_dir)[:12]}",
        "modelInfo": {"modelPath": {"path": f"{model_urls['destinationUrl'].rstrip('/')}/model.py"}},
    }
    rec.call("register_model_with_path", "POST", f"/v1/registry/{project_id}/model", json_body=with_path)
    rec.call("models", "GET", f"/v1/registry/{project_id}/model")
    rec.call("model", "GET", "/v1/registry/model", params={"modelId.uuid": model_id})
    for role in ("ref", "eval"):
        prediction = {
            "projectId": {"uuid": project_id},
            "modelId": {"uuid": model_id},
            "predInfo": {
                "connectionInfo": {"dataFile": {"path": paths[role]}},
                "predParams": {"predCol": PRED},
            },
        }
        rec.call(
            "register_predictions",
            "POST",
            f"/v1/registry/{project_id}/model/{model_id}/dataset/{dataset_ids[role]}/prediction",
            json_body=prediction,
        )
    rec.call("prediction", "GET", f"/v1/registry/prediction/{model_id}/{dataset_ids['ref']}")
    rec.call("prediction_eval", "GET", f"/v1/registry/prediction/{model_id}/{dataset_ids['eval']}")
    rec.call("prediction_missing", "GET", f"/v1/registry/prediction/{model_id}/no-such-dataset", expect=404)

    # The stress test: check the config, start it, look while it runs, wait, read the results.
    config = {
        "run_name": "recorded-run",
        "data_info": {"ref_dataset_id": dataset_ids["ref"], "eval_dataset_id": dataset_ids["eval"]},
        "model_id": {"uuid": model_id},
    }
    rec.call(
        "validate_config",
        "POST",
        "/v1-beta/config-validator/CONFIG_TYPE_TEST_RUN",
        json_body={"configJson": json.dumps(config)},
    )
    started = rec.call(
        "start_stress_test", "POST", f"/v1/stress-tests/{project_id}", json_body={"testRunConfig": config}
    )
    job_id = started["job"]["jobId"]
    running = rec.call("job_running", "GET", f"/v1/jobs/{job_id}", params={"view": "JOB_VIEW_FULL"})["job"]
    if running["status"] in TERMINAL:
        raise RuntimeError("the stress test finished before it could be seen running; run the script again")
    test_run_id = running["jobData"]["stress"]["testRunId"]
    rec.call("test_run_running", "GET", f"/v1/test-runs/{test_run_id}")
    active = {
        "firstPageQuery.selectedTypes": [STRESS],
        "firstPageQuery.selectedStatuses": ACTIVE,
        "pageSize": 20,
    }
    rec.call("jobs_active", "GET", f"/v1/jobs/project/{project_id}", params=active)
    if wait_for(rec, job_id)["status"] != "JOB_STATUS_SUCCEEDED":
        raise RuntimeError(f"the recorded stress test did not succeed: {rec.engine.log_path}")
    rec.call("job_succeeded", "GET", f"/v1/jobs/{job_id}", params={"view": "JOB_VIEW_FULL"})
    rec.call(
        "jobs",
        "GET",
        f"/v1/jobs/project/{project_id}",
        params={"firstPageQuery.selectedTypes": [STRESS], "pageSize": 20},
    )
    rec.call("job_logs", "GET", f"/v1-beta/logs/{job_id}")
    test_run = rec.call("test_run", "GET", f"/v1/test-runs/{test_run_id}")["testRun"]
    rec.call(
        "test_runs",
        "GET",
        "/v1/test-runs",
        params={
            "firstPageQuery.projectId.uuid": project_id,
            "firstPageQuery.testingType": "TEST_TYPE_STRESS_TESTING_UNSPECIFIED",
        },
    )
    record_pages(rec, "test_cases", "/v1/test-cases", {"listTestCasesQuery.testRunId": test_run_id})
    rec.call("category_results", "GET", f"/v1/category-results/{test_run_id}")
    batches = record_pages(rec, "batch_results", "/v1/batch-results", {"testRunId": test_run_id})
    test_type = batches[0]["testBatches"][0]["testType"]
    rec.call("batch_result", "GET", f"/v1/test-runs/{test_run_id}/batch-result/{test_type}")
    assert test_run["status"] == "TEST_TASK_STATUS_COMPLETED"

    record_validated(rec, "dataset", dataset_ids["ref"])
    record_cancelled_job(rec, project_id, config)
    record_failed_job(rec, project_id, model_id, paths["ref"])

    # Error answers.
    rec.call("not_found", "GET", "/v1/test-runs/no-such-test-run", expect=404)
    wrong_key = engine.client(api_key="not-the-key-0123456789")
    rec.call("unauthorized", "GET", "/v1/rime-info", expect=401, client=wrong_key)
    broken = {"testRunConfig": {"run_name": "broken"}}
    rec.call("bad_request", "POST", f"/v1/stress-tests/{project_id}", json_body=broken, expect=400)
    return rec


def record_pages(rec: Recorder, name: str, path: str, first: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a list of 20 per page, as ``<name>_page_1``, ``<name>_page_2``, ..."""
    pages, params, number = [], {**first, "pageSize": 20}, 1
    while True:
        page = rec.call(f"{name}_page_{number}", "GET", path, params=params)
        pages.append(page)
        if not page.get("hasMore"):
            return pages
        params, number = {"pageToken": page["nextPageToken"], "pageSize": 20}, number + 1


def record_cancelled_job(rec: Recorder, project_id: str, config: dict[str, Any]) -> None:
    for attempt in range(3):
        body = {"testRunConfig": {**config, "run_name": f"recorded-cancelled-{attempt}"}}
        job_id = rec.call(None, "POST", f"/v1/stress-tests/{project_id}", json_body=body)["job"]["jobId"]
        rec.call("cancel_job", "POST", f"/v1/jobs/cancel/{job_id}", json_body={})
        if wait_for(rec, job_id)["status"] == "JOB_STATUS_CANCELLED":
            rec.call("job_cancelled", "GET", f"/v1/jobs/{job_id}", params={"view": "JOB_VIEW_FULL"})
            rec.call("job_cancelled_logs", "GET", f"/v1-beta/logs/{job_id}")
            job = rec.recordings["job_cancelled"]["body"]["job"]
            rec.call("test_run_cancelled", "GET", f"/v1/test-runs/{job['jobData']['stress']['testRunId']}")
            return
    raise RuntimeError("every stress test finished before its cancel arrived")


def record_failed_job(rec: Recorder, project_id: str, model_id: str, path: str) -> None:
    """A stress test on a dataset registered with a label column the file does not have."""
    body = {
        "projectId": {"uuid": project_id},
        "name": "no-label",
        "dataInfo": {
            "connectionInfo": {"dataFile": {"path": path}},
            "dataParams": {"labelCol": "missing_label"},
        },
    }
    dataset_id = rec.call(None, "POST", f"/v1/registry/{project_id}/dataset", json_body=body)["datasetId"]
    config = {
        "run_name": "recorded-failed",
        "data_info": {"ref_dataset_id": dataset_id, "eval_dataset_id": dataset_id},
        "model_id": {"uuid": model_id},
    }
    job_id = rec.call(None, "POST", f"/v1/stress-tests/{project_id}", json_body={"testRunConfig": config})[
        "job"
    ]["jobId"]
    job = wait_for(rec, job_id)
    if job["status"] != "JOB_STATUS_FAILED":
        raise RuntimeError(f"the stress test on data without its label ended as {job['status']}")
    rec.call("job_failed", "GET", f"/v1/jobs/{job_id}", params={"view": "JOB_VIEW_FULL"})
    rec.call("job_failed_logs", "GET", f"/v1-beta/logs/{job_id}")
    rec.call("test_run_failed", "GET", f"/v1/test-runs/{job['jobData']['stress']['testRunId']}")
    record_validated(rec, "dataset_invalid", dataset_id)


def record_validated(rec: Recorder, name: str, dataset_id: str) -> None:
    """The dataset once RIME has decided whether it is valid."""
    while True:
        dataset = rec.call(name, "GET", "/v1/registry/dataset", params={"datasetId": dataset_id})
        if dataset["dataset"].get("validityStatus") != "VALIDITY_STATUS_PENDING":
            return
        time.sleep(0.3)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rime-record-") as tmp:
        engine = start_engine(Path(tmp) / "engine")
        try:
            recorder = record(engine)
        finally:
            engine.stop()
        recorder.write()
    print(f"wrote {len(recorder.recordings)} responses to {RESPONSES.relative_to(Path.cwd())}")


if __name__ == "__main__":
    main()
