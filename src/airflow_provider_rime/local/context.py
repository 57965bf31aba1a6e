"""One engine process's parts, shared by the HTTP layers (API and pages) and the services."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from airflow_provider_rime.local.jobs.runner import JobRunner
from airflow_provider_rime.local.settings import EngineSettings
from airflow_provider_rime.local.signing import Signer
from airflow_provider_rime.local.store.schema import ApiKey
from airflow_provider_rime.rime_api.paging import PageTokenCodec

# Keys made with `rime-local create-api-key` while the engine runs are seen within this time.
_KEY_CACHE_SECONDS = 5.0


@dataclass
class EngineContext:
    """The settings, the store, the job runner and the signers of one engine."""

    settings: EngineSettings
    sessions: sessionmaker[Session]
    runner: JobRunner
    page_tokens: PageTokenCodec
    #: Signs the result pages' session cookies and login links.
    signer: Signer
    _stored_hashes: frozenset[str] = frozenset()
    _stored_at: float = 0.0

    def key_hashes(self) -> frozenset[str]:
        """Keys from the command line plus keys made with ``rime-local create-api-key``."""
        if time.monotonic() - self._stored_at > _KEY_CACHE_SECONDS:
            with self.sessions() as s:
                self._stored_hashes = frozenset(s.scalars(select(ApiKey.key_hash)).all())
            self._stored_at = time.monotonic()
        return self.settings.api_key_hashes | self._stored_hashes


def engine_context(request: Request) -> EngineContext:
    """The engine serving ``request`` (a FastAPI dependency)."""
    context: EngineContext = request.app.state.engine
    return context


def session(request: Request) -> Iterator[Session]:
    """A store session for one request (a FastAPI dependency); closed when the response is sent."""
    with engine_context(request).sessions() as s:
        yield s
