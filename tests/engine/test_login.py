"""The result pages are behind a login: an API key in a form, or a short-lived link the CLI prints."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import quote

import httpx
import pytest

from tests.engine.flow import logged_in_client, ok

PROJECT = "behind-a-login"


@pytest.fixture
def passer_by(rime_engine):
    """A browser without a session."""
    with httpx.Client(base_url=rime_engine.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/projects/{project_id}", "/projects/{project_id}/test-runs/x"])
def test_pages_need_a_login(passer_by, project_id, path):
    page = path.format(project_id=project_id)
    response = passer_by.get(page)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={quote(page, safe='')}"
    assert PROJECT not in response.text and project_id not in response.text.replace(quote(page, safe=""), "")


def test_health_needs_no_login(passer_by):
    assert passer_by.get("/healthz").json()["status"] == "ok"


def test_a_wrong_key_is_refused_and_sets_no_cookie(passer_by):
    response = passer_by.post("/login", data={"api_key": "not-a-key", "next": "/"})
    assert response.status_code == 401 and "not valid" in response.text
    assert "set-cookie" not in response.headers
    assert "not-a-key" not in response.text


def test_logging_in_sets_a_signed_httponly_samesite_cookie(rime_engine, passer_by, project_id):
    url = ok(
        httpx.get(
            f"{rime_engine.url}/v1/projects/{project_id}/url", headers={"rime-api-key": rime_engine.api_key}
        )
    )["url"]["url"]
    path = url.removeprefix(rime_engine.url)
    response = passer_by.post("/login", data={"api_key": rime_engine.api_key, "next": path})
    assert response.status_code == 303 and response.headers["location"] == path
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert rime_engine.api_key not in cookie
    # The link the API returned now shows the page.
    page = passer_by.get(url)
    assert page.status_code == 200 and PROJECT in page.text
    assert rime_engine.api_key not in page.text


def test_an_edited_cookie_is_no_session(rime_engine, project_id):
    with logged_in_client(rime_engine) as client:
        token = client.cookies["rime_local_session"]
        body, _, mac = token.partition(".")
        client.cookies.clear()
        client.cookies.set("rime_local_session", body + "." + mac[::-1])
        response = client.get("/", follow_redirects=False)
    assert response.status_code == 303


def test_next_never_leaves_the_engine(rime_engine, passer_by):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = passer_by.post("/login", data={"api_key": rime_engine.api_key, "next": target})
        assert response.headers["location"] == "/"


def test_logout_ends_the_session(rime_engine):
    with logged_in_client(rime_engine) as client:
        assert client.get("/").status_code == 200
        client.post("/logout")
        response = client.get("/", follow_redirects=False)
    assert response.status_code == 303


def test_the_cli_prints_a_login_link_that_works_once_signed(rime_engine, passer_by):
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_rime.local.cli",
            "login-link",
            "--data-dir",
            str(rime_engine.data_dir),
            "--url",
            rime_engine.url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert printed.startswith(f"{rime_engine.url}/login/link?token=")
    response = passer_by.get(printed.removeprefix(rime_engine.url))
    assert response.status_code == 303 and "rime_local_session" in response.headers["set-cookie"]
    assert passer_by.get("/").status_code == 200
    # An edited or expired link logs nobody in.
    with httpx.Client(base_url=rime_engine.url, timeout=30) as other:
        assert other.get(printed.removeprefix(rime_engine.url) + "x").status_code == 401
        from airflow_provider_rime.local.settings import page_token_secret
        from airflow_provider_rime.local.signing import Signer
        from airflow_provider_rime.local.web.login import login_link

        signer = Signer(page_token_secret(rime_engine.data_dir / "session.secret"))
        expired = login_link(rime_engine.url, signer, seconds=-1)
        assert other.get(expired.removeprefix(rime_engine.url)).status_code == 401
        assert other.get("/", follow_redirects=False).status_code == 303
