"""Query helpers shared by the services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def select_page(s: Session, stmt: Select[Any], offset: int, size: int) -> tuple[list[Any], int]:
    """One page of an ordered query, and the total number of rows it matches."""
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return list(s.scalars(stmt.offset(offset).limit(size)).all()), total
