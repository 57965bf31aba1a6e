"""Two samples of numbers compared: how far apart (effect size) and how surely (evidence).

:func:`compare_numeric` takes both splits' non-null values, sorted, and returns in one pass
over their merged order:

- the **normalised Wasserstein distance** ``W1 / s``: the average distance a value has to
  move to turn one distribution into the other, in units of the reference's spread ``s``
  (its standard deviation, or ``IQR / 1.349`` where that is smaller, so that a heavy tail
  does not hide a change of the bulk); Evidently's numeric drift score normalises by the
  standard deviation alone;
- a two-sample test whose false-positive rate holds on the data at hand:

  - **Anderson-Darling** (Scholz and Stephens' ``A^2_kN`` for k = 2) on continuous data: it
    weighs the tails, so it sees spread and tail changes that Kolmogorov-Smirnov misses,
    and shifts with about the power of a t-test;
  - **Kolmogorov-Smirnov** when the data have atoms (one value holding more than
    ``ATOM_SHARE`` of the rows: zero-inflated amounts, rounded values): with ties the
    Anderson-Darling statistic no longer follows its limiting distribution and overstates
    the evidence (simulated: 1.1% instead of 0.3% false positives at p < 0.003 with 30%
    zeros), while Kolmogorov-Smirnov stays conservative;
  - **chi-squared** on the value table when there are at most ``FEW_VALUES`` distinct values
    (counts, flags, ratings): each value is a category;
  - beside Anderson-Darling or Kolmogorov-Smirnov, four **tail exceedance tests**: how many
    evaluation rows lie beyond the pooled sample's outer 1% and 5% on each side. Under no
    drift that count is hypergeometric whatever the distribution (ties included), so the
    test is exact. Both omnibus tests spread their power over the whole range and barely see
    a change of the outer tenth of the values alone (the top 10% stretched twice as far: the
    Anderson-Darling p-value is about 0.01 at 5,000 rows per side, while the share of
    evaluation rows beyond the pooled 99th percentile goes from a half to nine tenths). The
    p-values are combined by weighted Bonferroni (``OMNIBUS_WEIGHT`` for the omnibus test, the
    rest shared by the tail tests), which keeps the false-positive rate at the level asked.

The samples are each split's seeded sample of at most ``EDGE_SAMPLE_ROWS`` rows
(``columns.sample_rows``): beyond that the evidence for any change above the effect-size bar
is overwhelming, and the sort stays O(100,000 log 100,000) per feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from airflow_provider_rime.local.catalogue.stats.pvalues import anderson_darling_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import chi2_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import hypergeom_two_sided_pvalue
from airflow_provider_rime.local.catalogue.stats.pvalues import ks_pvalue

#: At most this many distinct values: the values are compared as categories (chi-squared).
FEW_VALUES = 20
#: A value holding more than this share of the pooled rows is an atom: Kolmogorov-Smirnov.
ATOM_SHARE = 0.01
#: Cells of a value table with fewer pooled rows than this are merged before chi-squared.
MIN_CELL = 10

#: The pooled sample's outer shares on each side that the tail exceedance tests look beyond.
TAIL_SHARES = (0.01, 0.05)
#: The omnibus test's share of the error rate; the tail tests share the rest equally.
OMNIBUS_WEIGHT = 0.8

_IQR_TO_SD = 1.349  # the interquartile range of a normal distribution, in standard deviations


@dataclass(frozen=True)
class NumericComparison:
    """Reference against evaluation values of one numeric column."""

    wasserstein: float  # W1, in the column's units
    scale: float  # the reference's spread s (0: a constant reference)
    distance: float  # W1 / s; for a constant reference, the share of evaluation values that differ
    ks: float  # max |F_ref - F_eval|
    test: str  # "Anderson-Darling", "Kolmogorov-Smirnov" or "chi-squared"
    statistic: float
    pvalue: float  # the omnibus test and the tail tests combined (weighted Bonferroni)
    tail_pvalue: float  # the smallest tail exceedance p-value (1 with chi-squared)
    n_distinct: int  # distinct values of both samples together
    largest_atom: float  # share of the pooled rows at the most frequent value


def reference_scale(ref_sorted: np.ndarray) -> float:
    """The reference's spread ``s``: ``min(sd, IQR / 1.349)``, or ``sd`` when the IQR is 0.

    Parameters
    ----------
    ref_sorted : numpy.ndarray
        The reference's non-null values, sorted.

    Returns
    -------
    float
        ``s >= 0`` (0 for a constant column, ``nan`` for an empty one).
    """
    if ref_sorted.size == 0:
        return math.nan
    sd = float(ref_sorted.std())
    q1, q3 = np.quantile(ref_sorted, [0.25, 0.75])
    iqr = float(q3 - q1)
    return min(sd, iqr / _IQR_TO_SD) if iqr > 0 else sd


def merge_sparse(ref_counts: np.ndarray, eval_counts: np.ndarray, min_cell: int = MIN_CELL) -> np.ndarray:
    """The 2 x cells table with the cells of fewer than ``min_cell`` pooled rows merged into one.

    Chi-squared's p-value relies on expected counts that are not tiny; many sparse cells
    (rare categories, a count's long tail) make it overstate the evidence.

    Returns
    -------
    numpy.ndarray
        Shape ``(2, cells)``: reference counts, then evaluation counts.
    """
    pooled = ref_counts + eval_counts
    sparse = pooled < min_cell
    table = np.vstack([ref_counts[~sparse], eval_counts[~sparse]])
    if sparse.any():
        table = np.hstack([table, [[ref_counts[sparse].sum()], [eval_counts[sparse].sum()]]])
    out: np.ndarray = table
    return out


def _reference_at_or_below(
    ref_sorted: np.ndarray, eval_sorted: np.ndarray, z: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """The reference values at or below each distinct pooled value ``z`` (``ends``: the index
    of its last copy in the sorted pooled values)."""
    if 4 * z.size < ends[-1] + 1:  # many ties: few values to look up
        out: np.ndarray = np.searchsorted(ref_sorted, z, side="right")
        return out
    # Mostly distinct values: a stable merge of the two sorted runs (linear) tells which pooled
    # rows are the reference's; count them up to the end of each value's ties.
    order = np.argsort(np.concatenate([ref_sorted, eval_sorted]), kind="stable")
    counts: np.ndarray = np.cumsum(order < ref_sorted.size)[ends]
    return counts


def tail_exceedance_pvalue(pooled: np.ndarray, eval_sorted: np.ndarray) -> float:
    """The smallest p-value of the tail exceedance tests (see the module's docstring).

    Parameters
    ----------
    pooled : numpy.ndarray
        Both splits' values, sorted.
    eval_sorted : numpy.ndarray
        The evaluation's values, sorted.
    """
    big, m = pooled.size, eval_sorted.size
    best = 1.0
    for share in TAIL_SHARES:
        rank = int(share * big)
        if rank == 0:
            continue
        low = pooled[rank - 1]  # the pooled rows at or below the share's quantile ...
        marked = int(np.searchsorted(pooled, low, side="right"))
        k = int(np.searchsorted(eval_sorted, low, side="right"))
        best = min(best, hypergeom_two_sided_pvalue(k, big, marked, m))
        high = pooled[big - rank]  # ... and at or above the upper one
        marked = big - int(np.searchsorted(pooled, high, side="left"))
        k = m - int(np.searchsorted(eval_sorted, high, side="left"))
        best = min(best, hypergeom_two_sided_pvalue(k, big, marked, m))
    return best


def compare_numeric(
    ref_sorted: np.ndarray, eval_sorted: np.ndarray, scale: float | None = None
) -> NumericComparison:
    """Effect size and evidence of the difference between two samples of numbers.

    Parameters
    ----------
    ref_sorted, eval_sorted : numpy.ndarray
        Each split's non-null values, sorted ascending; both non-empty.
    scale : float, optional
        ``reference_scale(ref_sorted)``, when the caller keeps it (one reference, many
        evaluation samples).

    Returns
    -------
    NumericComparison
        The distances, the test chosen for the data and its p-value.

    Notes
    -----
    With the merged distinct values ``z_1 < ... < z_L``, ``l_j`` pooled rows at ``z_j``,
    ``B_j`` pooled rows and ``M_j`` reference rows at or below ``z_j``, ``n`` and ``m`` the
    sizes and ``N = n + m``:

    - ``W1 = sum_{j<L} |M_j / n - (B_j - M_j) / m| (z_{j+1} - z_j)``;
    - ``A^2 = (N - 1) / N * sum_{j<L} l_j (N M_j - n B_j)^2 / (n m B_j (N - B_j))``
      (Scholz and Stephens, JASA 82, 1987, eq. 6 for two samples), judged against the
      limiting distribution (:func:`anderson_darling_pvalue`);
    - ``D = max_j |M_j / n - (B_j - M_j) / m|`` (:func:`ks_pvalue`);
    - with either, the tail exceedance tests (:func:`tail_exceedance_pvalue`), combined as
      ``p = min(1, p_omnibus / w, p_tail / ((1 - w) / tails))``.
    """
    n, m = ref_sorted.size, eval_sorted.size
    big = n + m
    pooled = np.sort(np.concatenate([ref_sorted, eval_sorted]), kind="mergesort")
    last = np.empty(pooled.size, dtype=bool)
    last[:-1] = pooled[1:] != pooled[:-1]
    last[-1] = True
    z = pooled[last]
    ends = np.flatnonzero(last)
    b = (ends + 1).astype(np.float64)  # pooled rows <= z_j
    mj = _reference_at_or_below(ref_sorted, eval_sorted, z, ends).astype(np.float64)  # reference rows <= z_j
    l_j = np.diff(b, prepend=0.0)
    f_ref, f_eval = mj / n, (b - mj) / m
    gaps = np.abs(f_ref - f_eval)[:-1]
    wasserstein = float(np.sum(gaps * np.diff(z)))
    ks = float(gaps.max()) if gaps.size else 0.0
    scale = reference_scale(ref_sorted) if scale is None else scale
    largest_atom = float(l_j.max() / big)
    # A constant reference: the share of evaluation values away from its value.
    distance = wasserstein / scale if scale > 0 else float(np.mean(eval_sorted != ref_sorted[0]))
    if z.size <= FEW_VALUES:
        ref_c = np.diff(mj, prepend=0.0)
        table = merge_sparse(ref_c, l_j - ref_c)
        statistic, pvalue = chi2_pvalue(table[0], table[1])
        test = "chi-squared"
    elif largest_atom > ATOM_SHARE:
        statistic, pvalue, test = ks, ks_pvalue(ks, n, m), "Kolmogorov-Smirnov"
    else:
        bj, mjj, lj = b[:-1], mj[:-1], l_j[:-1]
        terms = lj * (big * mjj - n * bj) ** 2 / (n * m * bj * (big - bj))
        statistic = float((big - 1) / big * np.sum(terms))
        pvalue, test = anderson_darling_pvalue(statistic), "Anderson-Darling"
    tail_pvalue = 1.0
    if test != "chi-squared":
        tail_pvalue = tail_exceedance_pvalue(pooled, eval_sorted)
        tail_weight = (1.0 - OMNIBUS_WEIGHT) / (2 * len(TAIL_SHARES))
        pvalue = min(1.0, pvalue / OMNIBUS_WEIGHT, tail_pvalue / tail_weight)
    return NumericComparison(
        wasserstein=wasserstein,
        scale=scale,
        distance=distance,
        ks=ks,
        test=test,
        statistic=float(statistic),
        pvalue=float(pvalue),
        tail_pvalue=float(tail_pvalue),
        n_distinct=int(z.size),
        largest_atom=largest_atom,
    )
