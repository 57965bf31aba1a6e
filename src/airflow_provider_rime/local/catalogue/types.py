"""The vocabulary of the test catalogue: inputs, metrics, test cases and test batches.

Every test in the catalogue is a pure function ``(StressInputs, config) -> TestBatch | None``.
It reads arrays and DataFrames, never touches storage or HTTP, and returns results in
RIME's shapes (``to_api`` gives the wire JSON of ``rime-api.md`` §11).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class Severity(enum.IntEnum):
    """Ordered so that ``max()`` gives the worst severity."""

    PASS = 0
    WARNING = 1
    ALERT = 2

    @property
    def api_name(self) -> str:
        return f"SEVERITY_{self.name}"

    @property
    def status(self) -> str:
        return {
            Severity.PASS: "TEST_CASE_STATUS_PASS_UNSPECIFIED",
            Severity.WARNING: "TEST_CASE_STATUS_WARNING",
            Severity.ALERT: "TEST_CASE_STATUS_FAIL",
        }[self]


class Category(str, enum.Enum):
    MODEL_PERFORMANCE = "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"
    SUBSET_PERFORMANCE = "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE"
    DRIFT = "TEST_CATEGORY_TYPE_DRIFT"
    ABNORMAL_INPUTS = "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS"
    DATA_CLEANLINESS = "TEST_CATEGORY_TYPE_DATA_CLEANLINESS"
    TRANSFORMATIONS = "TEST_CATEGORY_TYPE_TRANSFORMATIONS"
    ADVERSARIAL = "TEST_CATEGORY_TYPE_ADVERSARIAL"

    @property
    def display_name(self) -> str:
        return {
            "ADVERSARIAL": "Attacks",
        }.get(self.name, self.name.replace("_", " ").title())

    @property
    def risk_category(self) -> str:
        if self is Category.ADVERSARIAL:
            return "RISK_CATEGORY_TYPE_SECURITY_RISK"
        return "RISK_CATEGORY_TYPE_OPERATIONAL_HEALTH"


class MetricCategory(str, enum.Enum):
    FAILING_INPUTS = "TEST_METRIC_CATEGORY_FAILING_INPUTS"
    DRIFT_STAT = "TEST_METRIC_CATEGORY_DRIFT_STAT"
    PERFORMANCE_DIFF = "TEST_METRIC_CATEGORY_PERFORMANCE_DIFF"
    STATISTICAL_DEPENDENCE = "TEST_METRIC_CATEGORY_STATISTICAL_DEPENDENCE"
    FEATURE = "TEST_METRIC_CATEGORY_FEATURE"
    MODEL_ERROR = "TEST_METRIC_CATEGORY_MODEL_ERROR"
    OUTPUT_DIFF = "TEST_METRIC_CATEGORY_OUTPUT_DIFF"
    PERFORMANCE_METRIC_NAME = "TEST_METRIC_CATEGORY_PERFORMANCE_METRIC_NAME"
    PERFORMANCE_METRIC_VALUE = "TEST_METRIC_CATEGORY_PERFORMANCE_METRIC_VALUE"
    DIRECTION = "TEST_METRIC_CATEGORY_DIRECTION"
    SUBSET_DETAILS = "TEST_METRIC_CATEGORY_SUBSET_DETAILS"
    UNSPECIFIED = "TEST_METRIC_CATEGORY_UNSPECIFIED"


class Sensitivity(str, enum.Enum):
    LESS_SENSITIVE = "TEST_SENSITIVITY_LESS_SENSITIVE"
    DEFAULT = "TEST_SENSITIVITY_DEFAULT"
    MORE_SENSITIVE = "TEST_SENSITIVITY_MORE_SENSITIVE"

    @property
    def threshold_factor(self) -> float:
        """Multiplier applied to "how bad before we warn" thresholds.

        Less sensitive needs a 50% larger effect before it warns, more sensitive a third less.
        """
        return {"LESS_SENSITIVE": 1.5, "DEFAULT": 1.0, "MORE_SENSITIVE": 2.0 / 3.0}[self.name]

    @classmethod
    def parse(cls, value: str | None) -> Sensitivity:
        if not value or value == "TEST_SENSITIVITY_UNSPECIFIED":
            return cls.DEFAULT
        for member in cls:
            if value in (member.value, member.name):
                return member
        raise ValueError(f"global_test_sensitivity {value!r} is not one of {', '.join(m.value for m in cls)}")


class FeatureKind(str, enum.Enum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    TEXT = "text"


@dataclass(frozen=True)
class Feature:
    name: str
    kind: FeatureKind

    @property
    def is_numeric(self) -> bool:
        return self.kind is FeatureKind.NUMERIC

    @property
    def is_categorical(self) -> bool:
        return self.kind in (FeatureKind.CATEGORICAL, FeatureKind.BOOLEAN)


MetricValue = float | int | str | list[float] | list[int] | list[str] | None


@dataclass(frozen=True)
class Metric:
    """One named value of a test case or batch (``RimeTestMetric``)."""

    name: str
    category: MetricCategory
    value: MetricValue

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"metric": self.name, "category": self.category.value}
        v = self.value
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            out["empty"] = True
        elif isinstance(v, bool):
            out["intValue"] = str(int(v))
        elif isinstance(v, int):
            out["intValue"] = str(v)
        elif isinstance(v, float):
            out["floatValue"] = v
        elif isinstance(v, str):
            out["strValue"] = v
        elif isinstance(v, list):
            if all(isinstance(x, str) for x in v):
                out["strList"] = {"values": list(v)}
            elif all(isinstance(x, int) and not isinstance(x, bool) for x in v):
                out["intList"] = {"values": [str(x) for x in v]}
            else:
                out["floatList"] = {"values": [float(x) for x in v]}
        else:  # pragma: no cover - guarded by the type
            raise TypeError(f"metric {self.name!r}: unsupported value type {type(v).__name__}")
        return out


@dataclass
class TestCase:
    """One finding: a test applied to one feature (or none, for model-wide tests)."""

    features: list[str]
    severity: Severity
    explanation: str
    metrics: list[Metric] = field(default_factory=list)
    importance: float = 0.0
    skipped: bool = False

    @property
    def status(self) -> str:
        return "TEST_CASE_STATUS_SKIP" if self.skipped else self.severity.status


@dataclass
class TestBatch:
    """The result of one test type: its cases and the batch-level summary."""

    test_type: str
    name: str
    description: str
    category: Category
    cases: list[TestCase]
    metrics: list[Metric] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def severity(self) -> Severity:
        active = [c.severity for c in self.cases if not c.skipped]
        return max(active, default=Severity.PASS)

    @property
    def failing_features(self) -> list[str]:
        seen: dict[str, None] = {}
        for case in self.cases:
            if not case.skipped and case.severity > Severity.PASS:
                for f in case.features:
                    seen[f] = None
        return list(seen)

    def summary_counts(self) -> dict[str, int]:
        counts = {"total": len(self.cases), "pass": 0, "warning": 0, "fail": 0, "skip": 0}
        for case in self.cases:
            if case.skipped:
                counts["skip"] += 1
            elif case.severity is Severity.ALERT:
                counts["fail"] += 1
            elif case.severity is Severity.WARNING:
                counts["warning"] += 1
            else:
                counts["pass"] += 1
        return counts


@dataclass(frozen=True)
class SuiteConfig:
    """What the test run config says about the suite (``test_suite_config``)."""

    sensitivity: Sensitivity = Sensitivity.DEFAULT
    individual_tests_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    exclude_columns: frozenset[str] = frozenset()
    categories: frozenset[Category] | None = None  # None: the stress-testing defaults
    prediction_threshold: float = 0.5
    random_seed: int = 0

    def for_test(self, key: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
        """The test's defaults overlaid with ``individual_tests_config[key]``."""
        merged = dict(defaults)
        merged.update(self.individual_tests_config.get(key, {}))
        return merged


@dataclass
class StressInputs:
    """Everything a test may read. Feature frames hold features only (no label, no prediction)."""

    ref: pd.DataFrame
    eval: pd.DataFrame
    features: dict[str, Feature]
    ref_labels: np.ndarray | None
    eval_labels: np.ndarray | None
    ref_preds: np.ndarray | None
    eval_preds: np.ndarray | None
    config: SuiteConfig = field(default_factory=SuiteConfig)

    @property
    def has_labels(self) -> bool:
        return self.ref_labels is not None and self.eval_labels is not None

    @property
    def has_preds(self) -> bool:
        return self.ref_preds is not None and self.eval_preds is not None


TestFunction = Callable[[StressInputs, dict[str, Any]], "TestBatch | None"]


@dataclass(frozen=True)
class TestSpec:
    """A catalogue entry. ``func`` returns None when the test does not apply to the inputs."""

    key: str
    name: str
    category: Category
    description: str
    func: TestFunction
    defaults: Mapping[str, Any] = field(default_factory=dict)
    needs_labels: bool = False
    needs_preds: bool = False
    enabled_by_default: bool = True


def severity_from_thresholds(
    value: float, thresholds: Sequence[float], factor: float = 1.0, *, lower_is_worse: bool = False
) -> Severity:
    """Severity of ``value`` against ``[warning, alert]`` thresholds, scaled by the sensitivity.

    ``factor`` scales the thresholds (``Sensitivity.threshold_factor``). With
    ``lower_is_worse`` the comparison is reversed (for p-values and the like), and the
    thresholds are divided by the factor instead, so "more sensitive" still flags more.
    """
    if value is None or not math.isfinite(value):
        return Severity.PASS
    warn, alert = thresholds[0], thresholds[1]
    if lower_is_worse:
        warn, alert = warn / factor, alert / factor
        if value <= alert:
            return Severity.ALERT
        if value <= warn:
            return Severity.WARNING
        return Severity.PASS
    warn, alert = warn * factor, alert * factor
    if value >= alert:
        return Severity.ALERT
    if value >= warn:
        return Severity.WARNING
    return Severity.PASS
