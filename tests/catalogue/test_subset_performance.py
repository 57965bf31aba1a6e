"""Subset Performance: a degraded subset is found as its feature's worst, and nothing else is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airflow_provider_rime.local.catalogue import CATALOGUE, plan_tests
from airflow_provider_rime.local.catalogue.runner import validate_suite_config
from airflow_provider_rime.local.catalogue.types import Severity, SuiteConfig
from airflow_provider_rime.rime_api.enums import TestCategory, TestSensitivity
from tests.catalogue.helpers import build_inputs, case_for, flagged, metric, run, wide_split

SUBSET = [TestCategory.SUBSET_PERFORMANCE]


@pytest.fixture(scope="module")
def degraded_categorical():  # type: ignore[no-untyped-def]
    ref, ev = wide_split(30_000, 11, 6, 4, degrade={"feature": "cat_3", "value": "c3_v2"})
    return run(build_inputs(ref, ev, categories=SUBSET))


@pytest.mark.parametrize("test_type", ["subset_accuracy", "subset_auc"])
def test_degraded_value_is_the_worst_subset_and_alerts(degraded_categorical, test_type: str) -> None:  # type: ignore[no-untyped-def]
    batch = degraded_categorical[test_type]
    case = case_for(batch, "cat_3")
    assert case.severity is Severity.ALERT
    assert metric(case, "Worst Subset") == "cat_3 = c3_v2"
    assert "cat_3 = c3_v2" in case.explanation
    assert flagged(batch, Severity.ALERT) == {"cat_3"}
    assert batch.category is TestCategory.SUBSET_PERFORMANCE
    categories = {m["category"] for m in (x.to_api() for x in case.metrics)}
    assert {"TEST_METRIC_CATEGORY_SUBSET_DETAILS", "TEST_METRIC_CATEGORY_PERFORMANCE_DIFF"} <= categories


def test_degraded_numeric_quantile_is_the_worst_subset() -> None:
    ref, ev = wide_split(30_000, 12, 6, 2, degrade={"feature": "num_4", "quantiles": (0.8, 1.0)})
    batches = run(build_inputs(ref, ev, categories=SUBSET))
    case = case_for(batches["subset_auc"], "num_4")
    assert case.severity is Severity.ALERT
    assert str(metric(case, "Worst Subset")).startswith("num_4 >= ")
    assert flagged(batches["subset_auc"], Severity.ALERT) == {"num_4"}
    # Within a quintile of a predictive feature the AUC is lower (the feature's own spread is
    # gone): a real, standing gap, which may warn and then says so.
    for other in batches["subset_auc"].cases:
        if other.features != ["num_4"] and other.severity is Severity.WARNING:
            assert "standing weakness" in other.explanation


def test_clean_split_has_no_accuracy_or_auc_subset_alerts() -> None:
    ref, ev = wide_split(30_000, 13, 6, 4)
    batches = run(build_inputs(ref, ev, categories=SUBSET))
    for case in batches["subset_auc"].cases:  # warnings only where the reference shows the same
        assert case.severity is Severity.PASS or "standing weakness" in case.explanation
    for batch in batches.values():
        assert flagged(batch, Severity.ALERT) == set(), batch.test_type
    # Threshold metrics differ across subsets with different base rates: warned, explained as
    # standing weaknesses (the reference shows the same), never alerts on a clean split.
    fpr = batches["subset_fpr"]
    warned = [c for c in fpr.cases if c.severity is Severity.WARNING]
    assert warned and any("standing weakness" in c.explanation for c in warned)
    assert all(metric(c, "Reference Subset False Positive Rate") >= 0 for c in warned)


def test_tiny_subsets_do_not_raise_alarms() -> None:
    # Clean data, a feature with 30 values of 30 to 150 rows each: by chance some subset's
    # accuracy is far below the overall one, but the confidence check sees it is noise.
    largest_raw_gap = 0.0
    for seed in range(14, 20):
        ref, ev = wide_split(3_000, seed, 1, 5)
        batch = run(build_inputs(ref, ev, categories=SUBSET))["subset_accuracy"]
        case = case_for(batch, "cat_4")
        assert case.severity is Severity.PASS
        sizes, values = metric(case, "Subset Sizes"), metric(case, "Subset Accuracy")
        overall = metric(batch, "Overall Accuracy")
        gaps = [overall - v for n, v in zip(sizes, values, strict=True) if n >= 30]
        largest_raw_gap = max(largest_raw_gap, *gaps)
    assert largest_raw_gap > 0.1  # the alert threshold: without the check this would alarm


def test_config_and_sensitivity_are_honoured() -> None:
    ref, ev = wide_split(
        20_000, 15, 3, 1, degrade={"feature": "num_0", "quantiles": (0.0, 0.1), "strength": 0.6}
    )
    ten = run(build_inputs(ref, ev, categories=SUBSET, individual={"subset_auc": {"num_subsets": 10}}))
    names = metric(case_for(ten["subset_auc"], "num_0"), "Subsets")
    assert len([n for n in names if "missing" not in n]) == 10
    default = case_for(run(build_inputs(ref, ev, categories=SUBSET))["subset_auc"], "num_0").severity
    less, more = TestSensitivity.LESS_SENSITIVE, TestSensitivity.MORE_SENSITIVE
    lenient = case_for(
        run(build_inputs(ref, ev, categories=SUBSET, sensitivity=less))["subset_auc"], "num_0"
    ).severity
    strict = case_for(
        run(build_inputs(ref, ev, categories=SUBSET, sensitivity=more))["subset_auc"], "num_0"
    ).severity
    assert lenient <= default <= strict


def test_prediction_rate_subsets_are_off_by_default_and_need_no_labels() -> None:
    config = SuiteConfig(categories=frozenset(SUBSET))
    keys = {p.spec.key for p in plan_tests(config, has_labels=True, has_preds=True)}
    assert "subset_auc" in keys and "subset_pos_pred_rate" not in keys
    on = SuiteConfig(
        categories=frozenset(SUBSET), individual_tests_config={"subset_avg_pred": {"enabled": True}}
    )
    keys = {p.spec.key for p in plan_tests(on, has_labels=False, has_preds=True)}
    assert keys == {"subset_avg_pred"}
    ref, ev = wide_split(5_000, 16, 2, 1)
    batches = run(
        build_inputs(
            ref, ev, label=None, categories=SUBSET, individual={"subset_avg_pred": {"enabled": True}}
        )
    )
    assert set(batches) == {"subset_avg_pred"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"num_subset": 3}, "subset_auc: unknown parameter\\(s\\) num_subset; this test accepts: "),
        ({"num_subsets": 1}, "subset_auc: num_subsets must be an integer in \\[2, 100\\], got 1"),
        ({"num_subsets": 5.0}, "subset_auc: num_subsets must be an integer"),
        ({"min_frq": 0.7}, "subset_auc: min_frq must be in \\[0.0, 0.5\\], got 0.7"),
        ({"confidence_level": "high"}, "subset_auc: confidence_level must be a number"),
        ({"severity_thresholds": 0.1}, "subset_auc: severity_thresholds must be \\[warning, alert\\]"),
        ({"enabled": "yes"}, "subset_auc: enabled must be true or false"),
    ],
)
def test_parameters_are_checked_before_the_run(params: dict[str, object], message: str) -> None:
    config = SuiteConfig(individual_tests_config={"subset_auc": params})
    with pytest.raises(ValueError, match="test_suite_config.individual_tests_config." + message):
        validate_suite_config(config)
    with pytest.raises(ValueError, match=message):
        plan_tests(config, has_labels=True, has_preds=True)


def test_the_test_function_receives_typed_parameters() -> None:
    checked = validate_suite_config(
        SuiteConfig(individual_tests_config={"subset_auc": {"num_subsets": 4, "severity_thresholds": [0, 1]}})
    )
    params = checked["subset_auc"]
    assert isinstance(params, CATALOGUE["subset_auc"].params)
    assert params.num_subsets == 4  # type: ignore[attr-defined]
    assert params.severity_thresholds == (0.0, 1.0)  # type: ignore[attr-defined]
    assert params.min_frq == 0.01  # type: ignore[attr-defined]  # RIME's default


def test_sensitivity_moves_the_confidence_checks_error_rate() -> None:
    # Thresholds of ~0 at every sensitivity: what is left to differ is the confidence check's
    # error rate (x0.2 less sensitive), which a mildly degraded subset straddles (p = 0.001,
    # Bonferroni over its 5 subsets and Holm over the 4 features).
    ref, ev = wide_split(4000, 11, 2, 2, degrade={"feature": "cat_1", "value": "c1_v2", "strength": 0.2})
    individual = {"subset_accuracy": {"severity_thresholds": [1e-9, 1.0]}}
    severities = {}
    for sensitivity in (TestSensitivity.LESS_SENSITIVE, TestSensitivity.DEFAULT):
        inputs = build_inputs(ref, ev, categories=SUBSET, sensitivity=sensitivity, individual=individual)
        severities[sensitivity] = case_for(run(inputs)["subset_accuracy"], "cat_1").severity
    assert severities == {
        TestSensitivity.LESS_SENSITIVE: Severity.PASS,
        TestSensitivity.DEFAULT: Severity.WARNING,
    }


# ------------------------------------------------------------------ injected ground truth


def _accuracy_split(
    n: int, seed: int, drop: float, share: float, flip_auc: bool = False
) -> tuple[pd.DataFrame, ...]:
    """Reference and evaluation data where the model is right on 85% of the rows everywhere,
    except in the evaluation's subset ``group = g1`` (``share`` of the rows), whose accuracy is
    exactly ``drop`` lower: that many of its rows get their decision flipped."""
    rng = np.random.default_rng(seed)

    def split(degrade: float) -> pd.DataFrame:
        group = np.where(rng.random(n) < share, "g1", rng.choice(["g0", "g2", "g3"], n))
        label = (rng.random(n) < 0.5).astype(int)
        score = np.clip(rng.normal(np.where(label == 1, 0.75, 0.25), 0.15), 0.0, 1.0)
        right = (score >= 0.5) == label.astype(bool)
        # Exactly 85% right in every group, by flipping the decision on chosen rows.
        for value in ("g0", "g1", "g2", "g3"):
            rows = np.flatnonzero(group == value)
            target = round((0.85 - (degrade if value == "g1" else 0.0)) * rows.size)
            wrong, good = rows[~right[rows]], rows[right[rows]]
            need = target - good.size
            flip = wrong[:need] if need > 0 else good[:-need]
            score[flip] = 1.0 - score[flip]
        return pd.DataFrame({"group": group, "x": rng.normal(size=n), "label": label, "pred": score})

    return split(0.0), split(drop)


@pytest.mark.parametrize(
    ("drop", "share", "expected"),
    [
        (0.0, 0.2, Severity.PASS),  # nothing injected
        (0.03, 0.2, Severity.PASS),  # real but under the 0.05 that counts
        # A gap of 0.056 with a standard error of 0.009: the earlier rule (the gap's lower
        # confidence bound, 0.056 - 2.4 x 0.009, against the thresholds) passed it.
        (0.07, 0.2, Severity.WARNING),
        (0.15, 0.2, Severity.ALERT),
        # 200 of 10,000 rows (standard error 0.03): confidently worse than the whole, but its
        # fall from the reference's 0.85 is not confidently above 0.05: a warning that says so.
        (0.15, 0.02, Severity.WARNING),
        (0.05, 0.02, Severity.PASS),  # 10 rows' worth: not distinguishable from chance
    ],
)
def test_a_subset_whose_accuracy_drops_by_x(drop: float, share: float, expected: Severity) -> None:
    ref, ev = _accuracy_split(10_000, 21, drop, share)
    case = case_for(run(build_inputs(ref, ev, categories=SUBSET))["subset_accuracy"], "group")
    assert case.severity is expected
    if expected is not Severity.PASS:
        assert metric(case, "Worst Subset") == "group = g1"
        # The overall accuracy includes the subset: the gap is (1 - share) x the drop.
        assert metric(case, "Difference") == pytest.approx(drop * (1 - share), abs=0.02)
        assert metric(case, "p-value") < 0.001
        assert "standing weakness" not in case.explanation
        if share < 0.1:
            assert "too uncertain for an alert" in case.explanation


@pytest.mark.parametrize(
    ("drop", "expected"), [(0.0, Severity.PASS), (0.07, Severity.WARNING), (0.15, Severity.ALERT)]
)
def test_every_subset_metric_judges_the_same_injected_loss_alike(drop: float, expected: Severity) -> None:
    # Decisions flipped at random in a fifth of the rows, positives and negatives alike: every
    # metric of that subset moves by about the same (accuracy, AUC, precision, recall, F1, FPR
    # and FNR gaps of 0.054 to 0.057 for drop 0.07, 0.114 to 0.124 for 0.15), and every one of
    # them reaches the same verdict by the same rule.
    ref, ev = _accuracy_split(10_000, 21, drop, 0.2)
    batches = run(build_inputs(ref, ev, categories=SUBSET))
    assert len(batches) == 7
    for test_type, batch in batches.items():
        case = case_for(batch, "group")
        assert case.severity is expected, test_type
        if expected is not Severity.PASS:
            assert metric(case, "Worst Subset") == "group = g1", test_type
            assert flagged(batch) == {"group"}


def test_a_clean_feature_beside_many_subsets_does_not_warn() -> None:
    # 40 clean splits of the same model: Holm over the features and Bonferroni over the subsets
    # keep the chance-level gaps of small subsets from warning.
    warned = 0
    for seed in range(40):
        ref, ev = _accuracy_split(2_000, 100 + seed, 0.0, 0.05)
        batch = run(build_inputs(ref, ev, categories=SUBSET))["subset_accuracy"]
        warned += bool(flagged(batch))
    assert warned <= 2  # 5% per run at most, by construction; 2 of 40 leaves room for chance
