"""The result pages' login: an API key typed into a small form, or a short-lived signed link.

A browser cannot send the ``rime-api-key`` header, so a person logs in once: with an API key
the engine knows (``POST /login``), or by following a login link that ``rime-local login-link``
prints (signed with a key in the data directory, valid for minutes). Either way the engine sets
a session cookie: signed, ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (sent when a
person follows a link from Airflow or MLflow to a result page, never with another site's
requests that change things) and ``Secure`` when the engine's public URL is https. A session
made with a key ends when that key is no longer accepted. ``/healthz`` needs no login.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from airflow_provider_rime.local.context import EngineContext, engine_context
from airflow_provider_rime.local.settings import hash_api_key
from airflow_provider_rime.local.signing import Signer

router = APIRouter(include_in_schema=False)

COOKIE = "rime_local_session"
#: How long a login lasts.
SESSION_SECONDS = 12 * 3600
#: How long a printed login link works.
LINK_SECONDS = 15 * 60
_LINK_SUBJECT = "login-link"


def login_link(base_url: str, signer: Signer, seconds: float = LINK_SECONDS) -> str:
    """A link that logs a browser in once, for ``seconds`` (what ``rime-local login-link`` prints)."""
    return f"{base_url.rstrip('/')}/login/link?token={quote(signer.sign('link', _LINK_SUBJECT, seconds))}"


class LoginRequired(Exception):
    """A page was asked for without a session: the app answers with a redirect to the login page."""


def require_login(request: Request) -> None:
    """Every result page (a FastAPI dependency): a valid session cookie, or off to the login page."""
    if not logged_in(request, engine_context(request)):
        raise LoginRequired()


def logged_in(request: Request, engine: EngineContext) -> bool:
    """Whether the request carries a valid session cookie (whose key, if any, is still accepted)."""
    subject = engine.signer.subject("session", request.cookies.get(COOKIE))
    if subject is None:
        return False
    if subject == _LINK_SUBJECT:
        return True
    return any(hmac.compare_digest(subject, h[:32]) for h in engine.key_hashes())


def _safe_next(value: str | None) -> str:
    """Where to go after login: a path on this server only (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def login_redirect(request: Request) -> RedirectResponse:
    """Send a browser without a session to the login page, to come back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _with_session(engine: EngineContext, response: Response, subject: str) -> Response:
    response.set_cookie(
        COOKIE,
        engine.signer.sign("session", subject, SESSION_SECONDS),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=engine.settings.base_url.startswith("https://"),
        path="/",
    )
    return response


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rime-local: log in</title>
<style>body{{font-family:system-ui,sans-serif;margin:4rem auto;max-width:28rem;padding:0 1rem;color:#1d2330}}
input{{width:100%;padding:.4rem;margin:.4rem 0 1rem;box-sizing:border-box}}.err{{color:#a61b1b}}</style>
</head><body><h1>rime-local</h1>
<p>Log in with an API key of this engine to see its projects and test runs.</p>
{error}<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>API key <input type="password" name="api_key" autocomplete="current-password" autofocus></label>
<button type="submit">Log in</button></form>
<p style="color:#6b7385">Or run <code>rime-local login-link --data-dir DIR</code> on the engine's machine
and open the link it prints.</p></body></html>"""


def _page(next_path: str, error: str = "", status: int = 200) -> HTMLResponse:
    from html import escape

    shown = f'<p class="err">{escape(error)}</p>' if error else ""
    body = _PAGE.format(error=shown, next=escape(next_path, quote=True))
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/login", response_class=HTMLResponse)
def login_page(next: str | None = None) -> HTMLResponse:
    return _page(_safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    engine = engine_context(request)
    raw = await request.body()
    form: dict[str, Any] = parse_qs(raw[:8192].decode(errors="replace")) if raw else {}
    key = (form.get("api_key") or [""])[0]
    next_path = _safe_next((form.get("next") or ["/"])[0])
    digest = hash_api_key(key) if key else ""
    if not key or not any(hmac.compare_digest(digest, h) for h in engine.key_hashes()):
        return _page(next_path, "That API key is not valid for this engine.", status=401)
    return _with_session(engine, RedirectResponse(next_path, status_code=303), digest[:32])


@router.get("/login/link")
def login_with_link(request: Request, token: str = "") -> Response:
    engine = engine_context(request)
    if engine.signer.subject("link", token) != _LINK_SUBJECT:
        return _page("/", "This login link is not valid or has expired; print a new one.", status=401)
    return _with_session(engine, RedirectResponse("/", status_code=303), _LINK_SUBJECT)


@router.api_route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response
