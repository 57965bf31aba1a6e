"""Abnormal Inputs: injected anomalies are counted exactly, with their impact on the model."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.rime_api.enums import TestCategory
from rime_dev.datagen import generate_fraud, reference_and_evaluation
from tests.catalogue.helpers import build_inputs, case_for, flagged, metric, run, wide_split

ABNORMAL = [TestCategory.ABNORMAL_INPUTS]
INJECTED = {
    "outliers": 0.004,
    "unseen": 0.003,
    "nulls": 0.002,
    "empty_strings": 0.0015,
    "capitalization": 0.001,
}


@pytest.fixture(scope="module")
def injected():  # type: ignore[no-untyped-def]
    ref, ev = wide_split(20_000, 31, 4, 4, abnormal=INJECTED)
    return ev.attrs["injected"], run(build_inputs(ref, ev, categories=ABNORMAL))


@pytest.mark.parametrize(
    ("kind", "test_type"),
    [
        ("outliers", "numeric_outlier"),
        ("unseen", "unseen_categorical"),
        ("nulls", "null_check"),
        ("empty_strings", "empty_string"),
        ("capitalization", "capitalization"),
    ],
)
def test_injected_rows_are_counted_exactly(injected, kind: str, test_type: str) -> None:  # type: ignore[no-untyped-def]
    truth, batches = injected
    column, count = truth[kind]["column"], truth[kind]["count"]
    batch = batches[test_type]
    case = case_for(batch, column)
    assert metric(case, "Num Failing Rows") == count
    assert metric(case, "Failing Rows %") == pytest.approx(100 * count / 20_000)
    assert case.severity >= Severity.WARNING
    assert flagged(batch) == {column}  # and nowhere else
    assert f"{count:,} of 20,000 rows" in case.explanation
    # the impact on the model: the generator makes it guess on abnormal rows
    assert metric(case, "Accuracy Drop") > 0
    assert any(m.category.value == "TEST_METRIC_CATEGORY_FAILING_INPUTS" for m in case.metrics)


def test_examples_name_the_failing_values(injected) -> None:  # type: ignore[no-untyped-def]
    _, batches = injected
    unseen = case_for(batches["unseen_categorical"], "cat_0")
    assert sorted(metric(unseen, "Examples")) == ["unseen_0", "unseen_1", "unseen_2"]
    assert sum(metric(unseen, "Example Counts")) == 60
    caps = case_for(batches["capitalization"], "cat_2")
    assert all(v.isupper() for v in metric(caps, "Examples"))
    outliers = case_for(batches["numeric_outlier"], "num_2")
    assert float(metric(outliers, "Examples")[0]) > 10


def test_clean_split_raises_no_abnormal_input_warnings() -> None:
    ref, ev = wide_split(20_000, 32, 6, 5)
    batches = run(build_inputs(ref, ev, categories=ABNORMAL))
    assert {t: flagged(b) for t, b in batches.items() if flagged(b)} == {}


def test_heavy_tails_of_the_reference_are_not_outliers() -> None:
    # transaction_amount is lognormal: about 0.5% of every split lies beyond mean + 3 sd.
    ref, ev = reference_and_evaluation(generate_fraud, 20_000, seed=33)
    case = case_for(run(build_inputs(ref, ev, categories=ABNORMAL))["numeric_outlier"], "transaction_amount")
    assert metric(case, "Num Failing Rows") > 50
    assert case.severity is Severity.PASS
    assert "about as many as in the reference" in case.explanation


def test_without_labels_the_impact_is_a_prediction_shift() -> None:
    ref, ev = reference_and_evaluation(generate_fraud, 10_000, seed=34, abnormal={"unseen": 0.01})
    batches = run(build_inputs(ref, ev, label=None, categories=ABNORMAL))
    case = case_for(batches["unseen_categorical"], "browser_version")
    assert metric(case, "Num Failing Rows") == 100
    assert np.isfinite(metric(case, "Average Prediction Shift"))
    assert "average prediction" in case.explanation
    assert "Accuracy Drop" not in [m.name for m in case.metrics]


def test_without_predictions_rows_are_still_counted() -> None:
    ref, ev = reference_and_evaluation(generate_fraud, 10_000, seed=35, abnormal={"nulls": 0.003})
    batches = run(build_inputs(ref, ev, label=None, pred=None, categories=ABNORMAL))
    case = case_for(batches["null_check"], "transaction_amount")
    assert metric(case, "Num Failing Rows") == 30
    assert case.severity is Severity.WARNING


def test_rare_categories_and_out_of_range() -> None:
    ref, ev = reference_and_evaluation(generate_fraud, 20_000, seed=36, drift={"browser_version": 0.2})
    batches = run(build_inputs(ref, ev, categories=ABNORMAL, individual={"out_of_range": {"enabled": True}}))
    rare = case_for(batches["rare_categories"], "browser_version")
    assert "chrome 61.0" in metric(rare, "Examples")  # 0.03% of the reference, 5% after the drift
    assert rare.severity is Severity.ALERT
    assert "out_of_range" in batches


def test_feature_type_mismatch_is_counted() -> None:
    ref, ev = wide_split(2_000, 37, 2, 1)
    ev = ev.astype({"num_0": object})
    ev.loc[[3, 5, 8], "num_0"] = ["n/a", "12,5", "n/a"]
    case = case_for(run(build_inputs(ref, ev, categories=ABNORMAL))["feature_type_check"], "num_0")
    assert metric(case, "Num Failing Rows") == 3
    assert metric(case, "Examples") == ["n/a", "12,5"]
    assert metric(case, "Example Counts") == [2, 1]


def test_thresholds_are_configurable() -> None:
    ref, ev = reference_and_evaluation(generate_fraud, 10_000, seed=38, abnormal={"unseen": 0.02})
    default = case_for(
        run(build_inputs(ref, ev, categories=ABNORMAL))["unseen_categorical"], "browser_version"
    )
    assert default.severity is Severity.ALERT  # 2% > the 1% alert share
    relaxed = run(
        build_inputs(
            ref,
            ev,
            categories=ABNORMAL,
            individual={
                "unseen_categorical": {"share_thresholds": [0.0, 0.5], "impact_thresholds": [0.9, 1.0]}
            },
        )
    )
    assert case_for(relaxed["unseen_categorical"], "browser_version").severity is Severity.WARNING
