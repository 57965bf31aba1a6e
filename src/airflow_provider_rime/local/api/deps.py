"""What routes ask FastAPI for: the engine, a store session, the API-key check, the project a path
names, and paging."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BeforeValidator, NonNegativeInt
from sqlalchemy.orm import Session

from airflow_provider_rime.local import render
from airflow_provider_rime.local.context import EngineContext, engine_context, session
from airflow_provider_rime.local.errors import Unauthenticated
from airflow_provider_rime.local.services import projects
from airflow_provider_rime.local.settings import hash_api_key
from airflow_provider_rime.local.store.schema import Project
from airflow_provider_rime.rime_api.paging import SDK_PAGE_SIZE, PageState, PageTokenCodec, PageTokenError

API_KEY_HEADER = "rime-api-key"
#: Page size of lists whose clients send none (rime-sdk sends none for projects and registries).
DEFAULT_PAGE_SIZE = 50
#: Largest page a client may ask for.
MAX_PAGE_SIZE = 500

Engine = Annotated[EngineContext, Depends(engine_context)]
Db = Annotated[Session, Depends(session)]


def require_api_key(request: Request, engine: Engine) -> None:
    """Every API route: the ``rime-api-key`` header must hold a key this engine knows."""
    key = request.headers.get(API_KEY_HEADER)
    if not key:
        raise Unauthenticated(f"missing API key: send it in the '{API_KEY_HEADER}' header")
    digest = hash_api_key(key)
    if not any(hmac.compare_digest(digest, h) for h in engine.key_hashes()):
        raise Unauthenticated("the API key is not valid for this server")


def existing_project(project_id: str, s: Db) -> Project:
    """The project named by the path's ``{project_id}``; 404 when there is none."""
    return projects.get_project(s, project_id)


ExistingProject = Annotated[Project, Depends(existing_project)]


@dataclass(frozen=True)
class Pager:
    """One request of a paged list call.

    The first request carries the filters; later ones only the ``pageToken`` of the page before,
    which holds the filters and the offset, signed and bound to this list's path.
    """

    codec: PageTokenCodec
    route: str
    token: str | None
    size: int

    def start(self, first_page: dict[str, Any]) -> PageState:
        """Where this page starts and its filters (``first_page`` unless a token is given)."""
        if not self.token:
            return PageState(offset=0, query=first_page)
        state = self.codec.decode(self.route, self.token)
        if not _same_filters(state.query, first_page):
            raise PageTokenError("pageToken does not hold this list's filters; leave it out to start again")
        return state

    def page(self, key: str, items: list[Any], state: PageState, total: int) -> dict[str, Any]:
        """The response: the items, and a token for the next page if there is one."""
        after = PageTokenCodec.next_state(state.offset, self.size, total, state.query)
        return render.page(key, items, self.codec.encode(self.route, after) if after else None)


def _same_filters(query: dict[str, Any], first_page: dict[str, Any]) -> bool:
    """Whether a token's filters have the shape of this list's: the same keys, strings or lists of them."""
    if set(query) != set(first_page):
        return False
    for key, expected in first_page.items():
        value = query[key]
        if isinstance(expected, list):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return False
        elif value is not None and not isinstance(value, str):
            return False
    return True


def _blank_is_unset(value: Any) -> Any:
    return None if value == "" else value


def _pager(default_size: int) -> Callable[..., Pager]:
    def pager(
        request: Request,
        engine: Engine,
        page_token: Annotated[str | None, Query(alias="pageToken", max_length=4096)] = None,
        page_size: Annotated[
            NonNegativeInt | None, BeforeValidator(_blank_is_unset), Query(alias="pageSize")
        ] = None,
    ) -> Pager:
        size = min(page_size or default_size, MAX_PAGE_SIZE)
        return Pager(engine.page_tokens, request.url.path, page_token or None, size)

    return pager


#: A list whose default page is ``DEFAULT_PAGE_SIZE`` items.
Paged = Annotated[Pager, Depends(_pager(DEFAULT_PAGE_SIZE))]
#: A list rime-sdk pages by 20 (test cases, summary tests, batch results, jobs).
PagedBySdk = Annotated[Pager, Depends(_pager(SDK_PAGE_SIZE))]
