"""Query helpers shared by the services."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from airflow_provider_rime.local.errors import NotFound
from airflow_provider_rime.local.store.schema import Base

Row = TypeVar("Row", bound=Base)


def get_existing(s: Session, entity: type[Row], key: str | tuple[str, ...], kind: str) -> Row:
    """The row with primary key ``key``, or ``NotFound`` naming it as a ``kind``."""
    row = s.get(entity, key)
    if row is None:
        raise NotFound.named(kind, key if isinstance(key, str) else "/".join(key))
    return row


def select_page(s: Session, stmt: Select[Any], offset: int, size: int) -> tuple[list[Any], int]:
    """One page of an ordered query, and the total number of rows it matches."""
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return list(s.scalars(stmt.offset(offset).limit(size)).all()), total


def aware(value: datetime) -> datetime:
    """A stored timestamp with its zone: SQLite keeps them without one (in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
