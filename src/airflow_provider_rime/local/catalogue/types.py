"""The vocabulary of the test catalogue: inputs, metrics, test cases and test batches.

Every test in the catalogue is a pure function ``(StressInputs, params) -> Findings | None``
registered with its key, name, category and description (``registry.register``). It reads
arrays and DataFrames, never touches storage or HTTP, and returns its test cases; the runner
wraps them in a :class:`TestBatch` in RIME's shapes (``Metric.to_api`` gives the wire JSON of
a ``RimeTestMetric``). The enum strings are RIME's, from ``airflow_provider_rime.rime_api``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar

from airflow_provider_rime.local.catalogue.params import P
from airflow_provider_rime.rime_api.enums import MetricCategory
from airflow_provider_rime.rime_api.enums import Severity as WireSeverity
from airflow_provider_rime.rime_api.enums import TestCaseStatus
from airflow_provider_rime.rime_api.enums import TestCategory
from airflow_provider_rime.rime_api.enums import TestSensitivity

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

T = TypeVar("T")


class Severity(enum.IntEnum):
    """A test case's severity, ordered so that ``max()`` gives the worst.

    The catalogue compares severities; the wire strings are rime_api's (:attr:`api_name`).
    """

    PASS = 0
    WARNING = 1
    ALERT = 2

    @property
    def api_name(self) -> WireSeverity:
        """The severity as RIME's API spells it (``SEVERITY_PASS``, ...)."""
        return WireSeverity.from_rank(self.value)

    @property
    def status(self) -> TestCaseStatus:
        """The status of a test case of this severity that was not skipped."""
        return self.api_name.case_status

    def says(self, passing: str, failing: str) -> str:
        """A case's explanation: ``passing`` when it passes, ``failing`` when it warns or alerts."""
        return passing if self is Severity.PASS else failing


# How much larger an effect must be before a test warns, per global sensitivity: less
# sensitive needs a 50% larger effect, more sensitive a third less. A rule of this catalogue:
# RIME documents the three levels but not their factors.
_THRESHOLD_FACTORS = {
    TestSensitivity.LESS_SENSITIVE: 1.5,
    TestSensitivity.DEFAULT: 1.0,
    TestSensitivity.UNSPECIFIED: 1.0,
    TestSensitivity.MORE_SENSITIVE: 2.0 / 3.0,
}

# How much the false-alarm rate of a significance test moves with the global sensitivity,
# together with the effect sizes above: less sensitive tests at a fifth of the error rate
# (0.05 -> 0.01), more sensitive ones at twice it (0.05 -> 0.1).
_ERROR_RATE_FACTORS = {
    TestSensitivity.LESS_SENSITIVE: 0.2,
    TestSensitivity.DEFAULT: 1.0,
    TestSensitivity.UNSPECIFIED: 1.0,
    TestSensitivity.MORE_SENSITIVE: 2.0,
}


def parse_sensitivity(value: str | None) -> TestSensitivity:
    """``global_test_sensitivity`` as given: the wire name, the short name or nothing (default).

    Raises
    ------
    ValueError
        Not one of the three sensitivities; the message lists them.
    """
    if not value or value == TestSensitivity.UNSPECIFIED:
        return TestSensitivity.DEFAULT
    choices = [s for s in TestSensitivity if s is not TestSensitivity.UNSPECIFIED]
    for member in choices:
        if value in (member.value, member.name):
            return member
    raise ValueError(f"global_test_sensitivity {value!r} is not one of {', '.join(m.value for m in choices)}")


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


def metrics_of(category: MetricCategory, values: Mapping[str, MetricValue]) -> list[Metric]:
    """Metrics of one category: each of ``values``' names with its value, in their order."""
    return [Metric(name, category, value) for name, value in values.items()]


@dataclass
class TestCase:
    """One finding: a test applied to one feature (or none, for model-wide tests)."""

    __test__ = False  # not a pytest class

    features: list[str]
    severity: Severity
    explanation: str
    metrics: list[Metric] = field(default_factory=list)
    importance: float = 0.0
    skipped: bool = False

    @property
    def status(self) -> TestCaseStatus:
        return TestCaseStatus.SKIP if self.skipped else self.severity.status


@dataclass
class Findings:
    """What a test function returns: its test cases and the batch-level metrics."""

    cases: list[TestCase]
    metrics: list[Metric] = field(default_factory=list)


@dataclass
class TestBatch:
    """The result of one test type: its cases and the batch-level summary.

    Built by the runner from the test's registration (key, name, category, description)
    and the :class:`Findings` its function returned.
    """

    __test__ = False

    test_type: str
    name: str
    description: str
    category: TestCategory
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

    sensitivity: TestSensitivity = TestSensitivity.DEFAULT
    individual_tests_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    exclude_columns: frozenset[str] = frozenset()
    categories: frozenset[TestCategory] | None = None  # None: the stress-testing defaults
    prediction_threshold: float = 0.5
    random_seed: int = 0

    @property
    def threshold_factor(self) -> float:
        """Multiplier of "how bad before we warn" thresholds for the global sensitivity."""
        return _THRESHOLD_FACTORS[self.sensitivity]

    @property
    def error_rate_factor(self) -> float:
        """Multiplier of a significance test's error rate (its p-value threshold) for the global
        sensitivity: moves with :attr:`threshold_factor`."""
        return _ERROR_RATE_FACTORS[self.sensitivity]


class RunCache:
    """Derived arrays of one run (coded columns, bins, sorted predictions), built once.

    Held by the run's :class:`StressInputs`, so it lives and dies with them. It only ever
    saves work: every entry is a pure function of the inputs and its key.

    Entries built from the reference split alone (:meth:`reference`) live in a store that
    :meth:`for_new_evaluation` hands on: the bins of a continuous test share one reference,
    so its quantiles, sorted values, codes and correlations are computed once per job.
    """

    def __init__(self, reference: dict[Any, Any] | None = None) -> None:
        self._entries: dict[Any, Any] = {}
        self._reference: dict[Any, Any] = {} if reference is None else reference

    @staticmethod
    def _get(entries: dict[Any, Any], key: Any, build: Callable[[], T]) -> T:
        if key not in entries:
            entries[key] = build()
        value: T = entries[key]
        return value

    def get(self, key: Any, build: Callable[[], T]) -> T:
        """The entry under ``key``, built by ``build()`` the first time it is asked for."""
        return self._get(self._entries, key, build)

    def reference(self, key: Any, build: Callable[[], T]) -> T:
        """Like :meth:`get`, for an entry that ``build()`` makes from the reference split (and
        the run's configuration) only: it is shared with :meth:`for_new_evaluation` caches."""
        return self._get(self._reference, key, build)

    def split(self, key: Any, split: str, build: Callable[[], T]) -> T:
        """:meth:`reference` for ``split == "ref"``, else :meth:`get`; ``split`` ends the key."""
        if split == "ref":
            return self.reference((*key, split), build)
        return self.get((*key, split), build)

    def for_new_evaluation(self) -> RunCache:
        """An empty cache for the same reference (and configuration) against other evaluation
        rows, sharing this one's reference entries."""
        return RunCache(self._reference)


class ModelCallFailed(Exception):
    """The model raised, or answered with values that are not probabilities, on the rows it
    was given. A test that perturbs inputs reports this as a finding; the message names the
    model and what it did."""


#: Calls the model: each row's probability of class 1 (in the model's own process).
Predictor = Callable[["pd.DataFrame"], "np.ndarray"]


@dataclass(eq=False)
class StressInputs:
    """Everything a test may read. Feature frames hold features only (no label, no prediction).

    ``model`` is set when the run may call the registered model; ``model_frame`` is then the
    evaluation rows with every column the model reads (all but label and predictions), row for
    row with ``eval``. ``protected_features`` are the columns ``dataParams.protectedFeatures``
    names (Bias and Fairness).
    """

    ref: pd.DataFrame
    eval: pd.DataFrame
    features: dict[str, Feature]
    ref_labels: np.ndarray | None
    eval_labels: np.ndarray | None
    ref_preds: np.ndarray | None
    eval_preds: np.ndarray | None
    config: SuiteConfig = field(default_factory=SuiteConfig)
    cache: RunCache = field(default_factory=RunCache, repr=False)
    model: Predictor | None = field(default=None, repr=False)
    model_frame: pd.DataFrame | None = field(default=None, repr=False)
    protected_features: tuple[str, ...] = ()

    @property
    def has_model(self) -> bool:
        return self.model is not None and self.model_frame is not None

    @property
    def has_labels(self) -> bool:
        return self.ref_labels is not None and self.eval_labels is not None

    @property
    def has_preds(self) -> bool:
        return self.ref_preds is not None and self.eval_preds is not None


#: A test of the catalogue: ``None`` when it does not apply to the inputs.
TestFunction = Callable[[StressInputs, P], "Findings | None"]


@dataclass(frozen=True)
class TestSpec(Generic[P]):
    """A catalogue entry: the test's identity, said once, its parameters and its function.

    ``description`` is a text, or a function of the parameters for a test whose description
    names a chosen method.
    """

    __test__ = False

    key: str
    name: str
    category: TestCategory
    description: str | Callable[[P], str]
    func: TestFunction[P]
    params: type[P]
    needs_labels: bool = False
    needs_preds: bool = False
    needs_model: bool = False
    enabled_by_default: bool = True

    def describe(self, params: P) -> str:
        """The description of a batch run with ``params``."""
        if isinstance(self.description, str):
            return self.description
        return self.description(params)

    def is_enabled(self, params: P) -> bool:
        return self.enabled_by_default if params.enabled is None else params.enabled


def severity_from_thresholds(
    value: float, thresholds: Sequence[float], factor: float = 1.0, *, lower_is_worse: bool = False
) -> Severity:
    """Severity of ``value`` against ``[warning, alert]`` thresholds, scaled by the sensitivity.

    Parameters
    ----------
    value : float
        The test's statistic; ``nan`` or infinite passes (nothing to judge).
    thresholds : sequence of two floats
        ``[warning, alert]``.
    factor : float, default 1.0
        Sensitivity multiplier of the thresholds (``SuiteConfig.threshold_factor``).
    lower_is_worse : bool, default False
        Reverse the comparison (for p-values, shares of a minority class, ...).

    Returns
    -------
    Severity
        ``ALERT`` at or beyond the alert threshold, ``WARNING`` at or beyond the warning
        threshold, else ``PASS``.

    Notes
    -----
    Higher is worse: thresholds become ``warning * factor`` and ``alert * factor``. Lower is
    worse: they become ``warning / factor`` and ``alert / factor``, so that "more sensitive"
    (factor < 1) flags more in both directions.
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
