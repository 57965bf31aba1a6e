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

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from typing import Any
from typing import Generic
from typing import TypeVar

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
TP = TypeVar("TP", bound=TransformationParams)


@dataclass(frozen=True)
class _Column(Generic[TP]):
    """One feature's column of the clean sample, with what a transformation may look at."""

    inputs: StressInputs
    params: TP
    feature: Feature
    values: pd.Series

    def everywhere(self, new: list[object]) -> Injection:
        """``new`` in every row of the sample."""
        return new, np.arange(len(self.values))


#: A transformation: what it injects into a feature's column.
Injector = Callable[[_Column[TP]], Injection]
#: Which columns a transformation applies to.
Applies = Callable[[_Column[Any]], bool]


def _string_values(column: pd.Series) -> bool:
    values = column.dropna()
    return len(values) > 0 and bool(values.map(lambda v: isinstance(v, str)).all())


def _always(_: _Column[Any]) -> bool:
    return True


def _is_numeric(col: _Column[Any]) -> bool:
    return col.feature.is_numeric


def _is_string(col: _Column[Any]) -> bool:
    return not col.feature.is_numeric and _string_values(col.values)


def _is_categorical(col: _Column[Any]) -> bool:
    return col.feature.kind is FeatureKind.CATEGORICAL and _string_values(col.values)


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


def _run(
    inputs: StressInputs, params: TP, inject: Injector[TP], applies: Applies, what: str
) -> Findings | None:
    if not inputs.has_model:
        return None
    sample = clean_sample(inputs, params.num_samples_to_simulate)
    jobs = []
    for feature in stats.tested_features(inputs, text=True):
        if feature.name not in sample.frame.columns:
            continue
        column = _Column(inputs, params, feature, sample.frame[feature.name])
        injection = inject(column) if applies(column) else None
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


def _numeric_extremes(col: _Column[Any], extremes: Callable[[np.ndarray], tuple[float, float]]) -> Injection:
    """The feature's values replaced by a high and a low value in turn, the two that ``extremes``
    draws from the feature's reference values (numeric features)."""
    ref = stats.numeric_column(col.inputs, col.feature.name)
    values = ref.ref[ref.ref_valid]
    if values.size == 0:
        return None
    high, low = extremes(values)
    return col.everywhere(_alternating(len(col.values), high, low))


def _transformation(
    key: str, name: str, params: type[TP], what: str, applies: Applies
) -> Callable[[Injector[TP]], Injector[TP]]:
    """Registers the transformation test ``key``: it injects what the decorated function makes
    into each feature of a clean sample it ``applies`` to (``what`` names it in the cases) and
    judges the model's answers. The function's docstring is the test's description."""

    def wrap(inject: Injector[TP]) -> Injector[TP]:
        @functools.wraps(inject)
        def test(inputs: StressInputs, test_params: TP) -> Findings | None:
            return _run(inputs, test_params, inject, applies, what)

        register(key, name, params, needs_model=True)(test)
        return inject

    return wrap


@_transformation("null_substitution", "Null Substitution", TransformationParams, "missing values", _always)
def null_substitution(col: _Column[TransformationParams]) -> Injection:
    """The model's predictions when a feature's value is missing."""
    return col.everywhere([np.nan if col.feature.is_numeric else None] * len(col.values))


@_transformation(
    "numeric_outlier_substitution",
    "Numeric Outlier Substitution",
    OutlierSubstitutionParams,
    "numeric outliers",
    _is_numeric,
)
def numeric_outlier_substitution(col: _Column[OutlierSubstitutionParams]) -> Injection:
    """The model's predictions when a numeric feature takes a value far outside the reference."""
    mult = col.params.bound_multiplier

    def outliers(ref: np.ndarray) -> tuple[float, float]:
        mean, sd = float(ref.mean()), float(ref.std()) or 1.0
        return (
            max(mean + (mult + 1) * sd, float(ref.max()) + mult * sd),
            min(mean - (mult + 1) * sd, float(ref.min()) - mult * sd),
        )

    return _numeric_extremes(col, outliers)


@_transformation(
    "out_of_range_substitution",
    "Out of Range Substitution",
    TransformationParams,
    "values out of the reference's range",
    _is_numeric,
)
def out_of_range_substitution(col: _Column[TransformationParams]) -> Injection:
    """The model's predictions when a numeric feature is just outside the reference's range."""

    def just_outside(ref: np.ndarray) -> tuple[float, float]:
        lo, hi = float(ref.min()), float(ref.max())
        margin = (hi - lo) / 10 or 1.0
        return hi + margin, lo - margin

    return _numeric_extremes(col, just_outside)


@_transformation(
    "unseen_categorical_substitution",
    "Unseen Categorical Substitution",
    TransformationParams,
    "an unseen category",
    _is_categorical,
)
def unseen_categorical_substitution(col: _Column[TransformationParams]) -> Injection:
    """The model's predictions when a categorical feature takes a value the reference never had."""
    seen = set(col.inputs.ref[col.feature.name].dropna().astype(str))
    value = UNSEEN_CATEGORY
    while value in seen:
        value += "_"
    return col.everywhere([value] * len(col.values))


@_transformation(
    "empty_string_substitution",
    "Empty String Substitution",
    TransformationParams,
    "empty strings",
    _is_string,
)
def empty_string_substitution(col: _Column[TransformationParams]) -> Injection:
    """The model's predictions when a string feature is the empty string."""
    return col.everywhere([""] * len(col.values))


@_transformation(
    "feature_type_change",
    "Feature Type Change",
    TransformationParams,
    "numbers given as strings",
    _is_numeric,
)
def feature_type_change(col: _Column[TransformationParams]) -> Injection:
    """The model's predictions when a numeric feature arrives as strings."""
    return col.everywhere([str(v) for v in col.values.tolist()])


@_transformation(
    "capitalization_change",
    "Capitalization Change",
    TransformationParams,
    "values in another case",
    _is_string,
)
def capitalization_change(col: _Column[TransformationParams]) -> Injection:
    """The model's predictions when a string feature's values change case."""
    values = col.values.tolist()
    changed = [v.lower() if v == v.upper() else v.upper() for v in values]
    rows = np.flatnonzero([c != v for c, v in zip(changed, values, strict=True)])
    return [changed[i] for i in rows], rows
