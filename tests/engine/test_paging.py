"""Page tokens: signed by the engine, bound to one list, kept valid across a restart, and any token
the engine did not issue for this list is a 400 that says so."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from airflow_provider_rime.rime_api.paging import PageState, PageTokenCodec
from tests.conftest import start_engine
from tests.engine.flow import assert_rime_error, create_project, ok

SECRET_FILE = "page-token.secret"


@pytest.fixture(scope="module")
def projects(api):
    return [create_project(api, f"paging-{i}") for i in range(3)]


@pytest.fixture(scope="module")
def codec(rime_engine):
    """The engine's own signer: tests forge tokens only to show what the engine refuses."""
    return PageTokenCodec((rime_engine.data_dir / SECRET_FILE).read_bytes())


def first_token(api, path: str, **params) -> str:
    body = ok(api.get(path, params={"pageSize": 1, **params}))
    assert body["hasMore"], body
    return body["nextPageToken"]


def test_the_secret_is_private_to_its_owner(rime_engine):
    mode = (rime_engine.data_dir / SECRET_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_a_token_from_another_list_is_refused(api, projects):
    token = first_token(api, "/v1/projects")
    assert_rime_error(
        api.get(f"/v1/registry/{projects[0]}/dataset", params={"pageToken": token}), 400, "does not belong"
    )
    assert_rime_error(api.get("/v1/test-runs", params={"pageToken": token}), 400, "does not belong")


def test_a_token_of_one_projects_list_does_not_page_another(api, projects):
    for name in ("a", "b"):
        ok(api.post(f"/v1/registry/{projects[0]}/model", json={"name": name}))
    token = first_token(api, f"/v1/registry/{projects[0]}/model")
    assert_rime_error(api.get(f"/v1/registry/{projects[1]}/model", params={"pageToken": token}), 400)
    rest = ok(api.get(f"/v1/registry/{projects[0]}/model", params={"pageToken": token, "pageSize": 1}))
    assert [m["model"]["name"] for m in rest["models"]] == ["b"]


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "x" + t,
        lambda t: t.split(".")[0],
        lambda t: t + "é",
        lambda t: "é.é",
        lambda t: "not a token",
    ],
    ids=["signature", "payload", "unsigned", "non-ascii", "only-non-ascii", "garbage"],
)
def test_an_edited_token_is_refused(api, projects, edit):
    token = first_token(api, "/v1/projects")
    response = api.get("/v1/projects", params={"pageToken": edit(token)})
    assert_rime_error(response, 400, "pageToken")


def _signed(codec: PageTokenCodec, route: str, payload: object) -> str:
    raw = json.dumps(payload).encode()
    return f"{base64.urlsafe_b64encode(raw).decode().rstrip('=')}.{codec._sign(route, raw)}"


@pytest.mark.parametrize(
    "payload",
    [
        {"o": 2**80, "q": {"name": None}},
        {"o": -1, "q": {"name": None}},
        {"o": "1", "q": {"name": None}},
        {"o": 0, "q": {"name": ["a", "list"]}},
        {"o": 0, "q": {"name": {"an": "object"}}},
        {"o": 0, "q": {"other": None}},
        {"o": 0, "q": ["not", "an", "object"]},
        ["not", "an", "object"],
    ],
    ids=[
        "huge-offset",
        "negative-offset",
        "string-offset",
        "list-filter",
        "object-filter",
        "other-keys",
        "list-query",
        "list",
    ],
)
def test_a_signed_token_with_a_shape_the_engine_never_issues_is_a_400(api, projects, codec, payload):
    token = _signed(codec, "/v1/projects", payload)
    assert_rime_error(api.get("/v1/projects", params={"pageToken": token}), 400, "pageToken")


def test_the_largest_offset_a_token_may_carry_is_an_empty_page(api, projects, codec):
    token = codec.encode("/v1/projects", PageState(offset=2**62, query={"name": None}))
    body = ok(api.get("/v1/projects", params={"pageToken": token}))
    assert body == {"projects": [], "nextPageToken": "", "hasMore": False}


def test_page_size_is_checked(api, projects):
    assert ok(api.get("/v1/projects", params={"pageSize": ""}))["projects"]
    assert_rime_error(api.get("/v1/projects", params={"pageSize": -1}), 400, "pageSize")
    assert_rime_error(api.get("/v1/projects", params={"pageSize": "ten"}), 400, "pageSize", "'ten'")


def test_filters_travel_in_the_token(api, projects):
    params = {"firstPageQuery.search.expression": "paging-", "pageSize": 2}
    first = ok(api.get("/v1/projects", params=params))
    # The second request carries only the token; the filter still applies.
    second = ok(api.get("/v1/projects", params={"pageToken": first["nextPageToken"], "pageSize": 2}))
    names = [p["project"]["name"] for p in first["projects"] + second["projects"]]
    assert sorted(names) == ["paging-0", "paging-1", "paging-2"]


def test_a_token_still_works_after_a_restart(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("paging-restart")
    engine = start_engine(data_dir)
    try:
        with engine.client() as api:
            for i in range(3):
                create_project(api, f"restart-{i}")
            token = first_token(api, "/v1/projects")
    finally:
        engine.stop()
    again = start_engine(data_dir)
    try:
        with again.client() as api:
            rest = ok(api.get("/v1/projects", params={"pageToken": token, "pageSize": 5}))
            assert [p["project"]["name"] for p in rest["projects"]] == ["restart-1", "restart-2"]
    finally:
        again.stop()
