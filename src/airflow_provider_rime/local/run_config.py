"""The stress-test run config (``testRunConfig``), parsed and checked before anything is stored."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_rime.local.api.wire import field as get
from airflow_provider_rime.local.api.wire import uuid_of
from airflow_provider_rime.local.errors import bad_request


@dataclass(frozen=True)
class StressTestConfig:
    run_name: str
    ref_dataset_id: str
    eval_dataset_id: str
    model_id: str
    categories: list[str] | None
    sensitivity: str | None
    individual_tests_config: dict[str, Any]
    exclude_columns: list[str]
    random_seed: int
    raw: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        return {
            "run_name": self.run_name,
            "ref_dataset_id": self.ref_dataset_id,
            "eval_dataset_id": self.eval_dataset_id,
            "model_id": self.model_id,
            "categories": self.categories,
            "sensitivity": self.sensitivity,
            "individual_tests_config": self.individual_tests_config,
            "exclude_columns": self.exclude_columns,
            "random_seed": self.random_seed,
        }


def _json_object(value: Any, where: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise bad_request(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be an object, got {type(value).__name__}")
    return value


def parse_stress_test_config(cfg: Any) -> StressTestConfig:
    """Parse ``testRunConfig`` (snake_case as rime-sdk sends it, or camelCase)."""
    from airflow_provider_rime.local.catalogue.runner import validate_suite_config
    from airflow_provider_rime.local.catalogue.types import SuiteConfig, parse_sensitivity
    from airflow_provider_rime.rime_api.enums import TestCategory

    if not isinstance(cfg, dict) or not cfg:
        raise bad_request("testRunConfig is required and must be an object")
    run_name = get(cfg, "runName")
    if not isinstance(run_name, str) or not run_name.strip():
        raise bad_request("testRunConfig.run_name is required: give the test run a name")
    data_info = get(cfg, "dataInfo")
    if not isinstance(data_info, dict):
        raise bad_request(
            "testRunConfig.data_info is required: {ref_dataset_id: ..., eval_dataset_id: ...} "
            "naming two registered datasets"
        )
    ref_id = get(data_info, "refDatasetId")
    eval_id = get(data_info, "evalDatasetId")
    for name, value in (("ref_dataset_id", ref_id), ("eval_dataset_id", eval_id)):
        if not isinstance(value, str) or not value:
            raise bad_request(f"testRunConfig.data_info.{name} is required: the id of a registered dataset")
    model_id = uuid_of(get(cfg, "modelId"))
    if not model_id:
        raise bad_request("testRunConfig.model_id is required: the id of a registered model")

    supported = {c.value for c in TestCategory}
    categories = get(cfg, "categories")
    if categories is not None:
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise bad_request("testRunConfig.categories must be a list of TEST_CATEGORY_TYPE_* names")
        from airflow_provider_rime.local.catalogue import CATALOGUE

        runnable = {spec.category.value for spec in CATALOGUE.values()}
        for c in categories:
            if c not in supported and not c.startswith("TEST_CATEGORY_TYPE_"):
                raise bad_request(f"testRunConfig.categories: {c!r} is not a TEST_CATEGORY_TYPE_* name")
            if c not in runnable:
                raise bad_request(
                    f"testRunConfig.categories: {c} is not run by the local engine (it needs model calls "
                    f"or is not implemented yet); it runs: {', '.join(sorted(runnable))}"
                )

    suite = get(cfg, "testSuiteConfig") or {}
    if not isinstance(suite, dict):
        raise bad_request("testRunConfig.test_suite_config must be an object")
    sensitivity = get(suite, "globalTestSensitivity")
    individual = _json_object(
        get(suite, "individualTestsConfig"), "testRunConfig.test_suite_config.individual_tests_config"
    )
    exclude = get(suite, "globalExcludeColumns") or []
    if not isinstance(exclude, list) or not all(isinstance(c, str) for c in exclude):
        raise bad_request("testRunConfig.test_suite_config.global_exclude_columns must be a list of names")
    if get(suite, "customTests"):
        raise bad_request(
            "testRunConfig.test_suite_config.custom_tests are not supported by the local engine"
        )

    run_time = get(cfg, "runTimeInfo") or {}
    seed = get(run_time, "randomSeed", 0) if isinstance(run_time, dict) else 0
    try:
        seed = int(seed or 0)
    except (TypeError, ValueError):
        raise bad_request(
            f"testRunConfig.run_time_info.random_seed must be an integer, got {seed!r}"
        ) from None

    try:
        suite_cfg = SuiteConfig(
            sensitivity=parse_sensitivity(sensitivity),
            individual_tests_config=individual,
            exclude_columns=frozenset(exclude),
            categories=frozenset(TestCategory(c) for c in categories) if categories is not None else None,
        )
        validate_suite_config(suite_cfg)
    except ValueError as exc:
        raise bad_request(str(exc)) from None

    return StressTestConfig(
        run_name=run_name.strip(),
        ref_dataset_id=ref_id,
        eval_dataset_id=eval_id,
        model_id=model_id,
        categories=categories,
        sensitivity=sensitivity,
        individual_tests_config=individual,
        exclude_columns=list(exclude),
        random_seed=seed,
        raw=cfg,
    )
