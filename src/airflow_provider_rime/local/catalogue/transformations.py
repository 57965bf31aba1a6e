"""Transformations: values a model will meet in production, injected into clean rows.

Each test takes ``num_samples_to_simulate`` (100) seeded evaluation rows without missing
feature values, replaces one feature's values with what the test injects, calls the model on
the result (every feature of a test in one batch) and compares with the model's answers on
the untouched rows. Per feature it reports the average and largest change in the predicted
probability, the share of rows whose predicted class flips and, with labels, the change in
accuracy. Severity, per feature, is the worse of:

- the average prediction change against ``prediction_change_thresholds`` [0.05, 0.1];
- the accuracy drop against ``performance_change_thresholds`` [0.05, 0.1] (with labels).

A model that raises on the injected values, or answers with values that are not
probabilities, fails the case (ALERT) with what it raised. Thresholds scale with the global
sensitivity. What is injected:

- ``null_substitution``: a missing value (every feature);
- ``numeric_outlier_substitution``: far outside the reference, at the reference's mean ±
  (``bound_multiplier`` + 1) standard deviations, or beyond its range by ``bound_multiplier``
  standard deviations if that is farther;
- ``out_of_range_substitution``: just outside the reference's range (by a tenth of it);
- ``unseen_categorical_substitution``: a category never seen in the reference;
- ``empty_string_substitution``: the empty string (string features);
- ``feature_type_change``: a numeric feature's values as strings;
- ``capitalization_change``: string values in another case (``Online`` -> ``ONLINE``,
  ``ONLINE`` -> ``online``), on the rows where that changes the value.

Numeric substitutions alternate above and below the reference; the values injected are
given in the case's metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pandas as pd

from airflow_provider_rime.local.catalogue import stats
from airflow_provider_rime.local.catalogue.params import Range
from airflow_provider_rime.local.catalogue.params import TestParams
from airflow_provider_rime.local.catalogue.params import Thresholds
from airflow_provider_rime.local.catalogue.registry import Registrar
from airflow_provider_rime.local.catalogue.stats.perturb import CleanSample
from airflow_provider_rime.local.catalogue.stats.perturb import clean_sample
from airflow_provider_rime.local.catalogue.stats.perturb import predict_frames
from airflow_provider_rime.local.catalogue.stats.perturb import with_column
from airflow_provider_rime.local.catalogue.types import Feature
from airflow_provider_rime.local.catalogue.types import FeatureKind
from airflow_provider_rime.local.catalogue.types import Findings
from airflow_provider_rime.local.catalogue.types import Metric
from airflow_provider_rime.local.catalogue.types import ModelCallFailed
from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.local.catalogue.types import TestCase
from airflow_provider_rime.local.catalogue.types import severity_from_thresholds
from airflow_provider_rime.rime_api.enums import MetricCategory
from airflow_provider_rime.rime_api.enums import TestCategory

CATEGORY = TestCategory.TRANSFORMATIONS
register = Registrar(CATEGORY)
UNSEEN_CATEGORY = "RIME_UNSEEN_CATEGORY"


@dataclass(frozen=True)
class TransformationParams(TestParams):
    """Shared by every transformation (see the module)."""

    num_samples_to_simulate: Annotated[int, Range(1, 100_000)] = 100
    prediction_change_thresholds: Thresholds = (0.05, 0.1)
    performance_change_thresholds: Thresholds = (0.05, 0.1)


@dataclass(frozen=True)
class OutlierSubstitutionParams(TransformationParams):
    bound_multiplier: Annotated[float, Range(0.0)] = 3.0


#: What a transformation injects into one feature of the sample: the new values and the
#: sample rows they go into (None: the feature cannot take this transformation).
Injection = tuple[list[object], np.ndarray] | None
Injector = Callable[[StressInputs, Feature, pd.Series], Injection]


def _string_values(column: pd.Series) -> bool:
    values = column.dropna()
    return len(values) > 0 and bool(values.map(lambda v: isinstance(v, str)).all())


def _alternating(n: int, high: float, low: float) -> list[object]:
    return [high if i % 2 == 0 else low for i in range(n)]


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)) and not pd.isna(value):
        return f"{float(value):.6g}"
    return "null"


def _case(
    inputs: StressInputs,
    params: TransformationParams,
    feature: Feature,
    sample: CleanSample,
    rows: np.ndarray,
    answer: np.ndarray | ModelCallFailed,
    *,
    what: str,
    examples: list[object],
) -> TestCase:
    factor = inputs.config.threshold_factor
    n = int(rows.size)
    shown = [_show(v) for v in examples]
    metrics = [
        Metric("Num Rows Transformed", MetricCategory.FAILING_INPUTS, n),
        Metric(
            "Injected Values", MetricCategory.FAILING_INPUTS, list(dict.fromkeys(shown))[: stats.MAX_EXAMPLES]
        ),
    ]
    if isinstance(answer, ModelCallFailed):
        return TestCase(
            [feature.name],
            Severity.ALERT,
            f"With {what} in {feature.name}, {answer}.",
            metrics,
            importance=1.0,
        )
    base = sample.preds[rows]
    change = np.abs(answer - base)
    threshold = inputs.config.prediction_threshold
    flips = float(np.mean((answer >= threshold) != (base >= threshold)))
    avg_change, max_change = float(change.mean()), float(change.max())
    metrics += [
        Metric("Average Prediction Change", MetricCategory.OUTPUT_DIFF, avg_change),
        Metric("Max Prediction Change", MetricCategory.OUTPUT_DIFF, max_change),
        Metric("Prediction Flip Rate", MetricCategory.OUTPUT_DIFF, flips),
    ]
    severity = severity_from_thresholds(avg_change, params.prediction_change_thresholds, factor)
    clause = f"the model's prediction moves by {avg_change:.3f} on average (at most {max_change:.3f})"
    clause += f" and {flips:.0%} of predicted classes flip"
    drop = 0.0
    if sample.labels is not None:
        labels = sample.labels[rows]
        before = float(np.mean((base >= threshold) == labels))
        after = float(np.mean((answer >= threshold) == labels))
        drop = before - after
        metrics.append(Metric("Accuracy Change", MetricCategory.PERFORMANCE_DIFF, after - before))
        severity = max(severity, severity_from_thresholds(drop, params.performance_change_thresholds, factor))
        clause += f"; accuracy goes from {before:.3f} to {after:.3f}"
    examples_text = ", ".join(list(dict.fromkeys(shown))[:3])
    return TestCase(
        [feature.name],
        severity,
        f"With {what} in {feature.name} ({examples_text}) on {n} clean rows, {clause}.",
        metrics,
        importance=avg_change + max(drop, 0.0),
    )


def _run(inputs: StressInputs, params: TransformationParams, inject: Injector, what: str) -> Findings | None:
    if not inputs.has_model:
        return None
    sample = clean_sample(inputs, params.num_samples_to_simulate)
    jobs = []
    for feature in stats.tested_features(inputs, text=True):
        if feature.name not in sample.frame.columns:
            continue
        injection = inject(inputs, feature, sample.frame[feature.name])
        if injection is None or injection[1].size == 0:
            continue
        values, rows = injection
        frame = with_column(sample.frame.iloc[rows].reset_index(drop=True), feature.name, values)
        jobs.append((feature, rows, frame, values))
    if not jobs:
        return None
    answers = predict_frames(inputs, [frame for _, _, frame, _ in jobs])
    cases = [
        _case(inputs, params, feature, sample, rows, answer, what=what, examples=values)
        for (feature, rows, _, values), answer in zip(jobs, answers, strict=True)
    ]
    return Findings(cases)


def _all_rows(column: pd.Series) -> np.ndarray:
    return np.arange(len(column))


def _numeric_reference(inputs: StressInputs, feature: Feature) -> np.ndarray | None:
    if not feature.is_numeric:
        return None
    col = stats.numeric_column(inputs, feature.name)
    ref = col.ref[col.ref_valid]
    return ref if ref.size else None


@register("null_substitution", name="Null Substitution", params=TransformationParams, needs_model=True)
def null_substitution(inputs: StressInputs, params: TransformationParams) -> Findings | None:
    """The model's predictions when a feature's value is missing."""

    def inject(_: StressInputs, feature: Feature, column: pd.Series) -> Injection:
        return [np.nan if feature.is_numeric else None] * len(column), _all_rows(column)

    return _run(inputs, params, inject, "missing values")


@register(
    "numeric_outlier_substitution",
    name="Numeric Outlier Substitution",
    params=OutlierSubstitutionParams,
    needs_model=True,
)
def numeric_outlier_substitution(inputs: StressInputs, params: OutlierSubstitutionParams) -> Findings | None:
    """The model's predictions when a numeric feature takes a value far outside the reference."""
    mult = params.bound_multiplier

    def inject(inputs: StressInputs, feature: Feature, column: pd.Series) -> Injection:
        ref = _numeric_reference(inputs, feature)
        if ref is None:
            return None
        mean, sd = float(ref.mean()), float(ref.std()) or 1.0
        high = max(mean + (mult + 1) * sd, float(ref.max()) + mult * sd)
        low = min(mean - (mult + 1) * sd, float(ref.min()) - mult * sd)
        return _alternating(len(column), high, low), _all_rows(column)

    return _run(inputs, params, inject, "numeric outliers")


@register(
    "out_of_range_substitution",
    name="Out of Range Substitution",
    params=TransformationParams,
    needs_model=True,
)
def out_of_range_substitution(inputs: StressInputs, params: TransformationParams) -> Findings | None:
    """The model's predictions when a numeric feature is just outside the reference's range."""

    def inject(inputs: StressInputs, feature: Feature, column: pd.Series) -> Injection:
        ref = _numeric_reference(inputs, feature)
        if ref is None:
            return None
        lo, hi = float(ref.min()), float(ref.max())
        margin = (hi - lo) / 10 or 1.0
        return _alternating(len(column), hi + margin, lo - margin), _all_rows(column)

    return _run(inputs, params, inject, "values out of the reference's range")


@register(
    "unseen_categorical_substitution",
    name="Unseen Categorical Substitution",
    params=TransformationParams,
    needs_model=True,
)
def unseen_categorical_substitution(inputs: StressInputs, params: TransformationParams) -> Findings | None:
    """The model's predictions when a categorical feature takes a value the reference never had."""

    def inject(inputs: StressInputs, feature: Feature, column: pd.Series) -> Injection:
        if feature.kind is not FeatureKind.CATEGORICAL or not _string_values(column):
            return None
        seen = set(inputs.ref[feature.name].dropna().astype(str))
        value = UNSEEN_CATEGORY
        while value in seen:
            value += "_"
        return [value] * len(column), _all_rows(column)

    return _run(inputs, params, inject, "an unseen category")


@register(
    "empty_string_substitution",
    name="Empty String Substitution",
    params=TransformationParams,
    needs_model=True,
)
def empty_string_substitution(inputs: StressInputs, params: TransformationParams) -> Findings | None:
    """The model's predictions when a string feature is the empty string."""

    def inject(_: StressInputs, feature: Feature, column: pd.Series) -> Injection:
        if feature.is_numeric or not _string_values(column):
            return None
        return [""] * len(column), _all_rows(column)

    return _run(inputs, params, inject, "empty strings")


@register("feature_type_change", name="Feature Type Change", params=TransformationParams, needs_model=True)
def feature_type_change(inputs: StressInputs, params: TransformationParams) -> Findings | None:
    """The model's predictions when a numeric feature arrives as strings."""

    def inject(_: StressInputs, feature: Feature, column: pd.Series) -> Injection:
        if not feature.is_numeric:
            return None
        return [str(v) for v in column.tolist()], _all_rows(column)

    return _run(inputs, params, inject, "numbers given as strings")


@register(
    "capitalization_change", name="Capitalization Change", params=TransformationParams, needs_model=True
)
def capitalization_change(inputs: StressInputs, params: TransformationParams) -> Findings | None:
    """The model's predictions when a string feature's values change case."""

    def inject(_: StressInputs, feature: Feature, column: pd.Series) -> Injection:
        if feature.is_numeric or not _string_values(column):
            return None
        values = column.tolist()
        changed = [v.lower() if v == v.upper() else v.upper() for v in values]
        rows = np.flatnonzero([c != v for c, v in zip(changed, values, strict=True)])
        return [changed[i] for i in rows], rows

    return _run(inputs, params, inject, "values in another case")
