"""Distances between the binned distributions of reference and evaluation.

Each function takes the counts of the same bins in both splits (one entry per bin, same
order) and returns ``nan`` when either split has no counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from airflow_provider_rime.local.catalogue.docstrings import fill_docstring

_DISTANCE_DOC = """{summary}

Parameters
----------
ref_counts, eval_counts : numpy.ndarray
    Counts of the same bins in the reference and the evaluation split.

Returns
-------
float
    {returns}; ``nan`` when a split has no counts.

Notes
-----
{formula}
"""


def proportions(counts: np.ndarray, pseudo: float = 0.5) -> np.ndarray:
    """Bin shares with a pseudo-count, so that empty bins keep the log-ratios finite.

    Parameters
    ----------
    counts : numpy.ndarray
        Counts per bin.
    pseudo : float, default 0.5
        Added to every bin's count.

    Returns
    -------
    numpy.ndarray
        ``(counts_i + pseudo) / sum_j (counts_j + pseudo)``.
    """
    c = counts.astype(np.float64) + pseudo
    out: np.ndarray = c / c.sum()
    return out


Distance = Callable[[np.ndarray, np.ndarray], float]


def _of_shares(pseudo: float | None) -> Callable[[Distance], Distance]:
    """Decorator: a distance written on the bins' shares ``(r, e)`` becomes one on their counts.

    The shares are :func:`proportions` with ``pseudo`` or, with ``pseudo=None``, the plain
    shares; the distance is ``nan`` when either split has no counts.
    """

    def on_counts(of_shares: Distance) -> Distance:
        def distance(ref_counts: np.ndarray, eval_counts: np.ndarray) -> float:
            if ref_counts.sum() == 0 or eval_counts.sum() == 0:
                return math.nan
            if pseudo is None:
                return of_shares(ref_counts / ref_counts.sum(), eval_counts / eval_counts.sum())
            return of_shares(proportions(ref_counts, pseudo), proportions(eval_counts, pseudo))

        distance.__name__ = distance.__qualname__ = of_shares.__name__
        return distance

    return on_counts


@fill_docstring(
    _DISTANCE_DOC,
    summary="Population stability index of evaluation against reference.",
    returns="PSI >= 0 (0: the same shares)",
    formula="``PSI = sum_i (e_i - r_i) ln(e_i / r_i)`` with ``r``, ``e`` the shares of "
    ":func:`proportions` (pseudo-count 0.5, so that an empty bin does not make it infinite). "
    "RIME's thresholds are 0.2 (warning) and 0.6 (alert).",
)
@_of_shares(pseudo=0.5)
def psi(r: np.ndarray, e: np.ndarray) -> float:
    return float(np.sum((e - r) * np.log(e / r)))


@fill_docstring(
    _DISTANCE_DOC,
    summary="Kullback-Leibler divergence of evaluation from reference, in nats.",
    returns="KL >= 0",
    formula="``KL(e || r) = sum_i e_i ln(e_i / r_i)`` with the pseudo-counted shares of :func:`proportions`.",
)
@_of_shares(pseudo=0.5)
def kl(r: np.ndarray, e: np.ndarray) -> float:
    return float(np.sum(e * np.log(e / r)))


@fill_docstring(
    _DISTANCE_DOC,
    summary="Jensen-Shannon divergence between reference and evaluation, in bits.",
    returns="In [0, 1]: 0 for the same distribution, 1 for disjoint supports",
    formula="``JS = (KL(r || m) + KL(e || m)) / 2`` in base 2, with ``m = (r + e) / 2`` and the "
    "plain shares ``r``, ``e`` (no pseudo-count: ``0 log 0 = 0``).",
)
@_of_shares(pseudo=None)
def js(r: np.ndarray, e: np.ndarray) -> float:
    m = (r + e) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(r > 0, r * np.log2(r / m), 0.0)
        b = np.where(e > 0, e * np.log2(e / m), 0.0)
    return float(max(0.0, 0.5 * a.sum() + 0.5 * b.sum()))


@fill_docstring(
    _DISTANCE_DOC,
    summary="Total variation distance between reference and evaluation.",
    returns="In [0, 1]: the share of rows that would have to change bin to turn one distribution "
    "into the other (0: the same shares, 1: disjoint supports)",
    formula="``TV = sum_i |e_i - r_i| / 2`` with the plain shares ``r``, ``e``. A new category "
    "(``r_i = 0``) counts with its whole evaluation share, a vanished one (``e_i = 0``) with its "
    "whole reference share; nothing depends on the sample size, unlike PSI's pseudo-count.",
)
@_of_shares(pseudo=None)
def total_variation(r: np.ndarray, e: np.ndarray) -> float:
    return float(0.5 * np.abs(e - r).sum())
