"""The catalogue: every test registered once, by key, with its name, category and parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_rime.local.catalogue.types import P
from airflow_provider_rime.local.catalogue.types import TestFunction
from airflow_provider_rime.local.catalogue.types import TestSpec
from airflow_provider_rime.rime_api.enums import STRESS_TEST_DEFAULT_CATEGORIES
from airflow_provider_rime.rime_api.enums import TestCategory

CATALOGUE: dict[str, TestSpec[Any]] = {}


def register(
    key: str,
    *,
    name: str,
    category: TestCategory,
    description: str | Callable[[P], str],
    params: type[P],
    needs_labels: bool = False,
    needs_preds: bool = False,
    needs_model: bool = False,
    enabled_by_default: bool = True,
) -> Callable[[TestFunction[P]], TestFunction[P]]:
    """Decorator adding a pure test function to the catalogue under ``key``.

    ``key``, ``name``, ``category`` and ``description`` are said here only: the runner puts
    them on the function's results. ``params`` is the class of the test's parameters, with
    RIME's config keys and defaults (see ``catalogue.params``).
    """

    def wrap(func: TestFunction[P]) -> TestFunction[P]:
        if key in CATALOGUE:
            raise ValueError(f"test key {key!r} is registered twice")
        CATALOGUE[key] = TestSpec(
            key=key,
            name=name,
            category=category,
            description=description,
            func=func,
            params=params,
            needs_labels=needs_labels,
            needs_preds=needs_preds,
            needs_model=needs_model,
            enabled_by_default=enabled_by_default,
        )
        return func

    return wrap


def model_categories() -> frozenset[TestCategory]:
    """The categories whose every test calls the model."""
    by_category: dict[TestCategory, bool] = {}
    for spec in CATALOGUE.values():
        by_category[spec.category] = by_category.get(spec.category, True) and spec.needs_model
    return frozenset(c for c, all_model in by_category.items() if all_model)


def runnable_categories() -> frozenset[TestCategory]:
    """The categories the catalogue has tests for."""
    return frozenset(spec.category for spec in CATALOGUE.values())


def default_stress_categories() -> frozenset[TestCategory]:
    """What a stress test runs when its config names no categories.

    RIME's default (Model Performance, Subset Performance, Transformations, Attacks),
    restricted to the categories this catalogue has tests for. Transformations and Attacks
    call the model: a run whose model has no model file (or an engine with model execution
    turned off) leaves them out (``plan_tests``).
    """
    runnable = runnable_categories()
    return frozenset(c for c in STRESS_TEST_DEFAULT_CATEGORIES if c in runnable)
