"""Shared, vectorised building blocks of the data tests (subset performance, drift, abnormal
inputs, data cleanliness), one module per concern:

- ``columns``: each column of both splits prepared once (numeric as float64, categorical
  factorised over reference ∪ evaluation), the seeded row sample;
- ``binning``: reference-quantile bins, value bins and percentile ranks of both splits;
- ``distances``: PSI, KL, Jensen-Shannon divergence and total variation of binned distributions;
- ``pvalues``: chi-squared, two-proportion, Fisher z, Kolmogorov-Smirnov and Anderson-Darling
  p-values, Holm's correction;
- ``twosample``: two samples of numbers compared (normalised Wasserstein distance and the
  test that suits the data);
- ``dependence``: rank correlations, entropy, mutual information;
- ``groups``: confusion counts, AUC and standard errors per group of rows;
- ``impact``: what failing rows do to the model;
- ``formatting``: numbers and examples for the explanations.

What is prepared per column is kept in the run's cache (``StressInputs.cache``): it holds
derived arrays only, dies with the inputs, and never changes a result. What is derived from the
reference alone is kept apart (``RunCache.reference``, ``RunCache.split``), so the bins of a
continuous test, which share one reference, compute it once per job. Everything after the
preparation is ``bincount`` over small integer codes, so a test costs O(rows) with small
constants.
"""

from airflow_provider_rime.local.catalogue.stats.binning import RANK_BINS
from airflow_provider_rime.local.catalogue.stats.binning import Bins
from airflow_provider_rime.local.catalogue.stats.binning import categorical_bins
from airflow_provider_rime.local.catalogue.stats.binning import feature_bins
from airflow_provider_rime.local.catalogue.stats.binning import quantile_bins
from airflow_provider_rime.local.catalogue.stats.binning import rank_codes
from airflow_provider_rime.local.catalogue.stats.columns import EDGE_SAMPLE_ROWS
from airflow_provider_rime.local.catalogue.stats.columns import CategoricalColumn
from airflow_provider_rime.local.catalogue.stats.columns import NumericColumn
from airflow_provider_rime.local.catalogue.stats.columns import categorical_column
from airflow_provider_rime.local.catalogue.stats.columns import numeric_column
from airflow_provider_rime.local.catalogue.stats.columns import sample_rows
from airflow_provider_rime.local.catalogue.stats.columns import sampled
from airflow_provider_rime.local.catalogue.stats.columns import sorted_sample
from airflow_provider_rime.local.catalogue.stats.columns import tested_features
from airflow_provider_rime.local.catalogue.stats.dependence import entropy_bits
from airflow_provider_rime.local.catalogue.stats.dependence import mutual_information_bits
from airflow_provider_rime.local.catalogue.stats.dependence import rank_correlations
from airflow_provider_rime.local.catalogue.stats.dependence import rank_label_correlation
from airflow_provider_rime.local.catalogue.stats.distances import js
from airflow_provider_rime.local.catalogue.stats.distances import kl
from airflow_provider_rime.local.catalogue.stats.distances import proportions
from airflow_provider_rime.local.catalogue.stats.distances import psi
from airflow_provider_rime.local.catalogue.stats.distances import total_variation
from airflow_provider_rime.local.catalogue.stats.formatting import MAX_EXAMPLES
from airflow_provider_rime.local.catalogue.stats.formatting import fmt
from airflow_provider_rime.local.catalogue.stats.formatting import fmt_count
from airflow_provider_rime.local.catalogue.stats.formatting import top_examples
from airflow_provider_rime.local.catalogue.stats.groups import AUC_MAX_BINS
from airflow_provider_rime.local.catalogue.stats.groups import GroupCounts
from airflow_provider_rime.local.catalogue.stats.groups import PredictionCodes
from airflow_provider_rime.local.catalogue.stats.groups import auc_se
from airflow_provider_rime.local.catalogue.stats.groups import group_auc
from airflow_provider_rime.local.catalogue.stats.groups import group_counts
from airflow_provider_rime.local.catalogue.stats.groups import prediction_codes
from airflow_provider_rime.local.catalogue.stats.groups import proportion_se
from airflow_provider_rime.local.catalogue.stats.groups import row_outcomes
from airflow_provider_rime.local.catalogue.stats.impact import impact_metrics
from airflow_provider_rime.local.catalogue.stats.pvalues import anderson_darling_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import chi2_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import excess_proportion_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import fisher_z_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import holm_adjusted
from airflow_provider_rime.local.catalogue.stats.pvalues import hypergeom_two_sided_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import ks_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import two_proportion_pvalue
from airflow_provider_rime.local.catalogue.stats.twosample import NumericComparison
from airflow_provider_rime.local.catalogue.stats.twosample import compare_numeric
from airflow_provider_rime.local.catalogue.stats.twosample import merge_sparse
from airflow_provider_rime.local.catalogue.stats.twosample import reference_scale

__all__ = [
    "AUC_MAX_BINS",
    "EDGE_SAMPLE_ROWS",
    "MAX_EXAMPLES",
    "RANK_BINS",
    "Bins",
    "CategoricalColumn",
    "GroupCounts",
    "NumericColumn",
    "NumericComparison",
    "PredictionCodes",
    "anderson_darling_pvalue",
    "auc_se",
    "categorical_bins",
    "categorical_column",
    "chi2_pvalue",
    "compare_numeric",
    "entropy_bits",
    "excess_proportion_pvalue",
    "feature_bins",
    "fisher_z_pvalue",
    "fmt",
    "fmt_count",
    "group_auc",
    "group_counts",
    "holm_adjusted",
    "hypergeom_two_sided_pvalue",
    "impact_metrics",
    "js",
    "kl",
    "ks_pvalue",
    "merge_sparse",
    "mutual_information_bits",
    "numeric_column",
    "prediction_codes",
    "proportion_se",
    "proportions",
    "psi",
    "quantile_bins",
    "rank_codes",
    "rank_correlations",
    "rank_label_correlation",
    "reference_scale",
    "row_outcomes",
    "sample_rows",
    "sampled",
    "sorted_sample",
    "tested_features",
    "top_examples",
    "total_variation",
    "two_proportion_pvalue",
]
