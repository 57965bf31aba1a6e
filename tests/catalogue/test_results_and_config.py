"""Every test's results in RIME's shapes; the suite config honoured across categories."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from airflow_provider_rime.local.catalogue import CATALOGUE, plan_tests
from airflow_provider_rime.local.catalogue.runner import validate_suite_config
from airflow_provider_rime.local.catalogue.types import Severity, SuiteConfig
from airflow_provider_rime.rime_api.enums import TestCategory
from rime_dev.datagen import generate_fraud, reference_and_evaluation
from tests.catalogue.helpers import ALL_CATEGORIES, DATA_CATEGORIES, build_inputs, flagged, run, wide_split

MINE = {
    TestCategory.SUBSET_PERFORMANCE,
    TestCategory.DRIFT,
    TestCategory.ABNORMAL_INPUTS,
    TestCategory.DATA_CLEANLINESS,
}


@pytest.fixture(scope="module")
def everything():  # type: ignore[no-untyped-def]
    ref, ev = reference_and_evaluation(
        generate_fraud,
        8_000,
        seed=51,
        drift={"city": 1.0},
        abnormal={"unseen": 0.01, "outliers": 0.005},
        degrade={"feature": "category", "value": "Food"},
    )
    # a second numeric feature, so that high_feature_correlation applies
    ref = ref.assign(items=ref.index % 7)
    ev = ev.assign(items=ev.index % 7)
    enable_all = {key: {"enabled": True} for key, spec in CATALOGUE.items() if not spec.enabled_by_default}
    return run(build_inputs(ref, ev, categories=ALL_CATEGORIES, individual=enable_all))


def test_every_registered_test_of_mine_ran(everything) -> None:  # type: ignore[no-untyped-def]
    expected = {key for key, spec in CATALOGUE.items() if spec.category in MINE}
    assert expected <= set(everything)
    assert len(expected) >= 25


def test_results_have_rime_shapes(everything) -> None:  # type: ignore[no-untyped-def]
    for batch in everything.values():
        if batch.category not in MINE:
            continue
        assert batch.cases, batch.test_type
        json.dumps([m.to_api() for m in batch.metrics])
        counts = batch.summary_counts()
        assert counts["total"] == len(batch.cases)
        for case in batch.cases:
            assert case.status.startswith("TEST_CASE_STATUS_")
            assert case.explanation.endswith(".") and len(case.explanation) > 20, case.explanation
            assert case.importance >= 0
            assert all(isinstance(f, str) for f in case.features)
            json.dumps([m.to_api() for m in case.metrics])


def test_findings_across_categories(everything) -> None:  # type: ignore[no-untyped-def]
    assert {"city", "country"} <= flagged(everything["feature_drift"])
    assert flagged(everything["unseen_categorical"]) == {"browser_version"}
    assert "category" in flagged(everything["subset_auc"], Severity.ALERT)


def test_clean_split_raises_no_data_alerts() -> None:
    ref, ev = wide_split(30_000, 52, 8, 5)
    batches = run(build_inputs(ref, ev, categories=DATA_CATEGORIES))
    assert {t: flagged(b) for t, b in batches.items() if b.severity > Severity.PASS} == {}


def test_global_exclude_columns_and_categorical_override() -> None:
    ref, ev = wide_split(5_000, 53, 3, 1, drift={"num_0": 1.0})
    batches = run(build_inputs(ref, ev, categories=[TestCategory.DRIFT], exclude=("num_0",)))
    assert all("num_0" not in c.features for b in batches.values() for c in b.cases)
    # num_2 declared categorical: its values are categories, so nearly all are "unseen"
    ref2, ev2 = wide_split(2_000, 54, 3, 1)
    inputs = build_inputs(ref2, ev2, categories=[TestCategory.ABNORMAL_INPUTS], categorical=["num_2"])
    assert inputs.features["num_2"].is_categorical
    assert "num_2" in flagged(run(inputs)["unseen_categorical"])


def test_selecting_categories_and_unknown_tests() -> None:
    config = SuiteConfig(categories=frozenset({TestCategory.DRIFT}))
    planned = plan_tests(config, has_labels=False, has_preds=False)
    assert {p.spec.key for p in planned} == {"feature_drift", "null_proportion", "correlation_feat_drift"}
    with pytest.raises(ValueError, match="unknown test 'feature_drfit'"):
        validate_suite_config(SuiteConfig(individual_tests_config={"feature_drfit": {}}))
    with pytest.raises(ValueError, match="feature_drift: unknown parameter"):
        validate_suite_config(
            SuiteConfig(individual_tests_config={"feature_drift": {"psi_threshold": [1, 2]}})
        )


def _edge_cases() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    ref, ev = wide_split(500, 55, 3, 2)
    tiny_ref, tiny_ev = reference_and_evaluation(generate_fraud, 5, seed=56)
    return {
        "five rows": (tiny_ref, tiny_ev),
        "one evaluation row": (ref, ev.iloc[:1]),
        "feature entirely null in evaluation": (ref, ev.assign(num_0=np.nan, cat_0=None)),
        "feature entirely null in reference": (ref.assign(num_2=np.nan), ev),
        "constant feature": (ref.assign(num_1=1.0), ev.assign(num_1=1.0)),
        "one label class": (ref.assign(label=1), ev.assign(label=1)),
    }


@pytest.mark.parametrize("case", list(_edge_cases()))
def test_degenerate_data_gives_results_not_errors(case: str) -> None:
    ref, ev = _edge_cases()[case]
    enable_all = {key: {"enabled": True} for key, spec in CATALOGUE.items() if not spec.enabled_by_default}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning leaks out of a test either
        batches = run(build_inputs(ref, ev, categories=ALL_CATEGORIES, individual=enable_all))
    assert len(batches) > 30
    for batch in batches.values():
        json.dumps([m.to_api() for c in batch.cases for m in c.metrics])
