"""Request bodies as RIME's server reads them: typed, both spellings, unknown fields ignored, and every
problem a 400 in grpc-gateway's shape that names the field."""

from __future__ import annotations

import httpx
import pytest

from tests.engine.flow import (
    assert_rime_error,
    create_project,
    labelled_frame,
    ok,
    register_dataset,
    wait_valid,
)

PROJECT = "request-bodies"


def test_openapi_describes_request_bodies_and_query_parameters(rime_engine):
    spec = httpx.get(f"{rime_engine.url}/openapi.json").json()
    paths = spec["paths"]
    bodies = {
        ("/v1/projects", "post"): "CreateProjectRequest",
        ("/v1/registry/{project_id}/dataset", "post"): "RegisterDatasetRequest",
        ("/v1/registry/{project_id}/model", "post"): "RegisterModelRequest",
        ("/v1-beta/datasets/upload-url", "post"): "DatasetUploadUrlRequest",
        ("/v1/stress-tests/{project_id}", "post"): "StartStressTestRequest",
        ("/v1-beta/config-validator/{config_type}", "post"): "ValidateConfigRequest",
    }
    for (path, method), model in bodies.items():
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{model}"), (path, schema)
    # Wire names, in camelCase, as rime-sdk sends them.
    assert "modelTask" in spec["components"]["schemas"]["CreateProjectRequest"]["properties"]
    query = {p["name"] for p in paths["/v1/test-cases"]["get"]["parameters"] if p["in"] == "query"}
    assert {"listTestCasesQuery.testRunId", "listTestCasesQuery.testTypes", "pageToken", "pageSize"} <= query


def test_snake_case_and_unknown_fields_are_accepted(api):
    body = {
        "name": "  spelled in snake_case  ",
        "model_task": "MODEL_TASK_BINARY_CLASSIFICATION",
        "newField": 1,
    }
    project = ok(api.post("/v1/projects", json=body))["project"]
    assert project["name"] == "spelled in snake_case"
    assert project["modelTask"] == "MODEL_TASK_BINARY_CLASSIFICATION"
    assert "newField" not in project


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ({"name": "x", "modelTask": "Binary"}, ["modelTask", "MODEL_TASK_BINARY_CLASSIFICATION", "'Binary'"]),
        ({"name": 5}, ["name", "string"]),
        ({"name": "x", "profilingConfig": "not an object"}, ["profilingConfig"]),
        ({}, ["name", "Field required"]),
    ],
    ids=["enum", "type", "object", "missing"],
)
def test_a_bad_field_is_named_in_the_message(api, body, needles):
    assert_rime_error(api.post("/v1/projects", json=body), 400, *needles)


def test_nested_fields_are_named_by_their_path(api, project_id, tmp_path):
    body = {
        "name": "bad-params",
        "dataInfo": {
            "connectionInfo": {"dataFile": {"path": str(tmp_path / "x.csv")}},
            "dataParams": {"labelCol": 7},
        },
    }
    assert_rime_error(
        api.post(f"/v1/registry/{project_id}/dataset", json=body), 400, "dataInfo.dataParams.labelCol"
    )
    config = {
        "run_name": "x",
        "data_info": {"ref_dataset_id": "a", "eval_dataset_id": "b"},
        "model_id": "m",
        "categories": ["TEST_CATEGORY_TYPE_DRIFT", "drift"],
    }
    message = assert_rime_error(
        api.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": config}),
        400,
        "testRunConfig.categories[1]",
        "'drift'",
    )
    assert "categories[0]" not in message
    # The snake_case config is named in snake_case, even for a field that is left out.
    missing = {"run_name": "x", "model_id": "m"}
    assert_rime_error(
        api.post(f"/v1/stress-tests/{project_id}", json={"testRunConfig": missing}),
        400,
        "testRunConfig.data_info",
    )


def test_connection_kinds_the_engine_cannot_read_are_refused(api, project_id):
    two = {"dataFile": {"path": "/a.csv"}, "databricks": {"tableName": "t"}}
    hub = {"huggingFace": {"datasetUri": "x"}}
    for connection, needle in ((two, "exactly one"), (hub, "reads files only"), ({}, "got none")):
        body = {"name": "conn", "dataInfo": {"connectionInfo": connection}}
        assert_rime_error(api.post(f"/v1/registry/{project_id}/dataset", json=body), 400, needle)


def test_registered_documents_come_back_in_camel_case(api, project_id, tmp_path):
    path = tmp_path / "snake.csv"
    labelled_frame(20, 0).to_csv(path, index=False)
    response = api.post(
        f"/v1/registry/{project_id}/dataset",
        json={
            "project_id": {"uuid": project_id},
            "name": "snake",
            "data_info": {
                "connection_info": {"data_file": {"path": str(path)}},
                "data_params": {"label_col": "label", "sample": True, "unknown_param": 1},
            },
        },
    )
    dataset = wait_valid(api, ok(response)["datasetId"])
    assert dataset["validityStatus"] == "VALIDITY_STATUS_VALID", dataset
    assert dataset["dataInfo"] == {
        "connectionInfo": {"dataFile": {"path": str(path)}},
        "dataParams": {"labelCol": "label", "sample": True},
    }


def test_bodies_rime_sdk_sends_empty(api, project_id, rime_engine):
    # rime-sdk sends `{}` with POST, PUT and DELETE calls that have no body model.
    json_header = {"Content-Type": "application/json"}
    for content in (b"{}", b""):
        ok(api.put(f"/v1/projects/{project_id}/role/workspace", content=content, headers=json_header))
    spare = create_project(api, "deleted with an empty body")
    ok(api.request("DELETE", f"/v1/projects/{spare}", content=b"{}", headers=json_header))
    assert_rime_error(api.get(f"/v1/projects/{spare}"), 404)
    # ... and GETs with a JSON Content-Type and no body.
    ok(api.get(f"/v1/projects/{project_id}", headers=json_header))


def test_a_missing_or_non_object_body_is_a_400(api, project_id):
    assert_rime_error(api.post("/v1/projects"), 400, "request body is required")
    assert_rime_error(api.post(f"/v1/stress-tests/{project_id}", json="run"), 400, "JSON object", "str")


def test_upload_paths_are_checked_after_their_shape(api):
    assert_rime_error(api.post("/v1-beta/datasets/upload-url", json={"fileName": ""}), 400, "fileName")
    long_name = "x" * 300 + ".csv"
    assert_rime_error(
        api.post("/v1-beta/datasets/upload-url", json={"fileName": long_name}), 400, "255 bytes"
    )
    # An empty uploadPath means "not set" (proto3): the server picks a directory.
    spec = ok(api.post("/v1-beta/datasets/upload-url", json={"fileName": "a.csv", "uploadPath": ""}))
    assert spec["destinationUrl"].endswith("/a.csv")


def test_config_validator_checks_type_and_config(api):
    assert_rime_error(
        api.post("/v1-beta/config-validator/CONFIG_TYPE_NOPE", json={"configJson": "{}"}),
        400,
        "config_type",
        "CONFIG_TYPE_NOPE",
    )
    assert_rime_error(
        api.post("/v1-beta/config-validator/CONFIG_TYPE_TEST_RUN", json={"configJson": "[1]"}), 400, "object"
    )
    assert_rime_error(
        api.post("/v1-beta/config-validator/CONFIG_TYPE_TEST_RUN", json={"configJson": "{"}),
        400,
        "not valid JSON",
    )
    ok(api.post("/v1-beta/config-validator/CONFIG_TYPE_PROFILING", json={"configJson": '{"anything": 1}'}))


def test_dataset_lookup_by_name(api, project_id, tmp_path):
    path = tmp_path / "named.csv"
    labelled_frame(20, 0).to_csv(path, index=False)
    dataset_id = register_dataset(api, project_id, "looked-up-by-name", path)
    found = ok(
        api.get(
            "/v1/registry/dataset", params={"datasetName": "looked-up-by-name", "projectId.uuid": project_id}
        )
    )
    assert found["dataset"]["datasetId"] == dataset_id
    assert_rime_error(api.get("/v1/registry/dataset"), 400, "datasetId")
    assert_rime_error(api.get("/v1/registry/dataset", params={"datasetName": "nope"}), 404, "nope")
