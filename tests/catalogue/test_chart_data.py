"""What the result pages draw is what the catalogue computed: distributions and calibration curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airflow_provider_rime.local.catalogue.drift import DISTRIBUTION_BINS
from airflow_provider_rime.local.catalogue.metrics import calibration_mse
from airflow_provider_rime.rime_api.enums import TestCategory
from tests.catalogue.helpers import build_inputs, case_for, metric, run, wide_split


@pytest.fixture(scope="module")
def batches():  # type: ignore[no-untyped-def]
    ref, ev = wide_split(4_000, 5, 3, 2, drift={"num_0": 0.75})
    ev.loc[ev.index[:200], "num_2"] = np.nan  # missing values get their own bin
    return (
        ref,
        ev,
        run(build_inputs(ref, ev, categories=[TestCategory.DRIFT, TestCategory.MODEL_PERFORMANCE])),
    )


def test_a_drift_case_keeps_the_counts_its_statistic_was_computed_on(batches) -> None:  # type: ignore[no-untyped-def]
    ref, ev, by_type = batches
    case = case_for(by_type["feature_drift"], "num_0")
    labels = metric(case, "Distribution Bins")
    ref_n, eval_n = metric(case, "Reference Counts"), metric(case, "Evaluation Counts")
    assert len(labels) == len(ref_n) == len(eval_n) == 10  # ten quantile bins, no missing values
    assert sum(ref_n) == len(ref) and sum(eval_n) == len(ev)
    # reference deciles: about a tenth of the reference per bin; the evaluation moved away from that
    assert max(abs(n / len(ref) - 0.1) for n in ref_n) < 0.02
    assert max(abs(n / len(ev) - 0.1) for n in eval_n) > 0.05
    # the PSI of the stored counts is the case's PSI
    r = np.maximum(np.array(ref_n) / len(ref), 1e-4)
    e = np.maximum(np.array(eval_n) / len(ev), 1e-4)
    assert float(np.sum((e - r) * np.log(e / r))) == pytest.approx(metric(case, "psi"), rel=0.05)


def test_missing_values_get_a_bin_of_their_own(batches) -> None:  # type: ignore[no-untyped-def]
    _, ev, by_type = batches
    case = case_for(by_type["feature_drift"], "num_2")
    labels = metric(case, "Distribution Bins")
    assert labels[-1] == "num_2 is missing"
    assert metric(case, "Evaluation Counts")[-1] == 200 and metric(case, "Reference Counts")[-1] == 0
    assert sum(metric(case, "Evaluation Counts")) == len(ev)


def test_a_categorical_feature_with_many_values_pools_the_rare_ones() -> None:
    rng = np.random.default_rng(0)
    values = [f"v{i:03d}" for i in range(60)]
    weights = np.r_[np.full(5, 0.15), np.full(55, 0.25 / 55)]
    ref = pd.DataFrame({"shop": rng.choice(values, 3000, p=weights), "x": rng.normal(size=3000)})
    ev = pd.DataFrame({"shop": rng.choice(values, 3000, p=weights[::-1]), "x": rng.normal(size=3000)})
    by_type = run(build_inputs(ref, ev, label=None, pred=None, categories=[TestCategory.DRIFT]))
    case = case_for(by_type["feature_drift"], "shop")
    labels = metric(case, "Distribution Bins")
    assert len(labels) == DISTRIBUTION_BINS and labels[-1] == "other values"
    assert {f"v{i:03d}" for i in range(5)} <= set(labels)  # the common ones stay named
    assert sum(metric(case, "Reference Counts")) == 3000 and sum(metric(case, "Evaluation Counts")) == 3000


def test_the_calibration_case_keeps_both_curves(batches) -> None:  # type: ignore[no-untyped-def]
    ref, ev, by_type = batches
    (case,) = by_type["calibration_comparison"].cases
    centres = metric(case, "Predicted Probability Bins")
    ref_curve, eval_curve = (
        metric(case, "Reference Calibration Curve"),
        metric(case, "Evaluation Calibration Curve"),
    )
    ref_rows, eval_rows = (
        metric(case, "Reference Calibration Rows"),
        metric(case, "Evaluation Calibration Rows"),
    )
    assert centres == pytest.approx([0.05 + 0.1 * i for i in range(10)])
    assert sum(ref_rows) == len(ref) and sum(eval_rows) == len(ev)
    # the curves are the ones the MSE compared
    both = [i for i in range(10) if ref_rows[i] and eval_rows[i]]
    w = np.array([eval_rows[i] for i in both], dtype=float)
    mse = float(np.sum(w * (np.array([ref_curve[i] - eval_curve[i] for i in both]) ** 2)) / w.sum())
    assert mse == pytest.approx(metric(case, "Calibration MSE"))
    assert mse == pytest.approx(
        calibration_mse(
            ref["label"].to_numpy(), ref["pred"].to_numpy(), ev["label"].to_numpy(), ev["pred"].to_numpy()
        )
    )
    # the wire form of an empty bin is null, not NaN
    api = next(m.to_api() for m in case.metrics if m.name == "Reference Calibration Curve")
    assert "floatList" in api


def test_the_prediction_drift_case_keeps_the_counts_per_reference_decile(batches) -> None:  # type: ignore[no-untyped-def]
    ref, ev, by_type = batches
    batch = by_type["prediction_drift"]
    (case,) = batch.cases
    labels = metric(case, "Distribution Bins")
    ref_n, eval_n = metric(case, "Reference Counts"), metric(case, "Evaluation Counts")
    assert len(labels) == len(ref_n) == len(eval_n) == 10
    assert labels[0].startswith("prediction < ") and labels[-1].startswith("prediction >= ")
    assert sum(ref_n) == len(ref) and sum(eval_n) == len(ev)
    assert max(abs(n / len(ref) - 0.1) for n in ref_n) < 0.02  # deciles of the reference
    # the counts are the case's, not the batch's: the batch summary stays as it was
    assert "Distribution Bins" not in {m.name for m in batch.metrics}
