"""A stress test through the raw REST API, as a cluster client would drive it."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd


def labelled_frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3 + shift, 1, n)
    city = rng.choice(["Rome", "London", "Paris"], n)
    logit = 0.8 * (np.log(amount) - 3) + (city == "Rome") * 0.7 - 0.3
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    pred = 1 / (1 + np.exp(-(logit + rng.normal(0, 1.0 + shift, n))))
    return pd.DataFrame({"transaction_amount": amount, "city": city, "label": label, "pred": pred})


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def assert_rime_error(response: httpx.Response, status: int, *needles: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    for needle in needles:
        assert needle in body["message"], body["message"]
    return body["message"]


@contextlib.contextmanager
def logged_in_client(engine: Any) -> Iterator[httpx.Client]:
    """A client that has logged in to ``engine``'s result pages with its API key, as a person would."""
    with httpx.Client(base_url=engine.url, follow_redirects=True, timeout=30) as client:
        response = client.post("/login", data={"api_key": engine.api_key, "next": "/"})
        assert response.status_code == 200 and "rime_local_session" in client.cookies, response.text
        yield client


def served_page(engine: Any, url: str, keep_as: Path) -> str:
    """The HTML of a result page as the engine serves it to a logged-in person, kept at ``keep_as``."""
    with logged_in_client(engine) as client:
        response = client.get(url)
    assert response.status_code == 200, response.text
    keep_as.write_text(response.text)
    return response.text


def page_section(html: str, section_id: str) -> str:
    """The inside of the page's folding section ``<details id=section_id>``."""
    match = re.search(rf'<details id="{section_id}"[^>]*>(.*?)</details>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def create_project(client: httpx.Client, name: str) -> str:
    body = ok(
        client.post("/v1/projects", json={"name": name, "modelTask": "MODEL_TASK_BINARY_CLASSIFICATION"})
    )
    return body["project"]["id"]["uuid"]


def file_info(path: Path, params_key: str, params: dict[str, Any]) -> dict[str, Any]:
    """A registry entry's ``dataInfo``/``predInfo``: the file and its ``params_key`` parameters."""
    return {"connectionInfo": {"dataFile": {"path": str(path)}}, params_key: params}


def post_registration(
    client: httpx.Client, project_id: str, route: str, body: dict[str, Any]
) -> dict[str, Any]:
    """``POST /v1/registry/{project_id}/{route}`` with the project's id added to ``body``: the answer."""
    return ok(
        client.post(f"/v1/registry/{project_id}/{route}", json={"projectId": {"uuid": project_id}, **body})
    )


def register_dataset(
    client: httpx.Client, project_id: str, name: str, path: Path, label: str = "label"
) -> str:
    data_info = file_info(path, "dataParams", {"labelCol": label})
    return post_registration(client, project_id, "dataset", {"name": name, "dataInfo": data_info})[
        "datasetId"
    ]


def register_frames(
    client: httpx.Client, project_id: str, prefix: str, directory: Path, **frames_by_split: pd.DataFrame
) -> dict[str, str]:
    """Write each frame as ``<prefix>-<split>.parquet`` in ``directory`` and register it as the
    dataset ``<prefix>-<split>``: the dataset ids by split."""
    ids = {}
    for split, frame in frames_by_split.items():
        path = directory / f"{prefix}-{split}.parquet"
        frame.to_parquet(path, index=False)
        ids[split] = register_dataset(client, project_id, f"{prefix}-{split}", path)
    return ids


def register_predictions(
    client: httpx.Client, project_id: str, model_id: str, dataset_id: str, path: Path
) -> None:
    """Register the file's ``pred`` column as ``model_id``'s predictions on ``dataset_id``."""
    pred_info = file_info(path, "predParams", {"predCol": "pred"})
    post_registration(
        client,
        project_id,
        f"model/{model_id}/dataset/{dataset_id}/prediction",
        {"modelId": {"uuid": model_id}, "predInfo": pred_info},
    )


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` did not happen after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def wait_valid(client: httpx.Client, dataset_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        ds = ok(client.get("/v1/registry/dataset", params={"datasetId": dataset_id}))["dataset"]
        if ds["validityStatus"] != "VALIDITY_STATUS_PENDING" or time.monotonic() > deadline:
            return ds
        time.sleep(0.2)


def start_stress_test(
    client: httpx.Client,
    tmp_path: Path,
    project_id: str,
    ref: pd.DataFrame,
    ev: pd.DataFrame,
    run_name: str,
    **config: Any,
) -> dict[str, Any]:
    ids = register_frames(client, project_id, run_name, tmp_path, ref=ref, eval=ev)
    model_id = ok(client.post(f"/v1/registry/{project_id}/model", json={"name": f"{run_name}-model"}))[
        "modelId"
    ]["uuid"]
    for split in ("ref", "eval"):
        register_predictions(
            client, project_id, model_id, ids[split], tmp_path / f"{run_name}-{split}.parquet"
        )
    test_run_config = {
        "run_name": run_name,
        "data_info": {"ref_dataset_id": ids["ref"], "eval_dataset_id": ids["eval"]},
        "model_id": {"uuid": model_id},
        **config,
    }
    return ok(client.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": test_run_config}))["job"]


def start_data_cleanliness_run(
    client: httpx.Client, project_id: str, dataset_id: str, run_name: str
) -> dict[str, Any]:
    """A Data Cleanliness stress test of ``dataset_id`` against itself, with a new model without
    predictions (the category needs neither): the job document."""
    model = ok(client.post(f"/v1/registry/{project_id}/model", json={"name": f"{run_name}-model"}))["modelId"]
    config = {
        "run_name": run_name,
        "data_info": {"ref_dataset_id": dataset_id, "eval_dataset_id": dataset_id},
        "model_id": model,
        "categories": ["TEST_CATEGORY_TYPE_DATA_CLEANLINESS"],
    }
    return ok(client.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": config}))["job"]


MODEL_PERFORMANCE = ("TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",)


def start_labelled_run(
    client: httpx.Client,
    tmp_path: Path,
    project_id: str,
    run_name: str,
    rows: int,
    *,
    seeds: tuple[int, int] = (1, 2),
    shift: float = 0.0,
) -> dict[str, Any]:
    """A Model Performance stress test: ``labelled_frame(rows, seeds[0])`` against a shifted second draw."""
    ref_seed, eval_seed = seeds
    ref, ev = labelled_frame(rows, ref_seed), labelled_frame(rows, eval_seed, shift)
    categories = list(MODEL_PERFORMANCE)
    return start_stress_test(client, tmp_path, project_id, ref, ev, run_name, categories=categories)


def wait_job(client: httpx.Client, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = ok(client.get(f"/v1/jobs/{job_id}"))["job"]
        if job["status"] in ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.25)


# ----------------------------------------------------------------------------- through rime-sdk


def sdk_upload(
    client: Any, tmp_path: Path, frames: dict[str, pd.DataFrame], prefix: str = ""
) -> dict[str, str]:
    """Write each frame to ``<prefix><key>.csv`` and upload it with rime-sdk: the uploads' paths by key."""
    paths = {}
    for key, frame in frames.items():
        path = tmp_path / f"{prefix}{key}.csv"
        frame.to_csv(path, index=False)
        paths[key] = client.upload_file(str(path))
    return paths


def sdk_dataset(project: Any, name: str, path: str, **data_params: Any) -> str:
    """Register an uploaded file as a dataset with rime-sdk and wait for its validation: its id."""
    dataset_id, _ = project.register_and_validate_dataset_from_file(name, path, data_params=data_params)
    return str(dataset_id)
