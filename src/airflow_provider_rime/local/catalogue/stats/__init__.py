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
derived arrays only, dies with the inputs, and never changes a result. Everything after the
preparation is ``bincount`` over small integer codes, so a test costs O(rows) with small
constants.
"""

from airflow_provider_rime.local.catalogue.stats.binning import (
    RANK_BINS,
    Bins,
    categorical_bins,
    feature_bins,
    quantile_bins,
    rank_codes,
)
from airflow_provider_rime.local.catalogue.stats.columns import (
    EDGE_SAMPLE_ROWS,
    CategoricalColumn,
    NumericColumn,
    categorical_column,
    numeric_column,
    sample_rows,
    sampled,
    sorted_sample,
    tested_features,
)
from airflow_provider_rime.local.catalogue.stats.dependence import (
    entropy_bits,
    mutual_information_bits,
    rank_correlations,
    rank_label_correlation,
)
from airflow_provider_rime.local.catalogue.stats.distances import js, kl, proportions, psi, total_variation
from airflow_provider_rime.local.catalogue.stats.formatting import MAX_EXAMPLES, fmt, fmt_count, top_examples
from airflow_provider_rime.local.catalogue.stats.groups import (
    AUC_MAX_BINS,
    GroupCounts,
    PredictionCodes,
    auc_se,
    group_auc,
    group_counts,
    prediction_codes,
    proportion_se,
    row_outcomes,
)
from airflow_provider_rime.local.catalogue.stats.impact import impact_metrics
from airflow_provider_rime.local.catalogue.stats.pvalues import (
    anderson_darling_pvalue,
    chi2_pvalue,
    excess_proportion_pvalue,
    fisher_z_pvalue,
    holm_adjusted,
    hypergeom_two_sided_pvalue,
    ks_pvalue,
    two_proportion_pvalue,
)
from airflow_provider_rime.local.catalogue.stats.twosample import (
    NumericComparison,
    compare_numeric,
    merge_sparse,
    reference_scale,
)

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
