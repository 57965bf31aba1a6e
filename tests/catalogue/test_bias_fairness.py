"""Bias and Fairness on predictions with a planted group disparity, against fair ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.rime_api.enums import TestCategory
from tests.catalogue.helpers import BIAS_AND_FAIRNESS_TESTS, build_inputs, metric, run


def _frames(biased: bool, seed: int = 0, n: int = 4000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(2):
        gender = rng.choice(["f", "m"], n)
        age = rng.integers(18, 80, n).astype(float)
        income = rng.normal(50, 10, n)
        label = (rng.random(n) < 1 / (1 + np.exp(-(income - 50) / 10))).astype(int)
        score = 1 / (1 + np.exp(-((income - 50) / 10 + rng.normal(0, 0.5, n))))
        if biased:  # women's scores pushed down: fewer positive predictions, lower recall
            score = np.where(gender == "f", score * 0.6, score)
        out.append(
            pd.DataFrame({"gender": gender, "age": age, "income": income, "label": label, "pred": score})
        )
    return out[0], out[1]


def _run(biased: bool) -> dict:
    ref, ev = _frames(biased)
    inputs = build_inputs(ref, ev, categories=[TestCategory.BIAS_AND_FAIRNESS])
    inputs = dataclasses.replace(inputs, protected_features=("gender", "age"))
    return run(inputs)


@pytest.fixture(scope="module")
def biased() -> dict:
    return _run(biased=True)


@pytest.fixture(scope="module")
def fair() -> dict:
    return _run(biased=False)


def _severity(batches: dict, test: str, features: list[str]) -> Severity:
    (case,) = [c for c in batches[test].cases if c.features == features]
    return case.severity


def test_planted_disparity_is_flagged_on_the_protected_feature(biased):
    for test in ("demographic_parity", "equal_opportunity", "equalized_odds"):
        assert _severity(biased, test, ["gender"]) is Severity.ALERT, test
        assert _severity(biased, test, ["age"]) is Severity.PASS, test
    (case,) = [c for c in biased["demographic_parity"].cases if c.features == ["gender"]]
    assert metric(case, "Parity Ratio") < 0.8
    assert "(f)" in case.explanation and "(m)" in case.explanation
    pair = biased["intersectional_group_fairness"].cases
    assert [c.features for c in pair] == [["gender", "age"]] and pair[0].severity is Severity.ALERT


def test_fair_predictions_raise_nothing(fair):
    flagged = {(k, tuple(c.features)) for k, b in fair.items() for c in b.cases if c.severity > Severity.PASS}
    assert flagged == set()
    assert set(fair) == BIAS_AND_FAIRNESS_TESTS


def test_rates_are_the_groups_own(fair):
    _, ev = _frames(biased=False)
    (case,) = [c for c in fair["demographic_parity"].cases if c.features == ["gender"]]
    groups = metric(case, "Groups")
    rates = metric(case, "Group Positive Prediction Rate")
    expected = ev.groupby("gender")["pred"].apply(lambda p: float((p >= 0.5).mean()))
    assert dict(zip(groups, rates, strict=True)) == pytest.approx(expected.to_dict())


def test_under_represented_group_is_class_imbalance():
    ref, ev = _frames(biased=False)
    ev = pd.concat([ev[ev.gender == "m"], ev[ev.gender == "f"].head(100)], ignore_index=True)
    inputs = dataclasses.replace(
        build_inputs(ref, ev, categories=[TestCategory.BIAS_AND_FAIRNESS]), protected_features=("gender",)
    )
    batches = run(inputs)
    assert _severity(batches, "class_imbalance", ["gender"]) is Severity.ALERT
    assert _severity(batches, "protected_feature_drift", ["gender"]) >= Severity.WARNING
