"""The REST API's contract: auth, errors in RIME's shape, uploads, registry validation, jobs, pages."""

from __future__ import annotations

import httpx
import pytest

from tests.engine.flow import (
    assert_rime_error,
    create_project,
    labelled_frame,
    logged_in_client,
    ok,
    register_dataset,
    start_labelled_run,
    start_stress_test,
    wait_job,
    wait_valid,
)

PROJECT = "api-contract"


def count_projects(api) -> int:
    return len(ok(api.get("/v1/projects", params={"pageSize": 500}))["projects"])


def test_health_needs_no_key(rime_engine):
    assert httpx.get(f"{rime_engine.url}/healthz").json()["status"] == "ok"


@pytest.mark.parametrize("headers", [{}, {"rime-api-key": "wrong"}])
def test_api_routes_need_a_valid_key(rime_engine, headers):
    response = httpx.get(f"{rime_engine.url}/v1/projects", headers=headers)
    assert_rime_error(response, 401, "API key")
    assert "wrong" not in response.text


def test_malformed_json_is_a_400_and_stores_nothing(api):
    before = count_projects(api)
    assert_rime_error(api.post("/v1/projects", content=b"{not json"), 400, "not valid JSON")
    assert_rime_error(api.post("/v1/projects", json=["a list"]), 400, "JSON object")
    assert_rime_error(api.post("/v1/projects", json={"name": ""}), 400, "name")
    assert_rime_error(api.post("/v1/projects", json={"name": "x", "modelTask": "Binary"}), 400, "modelTask")
    assert count_projects(api) == before


@pytest.mark.parametrize(
    "path",
    [
        "/v1/projects/no-such-project",
        "/v1/jobs/no-such-job",
        "/v1/test-runs/no-such-run",
        "/v1/category-results/no-such-run",
        "/v1/registry/prediction/m/d",
    ],
)
def test_unknown_ids_are_404(api, path):
    assert_rime_error(api.get(path), 404, "does not exist")


def test_unknown_dataset_and_model_are_404(api):
    assert_rime_error(api.get("/v1/registry/dataset", params={"datasetId": "nope"}), 404, "nope")
    assert_rime_error(api.get("/v1/registry/model", params={"modelId.uuid": "nope"}), 404, "nope")


def test_project_pagination(api):
    for i in range(3):
        create_project(api, f"page-{i}")
    seen, token, pages = [], "", 0
    while True:
        params = {"pageSize": 2, "pageToken": token} if token else {"pageSize": 2}
        body = ok(api.get("/v1/projects", params=params))
        seen += [p["project"]["id"]["uuid"] for p in body["projects"]]
        pages += 1
        if not body["hasMore"]:
            break
        token = body["nextPageToken"]
    assert len(seen) == len(set(seen)) == count_projects(api)
    assert pages >= 2


def test_project_get_has_double_nesting_and_url(api, project_id, rime_engine):
    body = ok(api.get(f"/v1/projects/{project_id}"))
    assert body["project"]["project"]["name"] == "api-contract"
    url = ok(api.get(f"/v1/projects/{project_id}/url"))["url"]["url"]
    with logged_in_client(rime_engine) as pages:
        page = pages.get(url)
    assert page.status_code == 200 and "api-contract" in page.text


def test_upload_round_trip(api, tmp_path):
    payload = b"a,b\n1,2\n"
    spec = ok(api.post("/v1-beta/datasets/upload-url", json={"fileName": "tiny.csv", "uploadPath": "t1"}))
    assert spec["uploadLimit"].isdigit()
    assert httpx.put(spec["uploadUrl"], content=payload).status_code == 200
    assert httpx.put(spec["doneFileUploadUrl"], content=b"Upload complete").status_code == 200
    assert spec["destinationUrl"].startswith("file://") and spec["destinationUrl"].endswith("/t1/tiny.csv")
    from airflow_provider_rime.local.data import resolve_path

    assert resolve_path(spec["destinationUrl"]).read_bytes() == payload


@pytest.mark.parametrize(
    "body",
    [
        {"fileName": "../escape.csv"},
        {"fileName": "a/../../b.csv"},
        {"fileName": "/etc/passwd"},
        {"fileName": "ok.csv", "uploadPath": "../../outside"},
    ],
)
def test_upload_paths_cannot_escape(api, body):
    assert_rime_error(api.post("/v1-beta/datasets/upload-url", json=body), 400)


def test_model_directory_upload(api):
    spec = ok(
        api.post(
            "/v1-beta/models/upload-url",
            json={"directoryName": "model", "relativeFilePaths": ["model.py", "sub/weights.bin"]},
        )
    )
    for rel, url in spec["uploadPathMap"].items():
        assert (
            httpx.put(url, content=f"# {rel}\ndef predict_df(df):\n    return df\n".encode()).status_code
            == 200
        )
    from airflow_provider_rime.local.data import resolve_path

    root = resolve_path(spec["destinationUrl"])
    assert (root / "model.py").exists() and (root / "sub" / "weights.bin").exists()
    assert_rime_error(
        api.post("/v1-beta/models/upload-url", json={"directoryName": "m", "relativeFilePaths": ["../x.py"]}),
        400,
    )


def test_upload_over_the_limit_is_refused_and_leaves_nothing(tmp_path_factory):
    from tests.conftest import start_engine

    engine = start_engine(tmp_path_factory.mktemp("small-limit"), extra_args=("--upload-limit-mb", "1"))
    try:
        with engine.client() as api:
            spec = ok(
                api.post("/v1-beta/datasets/upload-url", json={"fileName": "big.csv", "uploadPath": "big"})
            )
            assert spec["uploadLimit"] == str(1024 * 1024)

            def chunks():  # streamed, no Content-Length: the server must count
                for _ in range(3):
                    yield b"x" * (1024 * 1024)

            response = httpx.put(spec["uploadUrl"], content=chunks())
            assert_rime_error(response, 413, "upload limit")
            upload_dir = engine.data_dir / "uploads" / "big"
            assert not any(p.is_file() for p in upload_dir.rglob("*")) if upload_dir.exists() else True
    finally:
        engine.stop()


def test_upload_url_with_bad_token(rime_engine):
    response = httpx.put(f"{rime_engine.url}/v1-beta/uploads/not-a-token/files/x.csv", content=b"1")
    assert_rime_error(response, 404)


def test_dataset_without_label_column_is_invalid_with_reason(api, project_id, tmp_path):
    path = tmp_path / "nolabel.csv"
    labelled_frame(50, 0).drop(columns=["label"]).to_csv(path, index=False)
    ds = wait_valid(api, register_dataset(api, project_id, "nolabel", path))
    assert ds["validityStatus"] == "VALIDITY_STATUS_INVALID"
    assert "label column 'label' is not in the data" in ds["validityStatusMessage"]
    assert "transaction_amount" in ds["validityStatusMessage"]


def test_dataset_that_is_not_csv_or_parquet_is_invalid(api, project_id, tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x04binary")
    ds = wait_valid(api, register_dataset(api, project_id, "pickle", path))
    assert ds["validityStatus"] == "VALIDITY_STATUS_INVALID"
    assert "not a CSV or Parquet file" in ds["validityStatusMessage"]
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 this is not parquet")
    ds = wait_valid(api, register_dataset(api, project_id, "garbage", garbage))
    assert ds["validityStatus"] == "VALIDITY_STATUS_INVALID"
    assert "garbage.parquet" in ds["validityStatusMessage"]


def test_missing_file_is_invalid_and_a_remote_uri_is_refused(api, project_id, tmp_path):
    ds = wait_valid(api, register_dataset(api, project_id, "missing", tmp_path / "nope.csv"))
    assert "no such file" in ds["validityStatusMessage"]
    response = api.post(
        f"/v1/registry/{project_id}/dataset",
        json={"name": "s3", "dataInfo": {"connectionInfo": {"dataFile": {"path": "s3://bucket/key.csv"}}}},
    )
    assert_rime_error(response, 400, "dataInfo.connectionInfo.dataFile.path", "local files only")


def test_duplicate_dataset_name_is_409(api, project_id, tmp_path):
    path = tmp_path / "dup.csv"
    labelled_frame(20, 0).to_csv(path, index=False)
    register_dataset(api, project_id, "dup", path)
    response = api.post(
        f"/v1/registry/{project_id}/dataset",
        json={"name": "dup", "dataInfo": {"connectionInfo": {"dataFile": {"path": str(path)}}}},
    )
    assert_rime_error(response, 409, "already exists")


def test_stress_test_config_errors_are_400(api, project_id, tmp_path):
    assert_rime_error(api.post(f"/v1/stress-tests/{project_id}", json={}), 400, "testRunConfig")
    bad = {"run_name": "x", "data_info": {"ref_dataset_id": "a", "eval_dataset_id": "b"}, "model_id": "m"}
    assert_rime_error(api.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": bad}), 404, "dataset")
    bad_cat = {**bad, "categories": ["TEST_CATEGORY_TYPE_NOPE"]}
    assert_rime_error(
        api.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": bad_cat}), 400, "NOPE"
    )
    bad_test = {**bad, "test_suite_config": {"individual_tests_config": {"no_such_test": {}}}}
    assert_rime_error(
        api.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": bad_test}), 400, "no_such_test"
    )
    response = api.post(
        "/v1-beta/config-validator/CONFIG_TYPE_TEST_RUN", json={"configJson": '{"run_name": "x"}'}
    )
    assert_rime_error(response, 400, "data_info")


def test_stress_test_on_invalid_dataset_is_refused(api, project_id, tmp_path):
    path = tmp_path / "broken.csv"
    labelled_frame(30, 0).drop(columns=["label"]).to_csv(path, index=False)
    bad_id = register_dataset(api, project_id, "broken-ref", path)
    wait_valid(api, bad_id)
    model_id = ok(api.post(f"/v1/registry/{project_id}/model", json={"name": "m-broken"}))["modelId"]["uuid"]
    cfg = {
        "run_name": "x",
        "data_info": {"ref_dataset_id": bad_id, "eval_dataset_id": bad_id},
        "model_id": model_id,
    }
    assert_rime_error(api.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": cfg}), 400, "invalid")


def test_job_error_message_names_the_problem(api, project_id, tmp_path):
    ref = labelled_frame(500, 1)
    ev = labelled_frame(500, 2)
    ev["label"] = ev["label"].map({0: "no", 1: "yes"})
    job = start_stress_test(api, tmp_path, project_id, ref, ev, "bad-labels")
    done = wait_job(api, job["jobId"])
    assert done["status"] == "JOB_STATUS_FAILED"
    assert "label column 'label' in the evaluation data must hold 0/1" in done["errorMsg"]
    logs = ok(api.get(f"/v1-beta/logs/{job['jobId']}"))["result"]["chunk"]
    assert "must hold 0/1" in logs


def test_stress_test_results_and_pages(api, project_id, tmp_path, rime_engine):
    job = start_labelled_run(api, tmp_path, project_id, "results", 2000, shift=0.5)
    run_id = job["jobData"]["stress"]["testRunId"]
    assert run_id  # known before the job finishes
    assert ok(api.get(f"/v1/test-runs/{run_id}"))["testRun"]["status"].startswith("TEST_TASK_STATUS_")
    done = wait_job(api, job["jobId"])
    assert done["status"] == "JOB_STATUS_SUCCEEDED", done
    assert all(
        b["status"] == "TEST_TASK_STATUS_COMPLETED"
        for b in done["jobData"]["stress"]["progress"]["testRun"]["testBatches"]
    )
    run = ok(api.get(f"/v1/test-runs/{run_id}"))["testRun"]
    counts = run["metrics"]["summaryCounts"]
    assert set(counts) == {"total", "pass", "warning", "fail", "skip"} and all(
        isinstance(v, str) for v in counts.values()
    )
    assert set(run["metrics"]["severityCounts"]) == {"numNoneSeverity", "numLowSeverity", "numHighSeverity"}
    assert run["testCategories"] == ["TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"]
    cases = ok(api.get("/v1/test-cases", params={"listTestCasesQuery.testRunId": run_id, "pageSize": 500}))
    assert len(cases["testCases"]) == int(counts["total"])
    assert all(c["display"]["details"] for c in cases["testCases"])
    listed = ok(api.get("/v1/test-runs", params={"firstPageQuery.projectId.uuid": project_id}))
    assert run_id in {r["testRunId"] for r in listed["testRuns"]}
    jobs = ok(
        api.get(
            f"/v1/jobs/project/{project_id}",
            params={"firstPageQuery.selectedStatuses": "JOB_STATUS_SUCCEEDED"},
        )
    )
    assert job["jobId"] in {j["jobId"] for j in jobs["jobs"]}
    with logged_in_client(rime_engine) as pages:
        page = pages.get(run["webAppUrl"]["url"])
    assert page.status_code == 200
    assert "AUC" in page.text and "Model Performance" in page.text


def test_cancel_running_job(api, project_id, tmp_path):
    job = start_stress_test(
        api, tmp_path, project_id, labelled_frame(20000, 3), labelled_frame(20000, 4, 0.3), "to-cancel"
    )
    ok(api.post(f"/v1/jobs/cancel/{job['jobId']}", json={}))
    done = wait_job(api, job["jobId"], timeout=60)
    assert done["status"] == "JOB_STATUS_CANCELLED"
    assert done["cancellationRequested"] is True
    run = ok(api.get(f"/v1/test-runs/{job['jobData']['stress']['testRunId']}"))["testRun"]
    assert run["status"] == "TEST_TASK_STATUS_CANCELLED"


def test_create_api_key_stores_only_a_hash(rime_engine):
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_rime.local.cli",
            "create-api-key",
            "--data-dir",
            str(rime_engine.data_dir),
            "--database-url",
            rime_engine.database_url,
            "--name",
            "ci",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    key = out.stdout.strip().splitlines()[0]
    import time

    deadline = time.monotonic() + 10
    while httpx.get(f"{rime_engine.url}/v1/projects", headers={"rime-api-key": key}).status_code != 200:
        assert time.monotonic() < deadline, "a created key was not accepted"
        time.sleep(0.5)
    db = (rime_engine.data_dir / "rime-local.db").read_bytes()
    assert key.encode() not in db


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda f: f.assign(pred=f["pred"] * 10), "in [0, 1]"),
        (lambda f: f.assign(pred="high"), "not numbers"),
        (lambda f: f.iloc[:-5], "rows but the dataset has"),
        (lambda f: f.drop(columns=["pred"]), "prediction column 'pred' is not in the predictions file"),
    ],
    ids=["out-of-range", "not-numeric", "row-count", "missing-column"],
)
def test_bad_predictions_are_invalid_with_reason(api, project_id, tmp_path, mutate, needle, request):
    frame = labelled_frame(200, 5)
    data_path = tmp_path / "data.csv"
    frame.to_csv(data_path, index=False)
    pred_path = tmp_path / "preds.csv"
    mutate(frame).to_csv(pred_path, index=False)
    name = request.node.callspec.id
    dataset_id = register_dataset(api, project_id, f"preds-{name}", data_path)
    model_id = ok(api.post(f"/v1/registry/{project_id}/model", json={"name": f"m-{name}"}))["modelId"]["uuid"]
    registered = ok(
        api.post(
            f"/v1/registry/{project_id}/model/{model_id}/dataset/{dataset_id}/prediction",
            json={
                "predInfo": {
                    "connectionInfo": {"dataFile": {"path": str(pred_path)}},
                    "predParams": {"predCol": "pred"},
                }
            },
        )
    )
    job_path = f"/v1/jobs/{registered['registryValidationJobId']['uuid']}"
    import time

    # Two worker processes in a row (the dataset's validation, then the predictions'): on a busy
    # machine each takes a while to start.
    deadline = time.monotonic() + 180
    while True:
        pred = ok(api.get(f"/v1/registry/prediction/{model_id}/{dataset_id}"))["prediction"]
        if pred["validityStatus"] != "VALIDITY_STATUS_PENDING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # On failure, say what the validation job was doing.
    assert pred["validityStatus"] == "VALIDITY_STATUS_INVALID", ok(api.get(job_path))["job"]
    assert needle in pred["validityStatusMessage"]
