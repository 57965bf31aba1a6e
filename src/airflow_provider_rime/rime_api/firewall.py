"""The continuous-test ("firewall") documents of RIME's REST API.

RIME's REST API calls a continuous test a *firewall*: ``POST /v1/firewall`` creates one per
project, ``POST /v1/continuous-tests/{firewallId}`` tests new evaluation data bin by bin, its
job (``JOB_TYPE_FIREWALL_BATCH_TEST``) reports one test run per time bin in
``jobData.continuousInc``, and monitors (``/v1-beta/monitors``) follow a metric per bin and open
detection events (``/v1-beta/detection-events``) when it crosses a threshold.

Names are RIME's JSON names (rime-sdk 2.13.2's swagger models): requests accept camelCase or
snake_case, responses keep fields this version does not know.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator

from airflow_provider_rime.rime_api.documents import (
    Job,
    MaskedUpdate,
    Name,
    ResponseModel,
    RimeUUID,
    WireModel,
    _coerce_uuid,
)
from airflow_provider_rime.rime_api.enums import (
    AggregationType,
    Difference,
    DifferenceTarget,
    EventType,
    MonitorType,
    RiskCategory,
    Severity,
    TestCategory,
    TestTaskStatus,
    ThresholdType,
)
from airflow_provider_rime.rime_api.naming import (
    format_duration,
    parse_duration,
    parse_timestamp,
)

#: The smallest bin a continuous test may have (rime-sdk's documented minimum).
MIN_BIN_SIZE = timedelta(hours=1)


def check_bin_size(value: timedelta | str) -> timedelta:
    """
    A continuous test's bin size, checked: whole seconds, at least one hour.

    :param value: A ``timedelta`` or a protobuf Duration string (``"86400s"``).
    :raises ValueError: Not a duration, not whole seconds, or under one hour; the message
        says what to send instead.
    """
    size = parse_duration(value) if isinstance(value, str) else value
    if size.total_seconds() != int(size.total_seconds()):
        raise ValueError(f"bin size must be whole seconds (rime-sdk reads it back as an integer), got {size}")
    if size < MIN_BIN_SIZE:
        raise ValueError(
            f"bin size must be at least one hour ('3600s'), got {format_duration(size)}; "
            f"use e.g. '3600s' for hourly or '86400s' for daily bins"
        )
    return size


def _bin_size(value: Any) -> Any:
    if isinstance(value, timedelta):
        value = format_duration(value)
    if isinstance(value, str):
        check_bin_size(value)
    return value


# ----------------------------------------------------------------------------- the firewall


class CreateFirewallRequest(WireModel):
    """``POST /v1/firewall`` (``RimeCreateFirewallRequest``): one continuous test per project."""

    project_id: RimeUUID
    model_id: RimeUUID
    ref_data_id: Name
    #: A Duration string, e.g. ``"86400s"`` for daily bins; at least one hour.
    bin_size: StrictStr
    scheduled_ct_parameters: dict[str, Any] | None = None

    _uuid = field_validator("project_id", "model_id", mode="before")(_coerce_uuid)
    _bin = field_validator("bin_size", mode="before")(_bin_size)

    @property
    def bin_timedelta(self) -> timedelta:
        """The bin size as a ``timedelta``."""
        return parse_duration(self.bin_size)


class FirewallFields(WireModel):
    """The settable fields of ``PUT /v1/firewall/{id}``'s ``firewall``; the mask says which apply."""

    model_id: RimeUUID | None = None
    ref_data_id: Name | None = None
    bin_size: StrictStr | None = None
    scheduled_ct_info: dict[str, Any] | None = None

    _uuid = field_validator("model_id", mode="before")(_coerce_uuid)
    _bin = field_validator("bin_size", mode="before")(_bin_size)


#: The field-mask paths ``PUT /v1/firewall/{id}`` accepts (camelCase, as rime-sdk sends them).
UPDATABLE_FIREWALL_FIELDS = ("modelId", "refDataId", "binSize", "scheduledCtInfo")


class UpdateFirewallRequest(MaskedUpdate):
    """``PUT /v1/firewall/{firewall.firewallId.uuid}``: ``firewall`` and the ``mask``."""

    firewall_id: RimeUUID | None = None
    firewall: FirewallFields

    _uuid = field_validator("firewall_id", mode="before")(_coerce_uuid)


class TestCategorySeverity(ResponseModel):
    """``FirewallTestCategorySeverity``: the latest bin's severity of one test category."""

    __test__ = False

    test_category: TestCategory | StrictStr
    risk_category_type: RiskCategory | StrictStr = RiskCategory.UNSPECIFIED
    severity: Severity | StrictStr = Severity.UNSPECIFIED


class TimeInterval(WireModel):
    """``RimeTimeInterval``: RFC 3339 start and end (the end is exclusive for a bin)."""

    start_time: StrictStr
    end_time: StrictStr

    @property
    def start(self) -> datetime:
        return parse_timestamp(self.start_time)

    @property
    def end(self) -> datetime:
        return parse_timestamp(self.end_time)


class LatestRunInfo(ResponseModel):
    """``FirewallLatestRunInfo``: the newest bin with results."""

    bin: TimeInterval | None = None


class Firewall(ResponseModel):
    """``FirewallFirewall``, as ``GET /v1/firewall/{id}`` returns it under ``firewall``."""

    firewall_id: RimeUUID
    project_id: RimeUUID
    model_id: RimeUUID
    bin_size: StrictStr
    ref_data_id: StrictStr
    scheduled_ct_info: dict[str, Any] | None = None
    risk_scores: list[dict[str, Any]] = Field(default_factory=list)
    test_category_severities: list[TestCategorySeverity] = Field(default_factory=list)
    latest_run_info: LatestRunInfo | None = None

    @property
    def bin_timedelta(self) -> timedelta:
        """The bin size as a ``timedelta`` (as rime-sdk's ``get_bin_size()``)."""
        return parse_duration(self.bin_size)


# ----------------------------------------------------------------------------- continuous tests


class IncrementalRunTimeInfo(WireModel):
    """``runTimeInfo`` of a continuous test: resources and image (a local engine uses the seed only)."""

    resource_request: dict[str, Any] | None = None
    random_seed: StrictInt | None = None
    custom_image: dict[str, Any] | None = None
    explicit_errors: StrictBool | None = None

    @field_validator("random_seed", mode="before")
    @classmethod
    def _int64(cls, value: Any) -> Any:
        # int64 may come as a JSON string.
        return int(value) if isinstance(value, str) and value.strip().lstrip("-").isdigit() else value


class TestRunIncrementalConfig(WireModel):
    """``TestrunTestRunIncrementalConfig``: the evaluation dataset to test bin by bin."""

    __test__ = False

    eval_dataset_id: Name
    run_time_info: IncrementalRunTimeInfo | None = None


class StartContinuousTestRequest(WireModel):
    """``POST /v1/continuous-tests/{firewallId}`` (``ContinuoustestsFirewallIdUuidBody``)."""

    test_run_incremental_config: TestRunIncrementalConfig
    #: Replace the results of bins that already have some (default: keep them, skip the bin).
    override_existing_bins: StrictBool = False
    agent_id: RimeUUID | None = None
    experimental_fields: dict[str, Any] | None = None

    _uuid = field_validator("agent_id", mode="before")(_coerce_uuid)


class TestBatchProgress(ResponseModel):
    """``TestRunProgressTestBatchProgress``."""

    __test__ = False

    type: StrictStr = ""
    status: TestTaskStatus | StrictStr = TestTaskStatus.UNSPECIFIED


class TestRunProgress(ResponseModel):
    """``RimeTestRunProgress``: one test run and its batches."""

    __test__ = False

    test_run_id: StrictStr = ""
    status: TestTaskStatus | StrictStr = TestTaskStatus.UNSPECIFIED
    test_batches: list[TestBatchProgress] = Field(default_factory=list)


class BinProgress(ResponseModel):
    """``RimeContinuousTestRunProgress``: one bin's test run and the bin's time range."""

    test_run: TestRunProgress
    bin_start_time: StrictStr
    bin_end_time: StrictStr

    @property
    def bin(self) -> TimeInterval:
        """The bin's time range: ``bin.start`` and ``bin.end`` as aware datetimes."""
        return TimeInterval(start_time=self.bin_start_time, end_time=self.bin_end_time)


class ContinuousTestProgress(ResponseModel):
    """``RimeContinuousTestJobProgress``."""

    test_runs: list[BinProgress] = Field(default_factory=list)


class ContinuousTestJobData(ResponseModel):
    """``jobData.continuousInc`` of a continuous-test job (``JobDataContinuousIncrementalTest``).

    ``firewallId`` is a plain string here (not ``{uuid}``), as in RIME's schema.
    ``ctTestRunIds`` holds one test run per bin the job tested (bins it skipped are not listed).
    """

    firewall_id: StrictStr = ""
    ct_test_run_ids: list[StrictStr] = Field(default_factory=list)
    progress: ContinuousTestProgress | None = None
    #: Not in RIME's schema: the project, so a client can find it from the job alone.
    project_id: RimeUUID | None = None

    _uuid = field_validator("project_id", mode="before")(_coerce_uuid)

    @classmethod
    def of(cls, job: Job) -> ContinuousTestJobData:
        """The continuous-test data of ``job`` (empty for another kind of job)."""
        return cls.model_validate(job.job_data.get("continuousInc") or {})


# ----------------------------------------------------------------------------- monitors


class MonitorThreshold(WireModel):
    """``MonitorThreshold``: ``low`` is the warning threshold, ``high`` the alert threshold."""

    low: float | None = None
    high: float | None = None
    type: ThresholdType = ThresholdType.UNSPECIFIED


class MonitorAggregation(WireModel):
    """``MonitorAggregation``: how values over ``timeWindow`` (a Duration string) are combined."""

    aggregation_type: AggregationType = AggregationType.UNSPECIFIED
    time_window: StrictStr | None = None


class DifferenceFromTarget(WireModel):
    difference: Difference = Difference.UNSPECIFIED
    target: DifferenceTarget = DifferenceTarget.UNSPECIFIED


class MonitorTransform(WireModel):
    """``MonitorTransform``: compare each value with a target before the thresholds."""

    difference_from_target: DifferenceFromTarget | None = None


class MetricDegradationConfig(WireModel):
    """``MonitorMetricDegradationConfig``."""

    aggregation: MonitorAggregation | None = None
    transform: MonitorTransform | None = None
    threshold: MonitorThreshold | None = None


class MonitorConfig(WireModel):
    """``SchemamonitorConfig``: a degradation monitor (thresholds) or an anomaly monitor."""

    degradation: MetricDegradationConfig | None = None
    anomaly: dict[str, Any] | None = None


class TestCaseMetricIdentifier(WireModel):
    """A metric of the test cases of one test (``testBatchId``), optionally of some features."""

    __test__ = False

    test_batch_id: StrictStr
    metric: StrictStr
    feature_names: list[StrictStr] = Field(default_factory=list)


class CategoryTestIdentifier(WireModel):
    """A metric of one test category."""

    test_category: TestCategory | StrictStr
    metric: StrictStr


class SubsetTestMetricIdentifier(TestCaseMetricIdentifier):
    subset_name: StrictStr = ""


class ArtifactIdentifier(WireModel):
    """``MonitorArtifactIdentifier``: what a monitor's value is read from (one of three kinds)."""

    test_case_metric_identifier: TestCaseMetricIdentifier | None = None
    category_test_metric_identifier: CategoryTestIdentifier | None = None
    subset_test_metric_identifier: SubsetTestMetricIdentifier | None = None


class Monitor(ResponseModel):
    """``MonitorMonitor``: one metric of a continuous test followed bin by bin."""

    id: RimeUUID
    name: StrictStr
    firewall_id: RimeUUID
    monitor_type: MonitorType | StrictStr = MonitorType.UNSPECIFIED
    risk_category_type: RiskCategory | StrictStr = RiskCategory.UNSPECIFIED
    test_category: TestCategory | StrictStr = TestCategory.UNSPECIFIED
    artifact_identifier: ArtifactIdentifier | None = None
    created_time: StrictStr | None = None
    notify: bool = False
    config: MonitorConfig | None = None
    excluded_transforms: dict[str, Any] | None = None
    pinned: bool = False

    @property
    def threshold(self) -> MonitorThreshold | None:
        """The monitor's warning and alert thresholds (``config.degradation.threshold``)."""
        degradation = self.config.degradation if self.config else None
        return degradation.threshold if degradation else None


class MonitorDataPoint(WireModel):
    """``RimeMonitorDataPoint``: the monitor's value over one bin (left out when undefined)."""

    time_interval: TimeInterval
    monitor_value: float | None = None


class MonitorResult(ResponseModel):
    """``GET /v1-beta/monitors/result/{monitorId}`` (``RimeGetMonitorResultResponse``)."""

    monitor_id: RimeUUID | None = None
    monitor_name: StrictStr = ""
    metric_name: StrictStr = ""
    threshold: MonitorThreshold | None = None
    data_points: list[MonitorDataPoint] = Field(default_factory=list)
    description_html: StrictStr = ""
    long_description_tabs: list[dict[str, Any]] = Field(default_factory=list)


# ----------------------------------------------------------------------------- detection events


class RootCause(WireModel):
    """What the engine puts in ``detail.metricDegradation.rcaResult``: the drifted features."""

    description: StrictStr = ""
    features: list[StrictStr] = Field(default_factory=list)


class MetricDegradationDetail(WireModel):
    """``detail.metricDegradation`` of an event (an empty schema in rime-sdk; the engine fills it)."""

    rca_result: RootCause | None = None
    metric_name: StrictStr | None = None
    threshold: MonitorThreshold | None = None
    worst_value: float | None = None
    bins: list[TimeInterval] = Field(default_factory=list)
    test_run_ids: list[StrictStr] = Field(default_factory=list)


class EventDetail(WireModel):
    """``DetectionEventDetail``: one of metric degradation or security."""

    metric_degradation: MetricDegradationDetail | None = None
    security: dict[str, Any] | None = None


class DetectionEvent(ResponseModel):
    """``DetectionDetectionEvent``: a continuous stretch of bins where a monitor was bad.

    ``eventObjectId`` is the monitor's id (a plain string), ``eventObjectName`` its name.
    """

    id: RimeUUID
    project_id: RimeUUID
    firewall_id: RimeUUID | None = None
    event_type: EventType | StrictStr = EventType.UNSPECIFIED
    severity: Severity | StrictStr = Severity.UNSPECIFIED
    event_object_id: StrictStr = ""
    event_object_name: StrictStr = ""
    event_time_range: TimeInterval | None = None
    last_update_time: StrictStr | None = None
    risk_category_type: RiskCategory | StrictStr = RiskCategory.UNSPECIFIED
    test_category: TestCategory | StrictStr = TestCategory.UNSPECIFIED
    description: StrictStr = ""
    description_html: StrictStr = ""
    resolution: dict[str, Any] | None = None
    detail: EventDetail | None = None

    @property
    def root_cause(self) -> str:
        """The root-cause line (``detail.metricDegradation.rcaResult.description``), or ``""``."""
        degradation = self.detail.metric_degradation if self.detail else None
        rca = degradation.rca_result if degradation else None
        return rca.description if rca else ""
