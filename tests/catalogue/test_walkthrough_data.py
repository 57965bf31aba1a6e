"""The fraud walkthrough's real data (the ``fraud_dir`` fixture): what a reviewer should see."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.rime_api.enums import TestCategory
from tests.catalogue.helpers import ALL_CATEGORIES, build_inputs, case_for, flagged, metric, run


@pytest.fixture(scope="module")
def walkthrough(fraud_dir: Path):  # type: ignore[no-untyped-def]
    ref = pd.read_csv(fraud_dir / "fraud_ref.csv")
    ev = pd.read_csv(fraud_dir / "fraud_eval.csv")
    return run(build_inputs(ref, ev, pred="preds", categories=ALL_CATEGORIES))


def test_unseen_browser_versions_are_reported_with_their_counts(walkthrough) -> None:  # type: ignore[no-untyped-def]
    case = case_for(walkthrough["unseen_categorical"], "browser_version")
    assert case.severity >= Severity.WARNING
    assert dict(zip(metric(case, "Examples"), metric(case, "Example Counts"), strict=True)) == {
        "chrome 62.0": 150,
        "chrome 63.0": 3,
    }
    assert metric(case, "Num Failing Rows") == 153
    assert "'chrome 62.0' (150 rows)" in case.explanation and "'chrome 63.0' (3 rows)" in case.explanation
    assert flagged(walkthrough["unseen_categorical"]) == {"browser_version"}


def test_label_drift_is_reported(walkthrough) -> None:  # type: ignore[no-untyped-def]
    case = walkthrough["categorical_label_drift"].cases[0]
    assert case.severity >= Severity.WARNING
    assert metric(case, "Reference Positive Rate") == pytest.approx(0.691, abs=0.001)
    assert metric(case, "Evaluation Positive Rate") == pytest.approx(0.621, abs=0.001)
    assert "0.691" in case.explanation and "0.621" in case.explanation


def test_the_drifted_features_are_the_ones_that_moved(walkthrough) -> None:  # type: ignore[no-untyped-def]
    # city / country (the mix moved to Brazil, Paris, Rome) and browser_version (59 -> 60, 61)
    assert flagged(walkthrough["feature_drift"]) == {"city", "country", "browser_version"}
    brazil = case_for(walkthrough["feature_drift"], "country")
    assert metric(brazil, "Most Grown Region") == "BRA"
    assert metric(brazil, "Expected Accuracy Change") < 0  # the model is weaker where the data went
    assert walkthrough["prediction_drift"].severity is Severity.ALERT


def test_rare_browser_version_and_weak_subsets(walkthrough) -> None:  # type: ignore[no-untyped-def]
    rare = case_for(walkthrough["rare_categories"], "browser_version")
    assert metric(rare, "Examples") == ["chrome 61.0"] and metric(rare, "Num Failing Rows") == 2189
    worst = case_for(walkthrough["subset_auc"], "country")
    assert metric(worst, "Worst Subset") == "country = BRA"


def test_clean_data_tests_pass_on_the_walkthrough(walkthrough) -> None:  # type: ignore[no-untyped-def]
    cleanliness = [b for b in walkthrough.values() if b.category is TestCategory.DATA_CLEANLINESS]
    assert cleanliness and all(b.severity is Severity.PASS for b in cleanliness)
