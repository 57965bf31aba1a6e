"""Subset Performance: for each metric, the worst subset of each feature against the whole.

Subsets of the evaluation data: numeric features by the reference's quantiles
(``num_subsets``, 5), categorical features by value (values rarer than ``min_frq`` of the
rows, 1%, are pooled into "other values"), and the rows where the feature is missing.
Subsets smaller than ``min_frq`` of the rows are not judged.

The verdict: a subset is flagged when its gap to the overall metric is **both** large enough
to matter **and** unlikely by chance, as for drift:

- **effect**: the gap against ``severity_thresholds`` [0.05, 0.1] (RIME's), scaled by the
  global sensitivity;
- **evidence**: a one-sided test that the subset is worse than the whole, ``z = gap / se``
  with the standard error of the subset's metric (binomial for rates, Hanley-McNeil for AUC;
  conservative, since the whole contains the subset), Bonferroni over the feature's judged
  subsets (the worst is picked after looking) and Holm over the features at the error rate
  ``1 - confidence_level`` (0.05; x0.2 less sensitive, x2 more sensitive).

A **new** weakness (the subset's gap grew by at least the warning threshold since the
reference, or the reference has no such subset) is judged by its gap. A **standing** one (the
reference shows the same gap: precision, recall, F1, FPR and FNR differ between subsets whose
base rates differ, for any model; AUC is lower inside a quantile of a predictive feature,
whose spread is gone) warns only when the gap's lower confidence bound passes the threshold,
and says it is a standing weakness: without that, every clean split would warn on every
metric. The case reports the most severe subset (then the largest gap), with its p-value
and the gap's lower confidence bound.

Why not the lower confidence bound for every subset (the rule before): it asks for
confidence that the gap *exceeds* the threshold, which costs every subset a margin of
``z * se`` on top of the threshold. That margin is about the same for every metric while the
gaps are not: one injected loss of skill moves accuracy less than AUC (half the predictions
of a 13% subset shuffled: accuracy gap 0.108, AUC 0.165; of a 3% subset: 0.127 and 0.193), so
accuracy lost its warnings and alerts first (the 3% subset warned in 4 of 10 seeds on
accuracy, 10 of 10 on AUC; the 13% one never alerted on accuracy). Judged by gap and evidence
they warn in 9 and 10 of 10 seeds and the 13% one alerts in 7. Where a subset's accuracy
truly barely moves (the top fifth of a predictive feature, mostly positives, where even random
decisions are mostly right) accuracy stays quiet while AUC alerts: that is the metric, not the
test.

An alert also needs the subset to be worse than it already was on the reference: the same
subset's gap on the reference is subtracted, and what is left must reach the warning
threshold with confidence (both splits' standard errors). Otherwise the case is a warning
that says why: a standing weakness, or a fall too uncertain on that many rows for an alert.
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


def _holm_levels(pvalues: np.ndarray, alpha: float) -> np.ndarray:
    """The level each hypothesis's p-value must reach under Holm's step-down procedure.

    Sorted ascending, the ``j``-th p-value (from 0) is rejected when it and every smaller one
    reach ``alpha / (m - j)``; after the first that does not, none is rejected (level 0).
    """
    levels = np.zeros(pvalues.size)
    m = pvalues.size
    for j, i in enumerate(np.argsort(pvalues, kind="stable")):
        levels[i] = alpha / (m - j)
        if not pvalues[i] <= levels[i]:
            break
    return levels


@dataclass
class _Judged:
    """One feature's subsets, waiting for the Holm correction over the features."""

    feature: Feature
    subsets: Subsets
    values: np.ndarray
    se: np.ndarray
    judged: np.ndarray
    gap: np.ndarray
    pvalues: np.ndarray  # one-sided, per subset: worse than the whole by chance?
    candidates: np.ndarray  # judged subsets whose gap reaches the warning threshold
    new: np.ndarray  # subsets whose gap grew by the warning threshold since the reference (or unknown there)
    pvalue: float  # the feature's: the smallest candidate p-value, Bonferroni over its judged subsets
    reference: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None  # values, gap, se, known


def _subset_test(metric: BinaryMetric) -> Callable[[StressInputs, SubsetParams], Findings | None]:
    def test(inputs: StressInputs, params: SubsetParams) -> Findings | None:
        if inputs.eval_preds is None or (metric.needs_labels and inputs.eval_labels is None):
            return None
        num_subsets, min_frq, confidence = params.num_subsets, params.min_frq, params.confidence_level
        factor = inputs.config.threshold_factor
        warning = params.severity_thresholds[0] * factor
        threshold = inputs.config.prediction_threshold
        p = inputs.eval_preds
        n_rows = p.size
        overall = _overall(metric, inputs, threshold, "eval")
        ref_overall = None
        if inputs.ref_preds is not None and (inputs.ref_labels is not None or not metric.needs_labels):
            ref_overall = _overall(metric, inputs, threshold, "ref")
        min_rows = max(1.0, min_frq * n_rows)
        found: list[_Judged] = []
        for feature in stats.tested_features(inputs):
            subsets = _subsets(inputs, feature, num_subsets, min_frq)
            values, se = _metric_by_group(metric, inputs, subsets, threshold)
            judged = (subsets.sizes >= min_rows) & np.isfinite(values)
            gap = _gap(metric, overall, values)
            usable = judged & np.isfinite(se) & (se > 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                z = gap / np.where(usable, se, 1.0)
            # One-sided (worse than the whole), or two-sided for a metric where any change is bad.
            two_sided = metric.direction is Direction.CHANGE_IS_BAD
            pvalues = np.where(usable, np.minimum(1.0, (2.0 if two_sided else 1.0) * sps.norm.sf(z)), 1.0)
            candidates = usable & (gap >= warning)
            # The worst of m subsets is picked after looking: Bonferroni over the judged ones.
            m = max(1, int(judged.sum()))
            pvalue = min(1.0, m * float(pvalues[candidates].min())) if candidates.any() else 1.0
            reference = None
            new = np.ones(subsets.n, dtype=bool)
            if ref_overall is not None and math.isfinite(ref_overall):
                ref_values, ref_se = _metric_by_group(metric, inputs, subsets, threshold, "ref")
                # Only a subset the reference knew well enough can be a standing weakness.
                known = np.isfinite(ref_values) & (
                    subsets.ref_sizes >= max(1.0, min_frq * subsets.ref_codes.size)
                )
                ref_gap = _gap(metric, ref_overall, ref_values)
                reference = (ref_values, ref_gap, ref_se, known)
                with np.errstate(invalid="ignore"):
                    new = ~known | ~(gap - ref_gap < warning)
            found.append(
                _Judged(
                    feature, subsets, values, se, judged, gap, pvalues, candidates, new, pvalue, reference
                )
            )
        # The global sensitivity moves the error rate with the thresholds (as for drift); Holm
        # over the features keeps the chance that a clean run flags any feature at alpha.
        alpha = min(0.5, (1.0 - confidence) * inputs.config.error_rate_factor)
        levels = _holm_levels(np.array([f.pvalue for f in found]), alpha)
        cases = [
            _case(
                metric,
                f,
                level,
                alpha / max(1, len(found)),
                overall,
                ref_overall,
                params.severity_thresholds,
                factor,
            )
            for f, level in zip(found, levels, strict=True)
        ]
        return Findings(
            cases, [Metric(f"Overall {metric.name}", MetricCategory.PERFORMANCE_METRIC_VALUE, overall)]
        )

    return test


def _case(
    metric: BinaryMetric,
    found: _Judged,
    level: float,
    shown_level: float,
    overall: float,
    ref_overall: float | None,
    thresholds: Thresholds,
    factor: float,
) -> TestCase:
    """The feature's case: its worst subset, judged by effect (the gap) and evidence (``level``,
    the feature's share of the error rate after Holm)."""
    feature, subsets, values, judged, gap = (
        found.feature,
        found.subsets,
        found.values,
        found.judged,
        found.gap,
    )
    sizes = subsets.sizes
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
    m = max(1, int(judged.sum()))
    # A subset is confidently worse when its p-value, times the m subsets looked at, is within
    # the feature's level: its gap is at least z standard errors.
    z = _z(min(0.5, (level if level > 0 else shown_level) / m))
    finite = np.isfinite(found.se)
    bound = np.where(finite, gap - z * np.where(finite, found.se, 0.0), -np.inf)
    confident = found.candidates & (found.pvalues * m <= level)
    # A new weakness counts by its gap; one the reference shows as well (its gap grew by less
    # than the warning threshold) only by the gap's lower confidence bound, as a standing
    # weakness of a model is reported when it surely passes the threshold.
    judged_by = np.where(found.new, gap, bound)
    severities = [
        severity_from_thresholds(float(judged_by[i]), thresholds, factor) if confident[i] else Severity.PASS
        for i in range(subsets.n)
    ]
    ranks = np.array([int(v) for v in severities])
    if ranks.max(initial=0) > 0:  # the most severe, then the largest gap
        top = np.flatnonzero(ranks == ranks.max())
        worst = int(top[np.argmax(gap[top])])
        severity = severities[worst]
    else:  # none: the one closest to being confidently worse, reported
        worst = int(np.flatnonzero(judged)[np.argmax(np.where(judged, bound, -np.inf)[judged])])
        severity = Severity.PASS
    worst_bound = float(bound[worst])
    name = subsets.names[worst]
    size = int(sizes[worst])
    standing_note = ""
    ref_metrics: list[Metric] = []
    if found.reference is not None and ref_overall is not None:
        ref_values, ref_gap, ref_se, known = found.reference
        ref_value = float(ref_values[worst])
        ref_metrics = [
            Metric(f"Reference Subset {metric.name}", MetricCategory.PERFORMANCE_DIFF, ref_value),
            Metric(f"Reference Overall {metric.name}", MetricCategory.PERFORMANCE_DIFF, ref_overall),
        ]
        # An alert also needs the subset to be worse than it already was on the reference:
        # confidently by the warning threshold (the lower bound of the gap's growth, with both
        # splits' standard errors); otherwise it is a warning that says why. A warning whose
        # gap grew by less than the warning threshold since the reference is a standing weakness.
        beyond = float(gap[worst] - ref_gap[worst])
        spread = math.sqrt(float(found.se[worst]) ** 2 + float(ref_se[worst]) ** 2)
        if (
            severity is Severity.ALERT
            and known[worst]
            and math.isfinite(beyond)
            and beyond - z * spread < thresholds[0] * factor
        ):
            severity = Severity.WARNING
            if ref_gap[worst] >= thresholds[0] * factor:
                standing_note = (
                    f" It was already weak there on the reference ({stats.fmt(ref_value)} against "
                    f"{stats.fmt(ref_overall)}): a standing weakness of the model, not a new one."
                )
            else:
                standing_note = (
                    f" On the reference it had {stats.fmt(ref_value)} against {stats.fmt(ref_overall)}; "
                    f"on {size:,} rows its fall since is too uncertain for an alert."
                )
        elif (
            severity is Severity.WARNING
            and known[worst]
            and ref_gap[worst] > 0
            and beyond < thresholds[0] * factor
        ):
            standing_note = (
                f" It was nearly as weak there on the reference ({stats.fmt(ref_value)} against "
                f"{stats.fmt(ref_overall)}): a standing weakness of the model."
            )
    metrics = [
        Metric("Worst Subset", MetricCategory.SUBSET_DETAILS, name),
        Metric("Worst Subset Size", MetricCategory.SUBSET_DETAILS, size),
        Metric(f"Worst Subset {metric.name}", MetricCategory.PERFORMANCE_DIFF, float(values[worst])),
        Metric(f"Overall {metric.name}", MetricCategory.PERFORMANCE_DIFF, overall),
        Metric("Difference", MetricCategory.PERFORMANCE_DIFF, float(gap[worst])),
        Metric("Difference (Lower Confidence Bound)", MetricCategory.PERFORMANCE_DIFF, worst_bound),
        Metric("p-value", MetricCategory.PERFORMANCE_DIFF, float(found.pvalues[worst])),
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
