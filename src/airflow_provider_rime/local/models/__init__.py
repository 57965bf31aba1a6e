"""Calling a registered model: always in a child process with limits, never in the engine.

``source`` says what a registration points at (a RIME model file or directory, or an MLflow
model); ``process`` starts the child (``python -m airflow_provider_rime.local.models.child``),
talks to it over pipes and turns every way a model can misbehave (raise, hang, allocate
past the limit, crash, answer with the wrong shape or with values that are not
probabilities) into a :class:`ModelError` naming the model and the cause.
"""

from __future__ import annotations

from airflow_provider_rime.local.models.process import (
    ModelCallError,
    ModelError,
    ModelLimits,
    ModelProcess,
    model_execution_enabled,
)
from airflow_provider_rime.local.models.source import ModelSource, resolve_model_source

__all__ = [
    "ModelCallError",
    "ModelError",
    "ModelLimits",
    "ModelProcess",
    "ModelSource",
    "model_execution_enabled",
    "resolve_model_source",
]
