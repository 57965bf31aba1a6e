"""Choosing which tests a run executes, with their typed parameters, and executing them."""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_rime.local.catalogue.params import TestParams
from airflow_provider_rime.local.catalogue.registry import CATALOGUE
from airflow_provider_rime.local.catalogue.registry import default_stress_categories
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.local.catalogue.types import SuiteConfig
from airflow_provider_rime.local.catalogue.types import TestBatch
from airflow_provider_rime.local.catalogue.types import TestSpec
from airflow_provider_rime.rime_api.enums import TestCategory

_WHERE = "test_suite_config.individual_tests_config"


@dataclass(frozen=True)
class PlannedTest:
    """A test of the run with its parameters."""

    spec: TestSpec[Any]
    params: TestParams

    def run(self, inputs: StressInputs) -> TestBatch | None:
        """The test's batch on ``inputs`` (None: the test does not apply to them)."""
        findings = self.spec.func(inputs, self.params)
        if findings is None:
            return None
        return TestBatch(
            test_type=self.spec.key,
            name=self.spec.name,
            description=self.spec.describe(self.params),
            category=self.spec.category,
            cases=findings.cases,
            metrics=findings.metrics,
        )


def _params(spec: TestSpec[Any], config: Mapping[str, Any] | None) -> TestParams:
    try:
        return spec.params.parse(config or {})
    except ValueError as exc:
        raise ValueError(f"{_WHERE}.{spec.key}: {exc}") from None


def validate_suite_config(config: SuiteConfig) -> dict[str, TestParams]:
    """Check ``individual_tests_config`` before the run starts; the typed parameters of each test in it.

    Raises
    ------
    ValueError
        An unknown test, an unknown parameter, or a value of the wrong type or out of range;
        the message names the test and the parameter.
    """
    checked = {}
    for key, params in config.individual_tests_config.items():
        spec = CATALOGUE.get(key)
        if spec is None:
            known = ", ".join(sorted(CATALOGUE))
            raise ValueError(f"{_WHERE}: unknown test {key!r}; known tests are: {known}")
        if not isinstance(params, dict):
            raise ValueError(f"{_WHERE}.{key} must be an object, got {type(params).__name__}")
        checked[key] = _params(spec, params)
    return checked


def plan_tests(
    config: SuiteConfig,
    *,
    has_labels: bool,
    has_preds: bool,
    has_model: bool = False,
    has_protected: bool = False,
) -> list[PlannedTest]:
    """The tests this run executes, in catalogue order, with their typed parameters.

    A test that needs labels, predictions, the model or protected features the run does not
    have is left out.
    """
    categories = config.categories if config.categories is not None else default_stress_categories()
    planned = []
    for spec in CATALOGUE.values():
        if spec.category not in categories:
            continue
        params = _params(spec, config.individual_tests_config.get(spec.key))
        if not spec.is_enabled(params):
            continue
        if (spec.needs_labels and not has_labels) or (spec.needs_preds and not has_preds):
            continue
        if spec.needs_model and not has_model:
            continue
        if spec.category is TestCategory.BIAS_AND_FAIRNESS and not has_protected:
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
        batch = test.run(inputs)
        if batch is not None:
            batch.duration_ms = int((time.perf_counter() - started) * 1000)
            batches.append(batch)
        if on_batch_done is not None:
            on_batch_done(test, batch)
    return batches
