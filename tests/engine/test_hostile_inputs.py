"""Hostile requests get a 4xx with RIME's error body (never a 500), the connection stays usable,
uploads cannot replace files, a file changed after registration is refused, searches are literal."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.engine import flow

PROJECT = "hostile-inputs"


@pytest.fixture(scope="module")
def model_id(api, project_id):
    body = flow.ok(api.post(f"/v1/registry/{project_id}/model", json={"name": "hostile-model"}))
    return body["modelId"]["uuid"]


def _hostile_requests(project_id: str) -> list[tuple[str, str, bytes]]:
    """(method, path, raw body) of each hostile input found by the review and the fuzzer."""
    project = lambda **kw: json.dumps({"name": "p", **kw}).encode()  # noqa: E731
    model = lambda **kw: json.dumps({"name": "m", **kw}).encode()  # noqa: E731
    return [
        ("POST", "/v1/projects", project(useCase=["a list"])),
        ("POST", "/v1/projects", project(ethicalConsideration={"an": "object"})),
        ("POST", "/v1/projects", project(useCase=12)),
        ("POST", "/v1/projects", project(modelTask=["MODEL_TASK_BINARY_CLASSIFICATION"])),
        ("POST", f"/v1/registry/{project_id}/model", model(externalId=["x"])),
        ("POST", f"/v1/registry/{project_id}/model", model(externalId={"x": 1})),
        # A lone surrogate cannot be stored as UTF-8.
        ("POST", "/v1/projects", b'{"name": "lone \\ud800 surrogate"}'),
        ("POST", f"/v1/registry/{project_id}/model", b'{"name": "m\\udfff"}'),
        ("POST", "/v1/projects", b'{"name": "p", "description": "\\ud800"}'),
        # Nesting deep enough to exhaust a recursive parser.
        ("POST", "/v1/projects", b"[" * 100_000 + b"]" * 100_000),
        (
            "POST",
            "/v1/projects",
            b'{"name": "p", "profilingConfig": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001,
        ),
        ("POST", "/v1/projects", b'{"name": 1e999}'),
        ("POST", "/v1/projects", b"\xff\xfe not utf-8"),
        ("GET", "/v1/projects?pageSize=-1", b""),
        ("GET", "/v1/projects?pageSize=1e3", b""),
        # Bytes that are not UTF-8, or encode a surrogate, in a query parameter and in a path.
        ("GET", "/v1/projects?firstPageQuery.search.expression=%ED%A0%80", b""),
        ("GET", "/v1/projects?firstPageQuery.search.expression=%FF", b""),
        ("GET", "/v1/projects/%ED%A0%80", b""),
        ("GET", "/v1/jobs/%FF%FE", b""),
        ("GET", "/v1/registry/dataset?datasetName=%ED%B3%BF", b""),
        ("GET", f"/v1/registry/{project_id}/dataset?pageToken=%FF.%FF", b""),
    ]


def test_no_hostile_input_is_a_5xx_and_the_connection_stays_usable(api, project_id):
    for method, path, body in _hostile_requests(project_id):
        response = api.request(method, path, content=body, headers={"content-type": "application/json"})
        assert response.status_code < 500, (path, body[:80], response.status_code, response.text)
        if method == "POST":  # every body above is refused, naming what is wrong
            assert 400 <= response.status_code < 500, (body[:80], response.text)
        if response.status_code >= 400:
            assert set(response.json()) == {"code", "message", "details"}
        # The same keep-alive connection answers the next request.
        assert api.get("/v1/rime-info").status_code == 200


# ------------------------------------------------------------------ uploads


def _grant(api, name: str, upload_path: str) -> dict:
    return flow.ok(
        api.post("/v1-beta/datasets/upload-url", json={"fileName": name, "uploadPath": upload_path})
    )


def test_an_upload_token_is_single_use(api):
    spec = _grant(api, "once.csv", "single-use")
    assert httpx.put(spec["uploadUrl"], content=b"a\n1\n").status_code == 200
    # A PUT retried after a lost response (same bytes) is fine; other bytes are refused.
    assert httpx.put(spec["uploadUrl"], content=b"a\n1\n").status_code == 200
    flow.assert_rime_error(httpx.put(spec["uploadUrl"], content=b"a\n2\n"), 409, "already uploaded")
    assert httpx.put(spec["doneFileUploadUrl"], content=b"Upload complete").status_code == 200
    assert httpx.put(spec["doneFileUploadUrl"], content=b"Upload complete").status_code == 200
    flow.assert_rime_error(httpx.put(spec["uploadUrl"], content=b"a\n1\n"), 403, "complete")


def test_an_uploaded_file_cannot_be_replaced_through_a_new_grant(api):
    from airflow_provider_rime.local.data import resolve_path

    first = _grant(api, "kept.csv", "no-overwrite")
    assert httpx.put(first["uploadUrl"], content=b"a\n1\n").status_code == 200
    second = _grant(api, "kept.csv", "no-overwrite")
    assert second["destinationUrl"] == first["destinationUrl"]
    flow.assert_rime_error(httpx.put(second["uploadUrl"], content=b"a\nevil\n"), 409, "never replaced")
    assert resolve_path(first["destinationUrl"]).read_bytes() == b"a\n1\n"


@pytest.mark.parametrize("order", [["a/b", "a"], ["a", "a/b"]])
def test_an_upload_onto_a_directory_or_under_a_file_is_a_409(api, order):
    spec = flow.ok(
        api.post(
            "/v1-beta/models/upload-url",
            json={"directoryName": f"clash-{order[0].replace('/', '-')}", "relativeFilePaths": ["a", "a/b"]},
        )
    )
    urls = spec["uploadPathMap"]
    assert httpx.put(urls[order[0]], content=b"x").status_code == 200
    flow.assert_rime_error(httpx.put(urls[order[1]], content=b"y"), 409)


# ------------------------------------------------------------------ registered files and search


def test_a_file_changed_after_registration_fails_the_stress_test(api, project_id, tmp_path):
    ref, ev = flow.labelled_frame(300, 1), flow.labelled_frame(300, 2)
    job = flow.start_stress_test(
        api,
        tmp_path,
        project_id,
        ref,
        ev,
        "changed-later",
        categories=["TEST_CATEGORY_TYPE_DATA_CLEANLINESS"],
    )
    # Changed before the job reads it (it waits for the validations, which record the digest).
    for split in ("ref", "eval"):
        ds = flow.ok(api.get("/v1/registry/dataset", params={"datasetName": f"changed-later-{split}"}))[
            "dataset"
        ]
        assert flow.wait_valid(api, ds["datasetId"])["validityStatus"] == "VALIDITY_STATUS_VALID"
    done = flow.wait_job(api, job["jobId"])
    assert done["status"] == "JOB_STATUS_SUCCEEDED"

    path = tmp_path / "drifting.csv"
    ref.to_csv(path, index=False)
    dataset_id = flow.register_dataset(api, project_id, "drifting", path)
    assert flow.wait_valid(api, dataset_id)["validityStatus"] == "VALIDITY_STATUS_VALID"
    flow.labelled_frame(300, 9).to_csv(path, index=False)  # same name, other content
    job = flow.start_data_cleanliness_run(api, project_id, dataset_id, "after-change")
    done = flow.wait_job(api, job["jobId"])
    assert done["status"] == "JOB_STATUS_FAILED"
    assert "changed since it was registered" in done["errorMsg"] and "'drifting'" in done["errorMsg"]


@pytest.mark.parametrize("wildcard", ["%", "_"])
def test_search_wildcards_are_literal(api, wildcard):
    literal = flow.create_project(api, f"search 100{wildcard} literal")
    flow.create_project(api, "search plain project")
    found = flow.ok(
        api.get("/v1/projects", params={"firstPageQuery.search.expression": wildcard, "pageSize": 500})
    )
    ids = {p["project"]["id"]["uuid"] for p in found["projects"]}
    assert literal in ids
    assert all(wildcard in p["project"]["name"] for p in found["projects"])


# ------------------------------------------------------------------ long rows


def test_a_cell_longer_than_a_block_is_read(api, project_id, tmp_path):
    path = tmp_path / "long-cell.csv"
    path.write_text("text,label\n" + "x" * (9 << 20) + ",1\nshort,0\n")
    ds = flow.wait_valid(api, flow.register_dataset(api, project_id, "long-cell", path), timeout=120)
    assert ds["validityStatus"] == "VALIDITY_STATUS_VALID", ds["validityStatusMessage"]
    assert ds["validityStatusMessage"].startswith("2 rows")


def test_a_row_longer_than_the_largest_block_has_a_clear_message(tmp_path, monkeypatch):
    from airflow_provider_rime.local import data

    monkeypatch.setattr(data, "CSV_BLOCK_SIZES", (1 << 10, 2 << 10))
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"column_{i}" for i in range(1000)) + "\n" + ",".join("1" * 1000) + "\n")
    with pytest.raises(data.DataError, match="a row or the header is longer than 0 MB"):
        data.inspect_table(str(path), data.DataRoots.of([tmp_path]))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(data.DataError, match="the file is empty"):
        data.inspect_table(str(empty), data.DataRoots.of([tmp_path]))
