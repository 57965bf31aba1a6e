"""The vectorised building blocks against their textbook definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, norm
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mutual_info_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from airflow_provider_rime.local.catalogue import metrics, stats
from airflow_provider_rime.local.catalogue.features import infer_features
from airflow_provider_rime.local.catalogue.types import StressInputs


def _inputs(ref: pd.DataFrame, ev: pd.DataFrame, preds: np.ndarray | None = None) -> StressInputs:
    return StressInputs(ref, ev, infer_features(ref), None, None, None, preds)


@pytest.mark.parametrize("rounding", [None, 100, 2])
def test_metrics_auc_matches_sklearn(rounding: int | None) -> None:
    rng = np.random.default_rng(0)
    p = rng.random(5_000)
    if rounding:
        p = np.round(p * rounding) / rounding  # ties
    y = (rng.random(5_000) < p).astype(int)
    assert metrics.auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def _rates(y: np.ndarray, yhat: np.ndarray) -> tuple[float, float]:
    tn, fp, fn, tp = confusion_matrix(y, yhat, labels=[0, 1]).ravel()
    return fp / (fp + tn), fn / (fn + tp)


SKLEARN_COUNT_METRICS = {
    "accuracy": accuracy_score,
    "precision": lambda y, yhat: precision_score(y, yhat, zero_division=np.nan),
    "recall": lambda y, yhat: recall_score(y, yhat, zero_division=np.nan),
    "f1": lambda y, yhat: f1_score(y, yhat, zero_division=np.nan),
    "fpr": lambda y, yhat: _rates(y, yhat)[0],
    "fnr": lambda y, yhat: _rates(y, yhat)[1],
}


# Labels and predictions where each metric's denominator is empty.
UNDEFINED = {
    "accuracy": ([], []),  # no rows
    "precision": ([0, 1], [0.1, 0.2]),  # nothing predicted positive
    "recall": ([0, 0], [0.9, 0.1]),  # no positives
    "f1": ([0, 0], [0.1, 0.2]),  # neither
    "fpr": ([1, 1], [0.9, 0.1]),  # no negatives
    "fnr": ([0, 0], [0.9, 0.1]),  # no positives
}


@pytest.mark.parametrize("key", sorted(SKLEARN_COUNT_METRICS))
def test_confusion_count_metrics_match_sklearn_and_document_their_formula(key: str) -> None:
    rng = np.random.default_rng(3)
    p = rng.random(2_000)
    y = (rng.random(2_000) < p).astype(int)
    metric = metrics.METRICS_BY_KEY[key]
    for threshold in (0.3, 0.5, 0.8):
        expected = SKLEARN_COUNT_METRICS[key](y, (p >= threshold).astype(int))
        assert metric(y, p, threshold) == pytest.approx(expected, abs=1e-12)
    y_none, p_none = UNDEFINED[key]
    assert np.isnan(metric(np.array(y_none, dtype=int), np.array(p_none, dtype=float)))
    # the docstring's formula is the one computed, and names when the metric is undefined
    assert getattr(metrics, metric.func.__name__) is metric.func
    _, denominator, _ = metrics._COUNT_RATIOS[metric.func.__name__]
    assert f"/ ({denominator})``" in (metric.func.__doc__ or "")
    assert f"``nan`` when ``{denominator} = 0``" in (metric.func.__doc__ or "")


def test_group_auc_exact_and_binned() -> None:
    rng = np.random.default_rng(1)
    n = 60_000
    groups = rng.integers(0, 7, n)
    p = np.round(rng.random(n), 3)  # 1001 distinct values: exact ranks
    y = (rng.random(n) < np.clip(p + 0.2 * (groups == 3), 0, 1)).astype(int)
    inputs = _inputs(pd.DataFrame({"x": np.zeros(n)}), pd.DataFrame({"x": np.zeros(n)}), p)
    codes = stats.prediction_codes(inputs)
    assert codes.exact
    auc, bound = stats.group_auc(groups, 7, y, codes)
    for g in range(7):
        m = groups == g
        assert auc[g] == pytest.approx(roc_auc_score(y[m], p[m]), abs=1e-12)
    assert (bound == 0).all()

    p2 = rng.random(n)  # all distinct: more than AUC_MAX_BINS values, binned ranks
    y2 = (rng.random(n) < p2).astype(int)
    binned = stats.prediction_codes(_inputs(pd.DataFrame({"x": [0.0]}), pd.DataFrame({"x": [0.0]}), p2))
    assert not binned.exact and binned.n_codes == stats.AUC_MAX_BINS
    auc2, bound2 = stats.group_auc(groups, 7, y2, binned)
    for g in range(7):
        m = groups == g
        assert abs(auc2[g] - roc_auc_score(y2[m], p2[m])) <= bound2[g] + 1e-12
        assert bound2[g] < 1e-3


def test_group_auc_undefined_without_both_classes() -> None:
    p = np.array([0.1, 0.4, 0.35, 0.8])
    inputs = _inputs(pd.DataFrame({"x": [0.0]}), pd.DataFrame({"x": [0.0]}), p)
    auc, _ = stats.group_auc(
        np.array([0, 0, 1, 1]), 2, np.array([0, 1, 1, 1]), stats.prediction_codes(inputs)
    )
    assert auc[0] == 1.0 and np.isnan(auc[1])


def test_distances() -> None:
    a = np.array([100, 200, 300, 400])
    assert stats.psi(a, a) == pytest.approx(0.0)
    assert stats.js(a, a) == pytest.approx(0.0)
    assert stats.js(np.array([10, 0]), np.array([0, 10])) == pytest.approx(1.0)
    b = np.array([400, 300, 200, 100])
    r, e = a / a.sum(), b / b.sum()
    assert stats.psi(a * 1000, b * 1000) == pytest.approx(np.sum((e - r) * np.log(e / r)), rel=1e-3)
    assert stats.kl(a * 1000, b * 1000) == pytest.approx(np.sum(e * np.log(e / r)), rel=1e-3)
    assert np.isfinite(stats.psi(np.array([10, 0]), np.array([5, 5])))  # empty bin: pseudo-count


def test_mutual_information_against_sklearn_and_bias_correction() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 5, 50_000)
    y = (rng.random(50_000) < 0.2 + 0.1 * x).astype(int)
    mi = stats.mutual_information_bits(x, 5, y)
    assert mi == pytest.approx(mutual_info_score(x, y) / np.log(2), abs=2e-4)
    # 2,000 random values of an ID-like column: the plug-in estimate is biased up, corrected to ~0.
    ids = rng.integers(0, 2_000, 20_000)
    noise = rng.integers(0, 2, 20_000)
    assert mutual_info_score(ids, noise) / np.log(2) > 0.05
    assert stats.mutual_information_bits(ids, 2_000, noise) < 0.01


def test_quantile_bins_derived_from_percentiles_match_direct_binning() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.lognormal(size=30_000), "k": rng.poisson(3, 30_000).astype(float)})
    ev = pd.DataFrame({"x": rng.lognormal(size=20_000), "k": rng.poisson(3, 20_000).astype(float)})
    ev.loc[:9, "x"] = np.nan
    inputs = _inputs(ref, ev)
    for name in ("x", "k"):
        for n_bins in (5, 10):
            bins = stats.quantile_bins(inputs, name, n_bins)
            values = ev[name].to_numpy()
            direct = np.searchsorted(bins.edges, values, side="right")
            direct[np.isnan(values)] = bins.n_bins
            np.testing.assert_array_equal(bins.eval, direct)
            assert len(bins.labels) == bins.n_bins + 1
    x10 = stats.quantile_bins(inputs, "x", 10)
    shares = x10.counts("ref")[:-1] / len(ref)
    assert np.allclose(shares, 0.1, atol=0.01)
    assert x10.counts("eval")[-1] == 10  # nulls in their own bin
    assert stats.quantile_bins(inputs, "k", 10).n_bins < 10  # ties merge bins of an integer column


def test_categorical_column_codes_union_and_nulls() -> None:
    ref = pd.DataFrame({"c": ["a", "b", None, "a"]})
    ev = pd.DataFrame({"c": ["b", "z", "z", None, None]})
    col = stats.categorical_column(_inputs(ref, ev), "c")
    assert col.levels == ["a", "b", "z"]
    assert col.ref_counts.tolist() == [2, 1, 0, 1]
    assert col.eval_counts.tolist() == [0, 1, 2, 2]
    assert col.rows_with_levels(np.array([False, False, True])).tolist() == [False, True, True, False, False]


def test_cache_is_per_inputs() -> None:
    ref = pd.DataFrame({"x": np.arange(200.0)})
    a = _inputs(ref, ref.copy())
    b = _inputs(ref, ref + 1000)
    assert stats.quantile_bins(a, "x", 10).eval.min() == 0
    assert (stats.quantile_bins(b, "x", 10).eval == 9).all()
    assert stats.quantile_bins(a, "x", 10) is stats.quantile_bins(a, "x", 10)


def test_fisher_z_pvalue_matches_the_formula_elementwise() -> None:
    r1, r2 = np.array([0.1, 0.5, -0.3, 1.0]), np.array([0.1, 0.3, 0.2, 0.9])
    p = stats.fisher_z_pvalue(r1, 500, r2, 800)
    se = np.sqrt(1 / 497 + 1 / 797)
    for a, b, got in zip(r1, r2, p, strict=True):
        z = (np.arctanh(min(b, 0.999999)) - np.arctanh(min(a, 0.999999))) / se
        assert got == pytest.approx(2 * norm.sf(abs(z)), rel=1e-12)
    assert p[0] == 1.0
    assert float(stats.fisher_z_pvalue(0.5, 500, 0.3, 800)) == p[1]  # scalars as arrays


def test_rank_label_correlation_is_pearson_over_non_null_rows() -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 11, 5_000)  # 10 ranks, code 10 = null
    y = (rng.random(5_000) < 0.2 + 0.05 * np.minimum(codes, 9)).astype(int)
    r, n = stats.rank_label_correlation(codes, 10, y)
    valid = codes < 10
    assert n == valid.sum()
    assert r == pytest.approx(np.corrcoef(codes[valid], y[valid])[0, 1], abs=1e-12)
    assert np.isnan(stats.rank_label_correlation(codes, 10, np.zeros(5_000))[0])  # constant label


def test_two_proportion_pvalues() -> None:
    k1, n1, k2, n2 = 30, 1_000, 55, 1_200
    pooled = (k1 + k2) / (n1 + n2)
    z = (k2 / n2 - k1 / n1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert stats.two_proportion_pvalue(k1, n1, k2, n2) == pytest.approx(2 * norm.sf(abs(z)))
    assert stats.excess_proportion_pvalue(k1, n1, k2, n2) == pytest.approx(norm.sf(z))
    assert stats.excess_proportion_pvalue(k2, n2, k1, n1) > 0.5  # the second is the smaller share
    assert np.isnan(stats.two_proportion_pvalue(0, 0, 1, 10))


def test_chi2_pvalue_matches_scipy_and_drops_empty_bins() -> None:
    ref, ev = np.array([50, 30, 0, 20]), np.array([40, 45, 0, 15])
    stat, p = stats.chi2_pvalue(ref, ev)
    expected = chi2_contingency(np.array([[50, 30, 20], [40, 45, 15]]), correction=False)
    assert (stat, p) == pytest.approx((expected.statistic, expected.pvalue))
    assert stats.chi2_pvalue(np.array([5, 0]), np.array([7, 0])) == (0.0, 1.0)


def test_group_counts_and_shared_overall_auc() -> None:
    rng = np.random.default_rng(4)
    n = 20_000
    groups = rng.integers(0, 5, n)
    p = rng.random(n)
    y = (rng.random(n) < p).astype(int)
    c = stats.group_counts(groups, 5, y, p, 0.4)
    for g in range(5):
        m = groups == g
        yhat = p[m] >= 0.4
        assert c.n[g] == m.sum()
        assert c.tp[g] == np.sum(yhat & (y[m] == 1)) and c.fp[g] == np.sum(yhat & (y[m] == 0))
        assert c.fn[g] == np.sum(~yhat & (y[m] == 1)) and c.tn[g] == np.sum(~yhat & (y[m] == 0))
        assert c.sum_p[g] == pytest.approx(p[m].sum())
    inputs = StressInputs(pd.DataFrame({"x": [0.0]}), pd.DataFrame({"x": [0.0]}), {}, None, y, None, p)
    assert stats.prediction_codes(inputs).overall_auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
