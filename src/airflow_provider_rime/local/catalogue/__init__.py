"""RIME's tabular test catalogue, as pure functions.

Add a test by writing a function ``(StressInputs, params) -> Findings | None`` in the module
of its category, a frozen dataclass of its parameters (``catalogue.params``), and decorating
the function with the module's ``register = Registrar(CATEGORY)``, which takes the test's key,
name and parameters class once; the first paragraph of the function's docstring is the test's
description.
"""

from __future__ import annotations

import importlib

from airflow_provider_rime.local.catalogue.registry import CATALOGUE
from airflow_provider_rime.local.catalogue.registry import Registrar
from airflow_provider_rime.local.catalogue.registry import default_stress_categories
from airflow_provider_rime.local.catalogue.registry import model_categories
from airflow_provider_rime.local.catalogue.registry import runnable_categories
from airflow_provider_rime.local.catalogue.runner import PlannedTest
from airflow_provider_rime.local.catalogue.runner import plan_tests
from airflow_provider_rime.local.catalogue.runner import run_tests
from airflow_provider_rime.local.catalogue.runner import validate_suite_config

# One module per category; importing a module registers its tests.
_CATEGORY_MODULES = (
    "model_performance",
    "subset_performance",
    "drift",
    "abnormal_inputs",
    "data_cleanliness",
    "transformations",
    "attacks",
    "bias_fairness",
)

for _module in _CATEGORY_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "CATALOGUE",
    "PlannedTest",
    "Registrar",
    "default_stress_categories",
    "model_categories",
    "plan_tests",
    "run_tests",
    "runnable_categories",
    "validate_suite_config",
]
