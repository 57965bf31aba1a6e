"""The enum strings of RIME's REST API, exactly as the wire spells them.

Each enum's values are the full names a RIME cluster sends and accepts (``JOB_STATUS_RUNNING``,
``TEST_CATEGORY_TYPE_DRIFT``, ...). They are ``str`` subclasses, so a member compares equal
to its wire string and serialises as it in JSON; use ``.value`` where a plain ``str`` is
needed (for example in f-strings).
"""

from __future__ import annotations

import enum


class _WireEnum(str, enum.Enum):
    """A RIME enum: members are their wire strings."""

    def __str__(self) -> str:
        return str(self.value)


class JobStatus(_WireEnum):
    """``RimeJobStatus``: the state of a job (stress test, continuous test, validation)."""

    UNSPECIFIED = "JOB_STATUS_UNSPECIFIED"
    PENDING = "JOB_STATUS_PENDING"
    RUNNING = "JOB_STATUS_RUNNING"
    FAILED = "JOB_STATUS_FAILED"
    SUCCEEDED = "JOB_STATUS_SUCCEEDED"
    REQUESTED = "JOB_STATUS_REQUESTED"
    CANCELLED = "JOB_STATUS_CANCELLED"

    @property
    def is_terminal(self) -> bool:
        """Whether the job never changes again (as rime-sdk treats it: succeeded, failed, cancelled)."""
        return self in TERMINAL_JOB_STATUSES

    @property
    def is_active(self) -> bool:
        """Whether the job is queued or running (a task retry may re-attach to it)."""
        return self in ACTIVE_JOB_STATUSES


#: The statuses after which a job never changes again.
TERMINAL_JOB_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
#: The statuses of a job that is queued or running.
ACTIVE_JOB_STATUSES = frozenset({JobStatus.PENDING, JobStatus.RUNNING, JobStatus.REQUESTED})


class JobType(_WireEnum):
    """``RimeJobType``. A continuous test's job is a ``FIREWALL_BATCH_TEST``."""

    UNSPECIFIED = "JOB_TYPE_UNSPECIFIED"
    MODEL_STRESS_TEST = "JOB_TYPE_MODEL_STRESS_TEST"
    IMAGE_BUILDER = "JOB_TYPE_IMAGE_BUILDER"
    FIREWALL_BATCH_TEST = "JOB_TYPE_FIREWALL_BATCH_TEST"
    FILE_SCAN = "JOB_TYPE_FILE_SCAN"
    CROSS_PLANE_TASK = "JOB_TYPE_CROSS_PLANE_TASK"
    GENERATIVE_MODEL_TEST = "JOB_TYPE_GENERATIVE_MODEL_TEST"

    @property
    def is_cancellable(self) -> bool:
        """Only stress tests, continuous tests and file scans can be cancelled."""
        return self in CANCELLABLE_JOB_TYPES


CANCELLABLE_JOB_TYPES = frozenset({JobType.MODEL_STRESS_TEST, JobType.FIREWALL_BATCH_TEST, JobType.FILE_SCAN})


class JobView(_WireEnum):
    """``RimeJobView``: how much of a job ``GET /v1/jobs/{id}`` returns."""

    UNSPECIFIED = "JOB_VIEW_UNSPECIFIED"
    BASIC = "JOB_VIEW_BASIC"
    FULL = "JOB_VIEW_FULL"


class TestTaskStatus(_WireEnum):
    """``RimeTestTaskStatus``: the state of a test run and of each of its test batches."""

    __test__ = False  # not a pytest class

    UNSPECIFIED = "TEST_TASK_STATUS_UNSPECIFIED"
    PENDING = "TEST_TASK_STATUS_PENDING"
    RUNNING = "TEST_TASK_STATUS_RUNNING"
    COMPLETED = "TEST_TASK_STATUS_COMPLETED"
    FAILED = "TEST_TASK_STATUS_FAILED"
    CANCELLED = "TEST_TASK_STATUS_CANCELLED"
    GARBAGE_COLLECTED = "TEST_TASK_STATUS_GARBAGE_COLLECTED"

    @property
    def is_terminal(self) -> bool:
        """Whether the test run has finished, one way or another."""
        return self in TERMINAL_TEST_TASK_STATUSES

    @classmethod
    def for_job(cls, status: JobStatus | str) -> TestTaskStatus:
        """The test run status that goes with a job status."""
        return _TEST_TASK_FOR_JOB.get(JobStatus(status), cls.UNSPECIFIED)


TERMINAL_TEST_TASK_STATUSES = frozenset(
    {
        TestTaskStatus.COMPLETED,
        TestTaskStatus.FAILED,
        TestTaskStatus.CANCELLED,
        TestTaskStatus.GARBAGE_COLLECTED,
    }
)
_TEST_TASK_FOR_JOB = {
    JobStatus.PENDING: TestTaskStatus.PENDING,
    JobStatus.REQUESTED: TestTaskStatus.PENDING,
    JobStatus.RUNNING: TestTaskStatus.RUNNING,
    JobStatus.SUCCEEDED: TestTaskStatus.COMPLETED,
    JobStatus.FAILED: TestTaskStatus.FAILED,
    JobStatus.CANCELLED: TestTaskStatus.CANCELLED,
}


class TestType(_WireEnum):
    """``RimeTestType``: stress testing (the ``UNSPECIFIED`` value) or continuous testing."""

    __test__ = False

    STRESS_TESTING = "TEST_TYPE_STRESS_TESTING_UNSPECIFIED"
    CONTINUOUS_TESTING = "TEST_TYPE_CONTINUOUS_TESTING"


class Severity(_WireEnum):
    """``RimeSeverity`` of a test case, batch, category or detection event."""

    UNSPECIFIED = "SEVERITY_UNSPECIFIED"
    PASS = "SEVERITY_PASS"
    WARNING = "SEVERITY_WARNING"
    ALERT = "SEVERITY_ALERT"

    @property
    def rank(self) -> int:
        """0 for pass (and unspecified), 1 for warning, 2 for alert: order severities by this."""
        return {Severity.WARNING: 1, Severity.ALERT: 2}.get(self, 0)

    @property
    def label(self) -> str:
        """The word RIME's web app shows: Passing, Warning or Alert."""
        return {Severity.WARNING: "Warning", Severity.ALERT: "Alert"}.get(self, "Passing")

    @property
    def case_status(self) -> TestCaseStatus:
        """The test case status that goes with this severity."""
        return {
            Severity.WARNING: TestCaseStatus.WARNING,
            Severity.ALERT: TestCaseStatus.FAIL,
        }.get(self, TestCaseStatus.PASS)

    @classmethod
    def from_rank(cls, rank: int) -> Severity:
        """The severity of a rank (see :attr:`rank`)."""
        return (cls.PASS, cls.WARNING, cls.ALERT)[max(0, min(2, int(rank)))]


class TestCaseStatus(_WireEnum):
    """``RimeTestCaseStatus``. ``PASS_UNSPECIFIED`` means the case passed."""

    __test__ = False

    PASS = "TEST_CASE_STATUS_PASS_UNSPECIFIED"
    WARNING = "TEST_CASE_STATUS_WARNING"
    FAIL = "TEST_CASE_STATUS_FAIL"
    SKIP = "TEST_CASE_STATUS_SKIP"


class RiskCategory(_WireEnum):
    """``RiskscoreRiskCategoryType``: which risk a test category or monitor speaks to."""

    UNSPECIFIED = "RISK_CATEGORY_TYPE_UNSPECIFIED"
    OPERATIONAL_HEALTH = "RISK_CATEGORY_TYPE_OPERATIONAL_HEALTH"
    ETHICAL_RISK = "RISK_CATEGORY_TYPE_ETHICAL_RISK"
    SECURITY_RISK = "RISK_CATEGORY_TYPE_SECURITY_RISK"
    CUSTOM = "RISK_CATEGORY_TYPE_CUSTOM"


_CATEGORY_PREFIX = "TEST_CATEGORY_TYPE_"


class TestCategory(_WireEnum):
    """``TestrunTestCategoryType``: a category of RIME's test catalogue."""

    __test__ = False

    UNSPECIFIED = "TEST_CATEGORY_TYPE_UNSPECIFIED"
    MODEL_PERFORMANCE = "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"
    SUBSET_PERFORMANCE = "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE"
    SUBSET_PERFORMANCE_DEGRADATION = "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION"
    TRANSFORMATIONS = "TEST_CATEGORY_TYPE_TRANSFORMATIONS"
    ADVERSARIAL = "TEST_CATEGORY_TYPE_ADVERSARIAL"
    DRIFT = "TEST_CATEGORY_TYPE_DRIFT"
    ABNORMAL_INPUTS = "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS"
    DATA_CLEANLINESS = "TEST_CATEGORY_TYPE_DATA_CLEANLINESS"
    BIAS_AND_FAIRNESS = "TEST_CATEGORY_TYPE_BIAS_AND_FAIRNESS"
    DATA_POISONING_DETECTION = "TEST_CATEGORY_TYPE_DATA_POISONING_DETECTION"
    EVASION_ATTACK_DETECTION = "TEST_CATEGORY_TYPE_EVASION_ATTACK_DETECTION"
    CUSTOM = "TEST_CATEGORY_TYPE_CUSTOM"

    @property
    def display_name(self) -> str:
        """The category's name in RIME's web app (``Attacks`` for ``ADVERSARIAL``)."""
        special = {
            TestCategory.ADVERSARIAL: "Attacks",
            TestCategory.BIAS_AND_FAIRNESS: "Bias and Fairness",
        }
        return special.get(self, self.name.replace("_", " ").title())

    @property
    def risk_category(self) -> RiskCategory:
        """The risk this category's results count towards."""
        if self in (
            TestCategory.ADVERSARIAL,
            TestCategory.DATA_POISONING_DETECTION,
            TestCategory.EVASION_ATTACK_DETECTION,
        ):
            return RiskCategory.SECURITY_RISK
        if self is TestCategory.BIAS_AND_FAIRNESS:
            return RiskCategory.ETHICAL_RISK
        return RiskCategory.OPERATIONAL_HEALTH

    @classmethod
    def parse(cls, value: str) -> TestCategory:
        """
        The category named by ``value`` in any usual spelling.

        ``"drift"``, ``"Model Performance"``, ``"model_performance"``, ``"attacks"`` and
        ``"TEST_CATEGORY_TYPE_DRIFT"`` are all accepted.

        :param value: The category as a user wrote it.
        :raises ValueError: Not a category RIME knows; the message lists the accepted names.
        """
        key = str(value).strip().upper().replace(" ", "_").replace("-", "_").replace("&", "AND")
        key = key.removeprefix(_CATEGORY_PREFIX)
        key = {"ATTACKS": "ADVERSARIAL", "BIAS_AND_FAIRNESS": "BIAS_AND_FAIRNESS"}.get(key, key)
        member = cls.__members__.get(key)
        if member is None or member is cls.UNSPECIFIED:
            known = ", ".join(m.name.lower() for m in cls if m is not cls.UNSPECIFIED)
            raise ValueError(f"Unknown RIME test category {value!r}; expected one of: {known}")
        return member


#: What RIME runs in a stress test whose config names no categories.
STRESS_TEST_DEFAULT_CATEGORIES: tuple[TestCategory, ...] = (
    TestCategory.MODEL_PERFORMANCE,
    TestCategory.SUBSET_PERFORMANCE,
    TestCategory.TRANSFORMATIONS,
    TestCategory.ADVERSARIAL,
)
#: What RIME runs on each bin of a continuous test by default.
CONTINUOUS_TEST_DEFAULT_CATEGORIES: tuple[TestCategory, ...] = (
    TestCategory.MODEL_PERFORMANCE,
    TestCategory.SUBSET_PERFORMANCE_DEGRADATION,
    TestCategory.DRIFT,
    TestCategory.ABNORMAL_INPUTS,
)


class MetricCategory(_WireEnum):
    """``RimeTestMetricCategory``: what a test case's metric measures."""

    UNSPECIFIED = "TEST_METRIC_CATEGORY_UNSPECIFIED"
    FAILING_INPUTS = "TEST_METRIC_CATEGORY_FAILING_INPUTS"
    DRIFT_STAT = "TEST_METRIC_CATEGORY_DRIFT_STAT"
    PERFORMANCE_DIFF = "TEST_METRIC_CATEGORY_PERFORMANCE_DIFF"
    ATTACK_DETAILS = "TEST_METRIC_CATEGORY_ATTACK_DETAILS"
    STATISTICAL_DEPENDENCE = "TEST_METRIC_CATEGORY_STATISTICAL_DEPENDENCE"
    FEATURE = "TEST_METRIC_CATEGORY_FEATURE"
    MODEL_ERROR = "TEST_METRIC_CATEGORY_MODEL_ERROR"
    OUTPUT_DIFF = "TEST_METRIC_CATEGORY_OUTPUT_DIFF"
    INPUT = "TEST_METRIC_CATEGORY_INPUT"
    OUTPUT = "TEST_METRIC_CATEGORY_OUTPUT"
    PERFORMANCE_METRIC_NAME = "TEST_METRIC_CATEGORY_PERFORMANCE_METRIC_NAME"
    PERFORMANCE_METRIC_VALUE = "TEST_METRIC_CATEGORY_PERFORMANCE_METRIC_VALUE"
    DIRECTION = "TEST_METRIC_CATEGORY_DIRECTION"
    SUBSET_DETAILS = "TEST_METRIC_CATEGORY_SUBSET_DETAILS"


class TestSensitivity(_WireEnum):
    """``TestrunTestSensitivity``: the global sensitivity of a test suite."""

    __test__ = False

    UNSPECIFIED = "TEST_SENSITIVITY_UNSPECIFIED"
    LESS_SENSITIVE = "TEST_SENSITIVITY_LESS_SENSITIVE"
    DEFAULT = "TEST_SENSITIVITY_DEFAULT"
    MORE_SENSITIVE = "TEST_SENSITIVITY_MORE_SENSITIVE"


class ValidityStatus(_WireEnum):
    """``RegistryValidityStatus`` of a registered dataset, model or prediction set."""

    UNSPECIFIED = "VALIDITY_STATUS_UNSPECIFIED"
    VALID = "VALIDITY_STATUS_VALID"
    INVALID = "VALIDITY_STATUS_INVALID"
    PENDING = "VALIDITY_STATUS_PENDING"


class ModelTask(_WireEnum):
    """``RimeModelTask`` of a project."""

    UNSPECIFIED = "MODEL_TASK_UNSPECIFIED"
    REGRESSION = "MODEL_TASK_REGRESSION"
    BINARY_CLASSIFICATION = "MODEL_TASK_BINARY_CLASSIFICATION"
    MULTICLASS_CLASSIFICATION = "MODEL_TASK_MULTICLASS_CLASSIFICATION"
    NAMED_ENTITY_RECOGNITION = "MODEL_TASK_NAMED_ENTITY_RECOGNITION"
    RANKING = "MODEL_TASK_RANKING"
    OBJECT_DETECTION = "MODEL_TASK_OBJECT_DETECTION"
    NATURAL_LANGUAGE_INFERENCE = "MODEL_TASK_NATURAL_LANGUAGE_INFERENCE"
    FILL_MASK = "MODEL_TASK_FILL_MASK"
    ANOMALY_DETECTION = "MODEL_TASK_ANOMALY_DETECTION"


class ConfigType(_WireEnum):
    """``RimeConfigType``: the path parameter of ``/v1-beta/config-validator/{configType}``."""

    UNSPECIFIED = "CONFIG_TYPE_UNSPECIFIED"
    TEST_RUN = "CONFIG_TYPE_TEST_RUN"
    TEST_SUITE = "CONFIG_TYPE_TEST_SUITE"
    TEST_RUN_INCREMENTAL = "CONFIG_TYPE_TEST_RUN_INCREMENTAL"
    PROFILING = "CONFIG_TYPE_PROFILING"
    DATA_PROFILING = "CONFIG_TYPE_DATA_PROFILING"
    MODEL_PROFILING = "CONFIG_TYPE_MODEL_PROFILING"


class LimitStatus(_WireEnum):
    """``RimeLimitStatusStatus`` of a licence limit."""

    UNSPECIFIED = "STATUS_UNSPECIFIED"
    OK = "STATUS_OK"
    WARN = "STATUS_WARN"
    ERROR = "STATUS_ERROR"


class EventType(_WireEnum):
    """``DetectionEventType`` of a detection event."""

    UNSPECIFIED = "EVENT_TYPE_UNSPECIFIED"
    METRIC_DEGRADATION = "EVENT_TYPE_METRIC_DEGRADATION"
    SECURITY = "EVENT_TYPE_SECURITY"
    STRESS_TEST = "EVENT_TYPE_STRESS_TEST"


class MonitorType(_WireEnum):
    """``MonitorMonitorType``: built in (default) or made by a user (custom)."""

    UNSPECIFIED = "MONITOR_TYPE_UNSPECIFIED"
    CUSTOM = "MONITOR_TYPE_CUSTOM"
    DEFAULT = "MONITOR_TYPE_DEFAULT"


class SortOrder(_WireEnum):
    """``RimeOrder`` of a sorted list."""

    UNSPECIFIED = "ORDER_UNSPECIFIED"
    ASCENDING = "ORDER_ASCENDING"
    DESCENDING = "ORDER_DESCENDING"


class ThresholdType(_WireEnum):
    """``MonitorThresholdType``: which side of a monitor's thresholds is bad.

    ``UPPER_BOUND``: values above the thresholds are bad (drift, counts of abnormal rows);
    ``LOWER_BOUND``: values below them are bad (accuracy, AUC).
    """

    UNSPECIFIED = "TYPE_UNSPECIFIED"
    UPPER_BOUND = "TYPE_UPPER_BOUND"
    LOWER_BOUND = "TYPE_LOWER_BOUND"


class AggregationType(_WireEnum):
    """``MonitorAggregationType``: how a monitor combines the values of a time window."""

    UNSPECIFIED = "AGGREGATION_TYPE_UNSPECIFIED"
    AVG = "AGGREGATION_TYPE_AVG"
    MIN = "AGGREGATION_TYPE_MIN"
    MAX = "AGGREGATION_TYPE_MAX"
    SUM = "AGGREGATION_TYPE_SUM"


class Difference(_WireEnum):
    """``DifferenceFromTargetDifference``: how a monitor's value is compared with its target."""

    UNSPECIFIED = "DIFFERENCE_UNSPECIFIED"
    PERCENTAGE = "DIFFERENCE_PERCENTAGE"
    RAW = "DIFFERENCE_RAW"
    ABSOLUTE = "DIFFERENCE_ABSOLUTE"


class DifferenceTarget(_WireEnum):
    """``DifferenceFromTargetTarget``: what a monitor's value is compared with."""

    UNSPECIFIED = "TARGET_UNSPECIFIED"
    PREVIOUS_TIME_WINDOW = "TARGET_PREVIOUS_TIME_WINDOW"
    REFERENCE_SET = "TARGET_REFERENCE_SET"


#: The risk categories as rime-sdk's ``list_monitors`` names them (``risk_category_types``).
RISK_CATEGORY_SDK_NAMES: dict[str, RiskCategory] = {
    "Operational": RiskCategory.OPERATIONAL_HEALTH,
    "Bias_and_Fairness": RiskCategory.ETHICAL_RISK,
    "Security": RiskCategory.SECURITY_RISK,
    "Custom": RiskCategory.CUSTOM,
}
