"""Each test's parameters: one typed class per test, RIME's keys and defaults, checked up front."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_rime.local.catalogue import (
    CATALOGUE,
    default_stress_categories,
    plan_tests,
    runnable_categories,
    validate_suite_config,
)
from airflow_provider_rime.local.catalogue.types import Severity, SuiteConfig, parse_sensitivity
from airflow_provider_rime.rime_api.enums import (
    STRESS_TEST_DEFAULT_CATEGORIES,
    TestCaseStatus,
    TestCategory,
    TestSensitivity,
)
from airflow_provider_rime.rime_api.enums import (
    Severity as WireSeverity,
)
from tests.catalogue.helpers import BIAS_AND_FAIRNESS_TESTS

# RIME's documented defaults of the keys the engine shares with RIME.
RIME_DEFAULTS = {
    "feature_drift": {
        "psi_thresholds": [0.2, 0.6],
        "kl_thresholds": [0.1, 0.2],
        "js_thresholds": [0.05, 0.1],
    },
    "numeric_outlier": {"bound_multiplier": 3.0},
    "rare_categories": {"min_ratio_rel_uniform": 0.005},
    "out_of_range": {"std_factor": 3.0},
    "calibration_comparison": {"num_bins": 10},
    "subset_auc": {"num_subsets": 5, "min_frq": 0.01, "confidence_level": 0.95},
}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_test_has_typed_parameters_that_accept_their_own_defaults(key: str) -> None:
    spec = CATALOGUE[key]
    assert dataclasses.is_dataclass(spec.params)
    defaults = spec.params.defaults()
    assert "enabled" in defaults
    parsed = spec.params.parse(defaults)
    assert parsed == spec.params()
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.enabled = True  # type: ignore[misc]


@pytest.mark.parametrize(("key", "expected"), sorted(RIME_DEFAULTS.items()))
def test_defaults_are_rimes(key: str, expected: dict[str, object]) -> None:
    defaults = CATALOGUE[key].params.defaults()
    assert {k: defaults[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("key", "params", "message"),
    [
        ("auc", {"min_value": "0.9"}, "auc: min_value must be a number or null, got '0.9'"),
        ("auc", {"warning_margin": -0.1}, "auc: warning_margin must be >= 0.0, got -0.1"),
        ("calibration_comparison", {"num_bins": 0}, "calibration_comparison: num_bins must be an integer"),
        ("numeric_outlier", {"method": "iqr"}, "numeric_outlier: method must be one of std, quantile"),
        ("unseen_categorical", {"min_impact_rows": True}, "unseen_categorical: min_impact_rows must be an"),
        ("required_features", {"required_features": "a"}, "required_features: required_features must be a"),
        ("label_imbalance", {"minority_share_thresholds": [1]}, "minority_share_thresholds must be \\[w"),
        ("duplicate_rows", {"severity_threshold": [1, 2]}, "duplicate_rows: unknown parameter\\(s\\)"),
    ],
)
def test_wrong_values_name_the_test_and_the_parameter(
    key: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        validate_suite_config(SuiteConfig(individual_tests_config={key: params}))


def test_unknown_tests_and_non_objects_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown test 'nope'; known tests are: "):
        validate_suite_config(SuiteConfig(individual_tests_config={"nope": {}}))
    with pytest.raises(ValueError, match=r"individual_tests_config\.auc must be an object, got list"):
        validate_suite_config(SuiteConfig(individual_tests_config={"auc": [1]}))  # type: ignore[dict-item]


def test_enabled_switches_a_test_on_and_off() -> None:
    def keys(individual: dict[str, dict[str, object]]) -> set[str]:
        config = SuiteConfig(categories=runnable_categories(), individual_tests_config=individual)
        return {p.spec.key for p in plan_tests(config, has_labels=True, has_preds=True)}

    everything = keys({})
    assert "duplicate_rows" not in everything and "feature_drift" in everything
    changed = keys({"duplicate_rows": {"enabled": True}, "feature_drift": {"enabled": False}})
    assert changed == everything - {"feature_drift"} | {"duplicate_rows"}
    assert keys({"feature_drift": {"enabled": None}}) == everything  # null: the default


def test_default_categories_are_rimes_that_the_engine_can_run() -> None:
    runnable = runnable_categories()
    assert default_stress_categories() == {c for c in STRESS_TEST_DEFAULT_CATEGORIES if c in runnable}
    assert default_stress_categories() == set(STRESS_TEST_DEFAULT_CATEGORIES)
    # Transformations and Attacks call the model: a run without one leaves them out.
    planned = plan_tests(SuiteConfig(), has_labels=True, has_preds=True)
    assert {p.spec.category for p in planned} == {
        TestCategory.MODEL_PERFORMANCE,
        TestCategory.SUBSET_PERFORMANCE,
    }
    with_model = plan_tests(SuiteConfig(), has_labels=True, has_preds=True, has_model=True)
    assert {p.spec.category for p in with_model} == default_stress_categories()
    # Bias and Fairness runs on request, when protected features are named.
    bias = SuiteConfig(categories=frozenset({TestCategory.BIAS_AND_FAIRNESS}))
    assert plan_tests(bias, has_labels=True, has_preds=True) == []
    assert {
        p.spec.key for p in plan_tests(bias, has_labels=True, has_preds=True, has_protected=True)
    } == BIAS_AND_FAIRNESS_TESTS


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, TestSensitivity.DEFAULT),
        ("", TestSensitivity.DEFAULT),
        ("TEST_SENSITIVITY_UNSPECIFIED", TestSensitivity.DEFAULT),
        ("TEST_SENSITIVITY_MORE_SENSITIVE", TestSensitivity.MORE_SENSITIVE),
        ("LESS_SENSITIVE", TestSensitivity.LESS_SENSITIVE),
    ],
)
def test_sensitivity_spellings(given: str | None, expected: TestSensitivity) -> None:
    assert parse_sensitivity(given) is expected


def test_unknown_sensitivity_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="'LOUD' is not one of TEST_SENSITIVITY_LESS_SENSITIVE, TEST_"):
        parse_sensitivity("LOUD")


def test_sensitivity_scales_thresholds() -> None:
    factors = [SuiteConfig(sensitivity=s).threshold_factor for s in TestSensitivity]
    assert dict(zip(TestSensitivity, factors, strict=True)) == {
        TestSensitivity.UNSPECIFIED: 1.0,
        TestSensitivity.LESS_SENSITIVE: 1.5,
        TestSensitivity.DEFAULT: 1.0,
        TestSensitivity.MORE_SENSITIVE: pytest.approx(2 / 3),
    }


def test_severities_order_and_speak_rimes_wire_strings() -> None:
    assert max(Severity.WARNING, Severity.ALERT, Severity.PASS) is Severity.ALERT
    assert [s.api_name for s in Severity] == [WireSeverity.PASS, WireSeverity.WARNING, WireSeverity.ALERT]
    assert [s.status for s in Severity] == [TestCaseStatus.PASS, TestCaseStatus.WARNING, TestCaseStatus.FAIL]
    assert Severity.ALERT.api_name == "SEVERITY_ALERT"
