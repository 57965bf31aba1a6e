"""The engine reads only inside its data roots, walks directories with bounds, and a slow or
interrupted validation never leaves an entry PENDING or holds the validation slots."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningEngine, engine_api, start_engine
from tests.engine.flow import (
    assert_rime_error,
    create_project,
    labelled_frame,
    ok,
    register_dataset,
    start_data_cleanliness_run,
    wait_job,
    wait_until,
    wait_valid,
)

PROJECT = "data-roots"
SECRET = "S3CR3T-CELL-VALUE"


@pytest.fixture(scope="module")
def outside() -> Iterator[Path]:
    """A directory outside every data root, holding a CSV whose header and cells are secret."""
    directory = Path(tempfile.mkdtemp(prefix="rime-outside-", dir="/var/tmp"))
    (directory / "secret.csv").write_text(f"{SECRET}_header,label\n{SECRET},{SECRET}\n")
    (directory / "model.py").write_text("def predict_df(df):\n    return df\n")
    yield directory
    shutil.rmtree(directory)


def _register(api, project_id: str, name: str, path: str):
    return api.post(
        f"/v1/registry/{project_id}/dataset",
        json={
            "name": name,
            "dataInfo": {"connectionInfo": {"dataFile": {"path": path}}, "dataParams": {"labelCol": "x"}},
        },
    )


def _assert_refused(response, *needles: str) -> None:
    message = assert_rime_error(response, 403, "--data-root", "RIME_LOCAL_DATA_ROOTS", *needles)
    assert SECRET not in response.text and SECRET not in message


def _dataset_names(api, project_id: str) -> set[str]:
    body = ok(api.get(f"/v1/registry/{project_id}/dataset", params={"pageSize": 500}))
    return {d["name"] for d in body.get("datasets", [])}


@pytest.mark.parametrize(
    "spelling",
    ["absolute", "file-uri", "dot-dot", "symlink"],
)
def test_a_file_outside_the_roots_is_refused_and_nothing_stored(api, project_id, outside, tmp_path, spelling):
    secret = outside / "secret.csv"
    if spelling == "absolute":
        path = str(secret)
    elif spelling == "file-uri":
        path = secret.as_uri()
    elif spelling == "dot-dot":
        path = str(tmp_path) + "/" + "../" * len(tmp_path.parts) + str(secret).lstrip("/")
    else:
        link = tmp_path / "innocent.csv"
        link.symlink_to(secret)
        path = str(link)
    _assert_refused(
        _register(api, project_id, f"steal-{spelling}", path), "dataInfo.connectionInfo.dataFile.path"
    )
    assert f"steal-{spelling}" not in _dataset_names(api, project_id)


def test_a_missing_file_outside_the_roots_is_refused_the_same_way(api, project_id, outside):
    # No existence oracle: a file that is there and one that is not get the same answer.
    there = _register(api, project_id, "there", str(outside / "secret.csv"))
    absent = _register(api, project_id, "absent", str(outside / "absent.csv"))
    assert there.status_code == absent.status_code == 403
    assert there.json()["message"].replace("secret.csv", "X") == absent.json()["message"].replace(
        "absent.csv", "X"
    )


def test_model_and_prediction_paths_outside_the_roots_are_refused(api, project_id, outside, tmp_path):
    response = api.post(
        f"/v1/registry/{project_id}/model",
        json={"name": "outside-model", "modelInfo": {"modelPath": {"path": str(outside)}}},
    )
    _assert_refused(response, "modelInfo.modelPath.path")
    data = tmp_path / "ok.csv"
    labelled_frame(20, 0).to_csv(data, index=False)
    dataset_id = register_dataset(api, project_id, "inside", data)
    model_id = ok(api.post(f"/v1/registry/{project_id}/model", json={"name": "preds-only"}))["modelId"][
        "uuid"
    ]
    response = api.post(
        f"/v1/registry/{project_id}/model/{model_id}/dataset/{dataset_id}/prediction",
        json={"predInfo": {"connectionInfo": {"dataFile": {"path": str(outside / "secret.csv")}}}},
    )
    _assert_refused(response, "predInfo.connectionInfo.dataFile.path")
    assert ok(api.get(f"/v1/registry/{project_id}/prediction")).get("predictions", []) == []


def test_a_parquet_directory_with_a_symlink_loop_is_walked_once(api, project_id, tmp_path, outside):
    directory = tmp_path / "parts"
    directory.mkdir()
    labelled_frame(30, 1).to_parquet(directory / "part-0.parquet", index=False)
    (directory / "loop").symlink_to(directory)  # a directory symlink: not followed
    (directory / "stolen.parquet").symlink_to(outside / "secret.csv")  # a file outside: skipped
    ds = wait_valid(api, register_dataset(api, project_id, "looped", directory))
    assert ds["validityStatus"] == "VALIDITY_STATUS_VALID", ds["validityStatusMessage"]
    assert ds["validityStatusMessage"].startswith("30 rows")


def test_a_directory_with_too_many_entries_is_invalid_quickly(api, project_id, tmp_path):
    from airflow_provider_rime.local.data import MAX_DIRECTORY_FILES

    directory = tmp_path / "huge"
    directory.mkdir()
    for i in range(MAX_DIRECTORY_FILES + 1):
        (directory / f"f{i}.parquet").touch()
    ds = wait_valid(api, register_dataset(api, project_id, "huge", directory))
    assert ds["validityStatus"] == "VALIDITY_STATUS_INVALID"
    assert f"more than {MAX_DIRECTORY_FILES} entries" in ds["validityStatusMessage"]


# ------------------------------------------------------------------ slow and interrupted validation


@pytest.fixture(scope="module")
def short_timeout_engine(tmp_path_factory) -> Iterator[RunningEngine]:
    engine = start_engine(tmp_path_factory.mktemp("short-timeout"), extra_args=("--validation-timeout", "20"))
    yield engine
    engine.stop()


def _fifo(directory: Path, name: str) -> Path:
    # Reading a named pipe nobody writes to blocks forever: the slowest validation there is.
    path = directory / name
    os.mkfifo(path)
    return path


def test_slow_validations_are_stopped_and_do_not_starve_others(short_timeout_engine, tmp_path):
    with short_timeout_engine.client() as api:
        project = create_project(api, "slow-validation")
        stuck = [
            register_dataset(api, project, f"stuck-{i}", _fifo(tmp_path, f"stuck-{i}.csv")) for i in (0, 1)
        ]
        good = tmp_path / "good.csv"
        labelled_frame(20, 0).to_csv(good, index=False)
        fine = register_dataset(api, project, "fine", good)
        ds = wait_valid(api, fine, timeout=90)
        assert ds["validityStatus"] == "VALIDITY_STATUS_VALID", ds["validityStatusMessage"]
        for dataset_id in stuck:
            ds = wait_valid(api, dataset_id, timeout=60)
            assert ds["validityStatus"] == "VALIDITY_STATUS_INVALID"
            assert "longer than 20 s" in ds["validityStatusMessage"]
            assert "--validation-timeout" in ds["validityStatusMessage"]


def test_a_killed_engine_leaves_no_entry_pending(tmp_path_factory, tmp_path):
    data_dir = tmp_path_factory.mktemp("killed-validation")
    with engine_api(data_dir, killed=True) as api:
        project = create_project(api, "killed-validation")
        dataset_id = register_dataset(api, project, "interrupted", _fifo(tmp_path, "never.csv"))
        logs = data_dir / "job-logs"
        wait_until(lambda: list(logs.glob("*.log")), 30, "the validation never started")
        time.sleep(1)
    # The orphaned worker saw its engine go and ended the job (and the entry). An engine of an
    # older version left the entry PENDING: the restarted engine settles such entries too.
    with sqlite3.connect(data_dir / "rime-local.db") as db:
        db.execute(
            "update datasets set validity_status = 'VALIDITY_STATUS_PENDING' where id = ?", (dataset_id,)
        )
    with engine_api(data_dir) as api:
        ds = wait_valid(api, dataset_id, timeout=60)
        assert ds["validityStatus"] == "VALIDITY_STATUS_INVALID"
        assert "validation did not finish" in ds["validityStatusMessage"]
        assert "engine" in ds["validityStatusMessage"]


def test_a_stress_test_on_an_entry_whose_validation_died_fails_clearly(short_timeout_engine, tmp_path):
    with short_timeout_engine.client() as api:
        project = create_project(api, "pending-stress")
        ref = register_dataset(api, project, "ref-stuck", _fifo(tmp_path, "ref.csv"))
        good = tmp_path / "eval.csv"
        labelled_frame(20, 0).to_csv(good, index=False)
        ev = register_dataset(api, project, "eval", good)
        model = ok(api.post(f"/v1/registry/{project}/model", json={"name": "m"}))["modelId"]["uuid"]
        config = {
            "run_name": "on-pending",
            "data_info": {"ref_dataset_id": ref, "eval_dataset_id": ev},
            "model_id": {"uuid": model},
            "categories": ["TEST_CATEGORY_TYPE_DATA_CLEANLINESS"],
        }
        job = ok(api.post(f"/v1/stress-tests/{project}", json={"testRunConfig": config}))["job"]
        done = wait_job(api, job["jobId"], timeout=120)
        assert done["status"] == "JOB_STATUS_FAILED"
        assert "ref-stuck" in done["errorMsg"] and "validation did not finish" in done["errorMsg"]


def test_a_long_queue_of_validations_does_not_hide_a_stress_test(tmp_path_factory, tmp_path):
    engine = start_engine(tmp_path_factory.mktemp("long-queue"), extra_args=("--validation-timeout", "60"))
    try:
        with engine.client() as api:
            project = create_project(api, "long-queue")
            good = tmp_path / "good.csv"
            labelled_frame(50, 0).to_csv(good, index=False)
            ref = register_dataset(api, project, "ref", good)
            assert wait_valid(api, ref, timeout=90)["validityStatus"] == "VALIDITY_STATUS_VALID"
            # Two validations hold both slots; more than a claim's look-ahead wait behind them.
            for i in range(24):
                register_dataset(api, project, f"queued-{i}", _fifo(tmp_path, f"queued-{i}.csv"))
            job = start_data_cleanliness_run(api, project, ref, "behind-the-queue")
            # It runs while the validations are still queued (each may take 60 s).
            assert wait_job(api, job["jobId"], timeout=50)["status"] == "JOB_STATUS_SUCCEEDED"
    finally:
        engine.stop()
