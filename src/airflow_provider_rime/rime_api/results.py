"""A finished test run in a few numbers, and the severity gate that decides on them.

:class:`TestRunSummary` is what the stress-test operator returns and logs to MLflow: a
JSON-safe digest of ``GET /v1/test-runs/{id}``. :func:`severity_gate` is the policy an
operator's ``fail_on`` applies to it; it only says *why* to fail, the caller raises.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from airflow_provider_rime.rime_api.naming import normalize_web_url, to_float, to_int, uuid_of


class FailOn(str, enum.Enum):
    """The severity at which an operator fails its task: never, on warnings, or on alerts."""

    NONE = "none"
    WARNING = "warning"
    ALERT = "alert"

    @classmethod
    def parse(cls, value: Any) -> FailOn:
        """``"none"``, ``"warning"`` or ``"alert"`` (any case).

        :raises ValueError: Anything else, with the accepted values.
        """
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            choices = ", ".join(repr(m.value) for m in cls)
            raise ValueError(f"fail_on must be one of {choices}; got {value!r}") from None


class TestRunSummary(BaseModel):
    """The JSON-safe summary of a finished test run."""

    __test__ = False  # not a pytest class, despite the name
    model_config = ConfigDict(extra="allow")

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
        Build the summary from the ``testRun`` object of ``GET /v1/test-runs/{id}``.

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
        model_metrics = {
            str(name): {"ref": to_float(values.get("refMetric")), "eval": to_float(values.get("evalMetric"))}
            for name, values in sorted((metrics.get("modelPerf") or {}).items())
            if isinstance(values, dict)
        }
        return cls(
            test_run_id=str(test_run.get("testRunId", "")),
            project_id=uuid_of(test_run.get("projectId")),
            job_id=job_id,
            run_name=test_run.get("name"),
            url=normalize_web_url((test_run.get("webAppUrl") or {}).get("url")),
            status=test_run.get("status"),
            summary_counts=summary_counts,
            severity_counts=severity_counts,
            pass_rate=summary_counts["pass"] / total if total else 0.0,
            model_metrics=model_metrics,
        )

    @property
    def alerts(self) -> int:
        """Failed test cases plus high-severity results."""
        return self.summary_counts["fail"] + self.severity_counts["num_high_severity"]

    @property
    def warnings(self) -> int:
        """Test cases with a warning plus low-severity results."""
        return self.summary_counts["warning"] + self.severity_counts["num_low_severity"]

    def to_dict(self) -> dict[str, Any]:
        """The summary as a plain JSON-safe dict (declared fields only)."""
        return {name: getattr(self, name) for name in type(self).model_fields}


def severity_gate(summary: TestRunSummary, fail_on: FailOn | str) -> str | None:
    """
    Why a task with this ``fail_on`` policy must fail on these results, or ``None``.

    ``alert`` fails on failed test cases or high-severity results; ``warning`` on those and
    on warnings; ``none`` never.

    :param summary: The test run's summary.
    :param fail_on: The policy.
    """
    policy = FailOn.parse(fail_on.value if isinstance(fail_on, FailOn) else fail_on)
    counts, severities = summary.summary_counts, summary.severity_counts
    where = f"RIME test run {summary.test_run_id}"
    if policy is FailOn.ALERT and summary.alerts:
        return (
            f"{where} raised alerts ({counts['fail']} failed tests, {severities['num_high_severity']} "
            f"high-severity results) and fail_on='alert': {summary.url}"
        )
    if policy is FailOn.WARNING and (summary.alerts or summary.warnings):
        return (
            f"{where} raised {counts['warning']} warnings and {counts['fail']} failed tests "
            f"and fail_on='warning': {summary.url}"
        )
    return None


def metric_value_of(metric: Mapping[str, Any]) -> Any:
    """The value of a ``TestMetric`` document (``floatValue``, ``intValue``, ``strValue``), or
    the ``values`` of its list (``floatList``, ...); ``None`` when it has neither."""
    for key in ("floatValue", "intValue", "strValue"):
        if key in metric:
            return metric[key]
    for key in ("floatList", "intList", "strList"):
        if key in metric:
            return (metric[key] or {}).get("values")
    return None
