"""The default drift verdict: an effect size above its bar *and* Holm-corrected evidence.

Every test injects a known change (or none) into generated columns and checks the verdict,
the statistic that judged it and the numbers RIME users know (PSI) in the case's metrics.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from airflow_provider_rime.local.catalogue import stats
from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.rime_api.enums import TestCategory, TestSensitivity
from tests.catalogue.helpers import build_inputs, case_for, flagged, metric, run

DRIFT = [TestCategory.DRIFT]
N = 2_000


def _drift(ref: pd.DataFrame, ev: pd.DataFrame, **kwargs: object):  # type: ignore[no-untyped-def]
    return run(build_inputs(ref, ev, label=None, pred=None, categories=DRIFT, **kwargs))  # type: ignore[arg-type]


def _categories(rng: np.random.Generator, shares: dict[str, float], n: int = N) -> np.ndarray:
    names = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()))
    out: np.ndarray = names[rng.choice(len(names), n, p=p / p.sum())]
    return out


def _frames(ref: dict[str, np.ndarray], ev: dict[str, np.ndarray], rng: np.random.Generator, n: int = N):  # type: ignore[no-untyped-def]
    """The given columns plus four clean ones (two numeric, two categorical) for the Holm family."""
    clean = {
        "clean_a": lambda: rng.normal(size=n),
        "clean_b": lambda: rng.exponential(size=n),
        "clean_c": lambda: _categories(rng, {"x": 0.5, "y": 0.3, "z": 0.2}, n),
        "clean_d": lambda: _categories(rng, {f"k{i}": 1.0 / (i + 1) for i in range(12)}, n),
    }
    ref = {**ref, **{k: f() for k, f in clean.items()}}
    ev = {**ev, **{k: f() for k, f in clean.items()}}
    return pd.DataFrame(ref), pd.DataFrame(ev)


# ------------------------------------------------------------------ the statistics


def test_two_sample_statistics_match_independent_formulas() -> None:
    rng = np.random.default_rng(0)
    a, b = np.sort(rng.normal(size=150)), np.sort(rng.normal(0.3, 1.2, size=110))
    result = stats.compare_numeric(a, b)
    assert result.test == "Anderson-Darling"
    assert result.wasserstein == pytest.approx(sps.wasserstein_distance(a, b), rel=1e-9)
    assert result.ks == pytest.approx(sps.ks_2samp(a, b).statistic, rel=1e-9)
    # Pettitt's (1976) formula, term by term over the pooled order statistics.
    n, m = a.size, b.size
    pooled = np.sort(np.concatenate([a, b]))
    big = n + m
    total = 0.0
    for i in range(1, big):
        m_i = np.searchsorted(a, pooled[i - 1], side="right")
        total += (m_i * big - i * n) ** 2 / (i * (big - i))
    assert result.statistic == pytest.approx((big - 1) / big * total / (n * m), rel=1e-9)
    assert result.distance == pytest.approx(result.wasserstein / stats.reference_scale(a))


def test_anderson_darling_pvalue_quantiles_and_tail() -> None:
    # The limiting distribution's 5%, 1% and 0.1% points (Anderson and Darling, 1954).
    assert stats.anderson_darling_pvalue(2.492) == pytest.approx(0.05, rel=0.01)
    assert stats.anderson_darling_pvalue(3.857) == pytest.approx(0.01, rel=0.03)
    assert stats.anderson_darling_pvalue(6.000) == pytest.approx(0.00096, rel=0.05)
    # The tail joins the approximation at 8 and keeps falling like sqrt(3) P(chi2_1 > 2z).
    assert stats.anderson_darling_pvalue(7.999) == pytest.approx(stats.anderson_darling_pvalue(8.0), rel=0.02)
    assert stats.anderson_darling_pvalue(20.0) == pytest.approx(math.sqrt(3) * sps.chi2.sf(40.0, 1))
    assert stats.anderson_darling_pvalue(0.0) == 1.0


def test_holm_adjusted_pvalues() -> None:
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    adjusted = stats.holm_adjusted(p)
    # sorted: 0.01 (x4), 0.03 (x3), 0.04 (x2), 0.5 (x1); running maximum; nan stays out.
    assert adjusted[0] == pytest.approx(0.04)
    assert adjusted[3] == pytest.approx(0.09)
    assert adjusted[1] == pytest.approx(0.09)
    assert adjusted[4] == pytest.approx(0.5)
    assert math.isnan(adjusted[2])


def test_the_test_suits_the_values() -> None:
    rng = np.random.default_rng(1)
    counts = np.sort(rng.poisson(3, 500).astype(float)), np.sort(rng.poisson(3, 500).astype(float))
    assert stats.compare_numeric(*counts).test == "chi-squared"  # few distinct values: categories
    zeros = [np.sort(np.where(rng.random(500) < 0.3, 0.0, rng.exponential(size=500))) for _ in range(2)]
    assert stats.compare_numeric(*zeros).test == "Kolmogorov-Smirnov"  # an atom: KS stays valid
    assert stats.compare_numeric(np.sort(rng.normal(size=500)), np.sort(rng.normal(size=500))).test == (
        "Anderson-Darling"
    )


# ------------------------------------------------------------------ categorical rules


def test_a_new_category_is_drift_even_where_psi_misses_it() -> None:
    rng = np.random.default_rng(2)
    shares = {"a": 0.5, "b": 0.3, "c": 0.2}
    ev_values = _categories(rng, shares)
    ev_values[rng.random(N) < 0.02] = "brand new"
    ref, ev = _frames({"kind": _categories(rng, shares)}, {"kind": ev_values}, rng)
    batch = _drift(ref, ev)["feature_drift"]
    assert flagged(batch) == {"kind"}
    case = case_for(batch, "kind")
    assert metric(case, "New Category Share") == pytest.approx(0.02, abs=0.006)
    assert "1 new category in" in case.explanation and "Holm" in case.explanation
    assert metric(case, "psi") < 0.2  # RIME's PSI rule would not have flagged it
    rime = _drift(ref, ev, individual={"feature_drift": {"drift_scoring_method": "psi"}})["feature_drift"]
    assert "kind" not in flagged(rime)
    assert rime.description.endswith("(PSI).")


def test_a_vanished_category_is_drift() -> None:
    rng = np.random.default_rng(3)
    ref_shares = {"a": 0.45, "b": 0.3, "c": 0.17, "gone": 0.08}
    ev_shares = {"a": 0.45, "b": 0.3, "c": 0.17}
    ref, ev = _frames({"kind": _categories(rng, ref_shares)}, {"kind": _categories(rng, ev_shares)}, rng)
    case = case_for(_drift(ref, ev)["feature_drift"], "kind")
    assert case.severity >= Severity.WARNING
    assert metric(case, "Vanished Category Share") == pytest.approx(0.08, abs=0.015)
    assert "1 category of" in case.explanation and "gone" in case.explanation


def test_a_mix_change_of_a_two_valued_feature_is_drift() -> None:
    rng = np.random.default_rng(4)
    ref, ev = _frames(
        {"flag": _categories(rng, {"yes": 0.6, "no": 0.4})},
        {"flag": _categories(rng, {"yes": 0.48, "no": 0.52})},
        rng,
    )
    batch = _drift(ref, ev)["feature_drift"]
    assert flagged(batch) == {"flag"}
    case = case_for(batch, "flag")
    assert metric(case, "Total Variation Distance") == pytest.approx(0.12, abs=0.03)
    assert metric(case, "psi") < 0.2


# ------------------------------------------------------------------ numeric rules


def test_a_spread_change_is_drift_where_psi_misses_it() -> None:
    rng = np.random.default_rng(5)
    ref, ev = _frames({"amount": rng.normal(size=N)}, {"amount": rng.normal(0.0, 1.3, size=N)}, rng)
    batch = _drift(ref, ev)["feature_drift"]
    assert flagged(batch) == {"amount"}
    case = case_for(batch, "amount")
    assert "Anderson-Darling" in case.explanation
    assert metric(case, "Normalised Wasserstein Distance") > 0.15
    assert metric(case, "psi") < 0.2


def test_integer_valued_features_use_their_values() -> None:
    rng = np.random.default_rng(6)
    ref, ev = _frames(
        {"visits": rng.poisson(3, N).astype(float), "steady": rng.poisson(3, N).astype(float)},
        {"visits": rng.poisson(3.5, N).astype(float), "steady": rng.poisson(3, N).astype(float)},
        rng,
    )
    batch = _drift(ref, ev)["feature_drift"]
    assert flagged(batch) & {"visits", "steady"} == {"visits"}
    assert "chi-squared" in case_for(batch, "visits").explanation
    assert "Chi-Squared Statistic" in {m.name for m in case_for(batch, "steady").metrics}


def test_heavy_tails_neither_hide_a_change_nor_raise_a_false_one() -> None:
    rng = np.random.default_rng(7)
    ref, ev = _frames(
        {"heavy": rng.standard_t(2, N), "heavy_clean": rng.standard_t(2, N)},
        {"heavy": 1.4 * rng.standard_t(2, N), "heavy_clean": rng.standard_t(2, N)},
        rng,
    )
    batch = _drift(ref, ev)["feature_drift"]
    assert flagged(batch) == {"heavy"}
    # The scale is the IQR's, not the standard deviation the tail inflates.
    assert metric(case_for(batch, "heavy"), "Normalised Wasserstein Distance") > 0.2


def test_hypergeometric_pvalue_matches_the_direct_sum() -> None:
    total, marked, drawn = 40, 8, 20

    def prob(k: int) -> float:
        return math.comb(marked, k) * math.comb(total - marked, drawn - k) / math.comb(total, drawn)

    for k in (0, 2, 4, 7):
        lower = sum(prob(j) for j in range(0, k + 1))
        upper = sum(prob(j) for j in range(k, marked + 1))
        assert stats.hypergeom_two_sided_pvalue(k, total, marked, drawn) == pytest.approx(
            min(1.0, 2 * min(lower, upper))
        )
    assert stats.hypergeom_two_sided_pvalue(3, total, 0, drawn) == 1.0  # nothing marked: no evidence


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n: rng.standard_t(2, n),  # heavy tails
        lambda rng, n: np.where(rng.random(n) < 0.3, 0.0, rng.exponential(size=n)),  # an atom at 0
        lambda rng, n: np.round(rng.lognormal(0, 1, n), 1),  # rounded: ties in the tails
    ],
    ids=["student-t2", "zero-inflated", "rounded"],
)
def test_the_tail_tests_keep_the_error_rate_on_clean_data(draw) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    pvalues = np.array(
        [stats.compare_numeric(np.sort(draw(rng, 400)), np.sort(draw(rng, 400))).pvalue for _ in range(400)]
    )
    # Weighted Bonferroni of exact (or conservative) tests: at most the nominal rate, up to noise.
    assert np.mean(pvalues < 0.05) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)
    assert np.mean(pvalues < 0.2) <= 0.2 + 3 * math.sqrt(0.2 * 0.8 / 400)


def test_a_change_of_the_tail_alone_is_drift() -> None:
    rng = np.random.default_rng(12)
    n = 5_000
    x = rng.normal(size=n)
    q90 = np.quantile(x, 0.9)
    stretched = np.where(x > q90, q90 + 2.0 * (x - q90), x)  # the top tenth twice as far out
    ref, ev = _frames({"amount": rng.normal(size=n)}, {"amount": stretched}, rng, n=n)
    result = stats.compare_numeric(np.sort(ref["amount"].to_numpy()), np.sort(stretched))
    assert result.tail_pvalue < 1e-8  # the omnibus test alone is far weaker here
    assert stats.anderson_darling_pvalue(result.statistic) > 1e-3
    batch = _drift(ref, ev)["feature_drift"]
    assert flagged(batch) == {"amount"}
    assert metric(case_for(batch, "amount"), "Tail Exceedance P-Value") == pytest.approx(result.tail_pvalue)


def test_constant_and_all_null_columns() -> None:
    rng = np.random.default_rng(8)
    still = np.full(N, 7.0)
    changed = still.copy()
    changed[rng.random(N) < 0.1] = 8.0
    all_null = np.full(N, np.nan)
    ref, ev = _frames(
        {"still": still, "changed": still.copy(), "emptied": rng.normal(size=N)},
        {"still": still.copy(), "changed": changed, "emptied": all_null},
        rng,
    )
    batches = _drift(ref, ev)
    batch = batches["feature_drift"]
    assert flagged(batch) & {"still", "changed", "emptied"} == {"changed"}
    case = case_for(batch, "changed")
    assert "constant on reference" in case.explanation
    assert metric(case, "Normalised Wasserstein Distance") == pytest.approx(0.1, abs=0.02)
    assert case_for(batch, "still").severity is Severity.PASS
    emptied = case_for(batch, "emptied")
    assert emptied.skipped and "min_sample_size" in emptied.explanation
    assert flagged(batches["null_proportion"], Severity.ALERT) == {"emptied"}


# ------------------------------------------------------------------ both conditions


def test_a_tiny_change_at_many_rows_is_significant_but_does_not_matter() -> None:
    rng = np.random.default_rng(9)
    n = 60_000
    ref, ev = _frames({"x": rng.normal(size=n)}, {"x": rng.normal(0.03, 1.0, size=n)}, rng, n)
    case = case_for(_drift(ref, ev)["feature_drift"], "x")
    assert case.severity is Severity.PASS
    assert metric(case, "p-value") < 1e-4  # the evidence is there ...
    assert "under the 0.05 that counts as drift" in case.explanation  # ... the effect is not


def test_a_large_change_on_few_rows_needs_evidence() -> None:
    rng = np.random.default_rng(10)
    n = 40
    ref, ev = _frames({"x": rng.normal(size=n)}, {"x": rng.normal(0.35, 1.0, size=n)}, rng, n)
    individual = {"feature_drift": {"min_sample_size": 10}}
    case = case_for(_drift(ref, ev, individual=individual)["feature_drift"], "x")
    assert metric(case, "Normalised Wasserstein Distance") > 0.05
    assert case.severity is Severity.PASS
    assert "no more than chance allows" in case.explanation


def test_holm_correction_over_the_features_of_the_run() -> None:
    rng = np.random.default_rng(11)
    ref, ev = _frames({"x": rng.normal(size=N)}, {"x": rng.normal(0.5, 1.0, size=N)}, rng)
    batch = _drift(ref, ev)["feature_drift"]
    p = {c.features[0]: metric(c, "p-value") for c in batch.cases}
    adjusted = {c.features[0]: metric(c, "Holm-Adjusted p-value") for c in batch.cases}
    expected = stats.holm_adjusted(np.array(list(p.values())))
    assert list(adjusted.values()) == pytest.approx(list(expected))
    assert adjusted["x"] == pytest.approx(min(1.0, len(p) * p["x"]))  # the smallest: x m


def test_sensitivity_moves_the_bar_and_the_error_rate() -> None:
    rng = np.random.default_rng(12)
    n = 30_000
    # The evaluation is the reference shifted by 0.0625 sd, so the distance is exactly that:
    # over the default bar (0.05), under the less sensitive one (0.075).
    x = rng.normal(size=n)
    ref, ev = _frames({"x": x}, {"x": rng.permutation(x) + 0.0625 * x.std()}, rng, n)
    severities = {}
    for sensitivity in (
        TestSensitivity.LESS_SENSITIVE,
        TestSensitivity.DEFAULT,
        TestSensitivity.MORE_SENSITIVE,
    ):
        case = case_for(_drift(ref, ev, sensitivity=sensitivity)["feature_drift"], "x")
        severities[sensitivity] = case.severity
        assert metric(case, "Normalised Wasserstein Distance") == pytest.approx(0.0625, rel=0.02)
        if sensitivity is TestSensitivity.LESS_SENSITIVE:
            assert "under the 0.075 that counts as drift" in case.explanation
    assert severities[TestSensitivity.LESS_SENSITIVE] is Severity.PASS
    assert severities[TestSensitivity.DEFAULT] is Severity.WARNING
    assert severities[TestSensitivity.MORE_SENSITIVE] is Severity.WARNING
    # A single feature (a family of one) whose evidence is p in (0.01, 0.02]: drift only at the
    # more sensitive error rate (0.02), although its effect is over every bar.
    x = rng.normal(size=300)
    shifts = np.linspace(0.05, 0.4, 71)
    pvalues = [stats.compare_numeric(np.sort(x), np.sort(x + d)).pvalue for d in shifts]
    shift = next(d for d, p in zip(shifts, pvalues, strict=True) if 0.01 < p <= 0.02)
    ref, ev = pd.DataFrame({"x": x}), pd.DataFrame({"x": rng.permutation(x) + shift})
    default = case_for(_drift(ref, ev)["feature_drift"], "x")
    more = case_for(_drift(ref, ev, sensitivity=TestSensitivity.MORE_SENSITIVE)["feature_drift"], "x")
    assert metric(default, "Normalised Wasserstein Distance") > 0.075
    assert default.severity is Severity.PASS and "no more than chance allows" in default.explanation
    assert more.severity >= Severity.WARNING


def test_prediction_drift_default_verdict_reports_psi() -> None:
    rng = np.random.default_rng(14)
    ref = pd.DataFrame({"x": rng.normal(size=N), "pred": rng.beta(2, 5, N), "label": rng.integers(0, 2, N)})
    ev = pd.DataFrame({"x": rng.normal(size=N), "pred": rng.beta(2.6, 5, N), "label": rng.integers(0, 2, N)})
    batch = run(build_inputs(ref, ev, categories=DRIFT))["prediction_drift"]
    case = batch.cases[0]
    assert case.severity >= Severity.WARNING
    assert metric(case, "psi") < 0.2  # PSI alone would not have seen the change
    assert metric(case, "Normalised Wasserstein Distance") > 0.05
    rime = run(
        build_inputs(
            ref, ev, categories=DRIFT, individual={"prediction_drift": {"psi_thresholds": [0.2, 0.6]}}
        )
    )
    assert rime["prediction_drift"].cases[0].severity is Severity.PASS


def test_a_sparse_column_the_row_sample_misses_is_judged_on_every_value() -> None:
    # Beyond 100,000 rows the two-sample tests use a row sample; a column with a handful of
    # values may have none there, and is then judged on all of them.
    n = 110_000
    rng = np.random.default_rng(15)
    ref_x, ev_x = np.full(n, np.nan), np.full(n, np.nan)
    rows = rng.choice(n, 6, replace=False)
    ref_x[rows], ev_x[rows] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    ref, ev = pd.DataFrame({"rare": ref_x}), pd.DataFrame({"rare": ev_x})
    case = case_for(
        _drift(ref, ev, individual={"feature_drift": {"min_sample_size": 2}})["feature_drift"], "rare"
    )
    assert not case.skipped and case.severity is Severity.PASS
    assert metric(case, "Normalised Wasserstein Distance") == 0.0
