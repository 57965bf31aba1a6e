"""The catalogue: every test registered once, by key, with its category and defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_rime.local.catalogue.types import Category, TestFunction, TestSpec

CATALOGUE: dict[str, TestSpec] = {}

# What a stress test runs when the config names no categories (rime-tests.md).
DEFAULT_STRESS_CATEGORIES: frozenset[Category] = frozenset(
    {Category.MODEL_PERFORMANCE, Category.SUBSET_PERFORMANCE}
)


def register(
    key: str,
    *,
    name: str,
    category: Category,
    description: str,
    defaults: Mapping[str, Any] | None = None,
    needs_labels: bool = False,
    needs_preds: bool = False,
    enabled_by_default: bool = True,
) -> Callable[[TestFunction], TestFunction]:
    """Decorator adding a pure test function to the catalogue under ``key``."""

    def wrap(func: TestFunction) -> TestFunction:
        if key in CATALOGUE:
            raise ValueError(f"test key {key!r} is registered twice")
        CATALOGUE[key] = TestSpec(
            key=key,
            name=name,
            category=category,
            description=description,
            func=func,
            defaults=dict(defaults or {}),
            needs_labels=needs_labels,
            needs_preds=needs_preds,
            enabled_by_default=enabled_by_default,
        )
        return func

    return wrap
