"""RIME's tabular test catalogue, as pure functions.

Add a test by writing a function ``(StressInputs, config) -> TestBatch | None`` in the
module of its category and decorating it with :func:`register`.
"""

from __future__ import annotations

import importlib

from airflow_provider_rime.local.catalogue.registry import CATALOGUE, DEFAULT_STRESS_CATEGORIES, register
from airflow_provider_rime.local.catalogue.runner import plan_tests, run_tests

# One module per category; importing a module registers its tests.
_CATEGORY_MODULES = (
    "model_performance",
    "subset_performance",
    "drift",
    "abnormal_inputs",
    "data_cleanliness",
)

for _module in _CATEGORY_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["CATALOGUE", "DEFAULT_STRESS_CATEGORIES", "plan_tests", "register", "run_tests"]
