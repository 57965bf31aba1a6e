"""Model Performance: each metric as an absolute value on evaluation data and as
degradation from reference to evaluation, plus the calibration comparison.

Absolute tests compare the evaluation value with what a trivial model would score on the
same data (AUC 0.5, accuracy of always predicting the majority class, ...): at or below it
is an alert, within ``warning_margin`` of it a warning. ``min_value`` / ``max_value`` set
hard bounds of the user's own. Degradation tests alert when the metric got worse by at
least the thresholds (scaled by the global sensitivity).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import numpy as np

from airflow_provider_rime.local.catalogue import stats
from airflow_provider_rime.local.catalogue.metrics import BINARY_METRICS
from airflow_provider_rime.local.catalogue.metrics import BinaryMetric
from airflow_provider_rime.local.catalogue.metrics import Direction
from airflow_provider_rime.local.catalogue.metrics import calibration_curve
from airflow_provider_rime.local.catalogue.metrics import calibration_mse
from airflow_provider_rime.local.catalogue.params import Range
from airflow_provider_rime.local.catalogue.params import TestParams
from airflow_provider_rime.local.catalogue.params import Thresholds
from airflow_provider_rime.local.catalogue.registry import Registrar
from airflow_provider_rime.local.catalogue.types import Findings
from airflow_provider_rime.local.catalogue.types import Metric
from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.local.catalogue.types import TestCase
from airflow_provider_rime.local.catalogue.types import severity_from_thresholds
from airflow_provider_rime.rime_api.enums import MetricCategory
from airflow_provider_rime.rime_api.enums import TestCategory

CATEGORY = TestCategory.MODEL_PERFORMANCE
register = Registrar(CATEGORY)


@dataclass(frozen=True)
class AbsoluteParams(TestParams):
    """A metric on the evaluation data: how close to a model without skill may it come."""

    warning_margin: Annotated[float, Range(0.0)] = 0.02
    min_value: float | None = None  # the user's own hard bounds
    max_value: float | None = None


@dataclass(frozen=True)
class DegradationParams(TestParams):
    """Degradation thresholds [warning, alert] on "how much worse" a rate got."""

    severity_thresholds: Thresholds = (0.02, 0.05)


@dataclass(frozen=True)
class ChangeParams(DegradationParams):
    """Thresholds [warning, alert] on how much a metric without a better direction moved."""

    severity_thresholds: Thresholds = (0.05, 0.1)


_DEGRADATION_PARAMS: dict[Direction, type[DegradationParams]] = {
    Direction.HIGHER_IS_BETTER: DegradationParams,
    Direction.LOWER_IS_BETTER: DegradationParams,
    Direction.CHANGE_IS_BAD: ChangeParams,
}


def _fmt(value: float) -> str:
    return "undefined" if not math.isfinite(value) else f"{value:.3f}"


def metric_value(inputs: StressInputs, metric: BinaryMetric, split: str) -> float:
    """The metric on one split, computed once per run (AUC sorts a million predictions)."""

    def compute() -> float:
        if metric.key == "auc":  # the same exact AUC, from the sort the subset AUCs share
            return stats.prediction_codes(inputs, split).overall_auc
        labels = inputs.ref_labels if split == "ref" else inputs.eval_labels
        preds = inputs.ref_preds if split == "ref" else inputs.eval_preds
        assert preds is not None
        return metric(labels, preds, inputs.config.prediction_threshold)

    return inputs.cache.split(("model_metric", metric.key), split, compute)


def trivial_baseline(metric: BinaryMetric, y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    """What a model without skill scores on this data (nan where there is no such notion)."""
    pos_rate = float(np.mean(y)) if y.size else math.nan
    pred_rate = float(np.mean(p >= threshold)) if p.size else math.nan
    return {
        "accuracy": max(pos_rate, 1.0 - pos_rate),
        "auc": 0.5,
        "f1": 2 * pos_rate / (1 + pos_rate) if pos_rate == pos_rate else math.nan,
        "precision": pos_rate,
        "recall": pred_rate,  # random guessing at the model's positive rate
        "fpr": pred_rate,
        "fnr": 1.0 - pred_rate,
    }.get(metric.key, math.nan)


def _whole_data_findings(
    severity: Severity,
    explanation: str,
    metrics: list[Metric],
    *,
    importance: float,
    skipped: bool,
    case_metrics: list[Metric] | None = None,
) -> Findings:
    """The one case of a test on the whole data, and the test's metrics (also the case's,
    unless ``case_metrics`` adds to them). An undefined ``importance`` ranks the case last."""
    case = TestCase(
        features=[],
        severity=severity,
        explanation=explanation,
        metrics=metrics if case_metrics is None else case_metrics,
        importance=importance if math.isfinite(importance) else 0.0,
        skipped=skipped,
    )
    return Findings([case], metrics)


def _absolute_description(metric: BinaryMetric) -> str:
    if metric.direction is Direction.CHANGE_IS_BAD:
        return (
            f"{metric.name} of the model on the evaluation data (no notion of good or bad on its own: "
            f"it fails only outside the configured min_value / max_value)."
        )
    return f"{metric.name} of the model on the evaluation data, against a model without skill."


def _absolute_test(metric: BinaryMetric) -> Callable[[StressInputs, AbsoluteParams], Findings | None]:
    def test(inputs: StressInputs, params: AbsoluteParams) -> Findings | None:
        assert inputs.eval_preds is not None
        y = inputs.eval_labels
        if metric.needs_labels and y is None:
            return None
        thr = inputs.config.prediction_threshold
        value = metric_value(inputs, metric, "eval")
        severity = Severity.PASS
        reasons = []
        baseline = math.nan
        if y is not None and metric.direction is not Direction.CHANGE_IS_BAD:
            baseline = trivial_baseline(metric, y, inputs.eval_preds, thr)
        if math.isfinite(value) and math.isfinite(baseline):
            margin = params.warning_margin * inputs.config.threshold_factor
            worse_by = (baseline - value) * metric.direction.value  # >= 0: no better than trivial
            if worse_by >= 0:
                severity = Severity.ALERT
                reasons.append(f"no better than a model without skill ({_fmt(baseline)})")
            elif worse_by > -margin:
                severity = Severity.WARNING
                reasons.append(f"within {margin:.3f} of a model without skill ({_fmt(baseline)})")
        if params.min_value is not None and math.isfinite(value) and value < params.min_value:
            severity = Severity.ALERT
            reasons.append(f"below the configured minimum {params.min_value}")
        if params.max_value is not None and math.isfinite(value) and value > params.max_value:
            severity = Severity.ALERT
            reasons.append(f"above the configured maximum {params.max_value}")
        if reasons:
            explanation = f"{metric.name} on the evaluation data is {_fmt(value)}: {'; '.join(reasons)}."
        else:
            explanation = f"{metric.name} on the evaluation data is {_fmt(value)}."
        metrics = [
            Metric(metric.name, MetricCategory.PERFORMANCE_METRIC_VALUE, value),
            Metric("Baseline", MetricCategory.PERFORMANCE_METRIC_VALUE, baseline),
        ]
        return _whole_data_findings(
            severity, explanation, metrics, importance=abs(value - baseline), skipped=not math.isfinite(value)
        )

    return test


def _degradation_test(metric: BinaryMetric) -> Callable[[StressInputs, DegradationParams], Findings | None]:
    def test(inputs: StressInputs, params: DegradationParams) -> Findings | None:
        assert inputs.ref_preds is not None and inputs.eval_preds is not None
        if metric.needs_labels and not inputs.has_labels:
            return None
        ref_value = metric_value(inputs, metric, "ref")
        eval_value = metric_value(inputs, metric, "eval")
        degradation = metric.degradation(ref_value, eval_value)
        defined = math.isfinite(degradation)
        severity = severity_from_thresholds(
            degradation, params.severity_thresholds, inputs.config.threshold_factor
        )
        if not defined:
            explanation = f"{metric.name} is undefined on the reference or evaluation data."
        elif severity is Severity.PASS:
            explanation = (
                f"{metric.name} held up: {_fmt(ref_value)} on reference, {_fmt(eval_value)} on evaluation."
            )
        else:
            if metric.direction is Direction.CHANGE_IS_BAD:
                consequence = "the model behaves differently on the data it will see"
                verb = "changed"
            else:
                consequence = "the model does worse on the data it will see than on the data it was built on"
                verb = "degraded"
            explanation = (
                f"{metric.name} {verb} from {_fmt(ref_value)} on reference to {_fmt(eval_value)} on "
                f"evaluation ({_fmt(degradation)}): {consequence}."
            )
        metrics = [
            Metric(f"Reference {metric.name}", MetricCategory.PERFORMANCE_DIFF, ref_value),
            Metric(f"Evaluation {metric.name}", MetricCategory.PERFORMANCE_DIFF, eval_value),
            Metric("Degradation", MetricCategory.PERFORMANCE_DIFF, degradation),
        ]
        return _whole_data_findings(
            severity, explanation, metrics, importance=max(0.0, degradation), skipped=not defined
        )

    return test


for _metric in BINARY_METRICS:
    register(
        _metric.key,
        _metric.name,
        AbsoluteParams,
        description=_absolute_description(_metric),
        needs_labels=_metric.needs_labels,
        needs_preds=True,
    )(_absolute_test(_metric))
    register(
        f"{_metric.key}_degradation",
        f"{_metric.name} Degradation",
        _DEGRADATION_PARAMS[_metric.direction],
        description=f"Compares {_metric.name} on the evaluation data with the reference data.",
        needs_labels=_metric.needs_labels,
        needs_preds=True,
    )(_degradation_test(_metric))


@dataclass(frozen=True)
class CalibrationParams(TestParams):
    num_bins: Annotated[int, Range(1, 1000)] = 10
    severity_thresholds: Thresholds = (0.01, 0.04)


@register(
    "calibration_comparison", "Calibration Comparison", CalibrationParams, needs_labels=True, needs_preds=True
)
def calibration_comparison(inputs: StressInputs, params: CalibrationParams) -> Findings | None:
    """Compares the model's calibration curves on reference and evaluation data."""
    assert inputs.ref_labels is not None and inputs.eval_labels is not None
    assert inputs.ref_preds is not None and inputs.eval_preds is not None
    mse = calibration_mse(
        inputs.ref_labels, inputs.ref_preds, inputs.eval_labels, inputs.eval_preds, params.num_bins
    )
    severity = severity_from_thresholds(mse, params.severity_thresholds, inputs.config.threshold_factor)
    if not math.isfinite(mse):
        explanation = "No probability bin has rows in both reference and evaluation data."
    elif severity is Severity.PASS:
        explanation = f"The model's calibration is stable (curve MSE {mse:.4f})."
    else:
        explanation = (
            f"The model's calibration curve moved (MSE {mse:.4f}, about {math.sqrt(mse):.3f} per bin): "
            "its probabilities mean something different on evaluation data than on reference."
        )
    metrics = [Metric("Calibration MSE", MetricCategory.PERFORMANCE_DIFF, mse)]
    return _whole_data_findings(
        severity,
        explanation,
        metrics,
        importance=mse,
        skipped=not math.isfinite(mse),
        case_metrics=metrics + _calibration_curves(inputs, params.num_bins),
    )


def _calibration_curves(inputs: StressInputs, num_bins: int) -> list[Metric]:
    """Both calibration curves (the result page's reliability diagram): bin centres, rates, rows."""
    assert inputs.ref_labels is not None and inputs.eval_labels is not None
    assert inputs.ref_preds is not None and inputs.eval_preds is not None
    ref_rate, ref_n = calibration_curve(inputs.ref_labels, inputs.ref_preds, num_bins)
    eval_rate, eval_n = calibration_curve(inputs.eval_labels, inputs.eval_preds, num_bins)
    centres = [(i + 0.5) / num_bins for i in range(num_bins)]
    return [
        Metric("Predicted Probability Bins", MetricCategory.PERFORMANCE_DIFF, centres),
        Metric("Reference Calibration Curve", MetricCategory.PERFORMANCE_DIFF, [float(v) for v in ref_rate]),
        Metric(
            "Evaluation Calibration Curve", MetricCategory.PERFORMANCE_DIFF, [float(v) for v in eval_rate]
        ),
        Metric("Reference Calibration Rows", MetricCategory.PERFORMANCE_DIFF, [int(v) for v in ref_n]),
        Metric("Evaluation Calibration Rows", MetricCategory.PERFORMANCE_DIFF, [int(v) for v in eval_n]),
    ]


def model_perf_summary(inputs: StressInputs) -> dict[str, dict[str, float]]:
    """``metrics.modelPerf`` of the test run: each metric's ref and eval value."""
    out: dict[str, dict[str, float]] = {}
    if not inputs.has_preds:
        return out
    assert inputs.ref_preds is not None and inputs.eval_preds is not None
    for metric in BINARY_METRICS:
        if metric.needs_labels and not inputs.has_labels:
            continue
        out[metric.name] = {
            "refMetric": metric_value(inputs, metric, "ref"),
            "evalMetric": metric_value(inputs, metric, "eval"),
        }
    return out
