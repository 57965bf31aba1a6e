"""Drift: injected drift is flagged on exactly the drifted features, with its cost to the model."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_provider_rime.local.catalogue import CATALOGUE, validate_suite_config
from airflow_provider_rime.local.catalogue.types import Severity, SuiteConfig
from airflow_provider_rime.rime_api.enums import TestCategory, TestSensitivity
from rime_dev.datagen import generate_fraud, reference_and_evaluation
from tests.catalogue.helpers import build_inputs, case_for, flagged, metric, run, wide_split

DRIFT = [TestCategory.DRIFT]


@pytest.fixture(scope="module")
def drifted():  # type: ignore[no-untyped-def]
    ref, ev = wide_split(20_000, 21, 8, 4, drift={"num_0": 0.75, "cat_3": 1.0})
    return run(build_inputs(ref, ev, categories=DRIFT))


def test_drift_is_flagged_on_exactly_the_drifted_features(drifted) -> None:  # type: ignore[no-untyped-def]
    batch = drifted["feature_drift"]
    assert flagged(batch) == {"num_0", "cat_3"}
    assert batch.category is TestCategory.DRIFT
    for feature in ("num_0", "cat_3"):
        case = case_for(batch, feature)
        assert metric(case, "psi") > 0.2
        assert any(m.category.value == "TEST_METRIC_CATEGORY_DRIFT_STAT" for m in case.metrics)
    stable = case_for(batch, "num_3")
    assert metric(stable, "psi") < 0.01


def test_drift_says_what_it_costs_the_model(drifted) -> None:  # type: ignore[no-untyped-def]
    case = case_for(drifted["feature_drift"], "cat_3")
    assert np.isfinite(metric(case, "Expected Accuracy Change"))
    assert "re-weighted to the new mix" in case.explanation
    assert metric(case, "Most Grown Region").startswith("c3_v")
    shift = case_for(drifted["feature_drift"], "num_0")
    # num_0 drives the label; moving it by 0.75 std changes what the model faces measurably
    assert abs(metric(shift, "Expected Accuracy Change")) > 0.005


def test_unrelated_drift_tests_stay_quiet(drifted) -> None:  # type: ignore[no-untyped-def]
    assert flagged(drifted["null_proportion"]) == set()
    assert flagged(drifted["correlation_label_drift"]) == set()


def test_label_and_prediction_drift() -> None:
    ref, ev = reference_and_evaluation(generate_fraud, 20_000, seed=22, drift={"label": -0.4})
    batches = run(build_inputs(ref, ev, categories=DRIFT))
    label = batches["categorical_label_drift"].cases[0]
    assert label.severity >= Severity.WARNING
    assert metric(label, "Rate Change") < -0.05
    assert flagged(batches["feature_drift"]) == set()  # the features did not move
    assert batches["prediction_drift"].cases[0].severity is Severity.PASS  # nor did the model's view

    ref, ev = reference_and_evaluation(generate_fraud, 20_000, seed=22, drift={"transaction_amount": 1.0})
    batches = run(build_inputs(ref, ev, categories=DRIFT))
    assert flagged(batches["feature_drift"]) == {"transaction_amount"}
    assert batches["prediction_drift"].cases[0].severity >= Severity.WARNING


def test_null_proportion_drift() -> None:
    ref, ev = wide_split(20_000, 23, 3, 2, abnormal={"nulls": 0.12})
    batch = run(build_inputs(ref, ev, categories=DRIFT))["null_proportion"]
    assert flagged(batch, Severity.ALERT) == {"num_1"}
    assert metric(case_for(batch, "num_1"), "Evaluation Null Proportion") == pytest.approx(0.12)


def test_correlation_label_drift() -> None:
    ref, ev = wide_split(20_000, 24, 4, 1, degrade={"feature": "num_0", "range": (-100, 100), "mode": "flip"})
    # Flipping predictions does not change labels; swap the label instead where num_0 is high.
    ev = ev.copy()
    high = ev["num_0"] > 0.5
    ev.loc[high, "label"] = 1 - ev.loc[high, "label"]
    batch = run(build_inputs(ref, ev, categories=DRIFT))["correlation_label_drift"]
    assert "num_0" in flagged(batch)
    assert metric(case_for(batch, "num_0"), "Evaluation Correlation") < metric(
        case_for(batch, "num_0"), "Reference Correlation"
    )


@pytest.mark.parametrize("method", ["ks", "chi2", "js", "kl"])
def test_alternative_scoring_methods(method: str) -> None:
    ref, ev = wide_split(10_000, 25, 3, 2, drift={"num_0": 0.75, "cat_1": 1.0})
    individual = {"feature_drift": {"drift_scoring_method": method}}
    batch = run(build_inputs(ref, ev, categories=DRIFT, individual=individual))["feature_drift"]
    assert "num_0" in flagged(batch)
    assert "num_1" not in flagged(batch)
    if method in ("ks", "chi2"):
        assert "cat_1" in flagged(batch)
        assert metric(case_for(batch, "num_0"), "p-value") < 1e-6
    assert case_for(batch, "num_0").explanation.startswith("num_0 drifted")


def test_min_sample_size_skips_small_features() -> None:
    ref, ev = wide_split(80, 26, 1, 1)
    batch = run(build_inputs(ref, ev, categories=DRIFT))["feature_drift"]
    assert all(c.skipped for c in batch.cases)
    assert "min_sample_size=100" in batch.cases[0].explanation


def test_sensitivity_scales_psi_thresholds() -> None:
    ref, ev = wide_split(20_000, 27, 1, 1, drift={"num_0": 0.5})
    severities = []
    individual = {"feature_drift": {"drift_scoring_method": "psi"}}  # RIME's rule, asked for
    for sensitivity in (
        TestSensitivity.LESS_SENSITIVE,
        TestSensitivity.DEFAULT,
        TestSensitivity.MORE_SENSITIVE,
    ):
        inputs = build_inputs(ref, ev, categories=DRIFT, sensitivity=sensitivity, individual=individual)
        batch = run(inputs)["feature_drift"]
        severities.append(case_for(batch, "num_0").severity)
    assert severities == sorted(severities)
    assert severities[0] < severities[-1]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"drift_scoring_method": "wasserstein"},
            "drift_scoring_method must be one of psi, js, kl, ks, chi2, got 'wasserstein'",
        ),
        ({"num_quantiles": 1}, "num_quantiles must be an integer in \\[2, 1000\\], got 1"),
        ({"min_sample_size": 0}, "min_sample_size must be >= 1, got 0"),
        ({"psi_thresholds": [0.2, None]}, "psi_thresholds must be \\[warning, alert\\] numbers"),
        ({"p_value_threshold": float("nan")}, "p_value_threshold must be a number"),
    ],
)
def test_invalid_parameters_name_the_test_and_the_parameter(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="individual_tests_config.feature_drift: " + message):
        validate_suite_config(SuiteConfig(individual_tests_config={"feature_drift": params}))


@pytest.mark.parametrize("method", ["psi", "ks"])
def test_batch_description_names_the_method(method: str) -> None:
    ref, ev = wide_split(500, 28, 1, 1)
    individual = {"feature_drift": {"drift_scoring_method": method}}
    batch = run(build_inputs(ref, ev, categories=DRIFT, individual=individual))["feature_drift"]
    assert batch.description.endswith(f"({method.upper()}).")
    assert batch.name == CATALOGUE["feature_drift"].name == "Feature Drift"


def test_correlation_between_features_drift() -> None:
    ref, ev = wide_split(20_000, 29, 5, 1)
    rng = np.random.default_rng(0)
    ref = ref.assign(twin=ref["num_4"] + rng.normal(0, 0.5, len(ref)))
    ev = ev.assign(twin=rng.permutation(ev["num_4"].to_numpy()) + rng.normal(0, 0.5, len(ev)))
    batch = run(build_inputs(ref, ev, categories=DRIFT))["correlation_feat_drift"]
    assert flagged(batch) == {"twin", "num_4"}
    case = case_for(batch, "twin")
    assert metric(case, "Partner Feature") == "num_4"
    assert metric(case, "Reference Correlation") > 0.9 > 0.1 > abs(metric(case, "Evaluation Correlation"))
    # each alone has not moved
    assert not {"twin", "num_4"} & flagged(run(build_inputs(ref, ev, categories=DRIFT))["feature_drift"])
