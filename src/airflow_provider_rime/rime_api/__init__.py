"""RIME's wire vocabulary, shared by the provider (hooks, operators) and the local engine.

Everything RIME's REST API names lives here once: the enum strings (:mod:`.enums`), the
naming rules of its JSON (:mod:`.naming`), paging (:mod:`.paging`) and pydantic models of
the documents both sides exchange (:mod:`.documents`), plus the results summary and its
severity gate (:mod:`.results`).

This package imports neither Airflow nor FastAPI (nor anything else of this project): the
provider half and the engine half both build on it and never import each other. The rule
is an import-linter contract checked by ``make test``.
"""

from __future__ import annotations

from airflow_provider_rime.rime_api.enums import (
    ConfigType,
    JobStatus,
    JobType,
    JobView,
    MetricCategory,
    ModelTask,
    RiskCategory,
    Severity,
    TestCaseStatus,
    TestCategory,
    TestSensitivity,
    TestTaskStatus,
    TestType,
    ValidityStatus,
)

__all__ = [
    "ConfigType",
    "JobStatus",
    "JobType",
    "JobView",
    "MetricCategory",
    "ModelTask",
    "RiskCategory",
    "Severity",
    "TestCaseStatus",
    "TestCategory",
    "TestSensitivity",
    "TestTaskStatus",
    "TestType",
    "ValidityStatus",
]
