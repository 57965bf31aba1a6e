"""Pydantic models of the RIME payloads the provider reads, and the enum strings it uses.

Field names follow RIME's JSON (lowerCamelCase, see ``rime-api.md``); the models accept
unknown fields so a newer cluster never breaks the provider. int64 values arrive as JSON
strings and are converted here, in one place.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JOB_STATUS_PENDING = "JOB_STATUS_PENDING"
JOB_STATUS_RUNNING = "JOB_STATUS_RUNNING"
JOB_STATUS_REQUESTED = "JOB_STATUS_REQUESTED"
JOB_STATUS_SUCCEEDED = "JOB_STATUS_SUCCEEDED"
JOB_STATUS_FAILED = "JOB_STATUS_FAILED"
JOB_STATUS_CANCELLED = "JOB_STATUS_CANCELLED"
#: The statuses after which a job never changes again (as the SDK treats them).
TERMINAL_JOB_STATUSES = frozenset({JOB_STATUS_SUCCEEDED, JOB_STATUS_FAILED, JOB_STATUS_CANCELLED})
ACTIVE_JOB_STATUSES = (JOB_STATUS_PENDING, JOB_STATUS_RUNNING, JOB_STATUS_REQUESTED)
JOB_TYPE_MODEL_STRESS_TEST = "JOB_TYPE_MODEL_STRESS_TEST"

TEST_RUN_STATUS_COMPLETED = "TEST_TASK_STATUS_COMPLETED"
TEST_RUN_STATUS_FAILED = "TEST_TASK_STATUS_FAILED"
TEST_RUN_STATUS_CANCELLED = "TEST_TASK_STATUS_CANCELLED"
TERMINAL_TEST_RUN_STATUSES = frozenset(
    {
        TEST_RUN_STATUS_COMPLETED,
        TEST_RUN_STATUS_FAILED,
        TEST_RUN_STATUS_CANCELLED,
        "TEST_TASK_STATUS_GARBAGE_COLLECTED",
    }
)

VALIDITY_STATUS_VALID = "VALIDITY_STATUS_VALID"
VALIDITY_STATUS_INVALID = "VALIDITY_STATUS_INVALID"
VALIDITY_STATUS_PENDING = "VALIDITY_STATUS_PENDING"

MODEL_TASK_BINARY_CLASSIFICATION = "MODEL_TASK_BINARY_CLASSIFICATION"

#: Stress-test categories (``TestrunTestCategoryType``) without their ``TEST_CATEGORY_TYPE_`` prefix.
TEST_CATEGORIES = (
    "ABNORMAL_INPUTS",
    "ADVERSARIAL",
    "BIAS_AND_FAIRNESS",
    "DATA_CLEANLINESS",
    "DRIFT",
    "MODEL_PERFORMANCE",
    "DATA_POISONING_DETECTION",
    "SUBSET_PERFORMANCE",
    "SUBSET_PERFORMANCE_DEGRADATION",
    "TRANSFORMATIONS",
    "EVASION_ATTACK_DETECTION",
    "CUSTOM",
)
TEST_CATEGORY_PREFIX = "TEST_CATEGORY_TYPE_"


def normalize_category(value: str) -> str:
    """
    Return the full ``TEST_CATEGORY_TYPE_*`` name for a category given in any usual spelling.

    ``"drift"``, ``"Model Performance"``, ``"model_performance"`` and
    ``"TEST_CATEGORY_TYPE_DRIFT"`` are all accepted.

    :param value: The category as the user wrote it.
    :raises ValueError: The category is not one RIME knows, with the accepted names listed.
    """
    key = value.strip().upper().replace(" ", "_").replace("-", "_")
    key = key.removeprefix(TEST_CATEGORY_PREFIX)
    if key not in TEST_CATEGORIES:
        known = ", ".join(c.lower() for c in TEST_CATEGORIES)
        raise ValueError(f"Unknown RIME test category {value!r}; expected one of: {known}")
    return TEST_CATEGORY_PREFIX + key


def to_int(value: Any) -> int:
    """Convert an int64 as RIME sends it (a JSON string, a number, or left out when zero) to ``int``."""
    if value is None or value == "":
        return 0
    return int(float(value)) if isinstance(value, str) and "." in value else int(value)


def to_float(value: Any) -> float | None:
    """Convert a JSON number (or a numeric string) to ``float``; ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    return float(value)


class _RimeModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class RimeJob(_RimeModel):
    """A job as ``GET /v1/jobs/{jobId}`` returns it (``RimeJobMetadata``)."""

    job_id: str = Field(alias="jobId")
    job_type: str = Field(default="JOB_TYPE_UNSPECIFIED", alias="jobType")
    status: str = Field(default="JOB_STATUS_UNSPECIFIED")
    job_data: dict[str, Any] = Field(default_factory=dict, alias="jobData")
    error_msg: str | None = Field(default=None, alias="errorMsg")
    cancellation_requested: bool = Field(default=False, alias="cancellationRequested")

    @property
    def is_terminal(self) -> bool:
        """Whether the job has finished (succeeded, failed or cancelled)."""
        return self.status in TERMINAL_JOB_STATUSES

    @property
    def succeeded(self) -> bool:
        """Whether the job finished successfully."""
        return self.status == JOB_STATUS_SUCCEEDED

    @property
    def test_run_id(self) -> str | None:
        """The stress test's test run id (allocated when the job is created)."""
        stress = self.job_data.get("stress") or {}
        return stress.get("testRunId") or None

    @property
    def project_id(self) -> str | None:
        """The project the stress test runs in."""
        stress = self.job_data.get("stress") or {}
        return (stress.get("projectId") or {}).get("uuid") or None


def normalize_web_url(url: str | None) -> str | None:
    """
    Return a browsable URL for a RIME web link.

    A RIME cluster returns links without a scheme (``rime.example.com/...``), the local
    engine returns full ``http://`` URLs; ``https://`` is added only when no scheme is present.
    """
    if not url:
        return None
    return url if "://" in url else f"https://{url.lstrip('/')}"


class TestRunSummary(_RimeModel):
    """The JSON-safe summary of a finished stress test run (the operator's return value)."""

    __test__ = False  # not a pytest test class, despite the name

    test_run_id: str
    project_id: str | None = None
    job_id: str | None = None
    run_name: str | None = None
    url: str | None = None
    status: str | None = None
    summary_counts: dict[str, int]
    severity_counts: dict[str, int]
    pass_rate: float
    model_metrics: dict[str, dict[str, float | None]]

    @classmethod
    def from_test_run(cls, test_run: dict[str, Any], *, job_id: str | None = None) -> TestRunSummary:
        """
        Build the summary from a ``testRun`` object of ``GET /v1/test-runs/{id}``.

        :param test_run: The ``testRun`` value (``TestrunresultTestRunDetail``).
        :param job_id: The job that produced the run, when known.
        """
        metrics = test_run.get("metrics") or {}
        counts = metrics.get("summaryCounts") or {}
        summary_counts = {
            key: to_int(counts.get(key)) for key in ("total", "pass", "warning", "fail", "skip")
        }
        severities = metrics.get("severityCounts") or {}
        severity_counts = {
            "num_none_severity": to_int(severities.get("numNoneSeverity")),
            "num_low_severity": to_int(severities.get("numLowSeverity")),
            "num_high_severity": to_int(severities.get("numHighSeverity")),
        }
        total = summary_counts["total"]
        pass_rate = summary_counts["pass"] / total if total else 0.0
        model_metrics = {
            str(name): {"ref": to_float(values.get("refMetric")), "eval": to_float(values.get("evalMetric"))}
            for name, values in sorted((metrics.get("modelPerf") or {}).items())
            if isinstance(values, dict)
        }
        return cls(
            test_run_id=str(test_run.get("testRunId", "")),
            project_id=(test_run.get("projectId") or {}).get("uuid"),
            job_id=job_id,
            run_name=test_run.get("name"),
            url=normalize_web_url((test_run.get("webAppUrl") or {}).get("url")),
            status=test_run.get("status"),
            summary_counts=summary_counts,
            severity_counts=severity_counts,
            pass_rate=pass_rate,
            model_metrics=model_metrics,
        )

    def to_dict(self) -> dict[str, Any]:
        """The summary as a plain JSON-safe dict (declared fields only)."""
        return {name: getattr(self, name) for name in type(self).model_fields}
