"""Drift: how the evaluation data differs from the reference, and what that costs the model.

The default verdict: drift that matters, found
==============================================

A feature drifted when its change is **both** large enough to matter **and** unlikely under
no drift. Either alone misleads: an effect size alone (RIME's PSI, Evidently's distances) is
noisy on a firewall's daily bin of a thousand rows and gains no power from a million rows;
a p-value alone flags every harmless 0.01-sd wobble of a large split, and ~5% of clean
features when uncorrected.

- **Effect size**, scale-free and suited to the type:

  - numeric: the *normalised Wasserstein distance* ``W1 / s``, the average distance a value
    has to move to turn the reference's distribution into the evaluation's, in units of the
    reference's spread ``s = min(sd, IQR / 1.349)`` (the IQR keeps a heavy tail from hiding a
    change of the bulk). It sees shifts, spread changes, tails and new modes alike.
    ``distance_thresholds`` [0.05, 0.25]: a twentieth of a standard deviation warns (Evidently's
    default bar is 0.1, which a 0.1-sd shift crosses half the time).
  - categorical: the *total variation distance* ``sum |e_i - r_i| / 2``, the share of rows
    that changed category; ``categorical_distance_thresholds`` [0.05, 0.2].
  - new and vanished categories, explicitly: the share of evaluation rows in categories the
    reference never had, or of reference rows in categories the evaluation lost, judged
    against ``new_category_thresholds`` [0.005, 0.05]: a category appearing from nowhere is a
    qualitative change, so half a percent of the rows counts.
  - a numeric feature constant on the reference: the share of evaluation values that differ,
    against the categorical bars.

- **Evidence**: a two-sample test per feature (``stats.twosample``): Anderson-Darling on
  continuous values (it weighs the tails, so spread and tail changes do not escape it);
  Kolmogorov-Smirnov when one value holds more than 1% of the rows (ties break
  Anderson-Darling's reference distribution; KS stays conservative); chi-squared on the
  value table for at most 20 distinct values and for categorical features (sparse cells
  merged), combined by weighted Bonferroni (0.9 / 0.05 / 0.05) with the exact chance of a
  new (or vanished) category's rows all falling in one split, ``(m / N)^c``. The p-values of
  all the run's features are **Holm-corrected** together at ``family_error_rate`` 0.01: on a
  clean split, the chance that any feature is flagged is at most 1% (a daily firewall bin
  raises a false drift about once in a hundred days, not once in twenty), and each clean
  feature's false-flag rate is about 0.01 / features. Measured: no more false flags than
  Evidently's effect-size-only rule from 5,000 rows on, and far fewer at 1,000 rows, where
  Evidently's uncorrected tests flag about a fifth of clean features. The rate is the same for
  stress tests and firewall bins: a higher one (0.05, 0.1) finds more small changes at 1,000
  rows but still not Evidently's share of them, flags clean features at 5,000 rows where
  Evidently flags none, and at 0.1 made the drift monitors of a daily 1,000-row bin warn on 10
  of 250 clean days (2 alerts) instead of none (docs/drift.md; ``--family-error-rate`` of
  ``benchmarks/drift_detection.py`` and ``benchmarks/firewall_ground_truth.py``).

- **Sensitivity** moves both: ``LESS_SENSITIVE`` multiplies the bars by 1.5 and the error rate
  by 0.2 (0.002), ``MORE_SENSITIVE`` the bars by 2/3 and the error rate by 2 (0.02).

Severity: warning at the warning bar, alert at the alert bar, with the evidence in both cases.
PSI, JS and KL divergence are still computed on RIME's bins and reported in every case's
metrics, with the effect size, the test's statistic, its p-value and the Holm-adjusted one.

**RIME's rule on request.** A config that sets ``drift_scoring_method`` or one of
``psi_thresholds``, ``js_thresholds``, ``kl_thresholds`` gets RIME's single-statistic verdict
(PSI on reference-quantile bins, or the chosen divergence or p-value); ``min_sample_size`` and
``num_quantiles`` apply to both.

The tests
=========

- ``feature_drift``: as above. Where the reference has labels and predictions, a drifted
  feature's case also says how much the shift matters: the reference accuracy re-weighted to
  the evaluation's mix of this feature ("this shift alone is worth ... of accuracy"), and the
  model's accuracy in the region that grew most.
- ``prediction_drift``: the same normalised Wasserstein distance and test on the model's
  predictions (a family of one); PSI on reference deciles reported, and judging when
  ``psi_thresholds`` is set.
- ``categorical_label_drift``: change of the label's positive rate (two-proportion test).
- ``null_proportion``: change of each feature's null share (two-proportion test).
- ``correlation_label_drift``: change of each numeric feature's rank correlation with the
  label (Fisher z test).
- ``correlation_feat_drift``: change of the rank correlation between pairs of numeric
  features (Fisher z test).

The last four already judged an effect (their ``severity_thresholds`` or
``rate_change_thresholds``) together with a p-value; their p-values are Holm-corrected over
the features (or pairs) tested, and the global sensitivity moves their error rate with their
thresholds, as for feature drift.

The two-sample tests and the correlation tests work on a seeded sample of at most 100,000
rows per split (``stats.sample_rows``): a correlation's standard error there is about 0.003,
far below the 0.05 / 0.1 thresholds, and a distance's about 0.004, far below its 0.05 bar.

Deviations from RIME's documented defaults, and why:

- Feature and prediction drift: the verdict above instead of PSI >= 0.2. PSI with RIME's bar
  needs about half a standard deviation of shift, is nearly blind to spread changes (PSI
  ~0.09 at x1.3) and to the mix of few-valued features (0.16 for 20% of rows moving between
  two values), and its empty-bin pseudo-count makes a new category's PSI depend on the sample
  size.
- PSI uses 10 reference-quantile bins, not ``min_num_quantiles`` 1000. PSI's noise floor is
  about ``(bins - 1) (1/n_ref + 1/n_eval)``: with 1000 bins and the walkthrough's 10,000 /
  29,000 rows that is 0.13, two thirds of the 0.2 warning threshold, so a clean split would
  warn; with 10 bins it is 0.001.
- Label drift is judged on the change of the positive rate (``rate_change_thresholds``
  [0.05, 0.1]), not on PSI [0.2, 0.6]: on a binary label PSI 0.2 needs the fraud rate to fall
  from 0.69 to about 0.45; the walkthrough's fall to 0.62 (PSI 0.02) would go unseen.
- The p-value tests of ``null_proportion`` and the correlation drifts are Holm corrected over
  the features tested and need an effect of at least the warning threshold: at a million
  rows a 0.1% change is "significant", and with 20 features a plain p < 0.05 would flag a
  clean split about two times in three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated
from typing import Literal

import numpy as np
from scipy import stats as sps

from airflow_provider_rime.local.catalogue import stats
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
from airflow_provider_rime.local.catalogue.types import metrics_of
from airflow_provider_rime.local.catalogue.types import severity_from_thresholds
from airflow_provider_rime.rime_api.enums import MetricCategory
from airflow_provider_rime.rime_api.enums import TestCategory

CATEGORY = TestCategory.DRIFT
register = Registrar(CATEGORY)


@dataclass(frozen=True)
class PredictionDriftParams(TestParams):
    """The default verdict: normalised Wasserstein distance and a two-sample test (see the
    module's docstring); PSI on bins at the reference's quantiles is reported, and judges
    when ``psi_thresholds`` or ``num_quantiles`` is set."""

    psi_thresholds: Thresholds = (0.2, 0.6)
    num_quantiles: Annotated[int, Range(2, 1000)] = 10
    distance_thresholds: Thresholds = (0.05, 0.25)  # normalised Wasserstein
    family_error_rate: Annotated[float, Range(0.0, 1.0)] = 0.01  # of the tests, Holm-corrected


@dataclass(frozen=True)
class FeatureDriftParams(PredictionDriftParams):
    """The default verdict: an effect size and evidence, Holm-corrected over the features.
    A RIME key (``drift_scoring_method``, its thresholds, ``p_value_threshold``) set in the
    config switches to RIME's single-statistic rule; PSI, JS and KL are reported either way."""

    drift_scoring_method: Literal["psi", "js", "kl", "ks", "chi2"] = "psi"
    js_thresholds: Thresholds = (0.05, 0.1)
    kl_thresholds: Thresholds = (0.1, 0.2)
    p_value_threshold: Annotated[float, Range(0.0, 1.0)] = 0.05  # ks, chi2
    min_sample_size: Annotated[float, Range(1)] = 100.0  # values per split; fewer: the case is skipped
    categorical_distance_thresholds: Thresholds = (0.05, 0.2)  # total variation
    new_category_thresholds: Thresholds = (0.005, 0.05)  # share of rows in new or vanished categories


# The keys whose presence in a config asks for RIME's single-statistic verdict.
_RIME_FEATURE_KEYS = ("drift_scoring_method", "psi_thresholds", "js_thresholds", "kl_thresholds")


@dataclass(frozen=True)
class SignificantChangeParams(TestParams):
    """A change must be significant at ``p_value_threshold`` (Bonferroni-corrected where
    several features are tested) before its size is judged."""

    p_value_threshold: Annotated[float, Range(0.0, 1.0)] = 0.05


@dataclass(frozen=True)
class ChangeTestParams(SignificantChangeParams):
    severity_thresholds: Thresholds = (0.05, 0.1)


def _drift_impact(inputs: StressInputs, bins: stats.Bins) -> tuple[list[Metric], str, float]:
    """What the feature's shift costs the model, from the reference's per-bin behaviour."""
    if inputs.ref_preds is None:
        return [], "", 0.0
    k = bins.n_bins  # value bins only
    ref_b, eval_b = bins.ref, bins.eval
    ref_n = np.bincount(ref_b, minlength=k + 1)[:k].astype(np.float64)
    eval_n = np.bincount(eval_b, minlength=k + 1)[:k].astype(np.float64)
    seen = ref_n > 0
    if eval_n[seen].sum() == 0 or ref_n.sum() == 0:
        return [], "", 0.0
    r = ref_n / ref_n.sum()
    e = eval_n / eval_n.sum()
    grown = int(np.argmax(np.where(seen, e - r, -np.inf)))
    e_seen = np.where(seen, eval_n, 0.0) / eval_n[seen].sum()
    thr = inputs.config.prediction_threshold
    p_ref = inputs.ref_preds
    region = f"{bins.labels[grown]} ({e[grown]:.1%} of evaluation rows, {r[grown]:.1%} of reference)"
    if inputs.ref_labels is not None:
        correct = ((p_ref >= thr) == inputs.ref_labels.astype(bool)).astype(np.float64)
        acc_b = np.bincount(ref_b, weights=correct, minlength=k + 1)[:k] / np.maximum(ref_n, 1)
        ref_acc = float(correct[ref_b < k].mean()) if (ref_b < k).any() else math.nan
        expected = float(np.sum(e_seen * acc_b))
        change = expected - ref_acc
        metrics = [
            Metric("Expected Accuracy Change", MetricCategory.PERFORMANCE_DIFF, change),
            Metric("Most Grown Region", MetricCategory.SUBSET_DETAILS, bins.labels[grown]),
            Metric("Reference Accuracy in Region", MetricCategory.PERFORMANCE_DIFF, float(acc_b[grown])),
        ]
        clause = (
            f"the region that grew most is {region}, where the model's reference accuracy is "
            f"{acc_b[grown]:.3f} against {ref_acc:.3f} overall"
        )
        if inputs.eval_labels is not None and inputs.eval_preds is not None:
            in_region = eval_b == grown
            if in_region.any():
                ev_correct = (inputs.eval_preds[in_region] >= thr) == inputs.eval_labels[in_region].astype(
                    bool
                )
                ev_acc = float(ev_correct.mean())
                metrics.append(
                    Metric("Evaluation Accuracy in Region", MetricCategory.PERFORMANCE_DIFF, ev_acc)
                )
                clause += f" ({ev_acc:.3f} on evaluation)"
        clause += f"; re-weighted to the new mix, this shift alone moves accuracy by {change:+.3f}"
        return metrics, clause, abs(change)
    avg_b = np.bincount(ref_b, weights=p_ref, minlength=k + 1)[:k] / np.maximum(ref_n, 1)
    ref_avg = float(p_ref[ref_b < k].mean()) if (ref_b < k).any() else math.nan
    change = float(np.sum(e_seen * avg_b)) - ref_avg
    metrics = [
        Metric("Expected Average Prediction Change", MetricCategory.OUTPUT_DIFF, change),
        Metric("Most Grown Region", MetricCategory.SUBSET_DETAILS, bins.labels[grown]),
    ]
    clause = (
        f"the region that grew most is {region}; re-weighted to the new mix, this shift alone "
        f"moves the model's average prediction by {change:+.3f}"
    )
    return metrics, clause, abs(change)


#: Most bins a stored distribution keeps (rarer categorical values pool into "other values").
DISTRIBUTION_BINS = 20


def _distribution(bins: stats.Bins, ref_c: np.ndarray, eval_c: np.ndarray) -> list[Metric]:
    """The feature's row counts per bin of both splits, for the result page's histogram.

    The value bins the statistic was computed on, then the missing values when there are any.
    A categorical feature with more than ``DISTRIBUTION_BINS`` values keeps its most common
    ones and pools the rest.
    """
    labels = list(bins.labels[:-1])
    ref_n, eval_n = [int(v) for v in ref_c], [int(v) for v in eval_c]
    if len(labels) > DISTRIBUTION_BINS:
        keep = sorted(
            np.argsort(-(ref_c / max(1, ref_c.sum()) + eval_c / max(1, eval_c.sum())), kind="stable")[
                : DISTRIBUTION_BINS - 1
            ]
        )
        rest = np.ones(len(labels), dtype=bool)
        rest[keep] = False
        labels = [labels[i] for i in keep] + ["other values"]
        ref_n = [ref_n[i] for i in keep] + [int(ref_c[rest].sum())]
        eval_n = [eval_n[i] for i in keep] + [int(eval_c[rest].sum())]
    ref_null, eval_null = int(bins.counts("ref")[-1]), int(bins.counts("eval")[-1])
    if ref_null or eval_null:
        labels.append(bins.labels[-1])
        ref_n.append(ref_null)
        eval_n.append(eval_null)
    return [
        Metric("Distribution Bins", MetricCategory.SUBSET_DETAILS, labels),
        Metric("Reference Counts", MetricCategory.SUBSET_DETAILS, ref_n),
        Metric("Evaluation Counts", MetricCategory.SUBSET_DETAILS, eval_n),
    ]


def _ks(inputs: StressInputs, feature: Feature) -> tuple[float, float]:
    col = stats.numeric_column(inputs, feature.name)
    a = col.ref[col.ref_valid]
    b = col.eval[col.eval_valid]
    result = sps.ks_2samp(a, b)
    return float(result.statistic), float(result.pvalue)


@dataclass
class _Evidence:
    """One feature under the default verdict, waiting for the Holm correction over the run."""

    index: int  # of its case
    feature: Feature
    bins: stats.Bins
    severity: Severity  # of the effect alone
    effect: str  # the effect in words
    importance: float
    bar: float  # the effect's warning bar (scaled)
    test: str
    pvalue: float


def _categories(count: int, adjective: str = "") -> str:
    return f"{count} {adjective}categor{'y' if count == 1 else 'ies'}"


def _categorical_evidence(
    ref_c: np.ndarray, eval_c: np.ndarray, params: FeatureDriftParams, factor: float
) -> tuple[list[Metric], Severity, str, float, float, str, float]:
    """Total variation, new and vanished categories, and their p-value (chi-squared on the
    table, and the chance of a category's rows all landing in one split)."""
    n, m = float(ref_c.sum()), float(eval_c.sum())
    tv = stats.total_variation(ref_c, eval_c)
    new = (ref_c == 0) & (eval_c > 0)
    vanished = (eval_c == 0) & (ref_c > 0)
    new_rows, vanished_rows = float(eval_c[new].sum()), float(ref_c[vanished].sum())
    new_share, vanished_share = new_rows / m, vanished_rows / n
    table = stats.merge_sparse(ref_c, eval_c)
    chi2, p_chi2 = stats.chi2_pvalue(table[0], table[1])
    # Under no drift each of a category's pooled rows is in the evaluation with chance m / N:
    # all of a new category's c rows there has chance (m / N)^c; likewise for vanished ones.
    p_new = math.exp(new_rows * math.log(m / (n + m))) if new_rows else 1.0
    p_vanished = math.exp(vanished_rows * math.log(n / (n + m))) if vanished_rows else 1.0
    # Weighted Bonferroni over the three: most of the error rate to chi-squared, whose evidence
    # is the weaker one; a new category's rows all in one split are evidence enough at 5% of it.
    pvalue = min(1.0, p_chi2 / 0.9, p_new / 0.05, p_vanished / 0.05)
    bars = params.categorical_distance_thresholds
    severity = max(
        severity_from_thresholds(tv, bars, factor),
        severity_from_thresholds(max(new_share, vanished_share), params.new_category_thresholds, factor),
    )
    effect = f"total variation {tv:.3f}"
    if new_rows:
        effect += f", {_categories(int(new.sum()), 'new ')} in {new_share:.1%} of evaluation rows"
    if vanished_rows:
        effect += f", {_categories(int(vanished.sum()))} of {vanished_share:.1%} of reference rows gone"
    metrics = metrics_of(
        MetricCategory.DRIFT_STAT,
        {
            "Total Variation Distance": tv,
            "New Category Share": new_share,
            "Vanished Category Share": vanished_share,
            "Chi-Squared Statistic": chi2,
        },
    )
    importance = max(tv / bars[0], max(new_share, vanished_share) / params.new_category_thresholds[0])
    return metrics, severity, effect, bars[0] * factor, importance, "chi-squared", pvalue


def _numeric_evidence(
    inputs: StressInputs, name: str, params: FeatureDriftParams, factor: float
) -> tuple[list[Metric], Severity, str, float, float, str, float]:
    """Normalised Wasserstein distance and the two-sample test that suits the values."""
    ref_sorted, eval_sorted = (
        stats.sorted_sample(inputs, name, "ref"),
        stats.sorted_sample(inputs, name, "eval"),
    )
    scale = inputs.cache.reference(("scale", name), lambda: stats.reference_scale(ref_sorted))
    result = stats.compare_numeric(ref_sorted, eval_sorted, scale)
    if result.scale > 0:
        bars = params.distance_thresholds
        effect = f"normalised Wasserstein distance {result.distance:.3f}"
    else:  # a constant reference: the share of evaluation values away from its value
        bars = params.categorical_distance_thresholds
        effect = f"constant on reference, {result.distance:.1%} of evaluation values differ"
    metrics = metrics_of(
        MetricCategory.DRIFT_STAT,
        {"Normalised Wasserstein Distance": result.distance, "KS Statistic": result.ks},
    )
    if result.test != "Kolmogorov-Smirnov":
        metrics.append(
            Metric(f"{result.test.title()} Statistic", MetricCategory.DRIFT_STAT, result.statistic)
        )
    if result.test != "chi-squared":
        metrics.append(Metric("Tail Exceedance P-Value", MetricCategory.DRIFT_STAT, result.tail_pvalue))
    severity = severity_from_thresholds(result.distance, bars, factor)
    return metrics, severity, effect, bars[0] * factor, result.distance / bars[0], result.test, result.pvalue


@register(
    "feature_drift",
    "Feature Drift",
    FeatureDriftParams,
    # The batch says which statistic judged it.
    description=lambda params: (
        "Compares each feature's distribution on evaluation and reference data "
        + (
            f"({params.drift_scoring_method.upper()})."
            if params.given(*_RIME_FEATURE_KEYS)
            else "(effect size and evidence, Holm-corrected; PSI reported)."
        )
    ),
)
def feature_drift(inputs: StressInputs, params: FeatureDriftParams) -> Findings | None:
    method = params.drift_scoring_method
    rime_rule = params.given(*_RIME_FEATURE_KEYS)
    min_sample = params.min_sample_size
    p_threshold = params.p_value_threshold
    by_method = {"psi": params.psi_thresholds, "js": params.js_thresholds, "kl": params.kl_thresholds}
    factor = inputs.config.threshold_factor
    cases: list[TestCase] = []
    pending: list[_Evidence] = []
    for feature in stats.tested_features(inputs):
        bins = stats.feature_bins(inputs, feature, params.num_quantiles)
        ref_c = bins.counts("ref")[:-1]
        eval_c = bins.counts("eval")[:-1]
        values = {
            "psi": stats.psi(ref_c, eval_c),
            "js": stats.js(ref_c, eval_c),
            "kl": stats.kl(ref_c, eval_c),
        }
        metrics = metrics_of(
            MetricCategory.DRIFT_STAT,
            {"psi": values["psi"], "JS Divergence": values["js"], "KL Divergence": values["kl"]},
        )
        if ref_c.sum() < min_sample or eval_c.sum() < min_sample:
            cases.append(
                TestCase(
                    features=[feature.name],
                    severity=Severity.PASS,
                    explanation=(
                        f"{feature.name} has {int(ref_c.sum())} reference and {int(eval_c.sum())} evaluation "
                        f"values, fewer than min_sample_size={int(min_sample)}."
                    ),
                    metrics=metrics,
                    skipped=True,
                )
            )
            continue
        metrics += _distribution(bins, ref_c, eval_c)  # drawn on the result page
        if not rime_rule:
            if feature.is_numeric:
                found = _numeric_evidence(inputs, feature.name, params, factor)
            else:
                found = _categorical_evidence(ref_c, eval_c, params, factor)
            extra, severity, effect, bar, importance, test, pvalue = found
            metrics += extra
            metrics.append(Metric("p-value", MetricCategory.DRIFT_STAT, pvalue))
            pending.append(
                _Evidence(len(cases), feature, bins, severity, effect, importance, bar, test, pvalue)
            )
            cases.append(TestCase([feature.name], Severity.PASS, "", metrics))  # judged below
            continue
        if method in ("psi", "js", "kl"):
            score = values[method]
            severity = severity_from_thresholds(score, by_method[method], factor)
            stat_text = f"{method.upper()} {score:.3f}"
        else:
            if method == "ks" and feature.is_numeric:
                statistic, pvalue = _ks(inputs, feature)
                metrics.append(Metric("KS Statistic", MetricCategory.DRIFT_STAT, statistic))
            else:
                statistic, pvalue = stats.chi2_pvalue(ref_c, eval_c)
                metrics.append(Metric("Chi-Squared Statistic", MetricCategory.DRIFT_STAT, statistic))
            metrics.append(Metric("p-value", MetricCategory.DRIFT_STAT, pvalue))
            score = -math.log10(max(pvalue, 1e-300))
            severity = severity_from_thresholds(
                pvalue, [p_threshold, p_threshold / 10], factor, lower_is_worse=True
            )
            stat_text = (
                f"{'KS' if method == 'ks' and feature.is_numeric else 'chi-squared'} p-value {pvalue:.2g}"
            )
        cases.append(_drift_case(inputs, feature, bins, severity, stat_text, metrics, score))
    if pending:
        _judge(inputs, params, cases, pending)
    return Findings(cases)


def _drift_case(
    inputs: StressInputs,
    feature: Feature,
    bins: stats.Bins,
    severity: Severity,
    stat_text: str,
    metrics: list[Metric],
    score: float,
    *,
    stable_text: str = "",
) -> TestCase:
    """The case of a judged feature, with what its shift costs the model when it drifted."""
    impact_metrics: list[Metric] = []
    clause, impact = "", 0.0
    if severity > Severity.PASS:
        impact_metrics, clause, impact = _drift_impact(inputs, bins)
    if severity is Severity.PASS:
        explanation = stable_text or f"{feature.name} is stable ({stat_text})."
    else:
        explanation = f"{feature.name} drifted ({stat_text})"
        explanation += f": {clause}." if clause else ": the model sees data unlike what it was built on."
    return TestCase(
        features=[feature.name],
        severity=severity,
        explanation=explanation,
        metrics=metrics + impact_metrics,
        importance=(score if math.isfinite(score) else 0.0) + impact,
    )


def _judge(
    inputs: StressInputs, params: FeatureDriftParams, cases: list[TestCase], pending: list[_Evidence]
) -> None:
    """The default verdict: an effect above its bar, and Holm-adjusted evidence over the run."""
    alpha = params.family_error_rate * inputs.config.error_rate_factor
    adjusted = stats.holm_adjusted(np.array([e.pvalue for e in pending]))
    family = len(pending)
    for e, p_adj in zip(pending, adjusted, strict=True):
        metrics = [
            *cases[e.index].metrics,
            Metric("Holm-Adjusted p-value", MetricCategory.DRIFT_STAT, float(p_adj)),
        ]
        psi_value = next(m.value for m in metrics if m.name == "psi")
        evidence = f"{e.test} p = {e.pvalue:.2g}, {p_adj:.2g} after Holm over {family} features"
        name = e.feature.name
        severity = e.severity if p_adj <= alpha else Severity.PASS
        if e.severity is Severity.PASS:
            stable = (
                f"{name} is stable ({e.effect}, under the {e.bar:.3g} that counts as drift; "
                f"PSI {psi_value:.3f})."
            )
        else:
            stable = (
                f"{name} moved ({e.effect}) no more than chance allows at these sample sizes ({evidence}; "
                f"drift needs at most {alpha:.3g}; PSI {psi_value:.3f})."
            )
        cases[e.index] = _drift_case(
            inputs,
            e.feature,
            e.bins,
            severity,
            f"{e.effect}; {evidence}; PSI {psi_value:.3f}",
            metrics,
            e.importance if severity > Severity.PASS else 0.0,
            stable_text=stable,
        )


def _sorted_predictions(inputs: StressInputs, split: str) -> np.ndarray:
    """The model's non-null predictions on the sampled rows of ``split``, sorted."""

    def build() -> np.ndarray:
        preds = inputs.ref_preds if split == "ref" else inputs.eval_preds
        assert preds is not None
        values = stats.sampled(inputs, preds.astype(np.float64, copy=False), split)
        out: np.ndarray = np.sort(values[~np.isnan(values)])
        return out

    return inputs.cache.split(("sorted_preds",), split, build)


@register("prediction_drift", "Prediction Drift", PredictionDriftParams, needs_preds=True)
def prediction_drift(inputs: StressInputs, params: PredictionDriftParams) -> Findings | None:
    """Compares the distribution of the model's predictions on evaluation and reference data."""
    assert inputs.ref_preds is not None and inputs.eval_preds is not None
    q = params.num_quantiles
    ref_p, eval_p = inputs.ref_preds, inputs.eval_preds
    edges = np.unique(np.quantile(ref_p, np.linspace(0, 1, q + 1)[1:-1])) if ref_p.size else np.empty(0)
    k = edges.size + 1
    ref_c = np.bincount(np.searchsorted(edges, ref_p, side="right"), minlength=k)
    eval_c = np.bincount(np.searchsorted(edges, eval_p, side="right"), minlength=k)
    value = stats.psi(ref_c, eval_c)
    factor = inputs.config.threshold_factor
    ref_avg = float(ref_p.mean()) if ref_p.size else math.nan
    eval_avg = float(eval_p.mean()) if eval_p.size else math.nan
    metrics = [
        Metric("psi", MetricCategory.DRIFT_STAT, value),
        Metric("Reference Average Prediction", MetricCategory.OUTPUT_DIFF, ref_avg),
        Metric("Evaluation Average Prediction", MetricCategory.OUTPUT_DIFF, eval_avg),
    ]
    if params.given("psi_thresholds") or not (ref_p.size and eval_p.size):
        severity = severity_from_thresholds(value, params.psi_thresholds, factor)
        stat_text = f"PSI {stats.fmt(value)}"
    else:
        result = stats.compare_numeric(
            _sorted_predictions(inputs, "ref"), _sorted_predictions(inputs, "eval")
        )
        alpha = params.family_error_rate * inputs.config.error_rate_factor
        severity = severity_from_thresholds(result.distance, params.distance_thresholds, factor)
        if not result.pvalue <= alpha:
            severity = Severity.PASS
        metrics += [
            Metric("Normalised Wasserstein Distance", MetricCategory.DRIFT_STAT, result.distance),
            Metric("p-value", MetricCategory.DRIFT_STAT, result.pvalue),
        ]
        stat_text = (
            f"normalised Wasserstein distance {result.distance:.3f}, {result.test} p = {result.pvalue:.2g}; "
            f"PSI {stats.fmt(value)}"
        )
    explanation = severity.says(
        f"The model's predictions are stable ({stat_text}).",
        f"The model's predictions drifted ({stat_text}; average {stats.fmt(ref_avg)} on "
        f"reference, {stats.fmt(eval_avg)} on evaluation): it decides differently on the new data, "
        "so its thresholds and downstream rules may no longer fit.",
    )
    # The case (not the batch) keeps the counts per reference decile, for the result page.
    names = [f"{v:.3g}" for v in edges]
    deciles = [f"prediction < {names[0]}"] if names else ["prediction (all values)"]
    deciles += [f"{a} <= prediction < {b}" for a, b in pairwise(names)]
    deciles += [f"prediction >= {names[-1]}"] if names else []
    shown = metrics_of(
        MetricCategory.SUBSET_DETAILS,
        {
            "Distribution Bins": deciles,
            "Reference Counts": [int(v) for v in ref_c],
            "Evaluation Counts": [int(v) for v in eval_c],
        },
    )
    importance = value if math.isfinite(value) else 0.0
    case = TestCase([], severity, explanation, metrics + shown, importance=importance)
    return Findings([case], metrics)


@dataclass(frozen=True)
class LabelDriftParams(SignificantChangeParams):
    rate_change_thresholds: Thresholds = (0.05, 0.1)


@register("categorical_label_drift", "Label Drift", LabelDriftParams, needs_labels=True)
def categorical_label_drift(inputs: StressInputs, params: LabelDriftParams) -> Findings | None:
    """Compares the label's positive rate on evaluation and reference data."""
    assert inputs.ref_labels is not None and inputs.eval_labels is not None
    y_ref, y_eval = inputs.ref_labels.astype(bool), inputs.eval_labels.astype(bool)
    k1, n1 = int(y_ref.sum()), y_ref.size
    k2, n2 = int(y_eval.sum()), y_eval.size
    r1 = k1 / n1 if n1 else math.nan
    r2 = k2 / n2 if n2 else math.nan
    change = r2 - r1
    pvalue = stats.two_proportion_pvalue(k1, n1, k2, n2)
    psi_value = stats.psi(np.array([n1 - k1, k1]), np.array([n2 - k2, k2]))
    severity = severity_from_thresholds(
        abs(change), params.rate_change_thresholds, inputs.config.threshold_factor
    )
    if not (pvalue < params.p_value_threshold * inputs.config.error_rate_factor):
        severity = Severity.PASS
    metrics = metrics_of(
        MetricCategory.DRIFT_STAT,
        {
            "Reference Positive Rate": r1,
            "Evaluation Positive Rate": r2,
            "Rate Change": change,
            "psi": psi_value,
            "p-value": pvalue,
        },
    )
    rates = f"the positive rate went from {stats.fmt(r1)} on reference to {stats.fmt(r2)} on evaluation"
    explanation = severity.says(
        f"The label is stable: {rates}.",
        f"The label drifted: {rates} ({change:+.3f}, p = {pvalue:.2g}); the model's probabilities "
        "and threshold were tuned for the old rate.",
    )
    case = TestCase(
        [], severity, explanation, metrics, importance=abs(change) if math.isfinite(change) else 0.0
    )
    return Findings([case], metrics)


@dataclass(frozen=True)
class NullProportionParams(ChangeTestParams):
    severity_thresholds: Thresholds = (0.02, 0.1)


@register("null_proportion", "Null Proportion Drift", NullProportionParams)
def null_proportion(inputs: StressInputs, params: NullProportionParams) -> Findings | None:
    """Compares each feature's share of missing values on evaluation and reference data."""
    features = stats.tested_features(inputs, text=True)
    alpha = params.p_value_threshold * inputs.config.error_rate_factor
    factor = inputs.config.threshold_factor
    cases = []
    n1, n2 = len(inputs.ref), len(inputs.eval)
    nulls = [(int(inputs.ref[f.name].isna().sum()), int(inputs.eval[f.name].isna().sum())) for f in features]
    pvalues = np.array([stats.two_proportion_pvalue(k1, n1, k2, n2) for k1, k2 in nulls])
    adjusted = stats.holm_adjusted(pvalues)
    for feature, (k1, k2), pvalue, p_adj in zip(features, nulls, pvalues, adjusted, strict=True):
        r1 = k1 / n1 if n1 else math.nan
        r2 = k2 / n2 if n2 else math.nan
        change = r2 - r1
        severity = severity_from_thresholds(abs(change), params.severity_thresholds, factor)
        if not (p_adj <= alpha):
            severity = Severity.PASS
        metrics = metrics_of(
            MetricCategory.DRIFT_STAT,
            {
                "Reference Null Proportion": r1,
                "Evaluation Null Proportion": r2,
                "p-value": float(pvalue),
                "Holm-Adjusted p-value": float(p_adj),
            },
        )
        shares = f"{stats.fmt(r1 * 100, 2)}% of reference rows, {stats.fmt(r2 * 100, 2)}% of evaluation rows"
        explanation = severity.says(
            f"{feature.name} is missing about as often as before ({shares}).",
            f"{feature.name} is missing {'more' if change > 0 else 'less'} often ({shares}): "
            "an upstream source or join may have changed.",
        )
        cases.append(TestCase([feature.name], severity, explanation, metrics, importance=abs(change)))
    return Findings(cases)


@register(
    "correlation_label_drift", "Correlation Drift (Feature to Label)", ChangeTestParams, needs_labels=True
)
def correlation_label_drift(inputs: StressInputs, params: ChangeTestParams) -> Findings | None:
    """Compares each numeric feature's rank correlation with the label on evaluation and reference data."""
    assert inputs.ref_labels is not None and inputs.eval_labels is not None
    features = [f for f in stats.tested_features(inputs) if f.is_numeric]
    if not features:
        return None
    alpha = params.p_value_threshold * inputs.config.error_rate_factor
    factor = inputs.config.threshold_factor
    found = []
    for feature in features:
        # Ranks against the reference's percentiles: Spearman-like, robust to heavy tails, O(n).
        # On each split's sample of at most 100,000 rows (see stats.sample_rows).
        ref_codes, n_bins = stats.rank_codes(inputs, feature.name, "ref")
        eval_codes, _ = stats.rank_codes(inputs, feature.name, "eval")
        c1, n1 = stats.rank_label_correlation(
            ref_codes, n_bins, stats.sampled(inputs, inputs.ref_labels, "ref")
        )
        c2, n2 = stats.rank_label_correlation(
            eval_codes, n_bins, stats.sampled(inputs, inputs.eval_labels, "eval")
        )
        change = c2 - c1
        if n1 > 3 and n2 > 3 and math.isfinite(change):
            pvalue = float(stats.fisher_z_pvalue(c1, n1, c2, n2))
        else:
            pvalue = math.nan
        found.append((feature, c1, c2, change, pvalue))
    adjusted = stats.holm_adjusted(np.array([f[-1] for f in found]))
    cases = []
    for (feature, c1, c2, change, pvalue), p_adj in zip(found, adjusted, strict=True):
        severity = severity_from_thresholds(abs(change), params.severity_thresholds, factor)
        if not (p_adj <= alpha):
            severity = Severity.PASS
        metrics = [
            Metric("Reference Correlation", MetricCategory.STATISTICAL_DEPENDENCE, c1),
            Metric("Evaluation Correlation", MetricCategory.STATISTICAL_DEPENDENCE, c2),
            Metric("p-value", MetricCategory.DRIFT_STAT, pvalue),
            Metric("Holm-Adjusted p-value", MetricCategory.DRIFT_STAT, float(p_adj)),
        ]
        corr = f"{stats.fmt(c1)} on reference, {stats.fmt(c2)} on evaluation"
        explanation = severity.says(
            f"{feature.name} relates to the label as before (rank correlation {corr}).",
            f"{feature.name} relates to the label differently (rank correlation {corr}): what the model "
            "learned from this feature no longer holds as it did.",
        )
        cases.append(
            TestCase(
                [feature.name],
                severity,
                explanation,
                metrics,
                importance=abs(change) if math.isfinite(change) else 0.0,
                skipped=not math.isfinite(change),
            )
        )
    return Findings(cases)


@dataclass(frozen=True)
class FeatureCorrelationDriftParams(ChangeTestParams):
    severity_thresholds: Thresholds = (0.1, 0.2)


@register("correlation_feat_drift", "Correlation Drift (Feature to Feature)", FeatureCorrelationDriftParams)
def correlation_feat_drift(inputs: StressInputs, params: FeatureCorrelationDriftParams) -> Findings | None:
    """Compares the rank correlations between numeric features on evaluation and reference data.

    Per numeric feature, the partner whose correlation with it changed most. Pairs are
    Holm-corrected; a change needs at least the warning threshold."""
    features = [f.name for f in stats.tested_features(inputs) if f.is_numeric]
    if len(features) < 2:
        return None
    c1, n1 = stats.rank_correlations(inputs, features, "ref")
    c2, n2 = stats.rank_correlations(inputs, features, "eval")
    if n1 <= 3 or n2 <= 3:
        return None
    c1, c2 = np.nan_to_num(c1, nan=0.0), np.nan_to_num(c2, nan=0.0)
    change = c2 - c1
    np.fill_diagonal(change, 0.0)
    pvalues = stats.fisher_z_pvalue(c1, n1, c2, n2)
    upper = np.triu_indices(len(features), k=1)
    adjusted = np.ones_like(pvalues)
    adjusted[upper] = stats.holm_adjusted(pvalues[upper])  # over the pairs
    adjusted = np.minimum(adjusted, adjusted.T)
    alpha = params.p_value_threshold * inputs.config.error_rate_factor
    factor = inputs.config.threshold_factor
    cases = []
    for i, name in enumerate(features):
        j = int(np.argmax(np.abs(change[i])))
        partner, delta, pvalue = features[j], float(change[i, j]), float(pvalues[i, j])
        severity = severity_from_thresholds(abs(delta), params.severity_thresholds, factor)
        if not adjusted[i, j] <= alpha:
            severity = Severity.PASS
        metrics = [
            Metric("Partner Feature", MetricCategory.STATISTICAL_DEPENDENCE, partner),
            Metric("Reference Correlation", MetricCategory.STATISTICAL_DEPENDENCE, float(c1[i, j])),
            Metric("Evaluation Correlation", MetricCategory.STATISTICAL_DEPENDENCE, float(c2[i, j])),
            Metric("p-value", MetricCategory.DRIFT_STAT, pvalue),
        ]
        corr = f"{c1[i, j]:.3f} on reference, {c2[i, j]:.3f} on evaluation"
        explanation = severity.says(
            f"{name}'s correlations with the other features are stable (largest change: {partner}, {corr}).",
            f"{name} and {partner} relate differently ({corr}): the joint pattern the model "
            "learned is gone, even if each feature alone looks the same.",
        )
        cases.append(TestCase([name, partner], severity, explanation, metrics, importance=abs(delta)))
    return Findings(cases)
