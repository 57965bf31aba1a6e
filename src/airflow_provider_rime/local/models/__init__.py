"""Calling a registered model: always in a child process with limits, never in the engine.

``source`` says what a registration points at (a RIME model file or directory, or an MLflow
model); ``process`` has the child forked by the engine's model zygote (``zygote``: a process that
preloaded the model libraries) or starts it (``python -m airflow_provider_rime.local.models.child``),
talks to it over pipes and turns every way a model can misbehave (raise, hang, allocate
past the limit, crash, answer with the wrong shape or with values that are not
probabilities) into a :class:`ModelError` naming the model and the cause.

The names are imported on first use: the child starts with ``-m``, which imports this
package first, and it must not pay for the parent's modules (the store's settings,
``importlib.metadata``) before it loads the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_rime.local.models.process import (
        ModelCallError,
        ModelError,
        ModelLimits,
        ModelProcess,
        model_execution_enabled,
    )
    from airflow_provider_rime.local.models.source import ModelSource, resolve_model_source

_HOME = {
    "ModelCallError": "process",
    "ModelError": "process",
    "ModelLimits": "process",
    "ModelProcess": "process",
    "model_execution_enabled": "process",
    "ModelSource": "source",
    "resolve_model_source": "source",
}

__all__ = [
    "ModelCallError",
    "ModelError",
    "ModelLimits",
    "ModelProcess",
    "ModelSource",
    "model_execution_enabled",
    "resolve_model_source",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
