"""Data Cleanliness: leakage, redundant features, imbalance, missing and duplicate data."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.rime_api.enums import TestCategory
from rime_dev.datagen import generate_fraud, reference_and_evaluation
from tests.catalogue.helpers import build_inputs, case_for, flagged, metric, run, wide_split

CLEAN = [TestCategory.DATA_CLEANLINESS]


def test_leaked_label_is_flagged_and_real_features_are_not() -> None:
    ref, ev = wide_split(10_000, 41, 4, 2)
    rng = np.random.default_rng(0)
    ref = ref.assign(
        leak=ref["label"] * 10 + rng.normal(0, 1, len(ref)),
        near=ref["num_0"] * 2 + 1,
        verdict=np.where(ref["label"] == 1, "fraud", "ok"),  # a categorical leak
        row_id=[f"tx-{i}" for i in range(len(ref))],  # unique per row: not leakage
    )
    ev = ev.assign(
        leak=ev["label"] * 10,
        near=ev["num_0"] * 2 + 1,
        verdict=np.where(ev["label"] == 1, "fraud", "ok"),
        row_id=[f"tx-{i}" for i in range(len(ev))],
    )
    batches = run(build_inputs(ref, ev, categories=CLEAN))
    assert flagged(batches["high_mi_feature_to_label"]) == {"leak", "verdict"}
    assert case_for(batches["high_mi_feature_to_label"], "leak").severity is Severity.ALERT
    assert flagged(batches["high_feature_correlation"]) == {"near", "num_0"}
    case = case_for(batches["high_feature_correlation"], "near")
    assert metric(case, "Most Correlated Feature") == "num_0"
    assert metric(case, "Correlation") == pytest.approx(1.0)


def test_clean_data_passes() -> None:
    ref, ev = reference_and_evaluation(generate_fraud, 10_000, seed=42)
    batches = run(build_inputs(ref, ev, categories=CLEAN, individual={"duplicate_rows": {"enabled": True}}))
    assert {t: flagged(b) for t, b in batches.items() if b.severity > Severity.PASS} == {}


def test_label_imbalance() -> None:
    ref, ev = wide_split(10_000, 43, 2, 1)
    rare = ref.copy()
    rare["label"] = (np.arange(len(rare)) % 200 == 0).astype(int)  # 0.5% positives
    case = run(build_inputs(rare, ev, categories=CLEAN))["label_imbalance"].cases[0]
    assert case.severity is Severity.ALERT
    assert metric(case, "Minority Class Share") == pytest.approx(0.005)
    balanced = run(build_inputs(ref, ev, categories=CLEAN))["label_imbalance"].cases[0]
    assert balanced.severity is Severity.PASS


def test_required_features() -> None:
    ref, ev = reference_and_evaluation(generate_fraud, 2_000, seed=44)
    ev = ev.drop(columns=["city"]).assign(card_company=None)
    batch = run(build_inputs(ref, ev, categories=CLEAN))["required_features"]
    assert flagged(batch, Severity.ALERT) == {"city", "card_company"}
    assert "missing from the evaluation data" in case_for(batch, "city").explanation
    only = run(
        build_inputs(
            ref, ev, categories=CLEAN, individual={"required_features": {"required_features": ["country"]}}
        )
    )["required_features"]
    assert [c.features for c in only.cases] == [["country"]] and only.severity is Severity.PASS


def test_duplicate_rows_are_counted() -> None:
    ref, ev = wide_split(2_000, 45, 2, 1)
    ev = ev.copy()
    ev.iloc[1000:1100] = ev.iloc[:100].to_numpy()  # 100 duplicates of earlier rows
    batches = run(build_inputs(ref, ev, categories=CLEAN, individual={"duplicate_rows": {"enabled": True}}))
    cases = batches["duplicate_rows"].cases
    assert [metric(c, "Duplicate Rows") for c in cases] == [0, 100]
    assert cases[1].severity is Severity.ALERT  # 5% of rows
    assert "duplicate_rows" not in run(build_inputs(ref, ev, categories=CLEAN))
