"""Checking test run configs and starting stress tests.

A config is checked completely before anything is stored: its shape by the ``TestRunConfig``
model, then what only this engine knows (which categories it can run, which tests and
parameters its catalogue has), then that the datasets and the model are registered here.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.errors import InvalidInput, NotFound, describe_problems
from airflow_provider_rime.local.jobs.queue import StressTestPayload, enqueue
from airflow_provider_rime.local.store.schema import Dataset, Job, JobKind, Model, Project, TestRun
from airflow_provider_rime.rime_api.documents import (
    StartStressTestRequest,
    TestRunConfig,
    ValidateConfigRequest,
)
from airflow_provider_rime.rime_api.enums import (
    ConfigType,
    JobType,
    TestCategory,
    TestTaskStatus,
    TestType,
    ValidityStatus,
)


def check_test_run_config(config: TestRunConfig, where: str) -> StressTestPayload:
    """What the worker needs from a config, once the engine's catalogue has accepted it.

    :param where: How the config is named in messages (``testRunConfig``, ``configJson``).
    :raises InvalidInput: A category this engine cannot run, an unknown test or parameter.
    """
    # The catalogue imports pandas and SciPy: load it on first use, not with the API. Import
    # the package, not its registry module: the app warms the package up in a thread, and a
    # submodule import would not wait for it, seeing a registry with only some tests in it.
    from airflow_provider_rime.local.catalogue import (
        model_categories,
        runnable_categories,
        validate_suite_config,
    )
    from airflow_provider_rime.local.catalogue.types import SuiteConfig, parse_sensitivity
    from airflow_provider_rime.local.models import model_execution_enabled

    categories = [c.value for c in config.categories] if config.categories is not None else None
    runnable = {c.value for c in runnable_categories()}
    calls_model = {c.value for c in model_categories()}
    for category in categories or []:
        if category in calls_model and not model_execution_enabled():
            raise InvalidInput(
                f"{where}.categories: {category} calls the model, and model execution is turned off on "
                f"this engine (rime-local serve --no-model-execution); leave it out or ask the engine's "
                f"operator to turn model execution on"
            )
        if category not in runnable:
            raise InvalidInput(
                f"{where}.categories: {category} is not run by the local engine (not implemented "
                f"yet); it runs: {', '.join(sorted(runnable))}"
            )
    suite = config.test_suite_config
    if suite is not None and suite.custom_tests:
        raise InvalidInput(f"{where}.test_suite_config.custom_tests are not supported by the local engine")
    try:
        individual = suite.individual_tests() if suite is not None else {}
    except ValueError as exc:
        raise InvalidInput(f"{where}.test_suite_config.{exc}") from None
    sensitivity = suite.global_test_sensitivity.value if suite and suite.global_test_sensitivity else None
    exclude = list(suite.global_exclude_columns or []) if suite is not None else []
    try:
        validate_suite_config(
            SuiteConfig(
                sensitivity=parse_sensitivity(sensitivity),
                individual_tests_config=individual,
                exclude_columns=frozenset(exclude),
                categories=frozenset(TestCategory(c) for c in categories) if categories is not None else None,
            )
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    seed = config.run_time_info.random_seed if config.run_time_info is not None else None
    return StressTestPayload(
        run_name=config.run_name,
        ref_dataset_id=config.data_info.ref_dataset_id,
        eval_dataset_id=config.data_info.eval_dataset_id,
        model_id=config.model_id.uuid,
        categories=categories,
        sensitivity=sensitivity,
        individual_tests_config=individual,
        exclude_columns=exclude,
        random_seed=seed or 0,
    )


def validate_config(config_type: ConfigType, request: ValidateConfigRequest) -> None:
    """``configJson`` must be a JSON object; a test run config must be one this engine can run."""
    if config_type is ConfigType.UNSPECIFIED:
        known = ", ".join(t.value for t in ConfigType if t is not ConfigType.UNSPECIFIED)
        raise InvalidInput(f"config type {config_type.value} is not one of {known}")
    try:
        config = request.parsed()
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if config_type is ConfigType.TEST_RUN:
        check_test_run_config(parse_test_run_config(config, "configJson"), "configJson")


def parse_test_run_config(config: dict[str, Any], where: str) -> TestRunConfig:
    """A config object as ``TestRunConfig``, with every problem named in one message."""
    try:
        return TestRunConfig.model_validate(config)
    except ValidationError as exc:
        raise InvalidInput(describe_problems(exc.errors(), where)) from None


def _check_registered(s: Session, project_id: str, payload: StressTestPayload) -> None:
    for role, dataset_id in (("reference", payload.ref_dataset_id), ("evaluation", payload.eval_dataset_id)):
        ds = s.get(Dataset, dataset_id)
        if ds is None or ds.project_id != project_id:
            raise NotFound(f"the {role} dataset {dataset_id!r} is not registered in this project")
        if ds.validity_status == ValidityStatus.INVALID:
            raise InvalidInput(
                f"the {role} dataset {ds.name!r} is invalid: {ds.validity_message}; register a fixed file"
            )
    model = s.get(Model, payload.model_id)
    if model is None or model.project_id != project_id:
        raise NotFound(f"model {payload.model_id!r} is not registered in this project")
    if model.validity_status == ValidityStatus.INVALID:
        raise InvalidInput(f"model {model.name!r} is invalid: {model.validity_message}")


def start_stress_test(
    engine: EngineContext, s: Session, project: Project, request: StartStressTestRequest
) -> Job:
    """Queue a stress test; its test run exists (PENDING) from now on, so its id can be returned."""
    config = request.test_run_config
    payload = check_test_run_config(config, "testRunConfig")
    _check_registered(s, project.id, payload)
    run_id = str(uuid.uuid4())
    job = enqueue(
        s, JobKind.STRESS_TEST, project.id, payload, job_type=JobType.MODEL_STRESS_TEST, test_run_id=run_id
    )
    s.add(
        TestRun(
            id=run_id,
            project_id=project.id,
            job_id=job.id,
            name=payload.run_name,
            status=TestTaskStatus.PENDING.value,
            testing_type=TestType.STRESS_TESTING.value,
            model_id=payload.model_id,
            ref_data_id=payload.ref_dataset_id,
            eval_data_id=payload.eval_dataset_id,
            config=config.to_wire(),
            created_at=job.created_at,
        )
    )
    s.commit()
    engine.runner.wake()
    return job
