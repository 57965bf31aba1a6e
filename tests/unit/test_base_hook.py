"""RimeBaseHook: connection settings, error mapping, retries, paging, create-once and upload PUTs.

Faults (503, 429, connection resets) are injected with respx in front of recorded answers.
"""

from __future__ import annotations

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import Connection

from airflow_provider_rime.exceptions import (
    RimeApiError,
    RimeAuthError,
    RimeNotFoundError,
    RimeTransportError,
)
from airflow_provider_rime.hooks.rime import RimeHook

from .conftest import API_KEY, BASE_URL, CONN_ID, recorded, sent, serve


def unavailable(_: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"code": 14, "message": "upstream unavailable", "details": []})


def reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)


def throttled(_: httpx.Request) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": "0"}, json={"code": 8, "message": "slow down"})


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("host", "schema", "port", "base_url"),
    [
        ("https://rime.example.com/", None, None, "https://rime.example.com"),
        ("rime.example.com", None, None, "https://rime.example.com"),
        ("127.0.0.1", "http", 8123, "http://127.0.0.1:8123"),
        ("http://127.0.0.1:9000", None, None, "http://127.0.0.1:9000"),
    ],
)
def test_connection_hosts_become_base_urls(host: str, schema: str | None, port: int | None, base_url: str):
    conn = Connection(conn_id="x", conn_type="rime", host=host, schema=schema, port=port, password="key-123")
    settings = RimeHook("x")._settings_from(conn, {"extra__rime__verify_ssl": "false", "ca_bundle": ""})
    assert settings.base_url == base_url
    assert settings.verify is False


def test_a_connection_without_a_key_is_refused_clearly():
    conn = Connection(conn_id="nokey", conn_type="rime", host="https://rime.example.com")
    with pytest.raises(ValueError, match="'nokey' has no API key"):
        RimeHook("nokey")._settings_from(conn, {})


def test_settings_come_from_the_connection_and_hide_the_key(hook: RimeHook):
    settings = hook.settings
    assert (settings.base_url, settings.max_retries, settings.timeout) == (BASE_URL, 2, 60.0)
    assert API_KEY not in repr(settings)


async def test_async_settings_read_the_same_connection(rime_conn: str):
    assert await RimeHook(rime_conn).asettings() == RimeHook(rime_conn).settings


def test_the_hook_declares_the_form_for_older_airflow():
    behaviour = RimeHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["password"] == "API key"
    assert set(behaviour["hidden_fields"]) == {"schema", "port", "login"}
    assert (RimeHook.conn_type, RimeHook.default_conn_name, RimeHook.conn_name_attr) == (
        "rime",
        "rime_default",
        "rime_conn_id",
    )
    pytest.importorskip("flask_appbuilder")
    pytest.importorskip("wtforms")
    assert set(RimeHook.get_connection_form_widgets()) == {
        "verify_ssl",
        "ca_bundle",
        "timeout",
        "max_retries",
    }


# ----------------------------------------------------------------------------- errors


def test_a_404_is_not_found_with_rimes_message_and_the_path(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "not_found")["not_found"]
    with pytest.raises(RimeNotFoundError) as missing:
        hook.request("GET", "/v1/test-runs/no-such-test-run")
    error = missing.value
    assert (error.status, error.method, error.path) == (404, "GET", "/v1/test-runs/no-such-test-run")
    assert error.message == recorded("not_found").body["message"]
    assert "HTTP 404" in str(error)
    assert route.call_count == 1  # a client error is not retried


def test_a_rejected_key_names_the_connection_not_the_key(api: respx.MockRouter, hook: RimeHook):
    serve(api, "unauthorized")
    with pytest.raises(RimeAuthError) as rejected:
        hook.request("GET", "/v1/rime-info")
    assert rejected.value.status == 401
    assert CONN_ID in str(rejected.value) and API_KEY not in str(rejected.value)


def test_a_bad_request_is_not_retried(api: respx.MockRouter, hook: RimeHook):
    route = serve(api, "bad_request")["bad_request"]
    rec = recorded("bad_request")
    with pytest.raises(RimeApiError) as rejected:
        hook.request("POST", rec.path, json_body=rec.json, idempotent=True)
    assert rejected.value.status == 400
    assert rejected.value.message == rec.body["message"]
    assert route.call_count == 1


def test_a_body_that_is_not_json_is_an_api_error(api: respx.MockRouter, hook: RimeHook):
    api.get("/v1/rime-info").mock(return_value=httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(RimeApiError, match="not JSON"):
        hook.request("GET", "/v1/rime-info")


def test_an_unreachable_cluster_is_a_transport_error(api: respx.MockRouter, hook: RimeHook):
    route = api.get("/v1/rime-info").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(RimeTransportError) as unreachable:
        hook.request("GET", "/v1/rime-info")
    assert (unreachable.value.status, unreachable.value.path) == (None, "/v1/rime-info")
    assert route.call_count == hook.settings.max_retries + 1


# ----------------------------------------------------------------------------- retries


def test_reads_are_retried_on_503_429_and_resets(api: respx.MockRouter, hook: RimeHook):
    route = api.get("/v1/rime-info").mock(
        side_effect=[unavailable, throttled, recorded("rime_info").response()]
    )
    assert hook.request("GET", "/v1/rime-info") == recorded("rime_info").body
    assert route.call_count == 3


def test_retries_give_up_with_the_last_error(api: respx.MockRouter, hook: RimeHook):
    route = api.get("/v1/rime-info").mock(side_effect=unavailable)
    with pytest.raises(RimeApiError) as failure:
        hook.request("GET", "/v1/rime-info")
    assert (failure.value.status, failure.value.message) == (503, "upstream unavailable")
    assert route.call_count == hook.settings.max_retries + 1


def test_a_post_is_not_retried_unless_it_is_idempotent(api: respx.MockRouter, hook: RimeHook):
    route = api.post("/v1-beta/datasets/upload-url").mock(side_effect=unavailable)
    with pytest.raises(RimeApiError):
        hook.request("POST", "/v1-beta/datasets/upload-url", json_body={"fileName": "a.csv"})
    assert route.call_count == 1
    route.side_effect = [reset, recorded("dataset_upload_url_ref").response()]
    answer = hook.request(
        "POST", "/v1-beta/datasets/upload-url", json_body={"fileName": "a.csv"}, idempotent=True
    )
    assert answer == recorded("dataset_upload_url_ref").body
    assert route.call_count == 3


def test_a_body_method_sends_an_empty_object_like_rime_sdk(api: respx.MockRouter, hook: RimeHook):
    route = api.post("/v1/jobs/cancel/j1").mock(return_value=httpx.Response(200, json={}))
    assert hook.request("POST", "/v1/jobs/cancel/j1") == {}
    assert sent(route).content == b"{}"


async def test_the_async_path_retries_alike(api: respx.MockRouter, hook: RimeHook):
    route = api.get("/v1/rime-info").mock(side_effect=[reset, unavailable, recorded("rime_info").response()])
    assert await hook.arequest("GET", "/v1/rime-info") == recorded("rime_info").body
    assert route.call_count == 3
    posted = api.post("/v1/jobs/cancel/j1").mock(side_effect=unavailable)
    with pytest.raises(RimeApiError):
        await hook.arequest("POST", "/v1/jobs/cancel/j1")
    assert posted.call_count == 1  # a POST is sent once


# ----------------------------------------------------------------------------- paging, create-once, PUT


def test_paginate_stops_when_a_token_repeats(api: respx.MockRouter, hook: RimeHook):
    page = {"items": [{"n": 1}], "nextPageToken": "same", "hasMore": True}
    route = api.get("/v1/things").mock(return_value=httpx.Response(200, json=page))
    assert list(hook.paginate("/v1/things", "items", {"filter": "x"}, page_size=5)) == [{"n": 1}, {"n": 1}]
    assert route.call_count == 2
    assert str(route.calls[1].request.url.params) == "pageToken=same&pageSize=5"


def test_a_lost_create_answer_is_found_instead_of_sent_again(api: respx.MockRouter, hook: RimeHook):
    """The POST reached RIME but its answer was lost: the second look finds the project."""
    nothing = httpx.Response(200, json={"projects": [], "hasMore": False})
    lookups = api.get("/v1/projects").mock(side_effect=[nothing, recorded("projects").response()])
    created = api.post("/v1/projects").mock(side_effect=reset)
    project_id = recorded("create_project").body["project"]["id"]["uuid"]
    assert hook.get_or_create_project("Fraud detection") == project_id
    assert (created.call_count, lookups.call_count) == (1, 2)


def test_a_failed_create_is_sent_again_after_looking(api: respx.MockRouter, hook: RimeHook):
    nothing = httpx.Response(200, json={"projects": [], "hasMore": False})
    lookups = api.get("/v1/projects").mock(return_value=nothing)
    created = api.post("/v1/projects").mock(side_effect=[unavailable, recorded("create_project").response()])
    assert (
        hook.get_or_create_project("Fraud detection")
        == recorded("create_project").body["project"]["id"]["uuid"]
    )
    assert (created.call_count, lookups.call_count) == (2, 2)


def test_a_pre_signed_put_gets_no_api_key(api: respx.MockRouter, hook: RimeHook, tmp_path):
    elsewhere = "https://storage.example.com/bucket/ref.csv?X-Signature=abc"
    route = api.put(elsewhere).mock(return_value=httpx.Response(200))
    data = tmp_path / "ref.csv"
    data.write_text("a,b\n1,2\n")
    hook._put(elsewhere, file_path=data)
    request = sent(route)
    assert "rime-api-key" not in request.headers
    assert request.content == data.read_bytes()
