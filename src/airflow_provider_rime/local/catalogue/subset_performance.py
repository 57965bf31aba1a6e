"""Subset Performance: for each metric, the worst subset of each feature against the whole.

Subsets of the evaluation data: numeric features by the reference's quantiles
(``num_subsets``, 5), categorical features by value (values rarer than ``min_frq`` of the
rows, 1%, are pooled into "other values"), and the rows where the feature is missing.
Subsets smaller than ``min_frq`` of the rows are not judged.

The confidence check: a subset's gap to the overall metric counts only by its lower
confidence bound, ``gap - z * se`` (one-sided, ``confidence_level`` 0.95, Bonferroni-corrected
over the feature's judged subsets since the worst one is chosen after looking), with the
standard error of the subset's metric (binomial for rates, Hanley-McNeil for AUC). So the
severity grows with the gap and with the subset's size: a small subset needs a larger gap
before it warns. Severity thresholds (``severity_thresholds`` [0.05, 0.1]) apply to that
bound, scaled by the global sensitivity, which also moves the confidence check's error rate
(``1 - confidence_level``: x0.2 less sensitive, x2 more sensitive).

An alert also needs the subset to be worse than it already was on the reference: the same
subset's gap on the reference data is subtracted (with both standard errors) and what is
left must reach the warning threshold. Otherwise the case is a warning that says the
weakness is a standing one. Precision, recall, F1, FPR and FNR differ between subsets with
different base rates for any model; without this rule every clean split would alert.
A subset the reference had too few rows of cannot be a standing weakness.

``pos_pred_rate`` and ``avg_pred`` are registered but off by default: a subset where a
predictive feature is high *should* get higher predictions, so their "gap" measures how
much the model uses the feature, not a weakness.

Cost: per feature and split, one ``bincount`` of (subset, label, decision) cells shared by
every rate metric; for AUC, one sort of each split's predictions shared by all features and
two ``bincount``s per feature (``stats.group_auc``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from typing import Any

import numpy as np
from scipy import stats as sps

from airflow_provider_rime.local.catalogue import stats
from airflow_provider_rime.local.catalogue.metrics import METRICS_BY_KEY
from airflow_provider_rime.local.catalogue.metrics import BinaryMetric
from airflow_provider_rime.local.catalogue.metrics import Direction
from airflow_provider_rime.local.catalogue.params import Range
from airflow_provider_rime.local.catalogue.params import TestParams
from airflow_provider_rime.local.catalogue.params import Thresholds
from airflow_provider_rime.local.catalogue.registry import Registrar
from airflow_provider_rime.local.catalogue.types import Feature
from airflow_provider_rime.local.catalogue.types import Findings
from airflow_provider_rime.local.catalogue.types import Metric
from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.local.catalogue.types import TestCase
from airflow_provider_rime.local.catalogue.types import severity_from_thresholds
from airflow_provider_rime.rime_api.enums import MetricCategory
from airflow_provider_rime.rime_api.enums import TestCategory

CATEGORY = TestCategory.SUBSET_PERFORMANCE
register = Registrar(CATEGORY)

_SUBSET_METRICS = ("accuracy", "auc", "f1", "precision", "recall", "fpr", "fnr", "pos_pred_rate", "avg_pred")
_OFF_BY_DEFAULT = {"pos_pred_rate", "avg_pred"}


@dataclass(frozen=True)
class SubsetParams(TestParams):
    num_subsets: Annotated[int, Range(2, 100)] = 5
    min_frq: Annotated[float, Range(0.0, 0.5)] = 0.01
    confidence_level: Annotated[float, Range(0.5, 0.9999)] = 0.95
    severity_thresholds: Thresholds = (0.05, 0.1)


class Subsets:
    """Rows of both splits coded by subset, with the subsets' names.

    ``key`` identifies the subsetting in the run's cache (feature, bin count, pooling);
    ``ref_key`` identifies the reference rows' codes alone, which a continuous test's bins
    share when they pool the same levels (numeric features: always).
    """

    def __init__(
        self,
        key: tuple[Any, ...],
        codes: np.ndarray,
        ref_codes: np.ndarray,
        names: list[str],
        ref_key: tuple[Any, ...],
    ) -> None:
        self.key = key
        self.ref_key = (*ref_key, len(names))
        self.codes = codes
        self.ref_codes = ref_codes
        self.names = names
        self.sizes = np.bincount(codes, minlength=len(names))
        self.ref_sizes = np.bincount(ref_codes, minlength=len(names))

    @property
    def n(self) -> int:
        return len(self.names)


def _subsets(inputs: StressInputs, feature: Feature, num_subsets: int, min_frq: float) -> Subsets:
    key = ("subsets", feature.name, num_subsets, min_frq)

    def build() -> Subsets:
        if feature.is_numeric:
            bins = stats.quantile_bins(inputs, feature.name, num_subsets)
            return Subsets(key, bins.eval, bins.ref, bins.labels, key)
        col = stats.categorical_column(inputs, feature.name)
        n_eval = max(1, col.eval_codes.size)
        frequent = col.eval_counts[:-1] / n_eval >= min_frq
        # level -> subset: frequent levels keep their own, the rest pool into "other values"
        mapping = np.empty(len(col.levels) + 1, dtype=np.int32)
        frequent_idx = np.flatnonzero(frequent)
        mapping[:] = len(frequent_idx)  # "other values"
        mapping[frequent_idx] = np.arange(len(frequent_idx), dtype=np.int32)
        mapping[-1] = len(frequent_idx) + 1  # missing
        names = [f"{feature.name} = {col.levels[i]}" for i in frequent_idx]
        names += [f"{feature.name}: other values", f"{feature.name} is missing"]
        # The reference's codes follow from the mapping (its levels come first, in its order).
        ref_key = (*key, tuple(mapping.tolist()))
        return Subsets(key, mapping[col.eval_codes], mapping[col.ref_codes], names, ref_key)

    return inputs.cache.get(key, build)


def _metric_by_group(
    metric: BinaryMetric, inputs: StressInputs, subsets: Subsets, threshold: float, split: str = "eval"
) -> tuple[np.ndarray, np.ndarray]:
    """Each subset's metric value and its standard error, on ``split`` ("eval" or "ref")."""
    if split == "ref":
        return inputs.cache.reference(
            ("subset_metric", subsets.ref_key, metric.key, threshold),
            lambda: _by_group(metric, inputs, subsets, threshold, split),
        )
    return _by_group(metric, inputs, subsets, threshold, split)


def _by_group(
    metric: BinaryMetric, inputs: StressInputs, subsets: Subsets, threshold: float, split: str
) -> tuple[np.ndarray, np.ndarray]:
    p = inputs.eval_preds if split == "eval" else inputs.ref_preds
    assert p is not None
    y = inputs.eval_labels if split == "eval" else inputs.ref_labels
    codes = subsets.codes if split == "eval" else subsets.ref_codes

    def count() -> stats.GroupCounts:
        outcomes, p_squared = inputs.cache.split(
            ("outcomes", threshold),
            split,
            lambda: (stats.row_outcomes(y, p, threshold), p * p),
        )
        return stats.group_counts(codes, subsets.n, y, p, threshold, outcomes=outcomes, p_squared=p_squared)

    key = subsets.key if split == "eval" else subsets.ref_key
    c = inputs.cache.split(("subset_counts", key, threshold), split, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric.key == "accuracy":
            k, n = c.tp + c.tn, c.n
        elif metric.key == "precision":
            k, n = c.tp, c.tp + c.fp
        elif metric.key == "recall":
            k, n = c.tp, c.pos
        elif metric.key == "fpr":
            k, n = c.fp, c.fp + c.tn
        elif metric.key == "fnr":
            k, n = c.fn, c.pos
        elif metric.key == "pos_pred_rate":
            k, n = c.pred_pos, c.n
        elif metric.key == "f1":
            # F1 = tp / (tp + (fp + fn) / 2): a proportion of that denominator.
            k, n = c.tp, c.tp + 0.5 * (c.fp + c.fn)
        elif metric.key == "avg_pred":
            mean = c.sum_p / c.n
            var = np.maximum(c.sum_p2 / c.n - mean**2, 0.0)
            return np.where(c.n > 0, mean, np.nan), np.sqrt(var / np.maximum(c.n - 1, 1))
        elif metric.key == "auc":
            assert y is not None
            auc, error = stats.group_auc(codes, subsets.n, y, stats.prediction_codes(inputs, split))
            # With binned ranks, widen the standard error by the (tiny) binning error bound.
            return auc, stats.auc_se(auc, c.pos, c.n - c.pos) + error
        else:  # pragma: no cover - the registered keys are the cases above
            raise ValueError(f"no subset version of metric {metric.key!r}")
        value = np.where(n > 0, k / n, np.nan)
        return value, stats.proportion_se(k, n)


def _overall(metric: BinaryMetric, inputs: StressInputs, threshold: float, split: str) -> float:
    if metric.key == "auc":  # from the sort the subsets share, instead of sorting again
        return stats.prediction_codes(inputs, split).overall_auc
    if split == "eval":
        return metric(inputs.eval_labels, inputs.eval_preds, threshold)  # type: ignore[arg-type]
    return inputs.cache.reference(
        ("subset_overall", metric.key, threshold),
        lambda: metric(inputs.ref_labels, inputs.ref_preds, threshold),  # type: ignore[arg-type]
    )


@functools.lru_cache(maxsize=256)
def _z(alpha: float) -> float:
    """The one-sided normal quantile for error rate ``alpha`` (few distinct ones per run)."""
    return float(sps.norm.isf(alpha))


def _gap(metric: BinaryMetric, overall: float, value: np.ndarray) -> np.ndarray:
    if metric.direction is Direction.HIGHER_IS_BETTER:
        return overall - value
    if metric.direction is Direction.LOWER_IS_BETTER:
        return value - overall
    return np.abs(value - overall)


def _subset_test(metric: BinaryMetric) -> Callable[[StressInputs, SubsetParams], Findings | None]:
    def test(inputs: StressInputs, params: SubsetParams) -> Findings | None:
        if inputs.eval_preds is None or (metric.needs_labels and inputs.eval_labels is None):
            return None
        num_subsets, min_frq, confidence = params.num_subsets, params.min_frq, params.confidence_level
        factor = inputs.config.threshold_factor
        threshold = inputs.config.prediction_threshold
        p = inputs.eval_preds
        n_rows = p.size
        overall = _overall(metric, inputs, threshold, "eval")
        ref_overall = None
        if inputs.ref_preds is not None and (inputs.ref_labels is not None or not metric.needs_labels):
            ref_overall = _overall(metric, inputs, threshold, "ref")
        min_rows = max(1.0, min_frq * n_rows)
        cases = []
        for feature in stats.tested_features(inputs):
            subsets = _subsets(inputs, feature, num_subsets, min_frq)
            sizes = subsets.sizes
            values, se = _metric_by_group(metric, inputs, subsets, threshold)
            judged = (sizes >= min_rows) & np.isfinite(values)
            gap = _gap(metric, overall, values)
            # The worst of m subsets is picked after looking: Bonferroni over the judged ones.
            # The global sensitivity moves the error rate with the thresholds (as for drift).
            alpha = min(0.5, (1.0 - confidence) * inputs.config.error_rate_factor) / max(1, int(judged.sum()))
            z = _z(alpha)
            finite = np.isfinite(se)
            bound = np.where(finite, gap - z * np.where(finite, se, 0.0), -np.inf)
            # The same subset on the reference: a standing weakness the model was built with.
            standing = np.full(subsets.n, np.nan)
            if ref_overall is not None and math.isfinite(ref_overall):
                ref_values, ref_se = _metric_by_group(metric, inputs, subsets, threshold, "ref")
                ref_gap = _gap(metric, ref_overall, ref_values)
                spread = np.sqrt(np.where(finite, se, np.inf) ** 2 + ref_se**2)
                # Only a subset the reference knew well enough can be a standing weakness.
                known = np.isfinite(ref_gap) & (
                    subsets.ref_sizes >= max(1.0, min_frq * subsets.ref_codes.size)
                )
                with np.errstate(invalid="ignore"):
                    standing = np.where(known, gap - ref_gap - z * spread, np.nan)
                details = (ref_values, ref_overall, standing)
            else:
                details = None
            cases.append(
                _case(
                    metric,
                    feature,
                    subsets,
                    sizes,
                    values,
                    judged,
                    gap,
                    bound,
                    overall,
                    params.severity_thresholds,
                    factor,
                    details,
                )
            )
        return Findings(
            cases, [Metric(f"Overall {metric.name}", MetricCategory.PERFORMANCE_METRIC_VALUE, overall)]
        )

    return test


def _case(
    metric: BinaryMetric,
    feature: Feature,
    subsets: Subsets,
    sizes: np.ndarray,
    values: np.ndarray,
    judged: np.ndarray,
    gap: np.ndarray,
    bound: np.ndarray,
    overall: float,
    thresholds: Thresholds,
    factor: float,
    reference: tuple[np.ndarray, float, np.ndarray] | None,
) -> TestCase:
    n_rows = int(sizes.sum())
    shown = np.flatnonzero(sizes > 0)
    details = [
        Metric("Subsets", MetricCategory.SUBSET_DETAILS, [subsets.names[i] for i in shown]),
        Metric("Subset Sizes", MetricCategory.SUBSET_DETAILS, [int(sizes[i]) for i in shown]),
        Metric(
            f"Subset {metric.name}",
            MetricCategory.SUBSET_DETAILS,
            [float(values[i]) if math.isfinite(values[i]) else math.nan for i in shown],
        ),
    ]
    if not math.isfinite(overall) or not judged.any():
        return TestCase(
            features=[feature.name],
            severity=Severity.PASS,
            explanation=(
                f"No subset of {feature.name} is large enough (or {metric.name} is undefined) to judge."
            ),
            metrics=details,
            skipped=True,
        )
    worst = int(np.flatnonzero(judged)[np.argmax(np.where(judged, bound, -np.inf)[judged])])
    worst_bound = float(bound[worst])
    severity = severity_from_thresholds(worst_bound, thresholds, factor) if worst_bound > 0 else Severity.PASS
    standing_note = ""
    ref_metrics: list[Metric] = []
    if reference is not None:
        ref_values, ref_overall, beyond_reference = reference
        ref_value = float(ref_values[worst])
        ref_metrics = [
            Metric(f"Reference Subset {metric.name}", MetricCategory.PERFORMANCE_DIFF, ref_value),
            Metric(f"Reference Overall {metric.name}", MetricCategory.PERFORMANCE_DIFF, ref_overall),
        ]
        # An alert needs the subset to be worse than it already was on the reference.
        if (
            severity is Severity.ALERT
            and math.isfinite(beyond_reference[worst])
            and beyond_reference[worst] < thresholds[0] * factor
        ):
            severity = Severity.WARNING
            standing_note = (
                f" It was already weak there on the reference ({stats.fmt(ref_value)} against "
                f"{stats.fmt(ref_overall)}): a standing weakness of the model, not a new one."
            )
    name = subsets.names[worst]
    size = int(sizes[worst])
    metrics = [
        Metric("Worst Subset", MetricCategory.SUBSET_DETAILS, name),
        Metric("Worst Subset Size", MetricCategory.SUBSET_DETAILS, size),
        Metric(f"Worst Subset {metric.name}", MetricCategory.PERFORMANCE_DIFF, float(values[worst])),
        Metric(f"Overall {metric.name}", MetricCategory.PERFORMANCE_DIFF, overall),
        Metric("Difference", MetricCategory.PERFORMANCE_DIFF, float(gap[worst])),
        Metric("Difference (Lower Confidence Bound)", MetricCategory.PERFORMANCE_DIFF, worst_bound),
        *ref_metrics,
        *details,
    ]
    where = f"on rows where {name} ({stats.fmt_count(size, n_rows)})"
    if severity is Severity.PASS:
        explanation = (
            f"No subset of {feature.name} is confidently worse on {metric.name}: the worst, {where}, "
            f"has {stats.fmt(values[worst])} against {stats.fmt(overall)} overall."
        )
    elif metric.direction is Direction.CHANGE_IS_BAD:
        explanation = (
            f"{metric.name} is {stats.fmt(values[worst])} {where} against {stats.fmt(overall)} overall: "
            "the model treats this group very differently from the rest."
        )
    else:
        explanation = (
            f"{metric.name} is {stats.fmt(values[worst])} {where} against {stats.fmt(overall)} overall: "
            "the model is markedly worse for this group, which the overall figure hides."
        )
    return TestCase(
        features=[feature.name],
        severity=severity,
        explanation=explanation + standing_note,
        metrics=metrics,
        importance=max(0.0, worst_bound),
    )


for _key in _SUBSET_METRICS:
    _metric = METRICS_BY_KEY[_key]
    register(
        f"subset_{_key}",
        f"Subset {_metric.name}",
        SubsetParams,
        description=f"{_metric.name} of the model on subsets of each feature's values, against the whole "
        "evaluation data; the worst subset decides.",
        needs_labels=_metric.needs_labels,
        needs_preds=True,
        enabled_by_default=_key not in _OFF_BY_DEFAULT,
    )(_subset_test(_metric))
