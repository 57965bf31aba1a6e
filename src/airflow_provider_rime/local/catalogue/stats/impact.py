"""What failing evaluation rows do to the model, for the abnormal-input tests."""

from __future__ import annotations

import numpy as np

from airflow_provider_rime.local.catalogue.types import Metric
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.rime_api.enums import MetricCategory


def impact_metrics(inputs: StressInputs, failing: np.ndarray) -> tuple[list[Metric], str, float]:
    """The model's behaviour on failing evaluation rows against the clean ones.

    Parameters
    ----------
    inputs : StressInputs
        The run; without evaluation predictions there is nothing to say.
    failing : numpy.ndarray
        Boolean mask of the failing evaluation rows.

    Returns
    -------
    metrics : list of Metric
        The average prediction shift and, with labels, the accuracy on failing and clean rows
        and the accuracy drop.
    clause : str
        A clause for the explanation ("" when there is nothing to say).
    impact : float
        The accuracy drop (at least 0) with labels, else the absolute prediction shift.

    Notes
    -----
    ``shift = mean(p[failing]) - mean(p[clean])``;
    ``drop = accuracy(clean) - accuracy(failing)`` with decisions ``p >= threshold``.
    """
    if inputs.eval_preds is None:
        return [], "", 0.0
    k = int(np.count_nonzero(failing))
    clean = ~failing
    if k == 0 or not clean.any():
        return [], "", 0.0
    p = inputs.eval_preds
    shift = float(p[failing].mean() - p[clean].mean())
    metrics = [Metric("Average Prediction Shift", MetricCategory.OUTPUT_DIFF, shift)]
    if inputs.eval_labels is None:
        clause = f"the model's average prediction there differs by {shift:+.3f} from clean rows"
        return metrics, clause, abs(shift)
    y = inputs.eval_labels.astype(bool)
    yhat = p >= inputs.config.prediction_threshold
    correct = yhat == y
    acc_fail = float(correct[failing].mean())
    acc_clean = float(correct[clean].mean())
    drop = acc_clean - acc_fail
    metrics += [
        Metric("Accuracy on Failing Rows", MetricCategory.PERFORMANCE_DIFF, acc_fail),
        Metric("Accuracy on Clean Rows", MetricCategory.PERFORMANCE_DIFF, acc_clean),
        Metric("Accuracy Drop", MetricCategory.PERFORMANCE_DIFF, drop),
    ]
    clause = f"the model's accuracy there is {acc_fail:.3f} against {acc_clean:.3f} on clean rows"
    return metrics, clause, max(0.0, drop)
