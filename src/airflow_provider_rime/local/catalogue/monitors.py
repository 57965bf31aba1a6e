"""The continuous test's default monitors: one value per bin, read from the bin's test results.

A bin of a continuous test is a small stress test (the catalogue's tests on the bin's rows
against the reference data). Each default monitor follows one metric of those tests over
time, as RIME's default monitors do (Accuracy, Prediction Drift, Numeric Feature Drift,
Unseen Categorical, ...):

- its **value** in a bin is the metric of the test it reads (the evaluation accuracy of
  ``accuracy_degradation``, the largest PSI of the numeric features of ``feature_drift``, ...);
- its **thresholds** are that test's thresholds, written in the metric's own units (for
  Accuracy, the reference accuracy minus the degradation thresholds), so a chart can draw them;
- its **severity** in a bin is the severity the test gave there: the test already weighs
  sample sizes and significance, so a monitor does not raise a second, noisier verdict.

Monitors the engine cannot compute (Embedding Drift, the fairness and security monitors,
Abnormality Rate across all checks) are not defined; a metric whose test did not run in a
bin (no labels, a category left out) has no value there.

:func:`stretches` groups bad bins into detection events: one event per continuous stretch of
bins where a monitor warned or alerted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

import numpy as np

from airflow_provider_rime.local.catalogue.metrics import BINARY_METRICS
from airflow_provider_rime.local.catalogue.metrics import BinaryMetric
from airflow_provider_rime.local.catalogue.metrics import Direction
from airflow_provider_rime.local.catalogue.model_performance import metric_value
from airflow_provider_rime.local.catalogue.registry import CATALOGUE
from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.local.catalogue.types import TestBatch
from airflow_provider_rime.rime_api.enums import Severity as WireSeverity
from airflow_provider_rime.rime_api.enums import TestCategory
from airflow_provider_rime.rime_api.enums import ThresholdType

Thresholds = tuple[float, float]


@dataclass(frozen=True)
class Reading:
    """A monitor's value over one bin, the bin's verdict on it, and the features behind it."""

    value: float | None
    severity: Severity
    features: list[str] = field(default_factory=list)

    @property
    def wire_severity(self) -> WireSeverity:
        return self.severity.api_name


@dataclass(frozen=True)
class MonitorSpec:
    """A default monitor: what it reads, its thresholds, in which direction a value is bad."""

    key: str
    name: str
    metric_name: str
    category: TestCategory
    description: str
    #: The catalogue test whose results it reads (its ``artifactIdentifier.testBatchId``).
    test_type: str
    read: Callable[[StressInputs, TestBatch], Reading | None]
    #: The thresholds in the metric's units, from the test's parameters and the reference data.
    thresholds: Callable[[StressInputs, Any], Thresholds | None]
    needs_labels: bool = False
    needs_preds: bool = False
    #: Which side of the thresholds is bad: above them (the default), or below.
    threshold_type: ThresholdType = ThresholdType.UPPER_BOUND


def _params(inputs: StressInputs, test_type: str) -> Any:
    spec = CATALOGUE[test_type]
    return spec.params.parse(inputs.config.individual_tests_config.get(test_type) or {})


def _pair(params: Any, attribute: str, factor: float) -> Thresholds | None:
    value = getattr(params, attribute, None)
    if not isinstance(value, tuple | list) or len(value) != 2:
        return None
    return float(value[0]) * factor, float(value[1]) * factor


def _test_thresholds(attribute: str) -> Callable[[StressInputs, Any], Thresholds | None]:
    """The test's own [warning, alert] thresholds (its parameter ``attribute``), scaled by the
    global sensitivity: for a monitor whose value is the test's statistic."""

    def thresholds(inputs: StressInputs, params: Any) -> Thresholds | None:
        return _pair(params, attribute, inputs.config.threshold_factor)

    return thresholds


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _metric(metrics: Iterable[Any], name: str) -> float | None:
    return next((_finite(m.value) for m in metrics if m.name == name), None)


# ----------------------------------------------------------------------------- model performance


#: How many standard errors a rate's degradation must be before a performance monitor warns / alerts.
WARNING_Z = 2.0
ALERT_Z = 3.0


def _rate_denominator(metric_key: str, labels: np.ndarray, preds: np.ndarray, threshold: float) -> int | None:
    """The number of rows a rate metric is a share of (``None`` for a metric that is not a rate)."""
    if metric_key == "accuracy":
        return int(labels.size)
    if metric_key in ("recall", "fnr"):
        return int(np.count_nonzero(labels == 1))
    if metric_key == "fpr":
        return int(np.count_nonzero(labels == 0))
    if metric_key == "precision":
        return int(np.count_nonzero(preds >= threshold))
    return None


def rate_degradation_z(inputs: StressInputs, metric: BinaryMetric) -> float | None:
    """
    How many standard errors a rate metric's degradation from reference to evaluation is.

    Parameters
    ----------
    inputs : StressInputs
        A bin's inputs, with labels and predictions on both sides.
    metric : BinaryMetric
        Accuracy, precision, recall, false positive or false negative rate.

    Returns
    -------
    float or None
        ``(worse by) / sqrt(p (1 - p) (1/n_ref + 1/n_eval))`` with ``p`` the reference rate and
        ``n`` each side's denominator (rows, actual positives or negatives, predicted
        positives); ``None`` for other metrics or an undefined rate.

    Notes
    -----
    The normal approximation of the difference of two proportions under "no change".
    """
    if inputs.ref_labels is None or inputs.eval_labels is None:
        return None
    if inputs.ref_preds is None or inputs.eval_preds is None:
        return None
    threshold = inputs.config.prediction_threshold
    n_ref = _rate_denominator(metric.key, inputs.ref_labels, inputs.ref_preds, threshold)
    n_eval = _rate_denominator(metric.key, inputs.eval_labels, inputs.eval_preds, threshold)
    ref = _finite(metric_value(inputs, metric, "ref"))
    value = _finite(metric_value(inputs, metric, "eval"))
    if not n_ref or not n_eval or ref is None or value is None:
        return None
    variance = ref * (1.0 - ref) * (1.0 / n_ref + 1.0 / n_eval)
    worse_by = metric.degradation(ref, value)
    if variance <= 0:
        return math.inf if worse_by > 0 else 0.0
    return worse_by / math.sqrt(variance)


def _performance(metric: BinaryMetric) -> MonitorSpec:
    test_type = f"{metric.key}_degradation"
    bound = (
        ThresholdType.LOWER_BOUND
        if metric.direction is Direction.HIGHER_IS_BETTER
        else ThresholdType.UPPER_BOUND
    )

    def read(inputs: StressInputs, batch: TestBatch) -> Reading | None:
        value = _finite(metric_value(inputs, metric, "eval"))
        severity = batch.severity
        z = rate_degradation_z(inputs, metric)
        if z is not None and severity > Severity.PASS:
            # A bin is small: a rate over a few hundred rows moves by chance. Alert only on a
            # degradation that is also at least ALERT_Z standard errors; warn from WARNING_Z.
            if z < WARNING_Z:
                severity = Severity.PASS
            elif z < ALERT_Z:
                severity = min(severity, Severity.WARNING)
        return Reading(value, severity)

    def thresholds(inputs: StressInputs, params: Any) -> Thresholds | None:
        pair = _pair(params, "severity_thresholds", inputs.config.threshold_factor)
        ref = _finite(metric_value(inputs, metric, "ref"))
        if pair is None or ref is None:
            return None
        if bound is ThresholdType.LOWER_BOUND:
            return ref - pair[0], ref - pair[1]
        return ref + pair[0], ref + pair[1]

    return MonitorSpec(
        key=metric.key,
        name=metric.name,
        metric_name=metric.name,
        category=TestCategory.MODEL_PERFORMANCE,
        threshold_type=bound,
        description=(
            f"{metric.name} of the model in each bin (needs labels). It warns or alerts when it is "
            f"worse than on the reference data by the thresholds of the {metric.name} Degradation test"
            + (
                f", and by at least {WARNING_Z:g} (warning) or {ALERT_Z:g} (alert) standard errors."
                if metric.key in ("accuracy", "precision", "recall", "fpr", "fnr")
                else "."
            )
        ),
        test_type=test_type,
        read=read,
        thresholds=thresholds,
        needs_labels=True,
        needs_preds=True,
    )


def _calibration() -> MonitorSpec:
    def read(_inputs: StressInputs, batch: TestBatch) -> Reading | None:
        return Reading(_metric(batch.metrics, "Calibration MSE"), batch.severity)

    return MonitorSpec(
        key="calibration_comparison",
        name="Calibration Comparison",
        metric_name="Calibration MSE",
        category=TestCategory.MODEL_PERFORMANCE,
        description=(
            "How far the model's calibration curve in each bin is from the reference's (needs labels)."
        ),
        test_type="calibration_comparison",
        read=read,
        thresholds=_test_thresholds("severity_thresholds"),
        needs_labels=True,
        needs_preds=True,
    )


def average_confidence(preds: np.ndarray) -> float:
    """
    Average confidence of a binary classifier: the mean of ``max(p, 1 - p)``.

    Parameters
    ----------
    preds : numpy.ndarray
        Predicted probabilities of class 1.

    Returns
    -------
    float
        In [0.5, 1]; ``nan`` for no rows. Needs no labels.
    """
    if preds.size == 0:
        return math.nan
    return float(np.mean(np.maximum(preds, 1.0 - preds)))


#: How far (in probability) the average confidence may fall below the reference's: [warning, alert].
AVERAGE_CONFIDENCE_DROP: Thresholds = (0.05, 0.1)


def _average_confidence() -> MonitorSpec:
    def read(inputs: StressInputs, _batch: TestBatch) -> Reading | None:
        assert inputs.eval_preds is not None
        value = _finite(average_confidence(inputs.eval_preds))
        limits = _confidence_thresholds(inputs, None)
        severity = Severity.PASS
        if value is not None and limits is not None:
            severity = (
                Severity.ALERT
                if value <= limits[1]
                else Severity.WARNING
                if value <= limits[0]
                else Severity.PASS
            )
        return Reading(value, severity)

    return MonitorSpec(
        key="average_confidence",
        name="Average Confidence",
        metric_name="Average Confidence",
        category=TestCategory.MODEL_PERFORMANCE,
        threshold_type=ThresholdType.LOWER_BOUND,
        description=(
            "Mean of max(p, 1 - p) over the bin's predictions: a label-free estimate of how sure the model "
            f"is. It warns {AVERAGE_CONFIDENCE_DROP[0]} and alerts {AVERAGE_CONFIDENCE_DROP[1]} below the "
            "reference data's average confidence."
        ),
        test_type="prediction_drift",
        read=read,
        thresholds=lambda inputs, params: _confidence_thresholds(inputs, params),
        needs_preds=True,
    )


def _confidence_thresholds(inputs: StressInputs, _params: Any) -> Thresholds | None:
    if inputs.ref_preds is None:
        return None
    ref = _finite(average_confidence(inputs.ref_preds))
    if ref is None:
        return None
    factor = inputs.config.threshold_factor
    return ref - AVERAGE_CONFIDENCE_DROP[0] * factor, ref - AVERAGE_CONFIDENCE_DROP[1] * factor


# ----------------------------------------------------------------------------- drift


def _single_case(
    metric_name: str, *, absolute: bool = False
) -> Callable[[StressInputs, TestBatch], Reading | None]:
    def read(_inputs: StressInputs, batch: TestBatch) -> Reading | None:
        active = [c for c in batch.cases if not c.skipped]
        if not active:
            return Reading(None, Severity.PASS)
        value = _metric(active[0].metrics, metric_name)
        if value is not None and absolute:
            value = abs(value)
        return Reading(value, batch.severity)

    return read


#: The config keys that switch Feature Drift to RIME's single-statistic (PSI) rule.
_FEATURE_PSI_KEYS = ("drift_scoring_method", "psi_thresholds", "js_thresholds", "kl_thresholds")


def _psi_rule(params: Any, keys: tuple[str, ...]) -> bool:
    given = getattr(params, "given", None)
    return bool(given(*keys)) if callable(given) else False


def _drift_statistic(metrics: Iterable[Any], effect: str) -> float | None:
    """The drift test's effect size (its default verdict), or PSI where it judged by PSI."""
    value = _metric(metrics, effect)
    return value if value is not None else _metric(metrics, "psi")


def _drift_thresholds(
    effect_thresholds: str, psi_keys: tuple[str, ...]
) -> Callable[[StressInputs, Any], Thresholds | None]:
    def thresholds(inputs: StressInputs, params: Any) -> Thresholds | None:
        attribute = "psi_thresholds" if _psi_rule(params, psi_keys) else effect_thresholds
        return _pair(params, attribute, inputs.config.threshold_factor)

    return thresholds


def _feature_drift(numeric: bool) -> MonitorSpec:
    kind = "Numeric" if numeric else "Categorical"
    effect = "Normalised Wasserstein Distance" if numeric else "Total Variation Distance"

    def read(inputs: StressInputs, batch: TestBatch) -> Reading | None:
        values, severities, drifted = [], [], []
        for case in batch.cases:
            if case.skipped or not case.features:
                continue
            feature = inputs.features.get(case.features[0])
            if feature is None or feature.is_numeric != numeric:
                continue
            value = _drift_statistic(case.metrics, effect)
            if value is not None:
                values.append(value)
            severities.append(case.severity)
            if case.severity > Severity.PASS:
                drifted.append((case.importance, case.features[0]))
        if not severities:
            return None
        drifted.sort(reverse=True)
        return Reading(max(values, default=None), max(severities), [name for _, name in drifted])

    return MonitorSpec(
        key=f"{kind.lower()}_feature_drift",
        name=f"{kind} Feature Drift",
        metric_name=f"Largest {effect}",
        category=TestCategory.DRIFT,
        description=(
            f"The largest drift of the {kind.lower()} features between the bin and the reference data "
            f"({effect.lower()}, or PSI when the Feature Drift test is set to judge by it), and the Feature "
            "Drift test's verdict on those features, which also asks for significant evidence."
        ),
        test_type="feature_drift",
        read=read,
        thresholds=_drift_thresholds(
            "distance_thresholds" if numeric else "categorical_distance_thresholds", _FEATURE_PSI_KEYS
        ),
    )


# ----------------------------------------------------------------------------- abnormal inputs


def _abnormal(test_type: str, name: str) -> MonitorSpec:
    def read(_inputs: StressInputs, batch: TestBatch) -> Reading | None:
        excess = []
        for case in batch.cases:
            if case.skipped:
                continue
            share = _metric(case.metrics, "Failing Rows %")
            ref_share = _metric(case.metrics, "Reference Failing Rows %") or 0.0
            if share is not None:
                excess.append(max(0.0, share - ref_share))
        failing = [f for c in batch.cases if not c.skipped and c.severity > Severity.PASS for f in c.features]
        return Reading(max(excess, default=0.0), batch.severity, list(dict.fromkeys(failing)))

    def thresholds(inputs: StressInputs, params: Any) -> Thresholds | None:
        pair = _pair(params, "share_thresholds", inputs.config.threshold_factor)
        return (pair[0] * 100, pair[1] * 100) if pair else None

    return MonitorSpec(
        key=test_type,
        name=name,
        metric_name="Excess Failing Rows %",
        category=TestCategory.ABNORMAL_INPUTS,
        description=(
            f"The {name} test in each bin: the largest share of rows (in %) of a feature that fail it, "
            "beyond the share that fails it in the reference data. Its severity is the test's, which also "
            "weighs significance and the failing rows' impact on the model."
        ),
        test_type=test_type,
        read=read,
        thresholds=thresholds,
    )


def _prediction_drift(_inputs: StressInputs, batch: TestBatch) -> Reading | None:
    active = [c for c in batch.cases if not c.skipped]
    if not active:
        return Reading(None, Severity.PASS)
    return Reading(_drift_statistic(active[0].metrics, "Normalised Wasserstein Distance"), batch.severity)


def _default_monitors() -> tuple[MonitorSpec, ...]:
    performance = [
        _performance(m)
        for m in BINARY_METRICS
        if m.needs_labels and m.direction is not Direction.CHANGE_IS_BAD
    ]
    return (
        *performance,
        _calibration(),
        _average_confidence(),
        MonitorSpec(
            key="prediction_drift",
            name="Prediction Drift",
            metric_name="Normalised Wasserstein Distance",
            category=TestCategory.DRIFT,
            description=(
                "How far the model's predictions in the bin moved from those on the reference data "
                "(normalised Wasserstein distance, or PSI when the test is set to judge by it)."
            ),
            test_type="prediction_drift",
            read=_prediction_drift,
            thresholds=_drift_thresholds("distance_thresholds", ("psi_thresholds",)),
            needs_preds=True,
        ),
        MonitorSpec(
            key="label_drift",
            name="Label Drift",
            metric_name="Positive Rate Change",
            category=TestCategory.DRIFT,
            description=(
                "How far the share of positive labels in the bin moved from the reference's (needs labels)."
            ),
            test_type="categorical_label_drift",
            read=_single_case("Rate Change", absolute=True),
            thresholds=_test_thresholds("rate_change_thresholds"),
            needs_labels=True,
        ),
        _feature_drift(numeric=True),
        _feature_drift(numeric=False),
        _abnormal("unseen_categorical", "Unseen Categorical"),
        _abnormal("rare_categories", "Rare Categories"),
        _abnormal("numeric_outlier", "Numeric Outliers"),
        _abnormal("out_of_range", "Out of Range"),
        _abnormal("null_check", "Null Check"),
        _abnormal("feature_type_check", "Feature Type Check"),
        _abnormal("empty_string", "Empty String"),
        _abnormal("capitalization", "Capitalization"),
    )


#: Every default monitor, in the order they are listed.
DEFAULT_MONITORS: tuple[MonitorSpec, ...] = tuple(m for m in _default_monitors() if m.test_type in CATALOGUE)
MONITORS_BY_KEY: dict[str, MonitorSpec] = {m.key: m for m in DEFAULT_MONITORS}
#: Monitors whose readings name drifted features: the root cause of an event's other monitors.
DRIFT_MONITOR_KEYS = ("numeric_feature_drift", "categorical_feature_drift")


def monitor_thresholds(spec: MonitorSpec, inputs: StressInputs) -> Thresholds | None:
    """``spec``'s [warning, alert] thresholds on ``inputs`` (the reference side decides them)."""
    return spec.thresholds(inputs, _params(inputs, spec.test_type))


def read_monitors(inputs: StressInputs, batches: Sequence[TestBatch]) -> dict[str, Reading]:
    """Every default monitor's reading over one bin, from the bin's test batches.

    A monitor whose test did not run in the bin (no labels, its category left out, or the test
    did not apply) has no reading.
    """
    by_type = {b.test_type: b for b in batches}
    out = {}
    for spec in DEFAULT_MONITORS:
        batch = by_type.get(spec.test_type)
        if batch is None:
            continue
        reading = spec.read(inputs, batch)
        if reading is not None:
            out[spec.key] = reading
    return out


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class BinReading:
    """A stored monitor reading with its bin, as :func:`stretches` takes it."""

    start: datetime
    end: datetime
    severity: WireSeverity
    value: float | None
    test_run_id: str


def stretches(readings: Sequence[BinReading]) -> list[list[BinReading]]:
    """The continuous stretches of bad bins (warning or alert) of one monitor, oldest first.

    Bins are consecutive when one ends where the next starts: a bin without data (no test run)
    ends a stretch, as does a bin that passed.
    """
    out: list[list[BinReading]] = []
    current: list[BinReading] = []
    for reading in sorted(readings, key=lambda r: r.start):
        bad = reading.severity.rank > 0
        if bad and current and current[-1].end == reading.start:
            current.append(reading)
            continue
        if current:
            out.append(current)
            current = []
        if bad:
            current = [reading]
    if current:
        out.append(current)
    return out


def root_cause(
    features_by_bin: Mapping[str, Sequence[str]], stretch: Sequence[BinReading]
) -> tuple[str, list[str]]:
    """The root-cause line of an event: the features that drifted in the stretch's bins.

    :param features_by_bin: Test run id -> the features the drift monitors flagged in that bin.
    :returns: The line and the features, most often drifted first.
    """
    counts: dict[str, int] = {}
    for reading in stretch:
        for name in features_by_bin.get(reading.test_run_id, ()):
            counts[name] = counts.get(name, 0) + 1
    if not counts:
        return "No feature drifted in these bins.", []
    ranked = sorted(counts, key=lambda n: (-counts[n], n))
    shown = ", ".join(
        f"{n} ({counts[n]} of {len(stretch)} bin{'s' if len(stretch) > 1 else ''})" for n in ranked[:10]
    )
    more = f" and {len(ranked) - 10} more" if len(ranked) > 10 else ""
    return f"Drifted features in these bins: {shown}{more}.", ranked
