"""Abnormal Inputs: evaluation rows with values the model should not be trusted on.

Each test finds failing rows per feature and reports their count, share, examples and
impact: the model's accuracy on failing rows against clean rows (with labels), or how far
its average prediction moves there (without). Severity, per feature:

- when no reference row fails the check (unseen values, nulls where there were none, ...),
  any failing evaluation row warns;
- when the reference fails it too (heavy-tailed features have "outliers" in the reference,
  and those are the data, not an anomaly), the evaluation's share must exceed the
  reference's significantly (one-sided two-proportion test, Bonferroni-corrected over the
  features) and by at least ``share_thresholds[0]`` (0.2% of rows) to warn;
- the share beyond the reference's rate alerts from ``share_thresholds[1]`` (1% of rows),
  and so does the failing rows' impact on the model
  (``impact_thresholds`` [0.02, 0.05] of accuracy drop or prediction shift, judged only
  with at least ``min_impact_rows`` 30 failing rows), whichever is worse.

Categorical checks work on the distinct values (factorised once), not on the rows, so they
cost O(rows) once plus O(distinct values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Annotated
from typing import Literal

import numpy as np
import pandas as pd

from airflow_provider_rime.local.catalogue import stats
from airflow_provider_rime.local.catalogue.params import Range
from airflow_provider_rime.local.catalogue.params import TestParams
from airflow_provider_rime.local.catalogue.params import Thresholds
from airflow_provider_rime.local.catalogue.registry import Registrar
from airflow_provider_rime.local.catalogue.types import Feature
from airflow_provider_rime.local.catalogue.types import FeatureKind
from airflow_provider_rime.local.catalogue.types import Findings
from airflow_provider_rime.local.catalogue.types import Metric
from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.local.catalogue.types import TestCase
from airflow_provider_rime.local.catalogue.types import severity_from_thresholds
from airflow_provider_rime.rime_api.enums import MetricCategory
from airflow_provider_rime.rime_api.enums import TestCategory

CATEGORY = TestCategory.ABNORMAL_INPUTS
register = Registrar(CATEGORY)


@dataclass(frozen=True)
class AbnormalParams(TestParams):
    """How failing rows are judged, shared by every abnormal-input test (see the module)."""

    share_thresholds: Thresholds = (0.002, 0.01)
    impact_thresholds: Thresholds = (0.02, 0.05)
    min_impact_rows: Annotated[int, Range(1)] = 30
    p_value_threshold: Annotated[float, Range(0.0, 1.0)] = 0.05


@dataclass(frozen=True)
class _Failing:
    """A feature's failing evaluation rows (a mask), what they are, and what to show of them."""

    rows: np.ndarray
    what: str
    examples: list[str]
    example_counts: list[int] | None = None
    ref_failing: int = 0  # the reference's rows failing the same check
    extra_metrics: list[Metric] = field(default_factory=list)


def _abnormal_case(
    inputs: StressInputs, params: AbnormalParams, feature: Feature, found: _Failing, *, n_tested: int
) -> TestCase:
    """A test case for the ``found`` failing evaluation rows of ``feature``."""
    failing, what, examples, example_counts = found.rows, found.what, found.examples, found.example_counts
    ref_failing = found.ref_failing
    shares, impacts = params.share_thresholds, params.impact_thresholds
    min_rows, p_threshold = params.min_impact_rows, params.p_value_threshold
    factor = inputs.config.threshold_factor
    n_eval = failing.size
    n_ref = len(inputs.ref)
    k = int(np.count_nonzero(failing))
    share = k / n_eval if n_eval else 0.0
    ref_share = ref_failing / n_ref if n_ref else 0.0
    metrics = [
        Metric("Num Failing Rows", MetricCategory.FAILING_INPUTS, k),
        Metric("Failing Rows %", MetricCategory.FAILING_INPUTS, share * 100),
        Metric("Reference Failing Rows %", MetricCategory.FAILING_INPUTS, ref_share * 100),
        Metric("Examples", MetricCategory.FAILING_INPUTS, examples),
    ]
    if example_counts is not None:
        metrics.append(Metric("Example Counts", MetricCategory.FAILING_INPUTS, example_counts))
    metrics += found.extra_metrics
    if k == 0:
        return TestCase(
            [feature.name], Severity.PASS, f"No evaluation row of {feature.name} {what}.", metrics
        )
    pvalue = 0.0 if ref_failing == 0 else stats.excess_proportion_pvalue(ref_failing, n_ref, k, n_eval)
    rows = stats.fmt_count(k, n_eval)
    excess = share - ref_share
    if not pvalue < p_threshold / max(1, n_tested) or (ref_failing and excess < shares[0] * factor):
        return TestCase(
            [feature.name],
            Severity.PASS,
            f"{rows} of {feature.name} {what}, about as many as in the reference ({ref_share:.2%}).",
            metrics,
        )
    share_sev = Severity.WARNING
    if excess >= shares[1] * factor:
        share_sev = Severity.ALERT
    impact_m, clause, impact = stats.impact_metrics(inputs, failing)
    metrics += impact_m
    impact_sev = severity_from_thresholds(impact, impacts, factor) if k >= min_rows else Severity.PASS
    severity = max(share_sev, impact_sev)
    listed = ", ".join(
        f"{e!r} ({c:,} rows)" for e, c in zip(examples, example_counts or [], strict=False)
    ) or ", ".join(examples)
    explanation = f"{rows} of {feature.name} {what}"
    if listed:
        explanation += f", e.g. {listed}"
    explanation += f"; {clause}." if clause else "; the model was never validated on such values."
    return TestCase([feature.name], severity, explanation, metrics, importance=excess + impact)


def _numeric_features(inputs: StressInputs) -> list[Feature]:
    return [f for f in stats.tested_features(inputs) if f.is_numeric]


def _categorical_features(inputs: StressInputs, *, text: bool = False) -> list[Feature]:
    return [
        f
        for f in stats.tested_features(inputs, text=text)
        if f.is_categorical or (text and f.kind is FeatureKind.TEXT)
    ]


def _per_feature(
    inputs: StressInputs,
    params: AbnormalParams,
    features: list[Feature],
    check: Callable[[Feature], _Failing | None],
) -> Findings:
    """One case per feature that ``check`` can judge (``None``: no case); the significance of
    each is corrected for the number of features tested."""
    judged = [(feature, check(feature)) for feature in features]
    return Findings(
        [
            _abnormal_case(inputs, params, feature, found, n_tested=len(features))
            for feature, found in judged
            if found is not None
        ]
    )


def _extreme_examples(values: np.ndarray, failing: np.ndarray, centre: float) -> list[str]:
    bad = values[failing]
    order = np.argsort(-np.abs(bad - centre))[: stats.MAX_EXAMPLES]
    return [f"{v:.6g}" for v in bad[order]]


@dataclass(frozen=True)
class NumericOutlierParams(AbnormalParams):
    method: Literal["std", "quantile"] = "std"
    bound_multiplier: Annotated[float, Range(0.0)] = 3.0
    quantile: Annotated[float, Range(0.0, 0.5)] = 0.001


@register("numeric_outlier", "Numeric Outliers", NumericOutlierParams)
def numeric_outlier(inputs: StressInputs, params: NumericOutlierParams) -> Findings | None:
    """Numeric values far outside the reference.

    ``std``: outside reference mean ± ``bound_multiplier`` σ (RIME's rule). ``quantile``:
    outside the reference's [``quantile``, 1 - ``quantile``] range widened by
    ``bound_multiplier`` times its width's 1/10 (robust for heavy tails)."""
    method, mult, q = params.method, params.bound_multiplier, params.quantile

    def outside(feature: Feature) -> _Failing | None:
        col = stats.numeric_column(inputs, feature.name)
        ref = col.ref[col.ref_valid]
        if ref.size == 0:
            return None
        if method == "std":
            centre, spread = float(ref.mean()), float(ref.std())
            lo, hi = centre - mult * spread, centre + mult * spread
        else:
            qlo, qhi = (float(v) for v in np.quantile(ref, [q, 1 - q]))
            margin = mult * (qhi - qlo) / 10
            lo, hi, centre = qlo - margin, qhi + margin, float(np.median(ref))
        with np.errstate(invalid="ignore"):
            failing = (col.eval < lo) | (col.eval > hi)
            ref_failing = int(np.count_nonzero((col.ref < lo) | (col.ref > hi)))
        return _Failing(
            failing,
            f"lie outside [{lo:.4g}, {hi:.4g}]",
            _extreme_examples(col.eval, failing, centre),
            ref_failing=ref_failing,
            extra_metrics=[
                Metric("Lower Bound", MetricCategory.FEATURE, lo),
                Metric("Upper Bound", MetricCategory.FEATURE, hi),
            ],
        )

    return _per_feature(inputs, params, _numeric_features(inputs), outside)


@dataclass(frozen=True)
class OutOfRangeParams(AbnormalParams):
    std_factor: Annotated[float, Range(0.0)] = 3.0


@register("out_of_range", "Out of Range", OutOfRangeParams, enabled_by_default=False)
def out_of_range(inputs: StressInputs, params: OutOfRangeParams) -> Findings | None:
    """Numeric values beyond the reference's [min, max] widened by std_factor std deviations."""
    std_factor = params.std_factor

    def beyond(feature: Feature) -> _Failing | None:
        col = stats.numeric_column(inputs, feature.name)
        ref = col.ref[col.ref_valid]
        if ref.size == 0:
            return None
        spread = float(ref.std())
        lo, hi = float(ref.min()) - std_factor * spread, float(ref.max()) + std_factor * spread
        with np.errstate(invalid="ignore"):
            failing = (col.eval < lo) | (col.eval > hi)
        return _Failing(
            failing,
            f"lie beyond the reference's range widened to [{lo:.4g}, {hi:.4g}]",
            _extreme_examples(col.eval, failing, float(ref.mean())),
        )

    return _per_feature(inputs, params, _numeric_features(inputs), beyond)


@dataclass(frozen=True)
class _LevelText:
    """String facts about a column's distinct values, computed once per column."""

    empty: np.ndarray  # blank strings
    recapitalised: np.ndarray  # absent from the reference, but its lower case is a reference value's


def _level_text(inputs: StressInputs, col: stats.CategoricalColumn) -> _LevelText:
    def build() -> _LevelText:
        values = pd.Series(col.levels, dtype=object)
        is_str = np.fromiter((type(v) is str for v in col.levels), dtype=bool, count=len(col.levels))
        text = values.where(is_str, "x")  # non-strings (numbers, booleans) never match
        empty = is_str & (text.str.strip() == "").to_numpy(dtype=bool)
        lower = text.str.lower()
        in_ref = col.ref_counts[:-1] > 0
        ref_lower = pd.unique(lower[in_ref & is_str].to_numpy())
        recapitalised = is_str & ~in_ref & lower.isin(ref_lower).to_numpy(dtype=bool)
        return _LevelText(empty, recapitalised)

    return inputs.cache.get(("level_text", col.name), build)


def _unseen_levels(inputs: StressInputs, col: stats.CategoricalColumn) -> np.ndarray:
    """Values in evaluation, not in reference, that are not merely empty or re-capitalised."""
    text = _level_text(inputs, col)
    out: np.ndarray = (
        (col.ref_counts[:-1] == 0) & (col.eval_counts[:-1] > 0) & ~text.empty & ~text.recapitalised
    )
    return out


def _empty_levels(inputs: StressInputs, col: stats.CategoricalColumn) -> np.ndarray:
    """Blank strings."""
    return _level_text(inputs, col).empty


def _recapitalised_levels(inputs: StressInputs, col: stats.CategoricalColumn) -> np.ndarray:
    """Values absent from the reference whose lower case is a reference value's."""
    return _level_text(inputs, col).recapitalised


def _level_failing(
    col: stats.CategoricalColumn, level_mask: np.ndarray, what: str, ref_failing: int = 0
) -> _Failing:
    """The rows whose value is one of ``level_mask``'s, with the most common as examples."""
    idx = np.flatnonzero(level_mask & (col.eval_counts[:-1] > 0))
    examples, counts = stats.top_examples([col.levels[i] for i in idx], col.eval_counts[idx])
    return _Failing(col.rows_with_levels(level_mask), what, examples, counts, ref_failing=ref_failing)


def _level_findings(
    inputs: StressInputs,
    params: AbnormalParams,
    levels_of: Callable[[StressInputs, stats.CategoricalColumn], np.ndarray],
    *,
    what: str,
    text: bool = False,
    count_reference: bool = False,
) -> Findings:
    """One case per categorical feature (and text feature, with ``text``) for the rows whose
    value is in ``levels_of(inputs, column)``.

    With ``count_reference`` the reference's own rows with those values are counted too, so
    a feature that always had them is judged against that rate.
    """

    def in_levels(feature: Feature) -> _Failing:
        col = stats.categorical_column(inputs, feature.name)
        levels = levels_of(inputs, col)
        ref_failing = int(col.ref_counts[:-1][levels].sum()) if count_reference else 0
        return _level_failing(col, levels, what, ref_failing)

    return _per_feature(inputs, params, _categorical_features(inputs, text=text), in_levels)


@register("unseen_categorical", "Unseen Categorical", AbnormalParams)
def unseen_categorical(inputs: StressInputs, params: AbnormalParams) -> Findings | None:
    """Categorical values that never occur in the reference data."""
    return _level_findings(inputs, params, _unseen_levels, what="hold values never seen in the reference")


@dataclass(frozen=True)
class RareCategoriesParams(AbnormalParams):
    min_ratio_rel_uniform: Annotated[float, Range(0.0, 1.0)] = 0.005


@register("rare_categories", "Rare Categories", RareCategoriesParams)
def rare_categories(inputs: StressInputs, params: RareCategoriesParams) -> Findings | None:
    """Categorical values that are very rare in the reference, more common in evaluation.

    A value is rare when its reference share is below ``min_ratio_rel_uniform`` times the
    share it would have if all reference values were equally common."""
    ratio = params.min_ratio_rel_uniform

    def rare_values(feature: Feature) -> _Failing | None:
        col = stats.categorical_column(inputs, feature.name)
        ref_counts = col.ref_counts[:-1]
        n_ref_values = int(ref_counts.sum())
        k_levels = int(np.count_nonzero(ref_counts))
        if n_ref_values == 0:
            return None
        rare = (ref_counts > 0) & (ref_counts / n_ref_values < ratio / k_levels)
        what = f"hold values rarer than {ratio / k_levels:.3%} in the reference"
        return _level_failing(col, rare, what, int(ref_counts[rare].sum()))

    return _per_feature(inputs, params, _categorical_features(inputs), rare_values)


@register("null_check", "Null Check", AbnormalParams)
def null_check(inputs: StressInputs, params: AbnormalParams) -> Findings | None:
    """Missing values where the reference has none."""
    features = [f for f in stats.tested_features(inputs, text=True) if not inputs.ref[f.name].isna().any()]

    def missing(feature: Feature) -> _Failing:
        failing = inputs.eval[feature.name].isna().to_numpy()
        return _Failing(failing, "are missing, though the reference never is", [])

    return _per_feature(inputs, params, features, missing)


@register("feature_type_check", "Feature Type Check", AbnormalParams)
def feature_type_check(inputs: StressInputs, params: AbnormalParams) -> Findings | None:
    """Values of numeric features that are not numbers."""

    def not_numbers(feature: Feature) -> _Failing:
        col = stats.numeric_column(inputs, feature.name)
        failing = col.eval_nonnumeric
        values = inputs.eval[feature.name].to_numpy()[failing] if failing.any() else np.empty(0)
        uniq, counts = np.unique(values.astype(str), return_counts=True)
        examples, ex_counts = stats.top_examples([str(u) for u in uniq], counts)
        ref_failing = int(np.count_nonzero(col.ref_nonnumeric))
        return _Failing(
            failing, "hold values that are not numbers", examples, ex_counts, ref_failing=ref_failing
        )

    return _per_feature(inputs, params, _numeric_features(inputs), not_numbers)


@register("empty_string", "Empty String", AbnormalParams)
def empty_string(inputs: StressInputs, params: AbnormalParams) -> Findings | None:
    """Empty or blank strings in categorical and text features."""
    return _level_findings(
        inputs, params, _empty_levels, what="are empty strings", text=True, count_reference=True
    )


@register("capitalization", "Capitalization", AbnormalParams)
def capitalization(inputs: StressInputs, params: AbnormalParams) -> Findings | None:
    """Categorical values that match a reference value except for upper/lower case."""
    what = "differ from a reference value only in capitalization"
    return _level_findings(inputs, params, _recapitalised_levels, what=what)
