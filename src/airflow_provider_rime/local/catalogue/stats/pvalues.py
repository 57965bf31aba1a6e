"""Significance tests: the p-values the drift and abnormal-input tests judge by."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

# Correlations are clipped below 1 in absolute value before Fisher's transform.
_MAX_CORRELATION = 0.999999


def chi2_pvalue(ref_counts: np.ndarray, eval_counts: np.ndarray) -> tuple[float, float]:
    """Chi-squared test of homogeneity of two binned distributions.

    Parameters
    ----------
    ref_counts, eval_counts : numpy.ndarray
        The rows of the 2 x bins table: reference and evaluation counts per bin.

    Returns
    -------
    statistic : float
        Pearson's chi-squared statistic (0 when there is nothing to compare).
    pvalue : float
        Its p-value (1 when there is nothing to compare: fewer than two non-empty bins, or an
        empty split).

    Notes
    -----
    On the 2 x bins table with empty bins dropped, without continuity correction:
    ``chi2 = sum (O - E)^2 / E`` with ``E`` from the margins, ``bins - 1`` degrees of freedom
    (``scipy.stats.chi2_contingency``).
    """
    table = np.vstack([ref_counts, eval_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    stat, p, _, _ = sps.chi2_contingency(table, correction=False)
    return float(stat), float(p)


def _pooled_z(k1: float, n1: float, k2: float, n2: float) -> float | None:
    """z of the pooled two-proportion test; None when the pooled proportion is 0 or 1."""
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return None
    return (k2 / n2 - k1 / n1) / math.sqrt(var)


def two_proportion_pvalue(k1: float, n1: float, k2: float, n2: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test.

    Parameters
    ----------
    k1, n1 : float
        Successes and trials of the first sample (the reference).
    k2, n2 : float
        Successes and trials of the second sample (the evaluation).

    Returns
    -------
    float
        ``P(|Z| >= |z|)``; ``nan`` when a sample is empty; when the pooled proportion is 0 or
        1, 1 if both proportions are equal, else 0.

    Notes
    -----
    ``z = (k2/n2 - k1/n1) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with ``p = (k1 + k2) / (n1 + n2)``.
    """
    if n1 <= 0 or n2 <= 0:
        return math.nan
    z = _pooled_z(k1, n1, k2, n2)
    if z is None:
        return 1.0 if k1 / n1 == k2 / n2 else 0.0
    return float(2 * sps.norm.sf(abs(z)))


def excess_proportion_pvalue(k1: float, n1: float, k2: float, n2: float) -> float:
    """One-sided p-value that the second proportion exceeds the first (pooled z-test).

    Takes the counts of :func:`two_proportion_pvalue` and returns ``P(Z >= z)`` with the same
    ``z``: ``nan`` when a sample is empty, 1 when the pooled proportion is 0 or 1.
    """
    if n1 <= 0 or n2 <= 0:
        return math.nan
    z = _pooled_z(k1, n1, k2, n2)
    return 1.0 if z is None else float(sps.norm.sf(z))


def hypergeom_two_sided_pvalue(k: int, total: int, marked: int, drawn: int) -> float:
    """Two-sided exact p-value of ``k`` marked rows among ``drawn`` taken from ``total``.

    Under no difference between two samples pooled into ``total`` rows, the number of the
    second sample's rows among the ``marked`` pooled rows (those beyond a pooled quantile, say)
    is hypergeometric whatever the distribution, ties included.

    Returns
    -------
    float
        ``min(1, 2 min(P(X <= k), P(X >= k)))``.
    """
    if marked <= 0 or marked >= total or drawn <= 0 or drawn >= total:
        return 1.0
    dist = sps.hypergeom(total, marked, drawn)
    return float(min(1.0, 2.0 * min(dist.cdf(k), dist.sf(k - 1))))


def fisher_z_pvalue(r1: np.ndarray | float, n1: int, r2: np.ndarray | float, n2: int) -> np.ndarray:
    """Two-sided p-value that two correlations from independent samples differ.

    Parameters
    ----------
    r1, r2 : numpy.ndarray or float
        Correlations of the first (reference) and second (evaluation) sample, elementwise.
    n1, n2 : int
        The samples' sizes, both above 3.

    Returns
    -------
    numpy.ndarray
        The p-values, of the shape of ``r1`` and ``r2`` broadcast together.

    Notes
    -----
    Fisher's transform: ``z = (atanh(r2) - atanh(r1)) / sqrt(1/(n1 - 3) + 1/(n2 - 3))``,
    ``p = 2 P(Z >= |z|)``; correlations are clipped to ``±0.999999`` first.
    """
    clip = _MAX_CORRELATION
    z = (np.arctanh(np.clip(r2, -clip, clip)) - np.arctanh(np.clip(r1, -clip, clip))) / math.sqrt(
        1 / (n1 - 3) + 1 / (n2 - 3)
    )
    out: np.ndarray = 2 * sps.norm.sf(np.abs(z))
    return out


def anderson_darling_pvalue(statistic: float) -> float:
    """Upper-tail probability of the Anderson-Darling statistic's limiting null distribution.

    Parameters
    ----------
    statistic : float
        ``A^2`` of :func:`two_sample_tests` (or a one-sample Anderson-Darling statistic).

    Returns
    -------
    float
        ``P(A^2 >= statistic)`` under no difference, for large samples of continuous data.

    Notes
    -----
    The limiting distribution is ``sum_j chi2_1 / (j (j + 1))``. Below 8, Marsaglia and
    Marsaglia's approximation (J. Stat. Softw. 9(2), 2004; error below 2e-6); from 8 on, its
    exact tail ``sqrt(3) P(chi2_1 >= 2 A^2)`` (the largest weight is 1/2, and the other
    weights contribute ``prod_{j>=2} (1 - 2 / (j (j + 1)))^(-1/2) = sqrt(3)``). The two meet
    within 1% at 8; the approximation alone falls far too fast beyond about 10, which matters
    for a Holm correction over many features.
    """
    z = float(statistic)
    if not math.isfinite(z):
        return math.nan
    if z <= 0:
        return 1.0
    if z >= 8.0:
        return float(math.sqrt(3.0) * sps.chi2.sf(2.0 * z, 1))
    if z < 2.0:
        cdf = (
            math.exp(-1.2337141 / z)
            / math.sqrt(z)
            * (2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z)
        )
        return float(min(1.0, max(0.0, 1.0 - cdf)))
    g = 1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z
    return float(-math.expm1(-math.exp(g)))


def ks_pvalue(statistic: float, n1: int, n2: int) -> float:
    """Two-sided p-value of the two-sample Kolmogorov-Smirnov statistic ``D``.

    Parameters
    ----------
    statistic : float
        ``D = max |F1 - F2|``.
    n1, n2 : int
        The samples' sizes.

    Returns
    -------
    float
        ``P(D' >= D)`` for the one-sample distribution of ``D'`` at the effective size
        ``round(n1 n2 / (n1 + n2))`` (``scipy.stats.kstwo``; SciPy's ``ks_2samp`` does the
        same in its asymptotic mode). With ties the test is conservative: the p-value is at
        least the exact one.
    """
    if n1 <= 0 or n2 <= 0 or not math.isfinite(statistic):
        return math.nan
    en = max(1, round(n1 * n2 / (n1 + n2)))
    return float(min(1.0, sps.kstwo.sf(statistic, en)))


def holm_adjusted(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error rate control).

    Parameters
    ----------
    pvalues : numpy.ndarray
        One p-value per hypothesis of the family; ``nan`` ones take no part (and stay ``nan``).

    Returns
    -------
    numpy.ndarray
        ``p_adj``: rejecting every hypothesis with ``p_adj <= alpha`` keeps the probability of
        any false rejection in the family at most ``alpha``, whatever the dependence between
        the tests.

    Notes
    -----
    With the ``m`` finite p-values sorted, ``p_(1) <= ... <= p_(m)``:
    ``p_adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` (Holm, Scand. J. Statist. 6, 1979).
    Never larger than Bonferroni's ``m p``, and as strict for the smallest p-value.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out
