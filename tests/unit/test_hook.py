"""RimeHook's API methods, one test each, on the local engine's recorded answers.

Each test checks the request the hook sent (method, path, query, JSON body; most are
compared with the request that got the recorded answer) and what it made of the answer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from airflow_provider_rime.exceptions import RimeJobError, RimeNotFoundError, RimeRegistryValidationError
from airflow_provider_rime.hooks.rime import RegisteredDataset, RimeHook
from airflow_provider_rime.rime_api.documents import Job, RimeUUID, StressDataInfo, TestRunConfig
from airflow_provider_rime.rime_api.enums import JobStatus, TestCategory
from airflow_provider_rime.utils.data_sources import resolve_data_source
from airflow_provider_rime.utils.files import directory_digest

from .conftest import (
    API_KEY,
    BASE_URL,
    DATA,
    assert_sent_as_recorded,
    body_of,
    query_of,
    recorded,
    sent,
    serve,
)

PROJECT_ID = recorded("create_project").body["project"]["id"]["uuid"]
REF_ID = recorded("register_dataset_ref").body["datasetId"]
EVAL_ID = recorded("register_dataset_eval").body["datasetId"]
MODEL_ID = recorded("register_model").body["modelId"]["uuid"]
JOB_ID = recorded("job_succeeded").body["job"]["jobId"]
TEST_RUN_ID = recorded("test_run").body["testRun"]["testRunId"]
CANCELLED_JOB_ID = recorded("job_cancelled").body["job"]["jobId"]
TEST_RUN_URL = f"{BASE_URL}/projects/{PROJECT_ID}/test-runs/{TEST_RUN_ID}"


def recorded_config() -> dict[str, Any]:
    """The snake_case testRunConfig the recorded stress test was started with."""
    return recorded("start_stress_test").json["testRunConfig"]


# ----------------------------------------------------------------------------- cluster


def test_get_rime_info(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "rime_info")["rime_info"]
    info = hook.get_rime_info()
    request = assert_sent_as_recorded(route, "rime_info")
    assert request.headers["rime-api-key"] == API_KEY
    assert info == recorded("rime_info").body


async def test_aget_rime_info(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "rime_info")["rime_info"]
    assert await hook.aget_rime_info() == recorded("rime_info").body
    assert sent(route).headers["rime-api-key"] == API_KEY


def test_test_connection_reports_the_version(api: respx.MockRouter, hook: RimeHook):
    serve(api, "rime_info")
    info = recorded("rime_info").body
    assert hook.test_connection() == (
        True,
        f"Connected to RIME {info['clusterInfoVersion']} ({info['customerName']})",
    )


def test_test_connection_reports_a_rejected_key(api: respx.MockRouter, hook: RimeHook):
    serve(api, "unauthorized")
    ok, message = hook.test_connection()
    assert not ok
    assert "rime_unit" in message and "HTTP 401" in message and API_KEY not in message


# ----------------------------------------------------------------------------- projects


def test_list_projects(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "projects")["projects"]
    projects = list(hook.list_projects())
    assert_sent_as_recorded(route, "projects")
    assert [p["name"] for p in projects] == ["Fraud detection"]
    assert projects[0]["id"]["uuid"] == PROJECT_ID


def test_find_project_id(api: respx.MockRouter, hook: RimeHook):
    serve(api, "projects")
    assert hook.find_project_id("Fraud detection") == PROJECT_ID
    assert hook.find_project_id("Another project") is None


def test_get_project(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "project")["project"]
    project = hook.get_project(PROJECT_ID)
    assert_sent_as_recorded(route, "project")
    assert (project["name"], project["id"]["uuid"]) == ("Fraud detection", PROJECT_ID)


def test_get_or_create_project_finds_it_by_name(api: respx.MockRouter, hook: RimeHook):
    serve(api, "projects")
    assert hook.get_or_create_project(" Fraud detection ") == PROJECT_ID  # no POST: none was served


def test_get_or_create_project_finds_it_by_id(api: respx.MockRouter, hook: RimeHook):
    serve(api, "project")
    assert hook.get_or_create_project(PROJECT_ID) == PROJECT_ID


def test_get_or_create_project_creates_a_missing_one(api: respx.MockRouter, hook: RimeHook):
    api.get("/v1/projects").mock(return_value=httpx.Response(200, json={"projects": [], "hasMore": False}))
    route = serve(api, "create_project")["create_project"]
    assert hook.get_or_create_project("Fraud detection", "recorded") == PROJECT_ID
    assert_sent_as_recorded(route, "create_project")


def test_get_project_url(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "project_url")["project_url"]
    assert hook.get_project_url(PROJECT_ID) == f"{BASE_URL}/projects/{PROJECT_ID}"
    assert_sent_as_recorded(route, "project_url")


def test_delete_project(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "delete_project")["delete_project"]
    hook.delete_project(recorded("delete_project").path.rsplit("/", 1)[-1])
    assert_sent_as_recorded(route, "delete_project")


# ----------------------------------------------------------------------------- uploads


def upload_routes(api: respx.MockRouter, name: str) -> tuple[respx.Route, respx.Route, respx.Route]:
    """The upload-URL answer, then the PUTs to the URLs it names."""
    urls = recorded(name).body
    asked = serve(api, name)[name]
    put = api.put(urls["uploadUrl"]).mock(return_value=recorded("upload_put").response())
    done = api.put(urls["doneFileUploadUrl"]).mock(return_value=recorded("upload_done").response())
    return asked, put, done


def test_upload_file(api: respx.MockRouter, hook: RimeHook):
    asked, put, done = upload_routes(api, "dataset_upload_url_ref")
    destination = hook.upload_file(DATA / "ref.csv", upload_path="airflow/ref")
    assert destination == recorded("dataset_upload_url_ref").body["destinationUrl"]
    assert_sent_as_recorded(asked, "dataset_upload_url_ref")
    uploaded = sent(put)
    assert uploaded.content == (DATA / "ref.csv").read_bytes()
    # The engine's upload URL is the cluster itself: the key goes along (pre-signed storage gets none).
    assert uploaded.headers["rime-api-key"] == API_KEY
    assert sent(done).content.startswith(b"Upload complete: ")


def test_upload_file_refuses_a_missing_file(hook: RimeHook, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        hook.upload_file(tmp_path / "missing.csv")


def test_upload_dataframe(api: respx.MockRouter, hook: RimeHook):
    # pandas is not a core dependency (the Airflow 2 environment has the core only).
    pd = pytest.importorskip(
        "pandas", reason="upload_dataframe needs pandas, which the core does not install"
    )

    urls = recorded("dataset_upload_url_ref").body
    asked = api.post("/v1-beta/datasets/upload-url").mock(return_value=httpx.Response(200, json=urls))
    put = api.put(urls["uploadUrl"]).mock(return_value=httpx.Response(200))
    api.put(urls["doneFileUploadUrl"]).mock(return_value=httpx.Response(200))
    frame = pd.read_csv(DATA / "ref.csv")
    assert hook.upload_dataframe(frame, name="frame") == urls["destinationUrl"]
    assert body_of(sent(asked)) == {"fileName": "frame.parquet"}
    assert sent(put).content.startswith(b"PAR1")  # a parquet file


def test_upload_model_directory(api: respx.MockRouter, hook: RimeHook):
    urls = recorded("model_upload_url").body
    asked = serve(api, "model_upload_url")["model_upload_url"]
    put = api.put(urls["uploadPathMap"]["model.py"]).mock(return_value=httpx.Response(200))
    api.put(urls["doneFileUploadUrl"]).mock(return_value=httpx.Response(200))
    destination = hook.upload_model_directory(DATA / "fraud_model", upload_path="airflow/models")
    assert destination == urls["destinationUrl"].rstrip("/")
    assert_sent_as_recorded(asked, "model_upload_url")
    assert sent(put).content == (DATA / "fraud_model" / "model.py").read_bytes()


# ----------------------------------------------------------------------------- registry


def test_list_datasets(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "datasets")["datasets"]
    assert [d["datasetId"] for d in hook.list_datasets(PROJECT_ID)] == [REF_ID, EVAL_ID]
    assert_sent_as_recorded(route, "datasets")


def test_find_dataset_and_its_id(api: respx.MockRouter, hook: RimeHook):
    serve(api, "datasets")
    name = recorded("register_dataset_ref").json["name"]
    dataset = hook.find_dataset(PROJECT_ID, name)
    assert dataset is not None and dataset["datasetId"] == REF_ID
    assert hook.find_dataset_id(PROJECT_ID, name) == REF_ID
    assert hook.find_dataset_id(PROJECT_ID, "no-such-dataset") is None


def test_get_dataset(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "dataset")["dataset"]
    dataset = hook.get_dataset(REF_ID)
    assert_sent_as_recorded(route, "dataset")
    assert dataset["validityStatus"] == "VALIDITY_STATUS_VALID"


def test_register_dataset_sends_rime_sdks_body(api: respx.MockRouter, hook: RimeHook):
    api.get(f"/v1/registry/{PROJECT_ID}/dataset").mock(
        return_value=httpx.Response(200, json={"datasets": [], "hasMore": False})
    )
    route = serve(api, "register_dataset_ref")["register_dataset_ref"]
    request = recorded("register_dataset_ref").json
    dataset_id = hook.register_dataset(
        PROJECT_ID,
        request["name"],
        request["dataInfo"]["connectionInfo"]["dataFile"]["path"],
        label_col="label",
        features_not_in_model=["pred"],
    )
    assert dataset_id == REF_ID
    assert_sent_as_recorded(route, "register_dataset_ref")


def test_register_dataset_takes_more_data_params(api: respx.MockRouter, hook: RimeHook):
    api.get(f"/v1/registry/{PROJECT_ID}/dataset").mock(
        return_value=httpx.Response(200, json={"datasets": [], "hasMore": False})
    )
    route = serve(api, "register_dataset_ref")["register_dataset_ref"]
    hook.register_dataset(
        PROJECT_ID,
        "data",
        "s3://bucket/data.csv",
        label_col="label",
        data_params={"nrows": 100, "labelCol": "y"},
    )
    params = body_of(sent(route))["dataInfo"]["dataParams"]
    assert params == {"labelCol": "y", "nrows": 100, "sample": True}


def test_register_dataset_once_reuses_the_same_content(api: respx.MockRouter, hook: RimeHook):
    serve(api, "datasets")
    source = resolve_data_source(str(DATA / "ref.csv"), "reference_data")
    found = hook.register_dataset_once(
        PROJECT_ID, source, label_col="label", pred_col="pred", role="reference"
    )
    path = recorded("register_dataset_ref").json["dataInfo"]["connectionInfo"]["dataFile"]["path"]
    assert found == RegisteredDataset(REF_ID, path)  # nothing uploaded or registered: no route for it


def test_register_dataset_once_uploads_and_registers_new_content(
    api: respx.MockRouter, hook: RimeHook, tmp_path: Path
):
    changed = tmp_path / "ref.csv"
    changed.write_text((DATA / "ref.csv").read_text() + "1.0,30,web,0,0.1\n")
    source = resolve_data_source(str(changed), "reference_data")
    serve(api, "datasets")
    asked, _, _ = upload_routes(api, "dataset_upload_url_ref")
    registered = serve(api, "register_dataset_ref")["register_dataset_ref"]
    result = hook.register_dataset_once(PROJECT_ID, source, label_col="label", pred_col="pred")
    destination = recorded("dataset_upload_url_ref").body["destinationUrl"]
    assert result == RegisteredDataset(REF_ID, destination)
    params = json.dumps(
        {"categorical_features": None, "label_col": "label", "pred_col": "pred", "timestamp_col": None}
    )
    digest = source.content_digest(params)
    assert body_of(sent(asked)) == {"fileName": "ref.csv", "uploadPath": f"airflow/{digest[:16]}"}
    body = body_of(sent(registered))
    assert body["name"] == f"ref-{digest[:12]}"
    assert body["dataInfo"]["dataParams"] == {
        "labelCol": "label",
        "featuresNotInModel": ["pred"],
        "sample": True,
    }


def test_register_dataset_once_checks_a_dataset_id(api: respx.MockRouter, hook: RimeHook):
    serve(api, "dataset")
    source = resolve_data_source(REF_ID, "reference_data")
    path = recorded("dataset").body["dataset"]["dataInfo"]["connectionInfo"]["dataFile"]["path"]
    assert hook.register_dataset_once(PROJECT_ID, source, label_col="label") == RegisteredDataset(
        REF_ID, path
    )


def test_register_dataset_once_refuses_an_unknown_dataset_id(api: respx.MockRouter, hook: RimeHook):
    answer = recorded("not_found").response()
    api.get("/v1/registry/dataset", params={"datasetId": "no-such-dataset"}).mock(return_value=answer)
    source = resolve_data_source("no-such-dataset", "reference_data")
    with pytest.raises(ValueError, match="reference data 'no-such-dataset' is neither a file nor"):
        hook.register_dataset_once(PROJECT_ID, source, label_col="label", role="reference")


def test_list_models(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "models")["models"]
    names = [m["name"] for m in hook.list_models(PROJECT_ID)]
    assert_sent_as_recorded(route, "models")
    assert names == ["predictions-only", recorded("register_model_with_path").json["name"]]


def test_find_model_id(api: respx.MockRouter, hook: RimeHook):
    serve(api, "models")
    assert hook.find_model_id(PROJECT_ID, "predictions-only") == MODEL_ID
    assert hook.find_model_id(PROJECT_ID, "no-such-model") is None


def test_get_model(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "model")["model"]
    model = hook.get_model(MODEL_ID)
    assert_sent_as_recorded(route, "model")
    assert model["modelId"]["uuid"] == MODEL_ID


def test_register_model(api: respx.MockRouter, hook: RimeHook):
    api.get(f"/v1/registry/{PROJECT_ID}/model").mock(
        return_value=httpx.Response(200, json={"models": [], "hasMore": False})
    )
    route = serve(api, "register_model")["register_model"]
    assert hook.register_model(PROJECT_ID, "predictions-only") == MODEL_ID
    assert_sent_as_recorded(route, "register_model")


def test_register_model_once_reuses_the_same_directory(api: respx.MockRouter, hook: RimeHook):
    serve(api, "models")
    model_id = recorded("register_model_with_path").body["modelId"]["uuid"]
    assert hook.register_model_once(PROJECT_ID, DATA / "fraud_model") == model_id


def test_register_model_once_uploads_a_changed_directory(
    api: respx.MockRouter, hook: RimeHook, tmp_path: Path
):
    model_dir = shutil.copytree(DATA / "fraud_model", tmp_path / "fraud_model")
    (model_dir / "weights.txt").write_text("1 2 3")
    digest = directory_digest(model_dir)
    serve(api, "models")
    urls = recorded("model_upload_url").body
    asked = api.post("/v1-beta/models/upload-url").mock(return_value=httpx.Response(200, json=urls))
    uploaded = api.put(urls["uploadPathMap"]["model.py"]).mock(return_value=httpx.Response(200))
    api.put(urls["doneFileUploadUrl"]).mock(return_value=httpx.Response(200))
    route = serve(api, "register_model_with_path")["register_model_with_path"]
    model_id = hook.register_model_once(PROJECT_ID, model_dir, "fraud")
    assert model_id == recorded("register_model_with_path").body["modelId"]["uuid"]
    assert body_of(sent(asked)) == {
        "directoryName": "fraud_model",
        "relativeFilePaths": ["model.py", "weights.txt"],
        "uploadPath": f"airflow/models/{digest[:16]}",
    }
    assert sent(uploaded).content == (model_dir / "model.py").read_bytes()  # the server lists the PUTs
    assert body_of(sent(route)) == {
        "projectId": {"uuid": PROJECT_ID},
        "name": f"fraud-{digest[:12]}",
        "modelInfo": {"modelPath": {"path": f"{urls['destinationUrl']}/model.py"}},
    }


def test_register_model_once_without_a_directory_is_predictions_only(api: respx.MockRouter, hook: RimeHook):
    serve(api, "models")
    assert hook.register_model_once(PROJECT_ID, None) == MODEL_ID


def test_get_predictions(api: respx.MockRouter, hook: RimeHook):
    routes = serve(api, "prediction", "prediction_missing")
    assert hook.get_predictions(MODEL_ID, REF_ID) == recorded("prediction").body["prediction"]
    assert hook.get_predictions(MODEL_ID, "no-such-dataset") is None
    assert_sent_as_recorded(routes["prediction"], "prediction")


def test_register_predictions_skips_registered_ones(api: respx.MockRouter, hook: RimeHook):
    serve(api, "prediction")
    hook.register_predictions(PROJECT_ID, MODEL_ID, REF_ID, "file:///data/ref.csv", "pred")


def test_register_predictions(api: respx.MockRouter, hook: RimeHook):
    api.get(f"/v1/registry/prediction/{MODEL_ID}/{EVAL_ID}").mock(
        return_value=recorded("not_found").response()
    )
    route = serve(api, "register_predictions")["register_predictions"]
    rec = recorded("register_predictions").json
    hook.register_predictions(
        PROJECT_ID, MODEL_ID, EVAL_ID, rec["predInfo"]["connectionInfo"]["dataFile"]["path"], "pred"
    )
    assert_sent_as_recorded(route, "register_predictions")


def test_wait_for_validation(api: respx.MockRouter, hook: RimeHook):
    serve(api, "dataset", "dataset_invalid")
    assert hook.wait_for_validation("dataset", lambda: hook.get_dataset(REF_ID), "ref")["datasetId"] == REF_ID
    invalid_id = recorded("dataset_invalid").params["datasetId"]
    with pytest.raises(
        RimeRegistryValidationError, match="RIME found dataset 'no-label' invalid: label column"
    ):
        hook.wait_for_validation("dataset", lambda: hook.get_dataset(invalid_id), "no-label")


# ----------------------------------------------------------------------------- stress tests and jobs


def test_validate_test_run_config(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "validate_config")["validate_config"]
    hook.validate_test_run_config(recorded_config())
    request = assert_sent_as_recorded(route, "validate_config")
    assert json.loads(body_of(request)["configJson"]) == recorded_config()


def test_list_jobs(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "jobs")["jobs"]
    jobs = [j["jobId"] for j in hook.list_jobs(PROJECT_ID)]
    assert jobs == [j["jobId"] for j in recorded("jobs").body["jobs"]] and JOB_ID in jobs
    assert_sent_as_recorded(route, "jobs")


def test_find_active_stress_test(api: respx.MockRouter, hook: RimeHook):
    routes = serve(api, "jobs_active", "test_run_running")
    job = hook.find_active_stress_test(PROJECT_ID, "recorded-run")
    assert isinstance(job, Job) and job.job_id == JOB_ID and job.test_run_id == TEST_RUN_ID
    assert_sent_as_recorded(routes["jobs_active"], "jobs_active")
    assert hook.find_active_stress_test(PROJECT_ID, "another-run") is None


def test_start_stress_test_with_a_typed_config(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "start_stress_test")["start_stress_test"]
    config = TestRunConfig(
        run_name="recorded-run",
        data_info=StressDataInfo(ref_dataset_id=REF_ID, eval_dataset_id=EVAL_ID),
        model_id=RimeUUID.of(MODEL_ID),
    )
    job = hook.start_stress_test(PROJECT_ID, config)
    assert_sent_as_recorded(route, "start_stress_test")
    assert (job.job_id, job.job_status, job.test_run_id) == (JOB_ID, JobStatus.PENDING, TEST_RUN_ID)


def test_start_stress_test_sends_a_dict_as_it_is(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "start_stress_test")["start_stress_test"]
    config = {**recorded_config(), "categories": [TestCategory.DRIFT.value], "language": "LANGUAGE_EN"}
    before = json.dumps(config)
    hook.start_stress_test(PROJECT_ID, config)
    assert body_of(sent(route)) == {"testRunConfig": config}
    assert json.dumps(config) == before  # the caller's dict is not changed (rime-sdk changes it)


def test_get_job(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "job_succeeded")["job_succeeded"]
    job = hook.get_job(JOB_ID)
    assert_sent_as_recorded(route, "job_succeeded")
    assert job.succeeded and job.is_terminal and job.project_id == PROJECT_ID


async def test_aget_job(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "job_running")["job_running"]
    job = await hook.aget_job(JOB_ID)
    assert query_of(sent(route)) == {"view": ["JOB_VIEW_FULL"]}
    assert job.is_active and not job.is_terminal


def test_cancel_job(api: respx.MockRouter, hook: RimeHook):
    cancel = recorded("cancel_job")
    job = recorded("job_running").body
    api.get(f"/v1/jobs/{CANCELLED_JOB_ID}").mock(return_value=httpx.Response(200, json=job))
    route = serve(api, "cancel_job")["cancel_job"]
    hook.cancel_job(CANCELLED_JOB_ID)
    assert body_of(sent(route)) == cancel.json


def test_cancel_job_leaves_a_finished_job_alone(api: respx.MockRouter, hook: RimeHook):
    serve(api, "job_succeeded")
    hook.cancel_job(JOB_ID)  # no POST: none was served


async def test_acancel_job(api: respx.MockRouter, hook: RimeHook):
    api.get(f"/v1/jobs/{CANCELLED_JOB_ID}").mock(
        return_value=httpx.Response(200, json=recorded("job_running").body)
    )
    route = serve(api, "cancel_job")["cancel_job"]
    await hook.acancel_job(CANCELLED_JOB_ID)
    assert sent(route).method == "POST"


def test_get_job_logs(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "job_logs")["job_logs"]
    logs = hook.get_job_logs(JOB_ID)
    assert_sent_as_recorded(route, "job_logs")
    assert f"test run {TEST_RUN_ID} completed" in logs


def test_wait_for_job_polls_until_it_finishes(api: respx.MockRouter, hook: RimeHook):
    answers = [recorded("job_running").response(), recorded("job_succeeded").response()]
    route = api.get(f"/v1/jobs/{JOB_ID}").mock(side_effect=answers)
    job = hook.wait_for_job(JOB_ID, poll_interval=0)
    assert job.succeeded
    assert route.call_count == 2


def test_wait_for_job_looks_sooner_first_then_every_poll_interval(
    api: respx.MockRouter, hook: RimeHook, monkeypatch: pytest.MonkeyPatch
):
    running = [recorded("job_running").response() for _ in range(4)]
    api.get(f"/v1/jobs/{JOB_ID}").mock(side_effect=[*running, recorded("job_succeeded").response()])
    waits: list[float] = []
    monkeypatch.setattr("airflow_provider_rime.hooks.rime.time.sleep", waits.append)
    assert hook.wait_for_job(JOB_ID, poll_interval=2).succeeded
    assert waits == [0.5, 1.0, 2.0, 2.0]


def test_wait_for_job_times_out_and_cancels(api: respx.MockRouter, hook: RimeHook):
    api.get(f"/v1/jobs/{JOB_ID}").mock(return_value=recorded("job_running").response())
    cancel = api.post(f"/v1/jobs/cancel/{JOB_ID}").mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(RimeJobError) as timed_out:
        hook.wait_for_job(JOB_ID, poll_interval=0, timeout=0)
    assert (timed_out.value.status, timed_out.value.job_id) == ("timeout", JOB_ID)
    assert cancel.call_count == 1


# ----------------------------------------------------------------------------- results


def test_get_test_run(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "test_run")["test_run"]
    test_run = hook.get_test_run(TEST_RUN_ID)
    assert_sent_as_recorded(route, "test_run")
    assert (test_run["name"], test_run["status"]) == ("recorded-run", "TEST_TASK_STATUS_COMPLETED")


async def test_aget_test_run(api: respx.MockRouter, hook: RimeHook):
    serve(api, "test_run")
    assert (await hook.aget_test_run(TEST_RUN_ID))["testRunId"] == TEST_RUN_ID


def test_get_test_run_url(api: respx.MockRouter, hook: RimeHook):
    serve(api, "test_run")
    assert hook.get_test_run_url(TEST_RUN_ID) == TEST_RUN_URL


def test_list_test_runs(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "test_runs")["test_runs"]
    test_runs = list(hook.list_test_runs(PROJECT_ID))
    assert_sent_as_recorded(route, "test_runs")
    assert TEST_RUN_ID in {r["testRunId"] for r in test_runs}


def test_list_test_cases_follows_the_page_tokens(api: respx.MockRouter, hook: RimeHook):
    routes = serve(api, "test_cases_page_2", "test_cases_page_3", "test_cases_page_1")
    cases = list(hook.list_test_cases(TEST_RUN_ID))
    for name, route in routes.items():
        assert_sent_as_recorded(route, name)  # filters on the first page only, then the token
    expected = [c for n in (1, 2, 3) for c in recorded(f"test_cases_page_{n}").body["testCases"]]
    assert cases == expected
    total = recorded("test_run").body["testRun"]["metrics"]["summaryCounts"]["total"]
    assert len(cases) == int(total) > 40


def test_get_category_results(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "category_results")["category_results"]
    categories = hook.get_category_results(TEST_RUN_ID)
    assert_sent_as_recorded(route, "category_results")
    assert {c["testCategory"] for c in categories} >= {"TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"}


def test_list_batch_results(api: respx.MockRouter, hook: RimeHook):
    routes = serve(api, "batch_results_page_2", "batch_results_page_1")
    batches = list(hook.list_batch_results(TEST_RUN_ID))
    for name, route in routes.items():
        assert_sent_as_recorded(route, name)
    assert len(batches) == sum(len(recorded(f"batch_results_page_{n}").body["testBatches"]) for n in (1, 2))


def test_get_batch_result(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "batch_result")["batch_result"]
    test_type = recorded("batch_result").path.rsplit("/", 1)[-1]
    batch = hook.get_batch_result(TEST_RUN_ID, test_type)
    assert_sent_as_recorded(route, "batch_result")
    assert batch["testType"] == test_type


def test_get_test_run_summary(api: respx.MockRouter, hook: RimeHook):
    serve(api, "test_run")
    summary = hook.get_test_run_summary(TEST_RUN_ID, job_id=JOB_ID)
    counts = recorded("test_run").body["testRun"]["metrics"]["summaryCounts"]
    assert summary["summary_counts"] == {key: int(counts.get(key, 0)) for key in summary["summary_counts"]}
    assert summary["pass_rate"] == pytest.approx(int(counts["pass"]) / int(counts["total"]))
    assert (summary["test_run_id"], summary["job_id"], summary["project_id"]) == (
        TEST_RUN_ID,
        JOB_ID,
        PROJECT_ID,
    )
    assert (summary["run_name"], summary["url"]) == ("recorded-run", TEST_RUN_URL)
    assert set(summary["model_metrics"]["AUC"]) == {"ref", "eval"}
    json.dumps(summary)  # JSON-safe


def test_not_found_carries_rimes_message(api: respx.MockRouter, hook: RimeHook):
    serve(api, "not_found")
    with pytest.raises(RimeNotFoundError) as missing:
        hook.get_test_run("no-such-test-run")
    assert missing.value.message == recorded("not_found").body["message"]


def _lost_then(*answers: httpx.Response):
    """A start whose first response is lost on the way back (a proxy's 502), then ``answers``."""
    sequence = [httpx.Response(502, text="bad gateway"), *answers]

    def answer(_: httpx.Request) -> httpx.Response:
        return sequence.pop(0) if len(sequence) > 1 else sequence[0]

    return answer


def test_a_start_whose_response_was_lost_finds_its_job_even_finished(api: respx.MockRouter, hook: RimeHook):
    start = api.post(f"/v1/stress-tests/{PROJECT_ID}").mock(
        side_effect=_lost_then(recorded("start_stress_test").response())
    )
    serve(api, "test_runs", "jobs")  # the lost start made the recorded run, which already finished
    config = {**recorded_config(), "run_name": "recorded-run"}
    job = hook.start_stress_test(PROJECT_ID, config, known_job_ids=set())
    assert start.call_count == 1  # not sent again
    assert job.job_id == JOB_ID and job.status == JobStatus.SUCCEEDED


def test_a_lost_start_is_sent_again_when_the_job_found_was_there_before(
    api: respx.MockRouter, hook: RimeHook
):
    start = api.post(f"/v1/stress-tests/{PROJECT_ID}").mock(
        side_effect=_lost_then(recorded("start_stress_test").response())
    )
    serve(api, "test_runs", "jobs")
    config = {**recorded_config(), "run_name": "recorded-run"}
    job = hook.start_stress_test(PROJECT_ID, config, known_job_ids={JOB_ID})  # an earlier try's job
    assert start.call_count == 2
    assert job.job_id == recorded("start_stress_test").body["job"]["jobId"]
