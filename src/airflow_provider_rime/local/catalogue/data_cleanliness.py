"""Data Cleanliness: problems of the data itself, mostly of the reference (training) data.

- ``required_features``: the listed features (default: every reference feature) are in the
  evaluation data and not entirely missing there.
- ``duplicate_rows`` (off by default, as in RIME): exact duplicate rows, by a 64-bit hash of
  each row.
- ``label_imbalance``: the minority class's share of the reference labels.
- ``high_feature_correlation``: for each numeric feature, its most correlated other numeric
  feature in the reference (rank correlation on reference percentiles; on at most 100,000
  rows sampled with the run's seed: the standard error of a correlation at 100,000 rows is
  about 0.003, far below the thresholds). Missing values take the middle rank.
- ``high_mi_feature_to_label``: leakage: a feature that tells too much about the label.
  Normalised mutual information I(X; Y) / H(Y) on the reference (numeric: 10 quantile bins,
  missing values their own bin; categorical values seen fewer than 20 times pooled;
  Miller-Madow bias-corrected so that many-valued features do not look informative by chance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pandas as pd

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
from airflow_provider_rime.local.catalogue.types import metrics_of
from airflow_provider_rime.local.catalogue.types import severity_from_thresholds
from airflow_provider_rime.rime_api.enums import MetricCategory
from airflow_provider_rime.rime_api.enums import TestCategory

CATEGORY = TestCategory.DATA_CLEANLINESS
register = Registrar(CATEGORY)


@dataclass(frozen=True)
class RequiredFeaturesParams(TestParams):
    required_features: tuple[str, ...] | None = None  # None: every reference feature


@register("required_features", "Required Features", RequiredFeaturesParams)
def required_features(inputs: StressInputs, params: RequiredFeaturesParams) -> Findings | None:
    """Features that must be present (and not entirely missing) in the evaluation data."""
    required = params.required_features
    if required is None:
        required = tuple(str(c) for c in inputs.ref.columns)
    cases = []
    for name in required:
        in_ref = name in inputs.ref.columns
        in_eval = name in inputs.eval.columns
        metrics = [Metric("Present in Evaluation", MetricCategory.FEATURE, int(in_eval))]
        if not in_eval:
            where = "the reference has it" if in_ref else "the reference lacks it too"
            case = TestCase(
                [name],
                Severity.ALERT,
                f"Required feature {name} is missing from the evaluation data ({where}): the model cannot be "
                "fed as it was trained.",
                metrics,
                importance=1.0,
            )
        elif len(inputs.eval) and inputs.eval[name].isna().all():
            case = TestCase(
                [name],
                Severity.ALERT,
                f"Required feature {name} is present but entirely missing in the evaluation data.",
                metrics,
                importance=1.0,
            )
        else:
            case = TestCase([name], Severity.PASS, f"Required feature {name} is present.", metrics)
        cases.append(case)
    return Findings(cases)


def _duplicates(frame: pd.DataFrame) -> int:
    if len(frame) == 0 or frame.shape[1] == 0:
        return 0
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return int(hashes.size - np.unique(hashes).size)


@dataclass(frozen=True)
class DuplicateRowsParams(TestParams):
    severity_thresholds: Thresholds = (0.01, 0.05)


@register("duplicate_rows", "Duplicate Rows", DuplicateRowsParams, enabled_by_default=False)
def duplicate_rows(inputs: StressInputs, params: DuplicateRowsParams) -> Findings | None:
    """Exact duplicate rows in the reference and evaluation data."""
    factor = inputs.config.threshold_factor
    cases = []
    for split, frame in (("reference", inputs.ref), ("evaluation", inputs.eval)):
        dups = _duplicates(frame)
        share = dups / len(frame) if len(frame) else 0.0
        severity = severity_from_thresholds(share, params.severity_thresholds, factor)
        metrics = metrics_of(
            MetricCategory.FAILING_INPUTS, {"Duplicate Rows": dups, "Duplicate Rows %": share * 100}
        )
        text = severity.says(
            f"The {split} data has {stats.fmt_count(dups, len(frame))} duplicated.",
            f"The {split} data has {stats.fmt_count(dups, len(frame))} that duplicate another row: "
            "duplicates over-weight some cases and leak between train and test splits.",
        )
        cases.append(TestCase([], severity, text, metrics, importance=share))
    return Findings(cases)


@dataclass(frozen=True)
class LabelImbalanceParams(TestParams):
    minority_share_thresholds: Thresholds = (0.1, 0.01)  # lower is worse


@register("label_imbalance", "Label Imbalance", LabelImbalanceParams, needs_labels=True)
def label_imbalance(inputs: StressInputs, params: LabelImbalanceParams) -> Findings | None:
    """Share of the minority class in the reference labels."""
    assert inputs.ref_labels is not None
    y = inputs.ref_labels.astype(bool)
    rate = float(y.mean()) if y.size else math.nan
    minority = min(rate, 1 - rate)
    severity = severity_from_thresholds(
        minority, params.minority_share_thresholds, inputs.config.threshold_factor, lower_is_worse=True
    )
    metrics = metrics_of(MetricCategory.FEATURE, {"Minority Class Share": minority, "Positive Rate": rate})
    text = severity.says(
        f"The reference labels are balanced enough (minority class {minority:.1%}).",
        f"The minority class is only {minority:.2%} of the reference labels: accuracy is "
        "misleading and the model may have learned little about that class.",
    )
    case = TestCase(
        [], severity, text, metrics, importance=0.5 - minority if math.isfinite(minority) else 0.0
    )
    return Findings([case], metrics)


@dataclass(frozen=True)
class HighCorrelationParams(TestParams):
    severity_thresholds: Thresholds = (0.9, 0.98)


@register("high_feature_correlation", "High Feature Correlation", HighCorrelationParams)
def high_feature_correlation(inputs: StressInputs, params: HighCorrelationParams) -> Findings | None:
    """Numeric features that are nearly copies of each other in the reference."""
    features = [f for f in stats.tested_features(inputs) if f.is_numeric]
    if len(features) < 2:
        return None
    corr, _ = stats.rank_correlations(inputs, [f.name for f in features], "ref")
    corr = np.nan_to_num(corr, nan=0.0)  # a constant feature correlates with nothing
    np.fill_diagonal(corr, 0.0)
    factor = inputs.config.threshold_factor
    cases = []
    for i, f in enumerate(features):
        j = int(np.argmax(np.abs(corr[i])))
        value = float(corr[i, j])
        partner = features[j].name
        severity = severity_from_thresholds(
            abs(value), [min(t * factor, 0.999) for t in params.severity_thresholds]
        )
        metrics = metrics_of(
            MetricCategory.STATISTICAL_DEPENDENCE, {"Most Correlated Feature": partner, "Correlation": value}
        )
        text = severity.says(
            f"{f.name} is at most moderately correlated with another feature ({partner}: {value:.3f}).",
            f"{f.name} and {partner} have rank correlation {value:.3f} in the reference: one is nearly "
            "redundant, which makes the model's use of either fragile and hard to explain.",
        )
        cases.append(TestCase([f.name, partner], severity, text, metrics, importance=abs(value)))
    return Findings(cases)


_MIN_VALUE_ROWS = 20


@dataclass(frozen=True)
class HighMutualInformationParams(TestParams):
    severity_thresholds: Thresholds = (0.5, 0.8)
    num_quantiles: Annotated[int, Range(2, 1000)] = 10


@register(
    "high_mi_feature_to_label",
    "High Mutual Information (Feature to Label)",
    HighMutualInformationParams,
    needs_labels=True,
)
def high_mi_feature_to_label(inputs: StressInputs, params: HighMutualInformationParams) -> Findings | None:
    """Features that reveal the label suspiciously well in the reference (possible leakage)."""
    assert inputs.ref_labels is not None
    q = params.num_quantiles
    y = inputs.ref_labels.astype(np.int64)
    hy = stats.entropy_bits(np.bincount(y, minlength=2))
    if hy == 0:
        return None
    factor = inputs.config.threshold_factor
    cases = []
    for feature in stats.tested_features(inputs):
        bins = stats.feature_bins(inputs, feature, q)
        codes, n_codes = bins.ref, len(bins.labels)
        if not feature.is_numeric:
            # Values seen fewer than _MIN_VALUE_ROWS times pool into one: an ID-like column
            # "predicts" every row's label perfectly, which is memorisation, not leakage.
            counts = np.bincount(codes, minlength=n_codes)
            frequent = counts >= _MIN_VALUE_ROWS
            mapping = np.where(frequent, np.cumsum(frequent) - 1, int(frequent.sum()))
            codes, n_codes = mapping[codes], int(frequent.sum()) + 1
        mi = stats.mutual_information_bits(codes, n_codes, y)
        nmi = min(1.0, mi / hy)
        severity = severity_from_thresholds(nmi, [min(t * factor, 1.0) for t in params.severity_thresholds])
        metrics = metrics_of(
            MetricCategory.STATISTICAL_DEPENDENCE,
            {"Mutual Information (bits)": mi, "Normalized Mutual Information": nmi},
        )
        text = severity.says(
            f"{feature.name} carries {nmi:.1%} of the label's information, a plausible amount.",
            f"{feature.name} alone carries {nmi:.1%} of the label's information in the reference: "
            "it may be derived from the label (leakage), so the model would fail where it is not "
            "available.",
        )
        cases.append(TestCase([feature.name], severity, text, metrics, importance=nmi))
    return Findings(cases)
