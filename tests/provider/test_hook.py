"""RimeHook against the real engine: every typed method, the async path, errors and the API key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_rime.exceptions import (
    RimeApiError,
    RimeAuthError,
    RimeJobError,
    RimeNotFoundError,
    RimeTransportError,
)
from airflow_provider_rime.hooks.rime import RimeHook, looks_like_id
from airflow_provider_rime.rime_api.enums import TestCategory

from .conftest import LogCapture, stress_test_config, write_data

WRONG_KEY = "not-the-key-0123456789"


@pytest.fixture(scope="module")
def finished_job(hook: RimeHook, project_id: str, registered: dict[str, Any]):
    config = stress_test_config(registered, "hook-run")
    hook.validate_test_run_config(config)
    job = hook.start_stress_test(project_id, config)
    assert job.job_type == "JOB_TYPE_MODEL_STRESS_TEST"
    assert job.test_run_id, "the test run id is allocated when the job is created"
    return hook.wait_for_job(job.job_id, poll_interval=0.3, timeout=300)


def test_info_and_test_connection(hook: RimeHook):
    info = hook.get_rime_info()
    assert info["clusterInfoVersion"]
    ok, message = hook.test_connection()
    assert ok
    assert message.startswith(f"Connected to RIME {info['clusterInfoVersion']}")


def test_settings_come_from_the_connection(hook: RimeHook, rime_engine):
    settings = hook.settings
    assert settings.base_url == rime_engine.url
    assert settings.max_retries == 3
    assert settings.verify is True
    assert rime_engine.api_key not in repr(settings)


def test_get_or_create_project_by_name_and_by_id(hook: RimeHook, project_id: str, project_name: str):
    assert looks_like_id(project_id)
    assert hook.get_or_create_project(project_name) == project_id
    assert hook.get_or_create_project(project_id) == project_id
    assert hook.find_project_id(project_name) == project_id
    assert next(p for p in hook.list_projects() if p["name"] == project_name)["id"]["uuid"] == project_id
    assert hook.get_project(project_id)["name"] == project_name
    url = hook.get_project_url(project_id)
    assert url and url.startswith("http://") and project_id in url


def test_delete_project(hook: RimeHook, project_name: str):
    throwaway = hook.get_or_create_project(f"{project_name}-deleted")
    hook.delete_project(throwaway)
    with pytest.raises(RimeNotFoundError):
        hook.get_project(throwaway)
    assert hook.find_project_id(f"{project_name}-deleted") is None


def test_update_project_categories(hook: RimeHook, project_name: str):
    project_id = hook.get_or_create_project(f"{project_name}-categories")
    project = hook.update_project_categories(
        project_id, continuous_test=["drift", TestCategory.ABNORMAL_INPUTS]
    )
    assert project["continuousTestCategories"] == [
        TestCategory.DRIFT.value,
        TestCategory.ABNORMAL_INPUTS.value,
    ]
    stress_before = project["stressTestCategories"]
    assert TestCategory.MODEL_PERFORMANCE.value in stress_before
    hook.update_project_categories(project_id, stress_test=["Model Performance"])
    stored = hook.get_project(project_id)
    assert stored["stressTestCategories"] == [TestCategory.MODEL_PERFORMANCE.value]
    assert stored["continuousTestCategories"] == [
        TestCategory.DRIFT.value,
        TestCategory.ABNORMAL_INPUTS.value,
    ]
    with pytest.raises(
        RimeApiError, match="'TEST_CATEGORY_TYPE_ADVERSARIAL' is not a continuous-test category"
    ):
        hook.update_project_categories(project_id, continuous_test=["attacks"])
    with pytest.raises(ValueError, match="Unknown RIME test category 'speed'"):
        hook.update_project_categories(project_id, continuous_test=["speed"])
    with pytest.raises(ValueError, match="needs continuous_test or stress_test"):
        hook.update_project_categories(project_id)
    # An empty list puts the defaults back.
    hook.update_project_categories(project_id, continuous_test=[], stress_test=[])
    stored = hook.get_project(project_id)
    assert len(stored["continuousTestCategories"]) == 4
    assert stored["stressTestCategories"] == stress_before
    hook.delete_project(project_id)


def test_upload_file_and_dataframe(hook: RimeHook, tmp_path: Path):
    import pandas as pd

    path = write_data(tmp_path / "small.csv", 50)
    destination = hook.upload_file(path, upload_path="hook-tests")
    assert destination.endswith("small.csv")
    destination = hook.upload_dataframe(pd.read_csv(path), name="small-frame")
    assert destination.endswith("small-frame.parquet")
    with pytest.raises(FileNotFoundError):
        hook.upload_file(tmp_path / "missing.csv")


def test_upload_model_directory(hook: RimeHook, tmp_path: Path):
    model_dir = tmp_path / "model"
    (model_dir / "artifacts").mkdir(parents=True)
    (model_dir / "model.py").write_text("def predict_df(df):\n    return df['amount'] * 0\n")
    (model_dir / "artifacts" / "weights.txt").write_text("1 2 3")
    destination = hook.upload_model_directory(model_dir)
    assert destination
    assert not destination.endswith("/")


def test_registration_is_get_or_create(hook: RimeHook, project_id: str, registered: dict[str, Any]):
    assert (
        hook.register_dataset(project_id, "ref", registered["ref_path"], label_col="label")
        == registered["ref"]
    )
    assert hook.find_dataset_id(project_id, "eval") == registered["eval"]
    assert sorted(d["name"] for d in hook.list_datasets(project_id)) == ["eval", "ref"]
    assert hook.register_model(project_id, "predictions-only") == registered["model"]
    assert [m["name"] for m in hook.list_models(project_id)] == ["predictions-only"]
    predictions = hook.get_predictions(registered["model"], registered["ref"])
    assert predictions is not None
    hook.register_predictions(
        project_id, registered["model"], registered["ref"], registered["ref_path"], "pred"
    )
    assert hook.get_predictions(registered["model"], "no-such-dataset") is None


def test_validation_reports_validity(hook: RimeHook, registered: dict[str, Any]):
    dataset = hook.wait_for_validation(
        "dataset", lambda: hook.get_dataset(registered["ref"]), "ref", timeout=120
    )
    assert dataset["validityStatus"] == "VALIDITY_STATUS_VALID"
    model = hook.get_model(registered["model"])
    assert model["modelId"]["uuid"] == registered["model"]
    # (An invalid dataset is in test_trigger_and_sensor.py, where a failed job needs one anyway.)


def test_stress_test_job_and_results(hook: RimeHook, project_id: str, finished_job):
    job = finished_job
    assert job.status == "JOB_STATUS_SUCCEEDED"
    assert job.project_id == project_id
    test_run = hook.get_test_run(job.test_run_id)
    assert test_run["status"] == "TEST_TASK_STATUS_COMPLETED"
    assert test_run["name"] == "hook-run"

    summary = hook.get_test_run_summary(job.test_run_id, job_id=job.job_id)
    assert summary["job_id"] == job.job_id
    assert summary["project_id"] == project_id
    assert summary["url"] == hook.get_test_run_url(job.test_run_id)

    # More test cases than one page (20): the iterator follows the page tokens.
    test_cases = list(hook.list_test_cases(job.test_run_id))
    assert len(test_cases) == summary["summary_counts"]["total"] > 20
    assert len({c["testCaseId"] for c in test_cases}) == len(test_cases)
    assert all(c["testRunId"] == job.test_run_id for c in test_cases)

    categories = hook.get_category_results(job.test_run_id)
    assert categories and all(c["testCategory"].startswith("TEST_CATEGORY_TYPE_") for c in categories)
    batches = list(hook.list_batch_results(job.test_run_id))
    assert batches
    batch = hook.get_batch_result(job.test_run_id, batches[0]["testType"])
    assert batch["testType"] == batches[0]["testType"]
    assert job.test_run_id in {r["testRunId"] for r in hook.list_test_runs(project_id)}
    assert job.job_id in {j["jobId"] for j in hook.list_jobs(project_id)}
    assert isinstance(hook.get_job_logs(job.job_id), str)


def test_no_active_job_for_a_finished_run(hook: RimeHook, project_id: str, finished_job):
    assert hook.find_active_stress_test(project_id, "hook-run") is None


def test_cancel_and_wait_timeout(hook: RimeHook, project_id: str, slow_registered: dict[str, Any]):
    config = stress_test_config(slow_registered, "hook-cancelled")
    job = hook.start_stress_test(project_id, config)
    found = hook.find_active_stress_test(project_id, "hook-cancelled")
    assert found is not None
    assert found.job_id == job.job_id
    with pytest.raises(RimeJobError) as timed_out:
        hook.wait_for_job(job.job_id, poll_interval=0.1, timeout=0.01, cancel_on_timeout=True)
    assert timed_out.value.status == "timeout"
    final = hook.wait_for_job(job.job_id, poll_interval=0.2, timeout=120)
    assert final.status == "JOB_STATUS_CANCELLED"
    hook.cancel_job(job.job_id)  # cancelling a finished job is a no-op


async def test_async_methods(rime_connection: str, finished_job):
    hook = RimeHook(rime_connection)
    info = await hook.aget_rime_info()
    assert info["clusterInfoVersion"]
    job = await hook.aget_job(finished_job.job_id)
    assert job.status == "JOB_STATUS_SUCCEEDED"
    test_run = await hook.aget_test_run(finished_job.test_run_id)
    assert test_run["testRunId"] == finished_job.test_run_id
    await hook.acancel_job(finished_job.job_id)  # finished: nothing to do


def test_not_found_carries_status_message_and_path(hook: RimeHook):
    with pytest.raises(RimeNotFoundError) as missing:
        hook.get_test_run("no-such-test-run")
    error = missing.value
    assert error.status == 404
    assert error.path == "/v1/test-runs/no-such-test-run"
    assert error.method == "GET"
    assert error.message
    assert "HTTP 404" in str(error)


def test_a_wrong_api_key_is_a_clear_error_without_the_key(airflow_db, rime_engine, logs: LogCapture):
    from tests.conftest import create_rime_connection

    conn_id = create_rime_connection("rime_wrong_key", rime_engine.url, WRONG_KEY)
    hook = RimeHook(conn_id, max_retries=0)
    with pytest.raises(RimeAuthError) as rejected:
        hook.get_rime_info()
    assert rejected.value.status == 401
    assert "rime_wrong_key" in str(rejected.value)
    assert WRONG_KEY not in str(rejected.value)
    ok, message = hook.test_connection()
    assert not ok
    assert "rime_wrong_key" in message and WRONG_KEY not in message
    hook.log.error("failure: %s", rejected.value)  # what a task log would show
    text = logs.text()
    assert "rime_wrong_key" in text  # the capture works
    assert WRONG_KEY not in text


def test_an_unreachable_cluster_is_a_transport_error(airflow_db):
    from tests.conftest import create_rime_connection, free_port

    conn_id = create_rime_connection("rime_unreachable", f"http://127.0.0.1:{free_port()}", "some-key-123")
    hook = RimeHook(conn_id, max_retries=1, retry_min_wait=0.01, retry_max_wait=0.02)
    with pytest.raises(RimeTransportError) as unreachable:
        hook.get_rime_info()
    assert unreachable.value.status is None
    assert unreachable.value.path == "/v1/rime-info"


def test_a_bad_request_is_not_retried(hook: RimeHook, project_id: str):
    with pytest.raises(RimeApiError) as rejected:
        hook.start_stress_test(project_id, {"run_name": "broken"})
    assert 400 <= (rejected.value.status or 0) < 500
