"""Binary-classification metrics as pure functions on arrays.

``y`` holds labels in {0, 1}; ``p`` holds the predicted probability of class 1. Each
function returns ``nan`` where the metric is undefined (e.g. AUC with one class), never
raises on valid input, and matches scikit-learn's definitions:

- accuracy = mean(ŷ == y), with ŷ = p >= threshold
- AUC = P(p_pos > p_neg) + ½ P(p_pos = p_neg) (Mann-Whitney U / (n_pos n_neg))
- precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2 PR / (P + R)
- FPR = FP / (FP + TN), FNR = FN / (FN + TP)
- positive prediction rate = mean(ŷ), average prediction = mean(p)
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from airflow_provider_rime.local.catalogue.docstrings import fill_docstring

NAN = float("nan")

F = TypeVar("F", bound=Callable[..., float])

# One template for the metrics' numpydoc (they all take labels, predictions and a threshold).
_METRIC_DOC = """{summary}

Parameters
----------
y : numpy.ndarray{y_type}
    Labels, 0 or 1{y_note}.
p : numpy.ndarray
    Predicted probabilities of class 1.
threshold : float, default 0.5
    Decision threshold: a row is predicted positive when ``p >= threshold``.

Returns
-------
float
    {returns}

Notes
-----
{formula}
"""


def _metric_doc(summary: str, formula: str, returns: str, *, needs_labels: bool = True) -> Callable[[F], F]:
    return fill_docstring(
        _METRIC_DOC,
        summary=summary,
        formula=formula,
        returns=returns,
        y_type="" if needs_labels else " or None",
        y_note="" if needs_labels else " (not used)",
    )


def _div(num: float, den: float) -> float:
    return float(num) / float(den) if den else NAN


_COUNT_NAMES = ("TP", "FP", "FN", "TN")


def _counts(y: np.ndarray, p: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    yhat = p >= threshold
    yb = y.astype(bool)
    tp = int(np.count_nonzero(yhat & yb))
    fp = int(np.count_nonzero(yhat & ~yb))
    fn = int(np.count_nonzero(~yhat & yb))
    tn = int(yb.size - tp - fp - fn)
    return tp, fp, fn, tn


# The metrics that are a ratio of confusion counts: numerator, denominator (sums of
# ``k NAME`` terms over TP, FP, FN, TN) and summary. One table drives both the computation
# and the formula in each docstring, so they cannot disagree.
_COUNT_RATIOS: dict[str, tuple[str, str, str]] = {
    "accuracy": ("TP + TN", "TP + FP + FN + TN", "Accuracy: the share of rows whose decision is right."),
    "precision": ("TP", "TP + FP", "Precision: the share of predicted positives that are positive."),
    "recall": ("TP", "TP + FN", "Recall (true positive rate): the share of positives predicted positive."),
    "f1": ("2 TP", "2 TP + FP + FN", "F1 score: the harmonic mean of precision and recall, 2 P R / (P + R)."),
    "fpr": ("FP", "FP + TN", "False positive rate: the share of negatives predicted positive."),
    "fnr": ("FN", "FN + TP", "False negative rate: the share of positives predicted negative."),
}


def _weights(expression: str) -> tuple[int, int, int, int]:
    """``"2 TP + FP"`` -> ``(2, 1, 0, 0)``: the coefficients of (TP, FP, FN, TN)."""
    weights = dict.fromkeys(_COUNT_NAMES, 0)
    for term in expression.split(" + "):
        factor, _, name = term.rpartition(" ")
        weights[name] += int(factor or 1)
    return tuple(weights[n] for n in _COUNT_NAMES)  # type: ignore[return-value]


def _count_ratio(name: str) -> Callable[..., float]:
    numerator, denominator, summary = _COUNT_RATIOS[name]
    shown_numerator = f"({numerator})" if "+" in numerator else numerator
    num_w, den_w = _weights(numerator), _weights(denominator)

    def metric(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
        counts = _counts(y, p, threshold)
        return _div(np.dot(num_w, counts), np.dot(den_w, counts))

    metric.__name__ = metric.__qualname__ = name
    return _metric_doc(
        summary,
        f"``{shown_numerator} / ({denominator})`` with ``TP = #{{p >= threshold and y = 1}}``, "
        "``FP = #{p >= threshold and y = 0}`` and so on.",
        f"In [0, 1]; ``nan`` when ``{denominator} = 0``.",
    )(metric)


accuracy = _count_ratio("accuracy")
precision = _count_ratio("precision")
recall = _count_ratio("recall")
f1 = _count_ratio("f1")
fpr = _count_ratio("fpr")
fnr = _count_ratio("fnr")


@_metric_doc(
    "Area under the ROC curve (``threshold`` is not used).",
    "``P(p_pos > p_neg) + P(p_pos = p_neg) / 2``, the Mann-Whitney ``U / (n_pos n_neg)``, from one "
    "sort: each block of equal predictions counts its pairs one half, as ``roc_auc_score``.",
    "In [0, 1]; ``nan`` when ``y`` has one class only.",
)
def auc(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
    yb = y.astype(bool)
    n_pos = int(np.count_nonzero(yb))
    n_neg = int(yb.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return NAN
    # One (unstable, fast) sort; equal predictions form a block whose pairs count one half,
    # as in roc_auc_score, so the order inside a block does not matter.
    order = np.argsort(p)
    ps = p[order]
    new_block = np.empty(ps.size, dtype=bool)
    new_block[0] = True
    np.not_equal(ps[1:], ps[:-1], out=new_block[1:])
    block = np.cumsum(new_block) - 1
    pos_b = np.bincount(block, weights=yb[order])
    neg_b = np.bincount(block) - pos_b
    below = np.cumsum(neg_b) - neg_b
    u = float(np.sum(pos_b * (below + 0.5 * neg_b)))
    return u / (n_pos * n_neg)


def _prediction_doc(summary: str, formula: str, bounds: str = "In [0, 1]") -> Callable[[F], F]:
    """The docstring of a statistic of the predictions alone: no labels, ``nan`` for no rows."""
    return _metric_doc(summary, formula, f"{bounds}; ``nan`` for no rows.", needs_labels=False)


@_prediction_doc("Positive prediction rate: the share predicted positive.", "``mean(p >= threshold)``.")
def positive_prediction_rate(y: np.ndarray | None, p: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.mean(p >= threshold)) if p.size else NAN


@_prediction_doc("Average prediction (``threshold`` is not used).", "``mean(p)``.")
def average_prediction(y: np.ndarray | None, p: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.mean(p)) if p.size else NAN


@_prediction_doc(
    "Variance of the predictions (``threshold`` is not used).",
    "``mean((p - mean(p))^2)`` (population variance, ``ddof=0``).",
    bounds="At least 0",
)
def prediction_variance(y: np.ndarray | None, p: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.var(p)) if p.size else NAN


class Direction(enum.IntEnum):
    """Which way a metric gets worse."""

    HIGHER_IS_BETTER = 1
    LOWER_IS_BETTER = -1
    CHANGE_IS_BAD = 0


@dataclass(frozen=True)
class BinaryMetric:
    key: str
    name: str
    func: Callable[..., float]
    direction: Direction
    needs_labels: bool = True

    def __call__(self, y: np.ndarray | None, p: np.ndarray, threshold: float = 0.5) -> float:
        return self.func(y, p, threshold)

    def degradation(self, ref_value: float, eval_value: float) -> float:
        """How much worse eval is than ref (positive = worse; for CHANGE_IS_BAD, the absolute change)."""
        if self.direction is Direction.HIGHER_IS_BETTER:
            return ref_value - eval_value
        if self.direction is Direction.LOWER_IS_BETTER:
            return eval_value - ref_value
        return abs(eval_value - ref_value)


BINARY_METRICS: tuple[BinaryMetric, ...] = (
    BinaryMetric("accuracy", "Accuracy", accuracy, Direction.HIGHER_IS_BETTER),
    BinaryMetric("auc", "AUC", auc, Direction.HIGHER_IS_BETTER),
    BinaryMetric("f1", "F1", f1, Direction.HIGHER_IS_BETTER),
    BinaryMetric("precision", "Precision", precision, Direction.HIGHER_IS_BETTER),
    BinaryMetric("recall", "Recall", recall, Direction.HIGHER_IS_BETTER),
    BinaryMetric("fpr", "False Positive Rate", fpr, Direction.LOWER_IS_BETTER),
    BinaryMetric("fnr", "False Negative Rate", fnr, Direction.LOWER_IS_BETTER),
    BinaryMetric(
        "pos_pred_rate",
        "Positive Prediction Rate",
        positive_prediction_rate,
        Direction.CHANGE_IS_BAD,
        needs_labels=False,
    ),
    BinaryMetric(
        "avg_pred", "Average Prediction", average_prediction, Direction.CHANGE_IS_BAD, needs_labels=False
    ),
    BinaryMetric(
        "pred_variance",
        "Prediction Variance",
        prediction_variance,
        Direction.CHANGE_IS_BAD,
        needs_labels=False,
    ),
)

METRICS_BY_KEY = {m.key: m for m in BINARY_METRICS}


def calibration_curve(y: np.ndarray, p: np.ndarray, num_bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The calibration curve: observed positive rate per bin of predicted probability.

    Parameters
    ----------
    y : numpy.ndarray
        Labels, 0 or 1.
    p : numpy.ndarray
        Predicted probabilities of class 1.
    num_bins : int, default 10
        Bins of equal width on [0, 1].

    Returns
    -------
    rate : numpy.ndarray
        Per bin, the share of positives (``nan`` for an empty bin).
    counts : numpy.ndarray
        Per bin, the number of rows.

    Notes
    -----
    Row ``i`` falls in bin ``min(floor(p_i num_bins), num_bins - 1)``.
    """
    bins = np.clip((p * num_bins).astype(np.int64), 0, num_bins - 1)
    counts = np.bincount(bins, minlength=num_bins)
    positives = np.bincount(bins, weights=y.astype(np.float64), minlength=num_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = positives / counts
    return rate, counts


def calibration_mse(
    y_ref: np.ndarray, p_ref: np.ndarray, y_eval: np.ndarray, p_eval: np.ndarray, num_bins: int = 10
) -> float:
    """Mean squared difference between the reference and evaluation calibration curves.

    Parameters
    ----------
    y_ref, p_ref : numpy.ndarray
        Labels and predicted probabilities of the reference split.
    y_eval, p_eval : numpy.ndarray
        Labels and predicted probabilities of the evaluation split.
    num_bins : int, default 10
        Bins of :func:`calibration_curve`.

    Returns
    -------
    float
        The weighted MSE; ``nan`` when no bin has rows in both splits.

    Notes
    -----
    ``sum_b n_b (rate_ref,b - rate_eval,b)^2 / sum_b n_b`` over the bins ``b`` populated in
    both splits, with ``n_b`` the evaluation rows of bin ``b``.
    """
    ref_rate, ref_n = calibration_curve(y_ref, p_ref, num_bins)
    eval_rate, eval_n = calibration_curve(y_eval, p_eval, num_bins)
    both = (ref_n > 0) & (eval_n > 0)
    if not both.any():
        return NAN
    w = eval_n[both].astype(np.float64)
    return float(np.sum(w * (ref_rate[both] - eval_rate[both]) ** 2) / w.sum())
