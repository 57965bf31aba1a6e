"""Bias and Fairness: does the model treat the groups of a protected feature alike?

Runs when the reference data's ``dataParams.protectedFeatures`` names columns. Groups are a
categorical feature's values, or a numeric feature's reference quartiles (``num_quantiles``
4); groups with fewer than ``min_sample_size`` (30) evaluation rows are listed but not
judged, and a gap between the best and the worst group counts only when it is beyond chance
(one-sided pooled two-proportion z-test, p < ``p_value_threshold`` 0.05, Bonferroni-corrected
over the pairs of groups). Predictions are classes at the run's prediction threshold (0.5). One case per
protected feature:

- ``demographic_parity``: positive prediction rate per group; the ratio of the lowest to the
  highest rate warns below 0.9 and alerts below 0.8 (the "four-fifths rule");
- ``equal_opportunity``: true positive rate per group (labels); the gap between the highest
  and the lowest warns from 0.1, alerts from 0.2;
- ``predictive_equality``: false positive rate per group (labels); same gap thresholds;
- ``equalized_odds``: the larger of the two gaps above (labels); same thresholds;
- ``class_imbalance``: each group's share of the evaluation rows times the number of groups
  (1 = all groups equally represented); the smallest warns below 0.5, alerts below 0.2;
- ``intersectional_group_fairness``: demographic parity over the groups of every pair of
  protected features (needs two);
- ``protected_feature_drift``: PSI of the protected feature's groups, reference ->
  evaluation, warns from 0.2, alerts from 0.6 (as feature drift).

Where this differs from RIME: RIME compares each group with the whole population and reads
the thresholds from its own defaults, which its public documentation does not give; here
parity tests compare the best and the worst judged group, with the thresholds above
(``severity_thresholds`` per test), scaled by the global sensitivity. ``protected_proxies``,
``chi_squared_independence``, ``subset_sensitivity_*`` and ``predict_protected_features``
are not implemented.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Annotated

import numpy as np

from airflow_provider_rime.local.catalogue import stats
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

CATEGORY = TestCategory.BIAS_AND_FAIRNESS
register = Registrar(CATEGORY)


@dataclass(frozen=True)
class FairnessParams(TestParams):
    min_sample_size: Annotated[int, Range(1)] = 30
    num_quantiles: Annotated[int, Range(2, 20)] = 4
    p_value_threshold: Annotated[float, Range(0.0, 1.0)] = 0.05


def _significant(
    rates: np.ndarray, counts: np.ndarray, judged: np.ndarray, low: int, high: int, params: FairnessParams
) -> bool:
    """Whether group ``high``'s rate exceeds group ``low``'s beyond chance: one-sided pooled
    z-test at ``p_value_threshold``, Bonferroni-corrected over the pairs of judged groups (the
    best and the worst of several groups differ by chance alone)."""
    pairs = max(1, judged.size * (judged.size - 1) // 2)
    pvalue = stats.excess_proportion_pvalue(
        float(rates[low] * counts[low]),
        float(counts[low]),
        float(rates[high] * counts[high]),
        float(counts[high]),
    )
    return bool(pvalue < params.p_value_threshold / pairs)


@dataclass(frozen=True)
class _Groups:
    feature: str
    codes: np.ndarray  # per evaluation row
    labels: list[str]  # per code


def _protected_bins(inputs: StressInputs, params: FairnessParams) -> list[tuple[str, stats.Bins]]:
    """Each protected feature the data has, with its groups: quantile bins of a numeric
    feature (``num_quantiles``), values of any other."""
    return [
        (name, stats.feature_bins(inputs, inputs.features[name], params.num_quantiles))
        for name in inputs.protected_features
        if name in inputs.features
    ]


def _groups(inputs: StressInputs, params: FairnessParams) -> list[_Groups]:
    return [_Groups(name, bins.eval, bins.labels) for name, bins in _protected_bins(inputs, params)]


def _rates(
    codes: np.ndarray, n_groups: int, values: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the mean of ``values`` over the rows in ``mask``, and how many rows that is."""
    keep = np.ones(codes.size, dtype=bool) if mask is None else mask
    n = np.bincount(codes[keep], minlength=n_groups).astype(np.float64)
    hits = np.bincount(codes[keep], weights=values[keep].astype(np.float64), minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / n, n


def _predicted(inputs: StressInputs) -> np.ndarray:
    assert inputs.eval_preds is not None
    return (inputs.eval_preds >= inputs.config.prediction_threshold).astype(np.int8)


def _judged(rates: np.ndarray, counts: np.ndarray, min_rows: int) -> np.ndarray:
    return np.flatnonzero((counts >= min_rows) & np.isfinite(rates))


def _group_metrics(labels: list[str], rates: np.ndarray, counts: np.ndarray, what: str) -> list[Metric]:
    present = np.flatnonzero(counts > 0)
    return [
        Metric("Groups", MetricCategory.FEATURE, [labels[i] for i in present]),
        Metric(
            f"Group {what}",
            MetricCategory.PERFORMANCE_METRIC_VALUE,
            [float(np.nan_to_num(rates[i])) for i in present],
        ),
        Metric("Group Sizes", MetricCategory.FEATURE, [int(counts[i]) for i in present]),
    ]


@dataclass(frozen=True)
class ParityParams(FairnessParams):
    severity_thresholds: Thresholds = (0.9, 0.8)


def _parity_case(
    inputs: StressInputs,
    params: ParityParams,
    name: list[str],
    codes: np.ndarray,
    labels: list[str],
) -> TestCase:
    rates, counts = _rates(codes, len(labels), _predicted(inputs))
    metrics = _group_metrics(labels, rates, counts, "Positive Prediction Rate")
    judged = _judged(rates, counts, params.min_sample_size)
    feature = " x ".join(name)
    if judged.size < 2:
        return TestCase(
            name,
            Severity.PASS,
            f"Fewer than two groups of {feature} have {params.min_sample_size} rows; not judged.",
            metrics,
            skipped=True,
        )
    low, high = judged[np.argmin(rates[judged])], judged[np.argmax(rates[judged])]
    ratio = float(rates[low] / rates[high]) if rates[high] > 0 else 1.0
    metrics.append(Metric("Parity Ratio", MetricCategory.PERFORMANCE_DIFF, ratio))
    severity = severity_from_thresholds(
        ratio, params.severity_thresholds, inputs.config.threshold_factor, lower_is_worse=True
    )
    if not _significant(rates, counts, judged, low, high, params):
        severity = Severity.PASS
    return TestCase(
        name,
        severity,
        f"The positive prediction rate of {feature} ranges from {rates[low]:.3f} ({labels[low]}) to "
        f"{rates[high]:.3f} ({labels[high]}): a ratio of {ratio:.2f}.",
        metrics,
        importance=1.0 - ratio,
    )


@register("demographic_parity", "Demographic Parity", ParityParams, needs_preds=True)
def demographic_parity(inputs: StressInputs, params: ParityParams) -> Findings | None:
    """Whether the positive prediction rate is alike across the groups of a protected feature."""
    groups = _groups(inputs, params)
    if not groups:
        return None
    return Findings([_parity_case(inputs, params, [g.feature], g.codes, g.labels) for g in groups])


@register("intersectional_group_fairness", "Intersectional Group Fairness", ParityParams, needs_preds=True)
def intersectional_group_fairness(inputs: StressInputs, params: ParityParams) -> Findings | None:
    """Demographic parity over the groups of every pair of protected features."""
    groups = _groups(inputs, params)
    if len(groups) < 2:
        return None
    cases = []
    for a, b in itertools.combinations(groups, 2):
        codes = a.codes.astype(np.int64) * len(b.labels) + b.codes
        labels = [f"{la} & {lb}" for la in a.labels for lb in b.labels]
        cases.append(_parity_case(inputs, params, [a.feature, b.feature], codes, labels))
    return Findings(cases)


@dataclass(frozen=True)
class GapParams(FairnessParams):
    severity_thresholds: Thresholds = (0.1, 0.2)


def _gap_test(inputs: StressInputs, params: GapParams, which: tuple[str, ...]) -> Findings | None:
    groups = _groups(inputs, params)
    if not groups or inputs.eval_labels is None:
        return None
    predicted = _predicted(inputs)
    labels = inputs.eval_labels.astype(bool)
    names = {"tpr": ("True Positive Rate", labels), "fpr": ("False Positive Rate", ~labels)}
    cases = []
    for g in groups:
        metrics: list[Metric] = []
        worst_gap, worst_text = 0.0, ""
        judged_any = False
        for key in which:
            title, mask = names[key]
            rates, counts = _rates(g.codes, len(g.labels), predicted, mask)
            metrics += _group_metrics(g.labels, rates, counts, title)[1:2]
            judged = _judged(rates, counts, params.min_sample_size)
            if judged.size < 2:
                continue
            judged_any = True
            low, high = judged[np.argmin(rates[judged])], judged[np.argmax(rates[judged])]
            gap = float(rates[high] - rates[low])
            metrics.append(Metric(f"{title} Gap", MetricCategory.PERFORMANCE_DIFF, gap))
            if not _significant(rates, counts, judged, low, high, params):
                continue
            if gap >= worst_gap:
                worst_gap = gap
                worst_text = (
                    f"the {title.lower()} of {g.feature} ranges from {rates[low]:.3f} ({g.labels[low]}) "
                    f"to {rates[high]:.3f} ({g.labels[high]})"
                )
        if not judged_any:
            cases.append(
                TestCase(
                    [g.feature],
                    Severity.PASS,
                    f"Too few labelled rows per group of {g.feature}; not judged.",
                    metrics,
                    skipped=True,
                )
            )
            continue
        if not worst_text:
            cases.append(
                TestCase(
                    [g.feature],
                    Severity.PASS,
                    f"No gap between groups of {g.feature} is beyond chance.",
                    metrics,
                )
            )
            continue
        severity = severity_from_thresholds(
            worst_gap, params.severity_thresholds, inputs.config.threshold_factor
        )
        cases.append(
            TestCase(
                [g.feature],
                severity,
                f"{worst_text[0].upper()}{worst_text[1:]}: a gap of {worst_gap:.3f}.",
                metrics,
                importance=worst_gap,
            )
        )
    return Findings(cases)


@register("equal_opportunity", "Equal Opportunity", GapParams, needs_preds=True, needs_labels=True)
def equal_opportunity(inputs: StressInputs, params: GapParams) -> Findings | None:
    """Whether the true positive rate is alike across the groups of a protected feature."""
    return _gap_test(inputs, params, ("tpr",))


@register("predictive_equality", "Predictive Equality", GapParams, needs_preds=True, needs_labels=True)
def predictive_equality(inputs: StressInputs, params: GapParams) -> Findings | None:
    """Whether the false positive rate is alike across the groups of a protected feature."""
    return _gap_test(inputs, params, ("fpr",))


@register("equalized_odds", "Equalized Odds", GapParams, needs_preds=True, needs_labels=True)
def equalized_odds(inputs: StressInputs, params: GapParams) -> Findings | None:
    """Whether both the true and the false positive rates are alike across the groups of a protected
    feature."""
    return _gap_test(inputs, params, ("tpr", "fpr"))


@dataclass(frozen=True)
class ImbalanceParams(FairnessParams):
    severity_thresholds: Thresholds = (0.5, 0.2)


@register("class_imbalance", "Class Imbalance", ImbalanceParams)
def class_imbalance(inputs: StressInputs, params: ImbalanceParams) -> Findings | None:
    """Whether a group of a protected feature is under-represented in the evaluation data."""
    groups = _groups(inputs, params)
    if not groups:
        return None
    cases = []
    for g in groups:
        counts = np.bincount(g.codes, minlength=len(g.labels))[:-1]  # nulls are not a group
        present = np.flatnonzero(counts > 0)
        metrics = [
            Metric("Groups", MetricCategory.FEATURE, [g.labels[i] for i in present]),
            Metric("Group Sizes", MetricCategory.FEATURE, [int(counts[i]) for i in present]),
        ]
        if present.size < 2:
            cases.append(
                TestCase(
                    [g.feature], Severity.PASS, f"{g.feature} has one group only.", metrics, skipped=True
                )
            )
            continue
        shares = counts[present] / counts[present].sum()
        smallest = int(present[np.argmin(shares)])
        value = float(shares.min() * present.size)
        metrics.append(Metric("Smallest Share Relative to Uniform", MetricCategory.FEATURE, value))
        severity = severity_from_thresholds(
            value, params.severity_thresholds, inputs.config.threshold_factor, lower_is_worse=True
        )
        cases.append(
            TestCase(
                [g.feature],
                severity,
                f"The smallest group of {g.feature}, {g.labels[smallest]}, holds {shares.min():.1%} of the "
                f"evaluation rows; with {present.size} groups, equal shares would be {1 / present.size:.1%}.",
                metrics,
                importance=1.0 - value,
            )
        )
    return Findings(cases)


@dataclass(frozen=True)
class ProtectedDriftParams(FairnessParams):
    severity_thresholds: Thresholds = (0.2, 0.6)


@register("protected_feature_drift", "Protected Feature Drift", ProtectedDriftParams)
def protected_feature_drift(inputs: StressInputs, params: ProtectedDriftParams) -> Findings | None:
    """Whether the groups of a protected feature changed in size between reference and evaluation."""
    cases = []
    for name, bins in _protected_bins(inputs, params):
        value = stats.psi(bins.counts("ref"), bins.counts("eval"))
        severity = severity_from_thresholds(value, params.severity_thresholds, inputs.config.threshold_factor)
        cases.append(
            TestCase(
                [name],
                severity,
                f"The distribution of the groups of {name} moved by a PSI of {value:.3f} from reference to "
                f"evaluation.",
                [Metric("PSI", MetricCategory.DRIFT_STAT, value)],
                importance=value,
            )
        )
    return Findings(cases) if cases else None
