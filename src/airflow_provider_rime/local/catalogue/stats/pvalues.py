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
