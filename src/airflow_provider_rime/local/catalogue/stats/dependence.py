"""Dependence between columns: rank correlations, entropy and mutual information."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from airflow_provider_rime.local.catalogue.stats.binning import rank_codes
from airflow_provider_rime.local.catalogue.types import StressInputs


def rank_correlations(inputs: StressInputs, names: Sequence[str], split: str) -> tuple[np.ndarray, int]:
    """Rank correlation matrix of numeric features on ``split``, and the rows it used.

    Parameters
    ----------
    inputs : StressInputs
        The run; the matrix is cached in its ``cache``.
    names : sequence of str
        Numeric features.
    split : {"ref", "eval"}
        Which split's rows.

    Returns
    -------
    corr : numpy.ndarray
        ``len(names) x len(names)`` Pearson correlations of the features' rank codes
        (``nan`` for a constant feature).
    n : int
        The number of rows used.

    Notes
    -----
    Ranks are the reference's percentile codes (:func:`rank_codes`: Spearman-like, robust to
    heavy tails); missing values take the middle rank. On the split's sample of at most
    ``EDGE_SAMPLE_ROWS`` rows: at 100,000 rows a correlation's standard error is about 0.003.
    """

    def build() -> tuple[np.ndarray, int]:
        columns = []
        for name in names:
            codes, n_bins = rank_codes(inputs, name, split)
            r = codes.astype(np.float64)
            r[codes == n_bins] = (n_bins - 1) / 2
            columns.append(r)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # fewer than 2 rows: nan, judged by callers
            corr: np.ndarray = np.atleast_2d(np.corrcoef(np.vstack(columns)))
        return corr, columns[0].size

    return inputs.cache.split(("rankcorr", tuple(names)), split, build)


def rank_label_correlation(codes: np.ndarray, n_codes: int, y: np.ndarray) -> tuple[float, int]:
    """Pearson correlation of rank codes with a binary label, over the non-null rows.

    Parameters
    ----------
    codes : numpy.ndarray
        Rank code of each row, ``0..n_codes-1``, ``n_codes`` for null (:func:`rank_codes`).
    n_codes : int
        The number of ranks.
    y : numpy.ndarray
        The label of each row, 0 or 1.

    Returns
    -------
    r : float
        The correlation; ``nan`` with fewer than 4 rows or a constant rank or label.
    n : int
        The number of non-null rows.

    Notes
    -----
    From per-rank counts ``n_u`` and positives ``k_u`` (two ``bincount``s), with
    ``N = sum n_u``, ``mean_u = sum u n_u / N`` and ``mean_y = sum k_u / N``:
    ``r = (sum u k_u / N - mean_u mean_y) / sqrt(var_u mean_y (1 - mean_y))``.
    """
    n_b = np.bincount(codes, minlength=n_codes + 1)[:n_codes].astype(np.float64)
    pos_b = np.bincount(codes, weights=y.astype(np.float64), minlength=n_codes + 1)[:n_codes]
    n = float(n_b.sum())
    if n < 4:
        return math.nan, int(n)
    u = np.arange(n_codes, dtype=np.float64)
    mean_u = float((n_b * u).sum() / n)
    mean_y = float(pos_b.sum() / n)
    var_u = float((n_b * u * u).sum() / n - mean_u**2)
    var_y = mean_y * (1 - mean_y)
    if var_u <= 0 or var_y <= 0:
        return math.nan, int(n)
    cov = float((pos_b * u).sum() / n - mean_u * mean_y)
    return cov / math.sqrt(var_u * var_y), int(n)


def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy of a distribution given by counts, in bits.

    Parameters
    ----------
    counts : numpy.ndarray
        Non-negative counts per value.

    Returns
    -------
    float
        ``H = -sum p_i log2 p_i`` with ``p_i = counts_i / sum(counts)`` over the non-zero
        counts; 0 for no counts.
    """
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def mutual_information_bits(codes: np.ndarray, n_codes: int, y: np.ndarray) -> float:
    """Mutual information of a coded feature and a binary label, in bits, bias-corrected.

    Parameters
    ----------
    codes : numpy.ndarray
        Code of each row's value, ``0..n_codes-1``.
    n_codes : int
        The number of codes.
    y : numpy.ndarray
        The label of each row, 0 or 1.

    Returns
    -------
    float
        ``I(X; Y) >= 0``; ``nan`` for no rows.

    Notes
    -----
    ``I(X; Y) = H(X) + H(Y) - H(X, Y)`` from the joint counts, each entropy Miller-Madow
    corrected: the plug-in estimate is biased low by ``(m - 1) / (2 n ln 2)`` bits, with
    ``m`` the number of non-empty cells, so many-valued features do not look informative by
    chance. Negative estimates are reported as 0.
    """
    n = codes.size
    if n == 0:
        return math.nan
    joint = np.bincount(codes.astype(np.int64) * 2 + y.astype(np.int64), minlength=2 * n_codes).reshape(
        n_codes, 2
    )
    hx = entropy_bits(joint.sum(axis=1))
    hy = entropy_bits(joint.sum(axis=0))
    hxy = entropy_bits(joint.ravel())

    def bias(c: np.ndarray) -> float:
        return float(np.count_nonzero(c) - 1) / (2 * n * math.log(2))

    mi = (hx + bias(joint.sum(axis=1))) + (hy + bias(joint.sum(axis=0))) - (hxy + bias(joint.ravel()))
    return max(0.0, mi)
