"""What every route needs: the engine's context and the API-key check."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_rime.local.errors import ApiError
from airflow_provider_rime.local.jobs.runner import JobRunner
from airflow_provider_rime.local.settings import EngineSettings, hash_api_key
from airflow_provider_rime.local.store.schema import ApiKey

API_KEY_HEADER = "rime-api-key"
_KEY_CACHE_SECONDS = 5.0


@dataclass
class EngineContext:
    settings: EngineSettings
    sessions: sessionmaker[Session]
    runner: JobRunner
    _stored_hashes: frozenset[str] = frozenset()
    _stored_at: float = field(default=0.0)

    def key_hashes(self) -> frozenset[str]:
        """Keys from the command line plus keys made with ``rime-local create-api-key``."""
        if time.monotonic() - self._stored_at > _KEY_CACHE_SECONDS:
            with self.sessions() as s:
                self._stored_hashes = frozenset(s.scalars(select(ApiKey.key_hash)).all())
            self._stored_at = time.monotonic()
        return self.settings.api_key_hashes | self._stored_hashes


def ctx(request: Request) -> EngineContext:
    context: EngineContext = request.app.state.ctx
    return context


def session(request: Request) -> Iterator[Session]:
    with ctx(request).sessions() as s:
        yield s


def require_api_key(request: Request) -> None:
    key = request.headers.get(API_KEY_HEADER)
    if not key:
        raise ApiError(401, f"missing API key: send it in the '{API_KEY_HEADER}' header")
    digest = hash_api_key(key)
    if not any(hmac.compare_digest(digest, h) for h in ctx(request).key_hashes()):
        raise ApiError(401, "the API key is not valid for this server")


def select_page(s: Session, stmt: Select[Any], offset: int, size: int) -> tuple[list[Any], int]:
    """One page of an ordered query, and the total number of rows it matches."""
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return list(s.scalars(stmt.offset(offset).limit(size)).all()), total
