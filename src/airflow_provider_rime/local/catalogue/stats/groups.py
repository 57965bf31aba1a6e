"""Model metrics per group of rows (the subsets of Subset Performance), in O(rows) per grouping.

Confusion counts per group come from one ``bincount`` of (group, label, decision) cells; AUC
per group from one sort of the predictions shared by every grouping and two ``bincount``s
per grouping.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import numpy as np

from airflow_provider_rime.local.catalogue.types import StressInputs

#: Beyond this many distinct predictions, per-group AUCs use this many rank bins.
AUC_MAX_BINS = 16_384


@dataclass
class GroupCounts:
    """Per-group confusion counts and prediction sums (arrays of length ``n_groups``).

    The sums of ``p`` and ``p^2`` (for the average prediction only) are computed when first read.
    """

    n: np.ndarray
    pos: np.ndarray  # label = 1
    tp: np.ndarray
    fp: np.ndarray
    pred_pos: np.ndarray
    sums: Callable[[], tuple[np.ndarray, np.ndarray]] = field(repr=False)

    @functools.cached_property
    def _sums(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sums()

    @property
    def sum_p(self) -> np.ndarray:
        return self._sums[0]

    @property
    def sum_p2(self) -> np.ndarray:
        return self._sums[1]

    @property
    def fn(self) -> np.ndarray:
        out: np.ndarray = self.pos - self.tp
        return out

    @property
    def tn(self) -> np.ndarray:
        out: np.ndarray = self.n - self.pos - self.fp
        return out


def row_outcomes(y: np.ndarray | None, p: np.ndarray, threshold: float) -> np.ndarray:
    """The cell of a confusion table each row falls in.

    Parameters
    ----------
    y : numpy.ndarray or None
        Labels, 0 or 1 (None: no labels; every row counts as label 0).
    p : numpy.ndarray
        Predicted probabilities of class 1.
    threshold : float
        The decision threshold: predicted positive when ``p >= threshold``.

    Returns
    -------
    numpy.ndarray
        ``(p >= threshold) + 2 y`` per row, as int8: 0 TN, 1 FP, 2 FN, 3 TP.
    """
    out: np.ndarray = (p >= threshold).astype(np.int8)
    if y is not None:
        out += 2 * y.astype(np.int8)
    return out


def group_counts(
    groups: np.ndarray,
    n_groups: int,
    y: np.ndarray | None,
    p: np.ndarray,
    threshold: float,
    *,
    outcomes: np.ndarray | None = None,
    p_squared: np.ndarray | None = None,
) -> GroupCounts:
    """Confusion counts and prediction sums of each group.

    Parameters
    ----------
    groups : numpy.ndarray
        Group of each row, ``0..n_groups-1``.
    n_groups : int
        The number of groups.
    y : numpy.ndarray or None
        Labels, 0 or 1 (None: the label counts are zero).
    p : numpy.ndarray
        Predicted probabilities of class 1.
    threshold : float
        The decision threshold.
    outcomes, p_squared : numpy.ndarray, optional
        :func:`row_outcomes` and ``p * p``, precomputed when many groupings of the same rows
        are counted.

    Returns
    -------
    GroupCounts
        Per group: rows, positives, TP, FP (FN and TN derived), predicted positives, and the
        sums of ``p`` and ``p^2``.

    Notes
    -----
    One pass over the rows: a ``bincount`` of ``4 group + outcome``; the sums of ``p`` and
    ``p^2`` take two weighted ``bincount``s when first read.
    """
    g = groups.astype(np.intp, copy=False)
    if outcomes is None:
        outcomes = row_outcomes(y, p, threshold)
    c = np.bincount(g * 4 + outcomes, minlength=4 * n_groups).reshape(n_groups, 4).astype(np.float64)
    # columns: (label 0, no), (label 0, yes), (label 1, no), (label 1, yes)
    n = c.sum(axis=1)
    pred_pos = c[:, 1] + c[:, 3]

    def sums() -> tuple[np.ndarray, np.ndarray]:  # holds no array of its own until called
        rows = groups.astype(np.intp, copy=False)
        squares = p * p if p_squared is None else p_squared
        return (
            np.bincount(rows, weights=p, minlength=n_groups),
            np.bincount(rows, weights=squares, minlength=n_groups),
        )

    if y is None:
        zeros = np.zeros(n_groups)
        return GroupCounts(n, zeros, zeros, zeros, pred_pos, sums)
    return GroupCounts(n, c[:, 2] + c[:, 3], c[:, 3], c[:, 1], pred_pos, sums)


@dataclass
class PredictionCodes:
    """Evaluation predictions coded by rank: exact ranks when there are at most
    ``AUC_MAX_BINS`` distinct values, else that many rank bins (ties always share a bin)."""

    codes: np.ndarray
    n_codes: int
    exact: bool
    labels: np.ndarray | None  # the split's labels as float64, shared by the per-group AUCs
    overall_auc: float  # exact, from the same sort
    order: np.ndarray | None = None  # the rows by prediction (the sort)


def prediction_codes(inputs: StressInputs, split: str = "eval") -> PredictionCodes:
    """The predictions of ``split`` coded by rank, and their overall AUC, once per run.

    Parameters
    ----------
    inputs : StressInputs
        The run (with predictions); the codes are cached in its ``cache``.
    split : {"eval", "ref"}
        Which split's predictions.

    Returns
    -------
    PredictionCodes
        Rank codes (exact up to ``AUC_MAX_BINS`` distinct values, else rank bins of equal
        row counts, ties never split) and the exact AUC over all rows (``nan`` without labels
        or with one class).

    Notes
    -----
    One sort. The overall AUC counts, for each positive, the negatives of lower prediction
    plus half of those of equal prediction: ``AUC = sum_b pos_b (below_b + neg_b / 2) /
    (n_pos n_neg)`` over the blocks ``b`` of tied predictions, as ``roc_auc_score``.
    """

    def build() -> PredictionCodes:
        p = inputs.eval_preds if split == "eval" else inputs.ref_preds
        y = inputs.eval_labels if split == "eval" else inputs.ref_labels
        assert p is not None
        n = p.size
        yf = None if y is None else y.astype(np.float64)
        if n == 0:
            return PredictionCodes(np.zeros(0, dtype=np.int64), 1, True, yf, math.nan)
        order = np.argsort(p)  # ties get one code whatever their order
        ps = p[order]
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(ps[1:], ps[:-1], out=new[1:])
        n_distinct = int(new.sum())
        if n_distinct <= AUC_MAX_BINS:
            sorted_codes = np.cumsum(new) - 1
            n_codes, exact = n_distinct, True
        else:
            start = np.maximum.accumulate(np.where(new, np.arange(n), 0))  # first index of the tie block
            sorted_codes = (start * AUC_MAX_BINS) // n
            n_codes, exact = AUC_MAX_BINS, False
        codes = np.empty(n, dtype=np.int64)
        codes[order] = sorted_codes
        overall = math.nan
        if yf is not None:
            # Exact AUC over tie blocks of the sorted predictions (as metrics.auc).
            block = np.cumsum(new) - 1
            pos_b = np.bincount(block, weights=yf[order])
            neg_b = np.bincount(block) - pos_b
            n_pos, n_neg = pos_b.sum(), neg_b.sum()
            if n_pos > 0 and n_neg > 0:
                below = np.cumsum(neg_b) - neg_b
                overall = float(np.sum(pos_b * (below + 0.5 * neg_b)) / (n_pos * n_neg))
        return PredictionCodes(codes, n_codes, exact, yf, overall, order)

    return inputs.cache.split(("pred_codes",), split, build)


def group_auc(
    groups: np.ndarray, n_groups: int, y: np.ndarray, pred: PredictionCodes
) -> tuple[np.ndarray, np.ndarray]:
    """AUC within each group, and a bound on its error (0 when the codes are exact ranks).

    Parameters
    ----------
    groups, n_groups
        The rows' groups, as for :func:`group_counts`.
    y : numpy.ndarray
        Labels, 0 or 1.
    pred : PredictionCodes
        The rows' prediction ranks (:func:`prediction_codes`).

    Returns
    -------
    auc : numpy.ndarray
        Per group; ``nan`` where the group lacks a class.
    bound : numpy.ndarray
        Per group, the largest possible error of ``auc`` from binned ranks.

    Notes
    -----
    From a (group x prediction rank) table of positives ``pos`` and negatives ``neg``:
    ``AUC_g = sum_b pos_gb (below_gb + neg_gb / 2) / (n_pos,g n_neg,g)``, where ``below_gb``
    counts the group's negatives of lower rank (ties count one half, as in
    ``roc_auc_score``). With rank bins, distinct predictions inside one bin count as ties,
    so the error is at most ``sum_b pos_gb neg_gb / (2 n_pos,g n_neg,g)``, the bound. O(rows)
    per call: two ``bincount``s.
    """
    b = pred.n_codes
    weights = pred.labels if pred.labels is not None and pred.labels.size == y.size else y.astype(np.float64)
    if pred.order is not None and pred.order.size == groups.size and groups.size < n_groups * b:
        # Fewer rows than (group, rank) cells: go through the rows instead of the table.
        u, n_pos, n_neg, ties = _group_rank_sums(groups, n_groups, pred.codes, pred.order, weights)
    else:
        key = groups.astype(np.intp, copy=False) * b + pred.codes
        cells = n_groups * b
        pos = np.bincount(key, weights=weights, minlength=cells).reshape(n_groups, b)
        neg = np.bincount(key, minlength=cells).reshape(n_groups, b) - pos
        below = np.cumsum(neg, axis=1) - neg
        u = (pos * (below + 0.5 * neg)).sum(axis=1)
        n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        ties = (pos * neg).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        defined = (n_pos > 0) & (n_neg > 0)
        auc = np.where(defined, u / (n_pos * n_neg), math.nan)
        if pred.exact:
            bound = np.zeros(n_groups)
        else:
            bound = np.where(defined, 0.5 * ties / (n_pos * n_neg), math.nan)
    return auc, bound


def _group_rank_sums(
    groups: np.ndarray, n_groups: int, codes: np.ndarray, order: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per group: the Mann-Whitney sum ``sum_b pos_b (below_b + neg_b / 2)``, the positives,
    the negatives and ``sum_b pos_b neg_b`` over its blocks ``b`` of equal rank code, from the
    rows in (group, code) order: the rows by prediction (``order``), stably sorted by group.

    Every term is a whole or half count, so the sums are exact and equal the table's.
    """
    small = groups.astype(np.int16) if n_groups < 32_768 else groups
    rows = order[np.argsort(small[order], kind="stable")]  # radix sort for small codes
    g, c = groups[rows], codes[rows]
    start = np.empty(rows.size, dtype=bool)
    start[:1] = True
    np.not_equal(g[1:], g[:-1], out=start[1:])
    start[1:] |= c[1:] != c[:-1]
    block = np.cumsum(start) - 1
    block_group = g[start]
    pos = np.bincount(block, weights=labels[rows])
    neg = np.bincount(block) - pos
    n_pos = np.bincount(block_group, weights=pos, minlength=n_groups)
    n_neg = np.bincount(block_group, weights=neg, minlength=n_groups)
    # Negatives of lower rank in the same group: a running count, less the earlier groups'.
    earlier = np.cumsum(n_neg) - n_neg
    below = np.cumsum(neg) - neg - earlier[block_group]
    u = np.bincount(block_group, weights=pos * (below + 0.5 * neg), minlength=n_groups)
    ties = np.bincount(block_group, weights=pos * neg, minlength=n_groups)
    return u, n_pos, n_neg, ties


def auc_se(auc: np.ndarray, n_pos: np.ndarray, n_neg: np.ndarray) -> np.ndarray:
    """Standard error of an AUC (Hanley & McNeil, 1982).

    Parameters
    ----------
    auc : numpy.ndarray
        AUCs, clipped to ``[1e-6, 1 - 1e-6]``.
    n_pos, n_neg : numpy.ndarray
        Positives and negatives behind each AUC.

    Returns
    -------
    numpy.ndarray
        ``sqrt((A (1-A) + (n_pos - 1)(Q1 - A^2) + (n_neg - 1)(Q2 - A^2)) / (n_pos n_neg))``
        with ``Q1 = A / (2 - A)`` and ``Q2 = 2 A^2 / (1 + A)``.
    """
    a = np.clip(auc, 1e-6, 1 - 1e-6)
    q1 = a / (2 - a)
    q2 = 2 * a * a / (1 + a)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    out: np.ndarray = np.sqrt(np.maximum(var, 0.0))
    return out


def proportion_se(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Standard error of a proportion ``k / n``, Laplace-smoothed.

    Parameters
    ----------
    k, n : numpy.ndarray
        Successes and trials.

    Returns
    -------
    numpy.ndarray
        ``sqrt(p (1 - p) / n)`` with ``p = (k + 1) / (n + 2)``, so that 0/n and n/n are not
        certain; ``inf`` or ``nan`` where ``n`` is 0.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ps = (k + 1.0) / (n + 2.0)
        out: np.ndarray = np.sqrt(ps * (1 - ps) / n)
    return out
