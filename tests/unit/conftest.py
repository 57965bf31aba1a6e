"""Fixtures of the unit tests: RIME's recorded answers served by respx; no engine, no network.

The answers in ``responses/`` were recorded from the real local engine by
``record_responses.py``; each file also holds the request that got it. A test serves the
answers it needs, calls the hook (or an operator, sensor, trigger) and checks the request
the code sent and what it made of the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from airflow_provider_rime.hooks.rime import RimeHook

RESPONSES = Path(__file__).resolve().parent / "responses"
DATA = Path(__file__).resolve().parent / "data"
#: Where the recordings say the engine was; the unit connection points there (respx answers).
BASE_URL = "http://127.0.0.1:8642"
API_KEY = "unit-test-key-0123"
CONN_ID = "rime_unit"


@dataclass(frozen=True)
class Recorded:
    """One recorded exchange: the request the recorder sent and the engine's answer."""

    method: str
    path: str
    params: dict[str, Any] | None
    json: Any
    status: int
    body: Any

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, json=self.body)


def recorded(name: str) -> Recorded:
    """The recording ``responses/<name>.json``."""
    data = json.loads((RESPONSES / f"{name}.json").read_text())
    request = data["request"]
    return Recorded(
        request["method"], request["path"], request["params"], request["json"], data["status"], data["body"]
    )


def serve(router: respx.MockRouter, *names: str) -> dict[str, respx.Route]:
    """
    Answer each recorded request (method, path and its query parameters) with its recorded answer.

    Routes are matched in the order given; the query must contain the recorded parameters.
    """
    routes = {}
    for name in names:
        rec = recorded(name)
        lookups: dict[str, Any] = {"method": rec.method, "path": rec.path}
        if rec.params:
            lookups["params"] = rec.params
        routes[name] = router.route(**lookups).mock(return_value=rec.response())
    return routes


def sent(route: respx.Route) -> httpx.Request:
    """The one request a route received."""
    assert route.call_count == 1, f"{route.call_count} calls"
    return route.calls.last.request


def query_of(request: httpx.Request) -> dict[str, list[str]]:
    """The request's query string as ``{name: [values]}``."""
    return parse_qs(request.url.query.decode(), keep_blank_values=True)


def body_of(request: httpx.Request) -> Any:
    """The request's JSON body."""
    return json.loads(request.content)


def as_query(params: dict[str, Any] | None) -> dict[str, list[str]]:
    """Recorded parameters in :func:`query_of`'s form."""
    return {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in (params or {}).items()}


def assert_sent_as_recorded(route: respx.Route, name: str) -> httpx.Request:
    """The code sent exactly the recorded request: method, path, query and JSON body."""
    request, rec = sent(route), recorded(name)
    assert (request.method, request.url.path) == (rec.method, rec.path)
    assert query_of(request) == as_query(rec.params)
    if rec.json is not None:
        assert body_of(request) == rec.json
    return request


@pytest.fixture
def rime_conn(monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow connection of type ``rime`` (from the environment) pointing at ``BASE_URL``."""
    connection = {"conn_type": "rime", "host": BASE_URL, "password": API_KEY, "extra": {"max_retries": 2}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    return CONN_ID


@pytest.fixture
def api(rime_conn: str) -> Iterator[respx.MockRouter]:
    """respx in front of ``BASE_URL``: every request must match a route, every route must be used."""
    with respx.mock(base_url=BASE_URL, assert_all_called=True, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def hook(rime_conn: str) -> Iterator[RimeHook]:
    """A hook on the unit connection that retries without waiting."""
    with RimeHook(rime_conn, retry_min_wait=0, retry_max_wait=0) as rime_hook:
        yield rime_hook
