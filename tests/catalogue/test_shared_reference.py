"""The bins of a continuous test share the reference side of every test: same results as
separate runs, and the reference work is done once."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_provider_rime.local.catalogue import plan_tests, stats
from airflow_provider_rime.local.catalogue.types import RunCache, StressInputs, TestBatch
from airflow_provider_rime.local.jobs.continuous import test_bin as run_bin
from airflow_provider_rime.local.render import CONTINUOUS_TEST_CATEGORIES
from tests.catalogue.helpers import build_inputs, wide_split


def _plain(value: Any) -> Any:
    """Comparable form: nan equals nan."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _batches(batches: list[TestBatch]) -> list[Any]:
    return [
        (
            b.test_type,
            [
                (
                    c.features,
                    c.severity,
                    c.explanation,
                    c.skipped,
                    _plain([(m.name, m.value) for m in c.metrics]),
                )
                for c in b.cases
            ],
            _plain([(m.name, m.value) for m in b.metrics]),
        )
        for b in batches
    ]


def test_bins_sharing_the_reference_get_the_results_of_separate_runs() -> None:
    ref, ev = wide_split(
        6000,
        3,
        6,
        4,
        drift={"num_0": 0.5, "cat_0": 0.3},
        degrade={"feature": "cat_1", "values": ["c1_v0"], "strength": 0.5},
        abnormal={"unseen": 0.01, "outliers": 0.01},
    )
    inputs = build_inputs(ref, ev, categories=CONTINUOUS_TEST_CATEGORIES)
    planned = plan_tests(inputs.config, has_labels=True, has_preds=True)
    day = np.random.default_rng(0).integers(0, 3, len(ev))
    for d in range(3):
        rows = np.flatnonzero(day == d)
        _, shared, shared_readings = run_bin(inputs, rows, planned)
        alone = build_inputs(ref, ev.iloc[rows].reset_index(drop=True), categories=CONTINUOUS_TEST_CATEGORIES)
        _, separate, separate_readings = run_bin(alone, np.arange(len(rows)), planned)
        assert len(shared) > 20
        assert _batches(shared) == _batches(separate)
        assert {k: _plain([r.value, r.severity, r.features]) for k, r in shared_readings.items()} == {
            k: _plain([r.value, r.severity, r.features]) for k, r in separate_readings.items()
        }


def test_reference_entries_are_built_once_for_every_evaluation() -> None:
    built: list[str] = []

    def build(what: str) -> str:
        built.append(what)
        return what

    first = RunCache()
    second = first.for_new_evaluation()
    for cache in (first, second, second):
        assert cache.reference("edges", lambda: build("reference")) == "reference"
        assert cache.split(("codes",), "ref", lambda: build("ref split")) == "ref split"
        assert cache.split(("codes",), "eval", lambda: build("eval split")) == "eval split"
    # The evaluation entry is built once per cache (one per bin), the reference ones once.
    assert built == ["reference", "ref split", "eval split", "eval split"]


@pytest.mark.parametrize(
    ("ref_values", "eval_values"),
    [
        (["a", "b", None, "a"], ["c", "b", "a", None, "d", "c"]),  # new levels, nulls
        ([1, 2, 2, 3], [3, 4, 1]),  # integers
        ([1, 2, 2, 3], [3.0, 4.5, float("nan")]),  # unlike dtypes: coded together
        ([True, False], [False, False]),
    ],
)
def test_categorical_codes_match_coding_both_splits_together(
    ref_values: list[Any], eval_values: list[Any]
) -> None:
    ref, ev = pd.Series(ref_values), pd.Series(eval_values)
    inputs = StressInputs(
        ref=pd.DataFrame({"x": ref}),
        eval=pd.DataFrame({"x": ev}),
        features={},
        ref_labels=None,
        eval_labels=None,
        ref_preds=None,
        eval_preds=None,
    )
    both = pd.concat([ref, ev], ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    codes[codes < 0] = len(uniques)
    for _ in range(2):  # the second bin reads the reference's coding from the shared store
        col = stats.categorical_column(inputs, "x")
        assert col.levels == list(uniques)
        assert col.ref_codes.tolist() == codes[: len(ref)].tolist()
        assert col.eval_codes.tolist() == codes[len(ref) :].tolist()
        inputs = dataclasses.replace(inputs, cache=inputs.cache.for_new_evaluation())


@pytest.mark.parametrize("distinct", [500, None])
def test_group_auc_through_rows_equals_the_table(distinct: int | None) -> None:
    rng = np.random.default_rng(5)
    n, n_groups = 3000, 30
    p = rng.random(n) if distinct is None else rng.integers(0, distinct, n) / distinct
    y = (rng.random(n) < p).astype(np.int8)
    groups = rng.integers(0, n_groups, n).astype(np.int16)
    inputs = StressInputs(pd.DataFrame(), pd.DataFrame(), {}, y, y, p, p)
    codes = stats.prediction_codes(inputs)
    assert codes.order is not None and n < n_groups * codes.n_codes  # the row path
    by_rows = stats.group_auc(groups, n_groups, y, codes)
    by_table = stats.group_auc(groups, n_groups, y, dataclasses.replace(codes, order=None))
    for got, want in zip(by_rows, by_table, strict=True):
        np.testing.assert_array_equal(got, want)
    assert np.isfinite(by_rows[0]).all()
