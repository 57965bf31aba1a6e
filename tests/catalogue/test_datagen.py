"""The generators: schema, determinism, and that each switch injects exactly what it says."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from rime_dev.datagen import (
    generate_fraud,
    generate_wide,
    injected_counts,
    reference_and_evaluation,
)

# The walkthrough's schema, in its order.
FRAUD_COLUMNS = [
    *("category", "card_type", "card_company", "transaction_amount"),
    *("city", "browser_version", "country", "timestamp", "label", "pred"),
]


def test_fraud_schema_and_realism() -> None:
    df = generate_fraud(20_000, seed=1)
    assert list(df.columns) == FRAUD_COLUMNS
    assert df["timestamp"].map(lambda s: bool(re.fullmatch(r"2018-08-\d\d", s))).all()
    assert df["timestamp"].min() == "2018-08-01" and df["timestamp"].max() == "2018-08-29"
    assert 0.64 < df["label"].mean() < 0.74  # the walkthrough's reference fraud rate is 0.69
    assert 0.6 < roc_auc_score(df["label"], df["pred"]) < 0.9  # informative, not perfect
    assert df["pred"].between(0, 1).all()
    for column, share in (("category", 0.14), ("card_type", 0.18), ("card_company", 0.03)):
        assert abs(df[column].isna().mean() - share) < 0.015
    assert df[["transaction_amount", "city", "browser_version", "country"]].notna().all().all()
    city_country = df.groupby("city")["country"].nunique()
    assert (city_country == 1).all()
    assert "pred" not in generate_fraud(10, with_pred=False).columns


def test_wide_schema() -> None:
    df = generate_wide(5_000, n_numeric=4, n_categorical=3, seed=2)
    assert list(df.columns) == [
        "num_0",
        "num_1",
        "num_2",
        "num_3",
        "cat_0",
        "cat_1",
        "cat_2",
        "label",
        "pred",
    ]
    assert df["num_2"].between(0, 10).all()  # the uniform column that takes injected outliers
    assert (df["num_3"] == df["num_3"].round()).all()  # Poisson: integers
    assert roc_auc_score(df["label"], df["pred"]) > 0.75


def test_seeded_and_deterministic() -> None:
    pd.testing.assert_frame_equal(generate_wide(1_000, seed=5), generate_wide(1_000, seed=5))
    assert not generate_wide(1_000, seed=5).equals(generate_wide(1_000, seed=6))
    ref, ev = reference_and_evaluation(generate_fraud, 500, seed=3, n_eval=700)
    pd.testing.assert_frame_equal(ref, generate_fraud(500, seed=3))
    assert len(ev) == 700


def test_abnormal_counts_are_exact() -> None:
    abnormal = {
        "outliers": 0.01,
        "unseen": 0.02,
        "nulls": 0.005,
        "empty_strings": 0.003,
        "capitalization": 0.004,
    }
    df = generate_wide(10_000, seed=0, abnormal=abnormal)
    expected = injected_counts(10_000, abnormal, schema="wide")
    assert df.attrs["injected"] == expected
    assert expected["outliers"] == {"column": "num_2", "count": 100}
    assert int((df["num_2"] > 10).sum()) == 100
    assert int(df["cat_0"].str.startswith("unseen_").sum()) == 200
    assert int(df["num_1"].isna().sum()) == 50
    assert int((df["cat_1"] == "").sum()) == 30
    assert int(df["cat_2"].str.isupper().sum()) == 40


def test_abnormal_column_override_and_fraud_defaults() -> None:
    df = generate_fraud(4_000, seed=0, abnormal={"unseen:city": 0.01, "nulls": 0.005})
    assert df.attrs["injected"] == {
        "unseen": {"column": "city", "count": 40},
        "nulls": {"column": "transaction_amount", "count": 20},
    }
    assert int(df["city"].str.startswith("unseen_").sum()) == 40
    assert int(df["transaction_amount"].isna().sum()) == 20


def test_drift_moves_exactly_the_chosen_columns() -> None:
    base = generate_wide(40_000, seed=1)
    drifted = generate_wide(40_000, seed=1, drift={"num_0": 0.5, "cat_1": 0.3})
    # num_0 is N(0, 1): +0.5 std
    assert abs((drifted["num_0"].mean() - base["num_0"].mean()) - 0.5) < 0.03
    mix = drifted["cat_1"].value_counts(normalize=True)
    assert abs(mix.max() - base["cat_1"].value_counts(normalize=True).max()) > 0.05
    for column in ("num_3", "num_5"):
        assert abs(drifted[column].mean() - base[column].mean()) < 0.1
    for column in ("cat_0", "cat_3"):
        before = base[column].value_counts(normalize=True)
        after = drifted[column].value_counts(normalize=True).reindex(before.index)
        assert (after - before).abs().max() < 0.02


def test_label_drift_shifts_the_rate_not_the_predictions() -> None:
    base = generate_fraud(40_000, seed=2)
    shifted = generate_fraud(40_000, seed=2, drift={"label": -0.35})
    assert base["label"].mean() - shifted["label"].mean() > 0.05
    np.testing.assert_allclose(base["pred"], shifted["pred"])


def test_degrade_breaks_the_model_only_in_the_subset() -> None:
    df = generate_wide(40_000, seed=3, degrade={"feature": "cat_0", "value": "c0_v1"})
    inside = df["cat_0"] == "c0_v1"
    assert abs(roc_auc_score(df["label"][inside], df["pred"][inside]) - 0.5) < 0.05
    assert roc_auc_score(df["label"][~inside], df["pred"][~inside]) > 0.8
    top = generate_wide(40_000, seed=3, degrade={"feature": "num_4", "quantiles": (0.8, 1.0), "mode": "flip"})
    rows = top["num_4"] >= top["num_4"].quantile(0.8)
    assert roc_auc_score(top["label"][rows], top["pred"][rows]) < 0.3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drift": {"nope": 1.0}}, "drift: unknown column"),
        ({"drift": {"cat_0": 2.0}}, "share of rows in \\[0, 1\\]"),
        ({"abnormal": {"weird": 0.1}}, "unknown kind 'weird'"),
        ({"abnormal": {"outliers": 1.5}}, "abnormal\\['outliers'\\]"),
        ({"abnormal": {"outliers:cat_0": 0.1}}, "needs a numeric column"),
        ({"degrade": {"feature": "zzz", "value": "a"}}, "degrade\\['feature'\\]"),
        ({"degrade": {"feature": "num_0"}}, "needs 'value', 'values', 'quantiles' or 'range'"),
        ({"degrade": {"feature": "num_0", "range": (0, 1), "mode": "x"}}, "degrade\\['mode'\\]"),
    ],
)
def test_invalid_switches_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_wide(100, **kwargs)  # type: ignore[arg-type]


def test_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="n_rows"):
        generate_fraud(0)
    with pytest.raises(ValueError, match="days"):
        generate_fraud(10, days=0)
