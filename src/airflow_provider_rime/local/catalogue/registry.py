"""The catalogue: every test registered once, by key, with its name, category and parameters."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import TypedDict

from airflow_provider_rime.local.catalogue.types import P
from airflow_provider_rime.local.catalogue.types import TestFunction
from airflow_provider_rime.local.catalogue.types import TestSpec
from airflow_provider_rime.rime_api.enums import STRESS_TEST_DEFAULT_CATEGORIES
from airflow_provider_rime.rime_api.enums import TestCategory

if TYPE_CHECKING:
    from typing_extensions import Unpack

CATALOGUE: dict[str, TestSpec[Any]] = {}


class SpecFlags(TypedDict, total=False):
    """What a test needs and whether it runs by default; unsaid, ``TestSpec``'s defaults
    (needs no labels, predictions or model; enabled)."""

    needs_labels: bool
    needs_preds: bool
    needs_model: bool
    enabled_by_default: bool


@dataclass(frozen=True)
class Registrar:
    """Adds one category's tests to the catalogue: each category module has one,
    ``register = Registrar(CATEGORY)``, and decorates its test functions with it."""

    category: TestCategory

    def __call__(
        self,
        key: str,
        name: str,
        params: type[P],
        *,
        description: str | Callable[[P], str] | None = None,
        **flags: Unpack[SpecFlags],
    ) -> Callable[[TestFunction[P]], TestFunction[P]]:
        """Decorator adding a pure test function to the catalogue under ``key``.

        ``key``, ``name`` and the description are said here only: the runner puts them on the
        function's results. The description is the first paragraph of the function's
        docstring, unless ``description`` gives it (a text, or a function of the parameters
        for a test whose description names a chosen method). ``params`` is the class of the
        test's parameters, with RIME's config keys and defaults (see ``catalogue.params``);
        ``flags``, what the test needs and whether it runs by default (``SpecFlags``).
        """

        def wrap(func: TestFunction[P]) -> TestFunction[P]:
            if key in CATALOGUE:
                raise ValueError(f"test key {key!r} is registered twice")
            CATALOGUE[key] = TestSpec(
                key=key,
                name=name,
                category=self.category,
                description=_summary(key, name, func) if description is None else description,
                func=func,
                params=params,
                **flags,
            )
            return func

        return wrap


def _summary(key: str, name: str, func: Callable[..., object]) -> str:
    """The first paragraph of ``func``'s docstring, on one line.

    Python run with ``-OO`` (``PYTHONOPTIMIZE=2``) drops docstrings: the test's name stands in
    for its description there, rather than the engine refusing to start.
    """
    doc = inspect.getdoc(func)
    if not doc and sys.flags.optimize >= 2:
        return f"{name}."
    if not doc:
        raise ValueError(
            f"test {key!r} has no description: give its function a docstring (kept unless Python "
            "runs with -OO) or pass description="
        )
    return " ".join(doc.split("\n\n", 1)[0].split())


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
