"""What each kind of job carries, and how a job is queued for the runner.

A job row holds its kind and a JSON payload; the runner claims PENDING rows and the worker reads
the payload back with the same model, so what a service queues and what a worker runs cannot
drift apart. This module is light (no pandas, no catalogue): the API imports it.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from airflow_provider_rime.local.store.schema import Job, JobKind
from airflow_provider_rime.rime_api.enums import JobStatus, JobType
from airflow_provider_rime.rime_api.naming import utc_now


class StressTestPayload(BaseModel):
    """A stress test, as checked when it was started."""

    run_name: str
    ref_dataset_id: str
    eval_dataset_id: str
    model_id: str
    #: ``TEST_CATEGORY_TYPE_*`` names; ``None`` runs the engine's default categories.
    categories: list[str] | None = None
    #: A ``TEST_SENSITIVITY_*`` name, or ``None`` for the default.
    sensitivity: str | None = None
    individual_tests_config: dict[str, Any] = {}
    exclude_columns: list[str] = []
    random_seed: int = 0


class ContinuousTestPayload(BaseModel):
    """A continuous-test job, as checked when it was started."""

    firewall_id: str
    eval_dataset_id: str
    ref_dataset_id: str
    model_id: str
    bin_size_seconds: int
    override_existing_bins: bool = False
    #: ``TEST_CATEGORY_TYPE_*`` names each bin runs.
    categories: list[str]
    random_seed: int = 0


class DatasetPayload(BaseModel):
    """Validate a registered dataset."""

    dataset_id: str


class ModelPayload(BaseModel):
    """Validate a registered model's file."""

    model_id: str


class PredictionsPayload(BaseModel):
    """Validate a model's registered predictions on a dataset."""

    model_id: str
    dataset_id: str


def enqueue(
    s: Session,
    kind: JobKind,
    project_id: str,
    payload: BaseModel,
    *,
    job_type: JobType = JobType.UNSPECIFIED,
    test_run_id: str | None = None,
) -> Job:
    """Add a PENDING job to the session; the caller commits, then wakes the runner."""
    job = Job(
        id=str(uuid.uuid4()),
        project_id=project_id,
        kind=kind.value,
        job_type=job_type.value,
        status=JobStatus.PENDING.value,
        payload=payload.model_dump(mode="json"),
        test_run_id=test_run_id,
        created_at=utc_now(),
    )
    s.add(job)
    return job
