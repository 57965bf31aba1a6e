"""Config validation and starting stress tests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from airflow_provider_rime.local import render
from airflow_provider_rime.local.api.deps import Db, Engine, ExistingProject
from airflow_provider_rime.local.services import stress_tests
from airflow_provider_rime.rime_api.documents import StartStressTestRequest, ValidateConfigRequest
from airflow_provider_rime.rime_api.enums import ConfigType

router = APIRouter(tags=["stress tests"])

# Plain `def` routes: FastAPI runs them in its thread pool, so a first request that waits for the
# catalogue's import does not hold up the event loop.


@router.post("/v1-beta/config-validator/{config_type}")
def validate_config(config_type: ConfigType, body: ValidateConfigRequest) -> dict[str, Any]:
    stress_tests.validate_config(config_type, body)
    return {}


@router.post("/v1/stress-tests/{project_id}")
def start_stress_test(
    project: ExistingProject, body: StartStressTestRequest, engine: Engine, s: Db
) -> dict[str, Any]:
    return {"job": render.job(stress_tests.start_stress_test(engine, s, project, body))}
