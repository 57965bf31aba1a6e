"""Choosing which tests a run executes, and executing them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_rime.local.catalogue.registry import CATALOGUE, DEFAULT_STRESS_CATEGORIES
from airflow_provider_rime.local.catalogue.types import StressInputs, SuiteConfig, TestBatch, TestSpec

# Keys every test accepts in individual_tests_config besides its own defaults.
COMMON_TEST_KEYS = frozenset({"enabled"})


@dataclass(frozen=True)
class PlannedTest:
    spec: TestSpec
    config: dict[str, Any]


def validate_suite_config(config: SuiteConfig) -> None:
    """Reject unknown tests and unknown parameters in ``individual_tests_config`` up front."""
    for key, params in config.individual_tests_config.items():
        spec = CATALOGUE.get(key)
        if spec is None:
            known = ", ".join(sorted(CATALOGUE))
            raise ValueError(
                f"test_suite_config.individual_tests_config: unknown test {key!r}; known tests are: {known}"
            )
        if not isinstance(params, dict):
            raise ValueError(
                f"test_suite_config.individual_tests_config.{key} must be an object, "
                f"got {type(params).__name__}"
            )
        unknown = set(params) - set(spec.defaults) - COMMON_TEST_KEYS
        if unknown:
            allowed = ", ".join(sorted(set(spec.defaults) | COMMON_TEST_KEYS))
            raise ValueError(
                f"test_suite_config.individual_tests_config.{key}: unknown parameter(s) "
                f"{', '.join(sorted(unknown))}; this test accepts: {allowed}"
            )


def plan_tests(config: SuiteConfig, *, has_labels: bool, has_preds: bool) -> list[PlannedTest]:
    """The tests this run executes, in catalogue order."""
    categories = config.categories if config.categories is not None else DEFAULT_STRESS_CATEGORIES
    planned = []
    for spec in CATALOGUE.values():
        if spec.category not in categories:
            continue
        params = config.for_test(spec.key, spec.defaults)
        enabled = params.pop("enabled", spec.enabled_by_default)
        if not enabled:
            continue
        if (spec.needs_labels and not has_labels) or (spec.needs_preds and not has_preds):
            continue
        planned.append(PlannedTest(spec, params))
    return planned


def run_tests(
    inputs: StressInputs,
    planned: list[PlannedTest],
    on_batch_done: Callable[[PlannedTest, TestBatch | None], None] | None = None,
) -> list[TestBatch]:
    """Run each planned test; a test that does not apply to the data returns None and is left out."""
    batches = []
    for test in planned:
        started = time.perf_counter()
        batch = test.spec.func(inputs, test.config)
        if batch is not None:
            batch.duration_ms = int((time.perf_counter() - started) * 1000)
            batches.append(batch)
        if on_batch_done is not None:
            on_batch_done(test, batch)
    return batches
