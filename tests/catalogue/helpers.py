"""Building ``StressInputs`` from generated or real frames, the way the engine does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from airflow_provider_rime.local.catalogue import plan_tests, run_tests, runnable_categories
from airflow_provider_rime.local.catalogue.features import infer_features
from airflow_provider_rime.local.catalogue.types import Severity, StressInputs, SuiteConfig, TestBatch
from airflow_provider_rime.rime_api.enums import TestCategory, TestSensitivity
from rime_dev.datagen import generate_wide, reference_and_evaluation

DATA_CATEGORIES = frozenset({TestCategory.DRIFT, TestCategory.ABNORMAL_INPUTS, TestCategory.DATA_CLEANLINESS})
ALL_CATEGORIES = runnable_categories()
#: The Bias and Fairness tests the catalogue implements (RIME has more; see the module).
BIAS_AND_FAIRNESS_TESTS = frozenset(
    {
        "demographic_parity",
        "intersectional_group_fairness",
        "equal_opportunity",
        "predictive_equality",
        "equalized_odds",
        "class_imbalance",
        "protected_feature_drift",
    }
)


def build_inputs(
    ref: pd.DataFrame,
    ev: pd.DataFrame,
    *,
    label: str | None = "label",
    pred: str | None = "pred",
    categories: Iterable[TestCategory] | None = None,
    individual: dict[str, dict[str, object]] | None = None,
    sensitivity: TestSensitivity = TestSensitivity.DEFAULT,
    exclude: Sequence[str] = ("timestamp",),
    categorical: Sequence[str] = (),
) -> StressInputs:
    non_features = {c for c in (label, pred) if c} | set(exclude)
    ref_x = ref[[c for c in ref.columns if c not in non_features]]
    ev_x = ev[[c for c in ev.columns if c not in non_features]]
    shared = [c for c in ref_x.columns if c in set(ev_x.columns)]
    config = SuiteConfig(
        sensitivity=sensitivity,
        individual_tests_config=individual or {},
        exclude_columns=frozenset(exclude),
        categories=frozenset(categories) if categories is not None else None,
    )
    return StressInputs(
        ref=ref_x,
        eval=ev_x,
        features=infer_features(ref_x[shared], categorical),
        ref_labels=ref[label].to_numpy() if label else None,
        eval_labels=ev[label].to_numpy() if label else None,
        ref_preds=ref[pred].to_numpy(dtype=float) if pred else None,
        eval_preds=ev[pred].to_numpy(dtype=float) if pred else None,
        config=config,
    )


def run(inputs: StressInputs) -> dict[str, TestBatch]:
    planned = plan_tests(
        inputs.config,
        has_labels=inputs.has_labels,
        has_preds=inputs.has_preds,
        has_model=inputs.has_model,
        has_protected=bool(inputs.protected_features),
    )
    return {b.test_type: b for b in run_tests(inputs, planned)}


def flagged(batch: TestBatch, at_least: Severity = Severity.WARNING) -> set[str]:
    """Features of the batch's cases at or above ``at_least``."""
    return {f for c in batch.cases if not c.skipped and c.severity >= at_least for f in c.features}


def case_for(batch: TestBatch, feature: str):  # type: ignore[no-untyped-def]
    matches = [c for c in batch.cases if c.features and c.features[0] == feature]
    assert len(matches) == 1, f"{batch.test_type}: expected one case for {feature}, got {len(matches)}"
    return matches[0]


def metric(case_or_batch, name: str):  # type: ignore[no-untyped-def]
    for m in case_or_batch.metrics:
        if m.name == name:
            return m.value
    raise KeyError(f"no metric {name!r} in {[m.name for m in case_or_batch.metrics]}")


def wide_split(
    n_rows: int, seed: int, n_numeric: int, n_categorical: int, **eval_kwargs: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and an evaluation split of :func:`~rime_dev.datagen.generate_wide` frames with
    ``n_numeric`` numeric and ``n_categorical`` categorical columns; ``eval_kwargs`` (``drift=``,
    ``degrade=``, ``abnormal=``, ...) change the evaluation split."""
    return reference_and_evaluation(
        generate_wide, n_rows, seed=seed, n_numeric=n_numeric, n_categorical=n_categorical, **eval_kwargs
    )
