"""Shared, vectorised building blocks of the data tests (subset performance, drift, abnormal
inputs, data cleanliness).

Every column is prepared once per :class:`StressInputs` and cached for the other tests of
the run (the cache holds derived arrays only, dies with the inputs, and never changes a
result): categorical columns are factorised once over reference ∪ evaluation, numeric ones
converted to float64 once, quantile bins computed once per bin count. Everything after that
is ``bincount`` over small integer codes, so a test costs O(rows) with small constants.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import stats as sps

from airflow_provider_rime.local.catalogue.types import Feature, Metric, MetricCategory, StressInputs

NAN = float("nan")
MAX_EXAMPLES = 5

T = TypeVar("T")

_CACHES: dict[int, dict[Any, Any]] = {}


def cached(inputs: StressInputs, key: Any, build: Callable[[], T]) -> T:
    """``build()`` once per ``inputs`` and ``key``; the entry is dropped with ``inputs``."""
    cache = _CACHES.get(id(inputs))
    if cache is None:
        cache = _CACHES[id(inputs)] = {}
        weakref.finalize(inputs, _CACHES.pop, id(inputs), None)
    if key not in cache:
        cache[key] = build()
    value: T = cache[key]
    return value


# ---------------------------------------------------------------------------- columns


@dataclass
class CategoricalColumn:
    """A categorical column coded over reference ∪ evaluation; code ``len(levels)`` is null."""

    name: str
    levels: list[Any]
    ref_codes: np.ndarray
    eval_codes: np.ndarray
    ref_counts: np.ndarray = field(init=False)  # per level, then nulls last
    eval_counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        size = len(self.levels) + 1
        self.ref_counts = np.bincount(self.ref_codes, minlength=size)
        self.eval_counts = np.bincount(self.eval_codes, minlength=size)

    @property
    def null_code(self) -> int:
        return len(self.levels)

    def label(self, code: int) -> str:
        return "missing" if code == self.null_code else str(self.levels[code])

    def rows_with_levels(self, level_mask: np.ndarray, *, split: str = "eval") -> np.ndarray:
        """Rows whose value is one of the levels where ``level_mask`` (over levels) is true."""
        table = np.append(np.asarray(level_mask, dtype=bool), False)
        codes = self.eval_codes if split == "eval" else self.ref_codes
        mask: np.ndarray = table[codes]
        return mask


@dataclass
class NumericColumn:
    """A numeric column as float64 (NaN = null); non-numbers in the data count as ``nonnumeric``."""

    name: str
    ref: np.ndarray
    eval: np.ndarray
    ref_nonnumeric: np.ndarray  # rows holding a value that is not a number
    eval_nonnumeric: np.ndarray

    @property
    def ref_valid(self) -> np.ndarray:
        mask: np.ndarray = ~np.isnan(self.ref)
        return mask

    @property
    def eval_valid(self) -> np.ndarray:
        mask: np.ndarray = ~np.isnan(self.eval)
        return mask


def _as_float(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(series), dtype=bool)
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    coerced = pd.to_numeric(series, errors="coerce")
    values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, np.isnan(values) & series.notna().to_numpy()


def numeric_column(inputs: StressInputs, name: str) -> NumericColumn:
    def build() -> NumericColumn:
        ref, ref_bad = _as_float(inputs.ref[name])
        ev, eval_bad = _as_float(inputs.eval[name])
        return NumericColumn(name, ref, ev, ref_bad, eval_bad)

    return cached(inputs, ("numeric", name), build)


def categorical_column(inputs: StressInputs, name: str) -> CategoricalColumn:
    def build() -> CategoricalColumn:
        ref, ev = inputs.ref[name], inputs.eval[name]
        both = pd.concat([ref, ev], ignore_index=True)
        codes, uniques = pd.factorize(both, use_na_sentinel=True)
        n_levels = len(uniques)
        codes = codes.astype(np.int32, copy=False)
        codes[codes < 0] = n_levels
        return CategoricalColumn(name, list(uniques), codes[: len(ref)], codes[len(ref) :])

    return cached(inputs, ("categorical", name), build)


@dataclass
class Bins:
    """Rows of both splits coded by bins of the reference: ``n_bins`` value bins, then null."""

    edges: np.ndarray  # inner edges; bin i is [edges[i-1], edges[i])
    ref: np.ndarray
    eval: np.ndarray
    labels: list[str]

    @property
    def n_bins(self) -> int:
        return len(self.labels) - 1

    def counts(self, split: str) -> np.ndarray:
        return np.bincount(self.ref if split == "ref" else self.eval, minlength=len(self.labels))


def _fmt_edge(value: float) -> str:
    return f"{value:.4g}"


# Quantile edges are estimated on at most this many reference rows (seeded sample): the
# bins only need to be *the same* for both splits, and at 100,000 rows a bin's nominal
# share is off by about 0.1%.
EDGE_SAMPLE_ROWS = 100_000
RANK_BINS = 100  # percentile ranks, for correlations
_BASE_BINS = 10  # the bins every row of both splits gets; coarser ones derive from them


def _label_bins(name: str, edges: np.ndarray) -> list[str]:
    k = edges.size + 1
    labels = []
    for i in range(k):
        if k == 1:
            labels.append(f"{name} (all values)")
        elif i == 0:
            labels.append(f"{name} < {_fmt_edge(edges[0])}")
        elif i == k - 1:
            labels.append(f"{name} >= {_fmt_edge(edges[-1])}")
        else:
            labels.append(f"{_fmt_edge(edges[i - 1])} <= {name} < {_fmt_edge(edges[i])}")
    labels.append(f"{name} is missing")
    return labels


def _reference_quantiles(inputs: StressInputs, name: str) -> tuple[np.ndarray, float]:
    """The reference's percentiles 1..99 (with repeats) and minimum, on at most
    ``EDGE_SAMPLE_ROWS`` non-null values."""

    def build() -> tuple[np.ndarray, float]:
        col = numeric_column(inputs, name)
        rows = sample_rows(inputs, "ref")
        values = col.ref if rows is None else col.ref[rows]
        valid = values[~np.isnan(values)]
        if valid.size == 0:
            return np.empty(0), math.nan
        return np.quantile(valid, np.arange(1, RANK_BINS) / RANK_BINS), float(valid.min())

    return cached(inputs, ("refq", name), build)


def sample_rows(inputs: StressInputs, split: str) -> np.ndarray | None:
    """A seeded sample of ``EDGE_SAMPLE_ROWS`` rows of ``split`` (None: use every row),
    shared by every column's quantile edges and rank codes."""

    def build() -> np.ndarray | None:
        n = len(inputs.ref) if split == "ref" else len(inputs.eval)
        if n <= EDGE_SAMPLE_ROWS:
            return None
        rng = np.random.default_rng(inputs.config.random_seed + (split == "eval"))
        return np.sort(rng.choice(n, EDGE_SAMPLE_ROWS, replace=False))

    return cached(inputs, ("sample", split), build)


def _edges(quantiles: np.ndarray, minimum: float) -> np.ndarray:
    edges = np.unique(quantiles)
    # An edge at the minimum would leave bin 0 empty.
    out: np.ndarray = edges[edges > minimum]
    return out


def quantile_bins(inputs: StressInputs, name: str, n_bins: int) -> Bins:
    """Bins at the reference's quantiles (ties merged, so integer columns may get fewer).

    Every row of both splits is binned once into 10 bins (one ``searchsorted`` per split and
    column); bin counts dividing 10 derive from them through a lookup table.
    """

    def build() -> Bins:
        qs, minimum = _reference_quantiles(inputs, name)
        col = numeric_column(inputs, name)
        if qs.size == 0:
            edges = np.empty(0)
        elif RANK_BINS % n_bins == 0:
            step = RANK_BINS // n_bins
            edges = _edges(qs[step - 1 :: step], minimum)
            if n_bins != _BASE_BINS and _BASE_BINS % n_bins == 0:
                base = quantile_bins(inputs, name, _BASE_BINS)
                # The coarse edges are base edges, so each base bin lies inside one coarse
                # bin: map the base codes through a table.
                lower = np.concatenate([[-np.inf], base.edges])
                table = np.append(np.searchsorted(edges, lower, side="right"), edges.size + 1)
                table = table.astype(base.ref.dtype)
                return Bins(edges, table[base.ref], table[base.eval], _label_bins(name, edges))
        else:
            sample = col.ref[~np.isnan(col.ref)]
            edges = _edges(np.quantile(sample, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]), minimum)
        k = edges.size + 1
        return Bins(edges, _bin(col.ref, edges, k), _bin(col.eval, edges, k), _label_bins(name, edges))

    return cached(inputs, ("qbins", name, n_bins), build)


def rank_codes(inputs: StressInputs, name: str, split: str) -> tuple[np.ndarray, int]:
    """Reference-percentile ranks (0..n-1, n = null) of the sampled rows of ``split``."""

    def build() -> tuple[np.ndarray, int]:
        qs, minimum = _reference_quantiles(inputs, name)
        edges = _edges(qs, minimum) if qs.size else np.empty(0)
        col = numeric_column(inputs, name)
        values = col.ref if split == "ref" else col.eval
        rows = sample_rows(inputs, split)
        return _bin(values if rows is None else values[rows], edges, edges.size + 1), edges.size + 1

    return cached(inputs, ("ranks", name, split), build)


def _bin(values: np.ndarray, edges: np.ndarray, null_bin: int) -> np.ndarray:
    """Bin of each value (bin i is [edges[i-1], edges[i])), ``null_bin`` for NaN."""
    dtype = np.int16 if null_bin < 32000 else np.int32
    if edges.size <= 16:
        # A few vectorised comparisons beat a binary search per value (branch misses).
        out = np.zeros(values.size, dtype=dtype)
        for edge in edges:
            np.add(out, values >= edge, out=out)
    else:
        out = np.searchsorted(edges, values, side="right").astype(dtype)
    out[np.isnan(values)] = null_bin
    return out


def categorical_bins(inputs: StressInputs, name: str) -> Bins:
    """One bin per value of reference ∪ evaluation, then null."""

    def build() -> Bins:
        col = categorical_column(inputs, name)
        labels = [str(v) for v in col.levels] + [f"{name} is missing"]
        return Bins(np.empty(0), col.ref_codes, col.eval_codes, labels)

    return cached(inputs, ("cbins", name), build)


def feature_bins(inputs: StressInputs, feature: Feature, n_bins: int) -> Bins:
    if feature.is_numeric:
        return quantile_bins(inputs, feature.name, n_bins)
    return categorical_bins(inputs, feature.name)


def tested_features(inputs: StressInputs, *, text: bool = False) -> list[Feature]:
    """The features a data test looks at (text-like ones only where the test asks for them)."""
    out = []
    for feature in inputs.features.values():
        if feature.name not in inputs.ref.columns or feature.name not in inputs.eval.columns:
            continue
        if feature.kind.value == "text" and not text:
            continue
        out.append(feature)
    return out


def rank_correlations(inputs: StressInputs, names: Sequence[str], split: str) -> tuple[np.ndarray, int]:
    """Rank correlation matrix of numeric features on ``split``, and the rows it used.

    Ranks are the reference's percentile codes (Spearman-like, robust to heavy tails);
    missing values take the middle rank. On the split's sample of at most
    ``EDGE_SAMPLE_ROWS`` rows: at 100,000 rows a correlation's standard error is about 0.003.
    """

    def build() -> tuple[np.ndarray, int]:
        columns = []
        for name in names:
            codes, n_bins = rank_codes(inputs, name, split)
            r = codes.astype(np.float64)
            r[codes == n_bins] = (n_bins - 1) / 2
            columns.append(r)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # fewer than 2 rows: nan, judged by callers
            corr: np.ndarray = np.atleast_2d(np.corrcoef(np.vstack(columns)))
        return corr, columns[0].size

    return cached(inputs, ("rankcorr", tuple(names), split), build)


# ----------------------------------------------------------------------- distances


def proportions(counts: np.ndarray, pseudo: float = 0.5) -> np.ndarray:
    """Bin shares with a pseudo-count, so that empty bins keep the log-ratios finite."""
    c = counts.astype(np.float64) + pseudo
    out: np.ndarray = c / c.sum()
    return out


def psi(ref_counts: np.ndarray, eval_counts: np.ndarray) -> float:
    """Population stability index: Σ (e - r) ln(e / r) over bins."""
    if ref_counts.sum() == 0 or eval_counts.sum() == 0:
        return NAN
    r, e = proportions(ref_counts), proportions(eval_counts)
    return float(np.sum((e - r) * np.log(e / r)))


def kl(ref_counts: np.ndarray, eval_counts: np.ndarray) -> float:
    """KL divergence of evaluation from reference, KL(e ‖ r), in nats."""
    if ref_counts.sum() == 0 or eval_counts.sum() == 0:
        return NAN
    r, e = proportions(ref_counts), proportions(eval_counts)
    return float(np.sum(e * np.log(e / r)))


def js(ref_counts: np.ndarray, eval_counts: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (0 = same distribution, 1 = disjoint supports)."""
    if ref_counts.sum() == 0 or eval_counts.sum() == 0:
        return NAN
    r = ref_counts / ref_counts.sum()
    e = eval_counts / eval_counts.sum()
    m = (r + e) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(r > 0, r * np.log2(r / m), 0.0)
        b = np.where(e > 0, e * np.log2(e / m), 0.0)
    return float(max(0.0, 0.5 * a.sum() + 0.5 * b.sum()))


def chi2_pvalue(ref_counts: np.ndarray, eval_counts: np.ndarray) -> tuple[float, float]:
    """Chi-squared test of homogeneity on the 2 x bins table (empty bins dropped)."""
    table = np.vstack([ref_counts, eval_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    stat, p, _, _ = sps.chi2_contingency(table, correction=False)
    return float(stat), float(p)


def two_proportion_pvalue(k1: float, n1: float, k2: float, n2: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test."""
    if n1 <= 0 or n2 <= 0:
        return NAN
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 1.0 if k1 / n1 == k2 / n2 else 0.0
    z = (k2 / n2 - k1 / n1) / math.sqrt(var)
    return float(2 * sps.norm.sf(abs(z)))


def excess_proportion_pvalue(k1: float, n1: float, k2: float, n2: float) -> float:
    """One-sided p-value that the second proportion exceeds the first (pooled z-test)."""
    if n1 <= 0 or n2 <= 0:
        return NAN
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 1.0
    return float(sps.norm.sf((k2 / n2 - k1 / n1) / math.sqrt(var)))


def entropy_bits(counts: np.ndarray) -> float:
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def mutual_information_bits(codes: np.ndarray, n_codes: int, y: np.ndarray) -> float:
    """I(X; Y) of a coded feature and a binary label, in bits, Miller-Madow bias-corrected."""
    n = codes.size
    if n == 0:
        return NAN
    joint = np.bincount(codes.astype(np.int64) * 2 + y.astype(np.int64), minlength=2 * n_codes).reshape(
        n_codes, 2
    )
    hx = entropy_bits(joint.sum(axis=1))
    hy = entropy_bits(joint.sum(axis=0))
    hxy = entropy_bits(joint.ravel())

    # Miller-Madow: each entropy is biased low by (nonzero cells - 1) / (2 n ln 2).
    def bias(c: np.ndarray) -> float:
        return float(np.count_nonzero(c) - 1) / (2 * n * math.log(2))

    mi = (hx + bias(joint.sum(axis=1))) + (hy + bias(joint.sum(axis=0))) - (hxy + bias(joint.ravel()))
    return max(0.0, mi)


# ---------------------------------------------------------------- group metrics


@dataclass
class GroupCounts:
    """Per-group confusion counts and prediction sums (arrays of length ``n_groups``)."""

    n: np.ndarray
    pos: np.ndarray  # label = 1
    tp: np.ndarray
    fp: np.ndarray
    pred_pos: np.ndarray
    sum_p: np.ndarray
    sum_p2: np.ndarray

    @property
    def fn(self) -> np.ndarray:
        out: np.ndarray = self.pos - self.tp
        return out

    @property
    def tn(self) -> np.ndarray:
        out: np.ndarray = self.n - self.pos - self.fp
        return out


def row_outcomes(y: np.ndarray | None, p: np.ndarray, threshold: float) -> np.ndarray:
    """Per row: decision (p >= threshold) + 2 * label, as int8 (the cell of a confusion table)."""
    out: np.ndarray = (p >= threshold).astype(np.int8)
    if y is not None:
        out += 2 * y.astype(np.int8)
    return out


def group_counts(
    groups: np.ndarray,
    n_groups: int,
    y: np.ndarray | None,
    p: np.ndarray,
    threshold: float,
    *,
    outcomes: np.ndarray | None = None,
    p_squared: np.ndarray | None = None,
) -> GroupCounts:
    """Three passes over the rows: one count of (group, label, decision) cells, two sums.

    ``outcomes`` (:func:`row_outcomes`) and ``p_squared`` may be passed precomputed when many
    groupings of the same rows are counted.
    """
    g = groups.astype(np.intp, copy=False)
    if outcomes is None:
        outcomes = row_outcomes(y, p, threshold)
    c = np.bincount(g * 4 + outcomes, minlength=4 * n_groups).reshape(n_groups, 4).astype(np.float64)
    # columns: (label 0, no), (label 0, yes), (label 1, no), (label 1, yes)
    n = c.sum(axis=1)
    pred_pos = c[:, 1] + c[:, 3]
    sum_p = np.bincount(g, weights=p, minlength=n_groups)
    sum_p2 = np.bincount(g, weights=p * p if p_squared is None else p_squared, minlength=n_groups)
    if y is None:
        zeros = np.zeros(n_groups)
        return GroupCounts(n, zeros, zeros, zeros, pred_pos, sum_p, sum_p2)
    return GroupCounts(n, c[:, 2] + c[:, 3], c[:, 3], c[:, 1], pred_pos, sum_p, sum_p2)


AUC_MAX_BINS = 16_384


@dataclass
class PredictionCodes:
    """Evaluation predictions coded by rank: exact ranks when there are at most
    ``AUC_MAX_BINS`` distinct values, else that many rank bins (ties always share a bin)."""

    codes: np.ndarray
    n_codes: int
    exact: bool
    labels: np.ndarray | None  # the split's labels as float64, shared by the per-group AUCs
    overall_auc: float  # exact, from the same sort


def prediction_codes(inputs: StressInputs, split: str = "eval") -> PredictionCodes:
    """The predictions of ``split`` ("eval" or "ref") coded by rank, once per run."""

    def build() -> PredictionCodes:
        p = inputs.eval_preds if split == "eval" else inputs.ref_preds
        y = inputs.eval_labels if split == "eval" else inputs.ref_labels
        assert p is not None
        n = p.size
        yf = None if y is None else y.astype(np.float64)
        if n == 0:
            return PredictionCodes(np.zeros(0, dtype=np.int64), 1, True, yf, NAN)
        order = np.argsort(p)  # ties get one code whatever their order
        ps = p[order]
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(ps[1:], ps[:-1], out=new[1:])
        n_distinct = int(new.sum())
        if n_distinct <= AUC_MAX_BINS:
            sorted_codes = np.cumsum(new) - 1
            n_codes, exact = n_distinct, True
        else:
            start = np.maximum.accumulate(np.where(new, np.arange(n), 0))  # first index of the tie block
            sorted_codes = (start * AUC_MAX_BINS) // n
            n_codes, exact = AUC_MAX_BINS, False
        codes = np.empty(n, dtype=np.int64)
        codes[order] = sorted_codes
        overall = NAN
        if yf is not None:
            # Exact AUC over tie blocks of the sorted predictions (as metrics.auc).
            block = np.cumsum(new) - 1
            pos_b = np.bincount(block, weights=yf[order])
            neg_b = np.bincount(block) - pos_b
            n_pos, n_neg = pos_b.sum(), neg_b.sum()
            if n_pos > 0 and n_neg > 0:
                below = np.cumsum(neg_b) - neg_b
                overall = float(np.sum(pos_b * (below + 0.5 * neg_b)) / (n_pos * n_neg))
        return PredictionCodes(codes, n_codes, exact, yf, overall)

    return cached(inputs, ("pred_codes", split), build)


def group_auc(
    groups: np.ndarray, n_groups: int, y: np.ndarray, pred: PredictionCodes
) -> tuple[np.ndarray, np.ndarray]:
    """AUC within each group, and a bound on its error (0 when the codes are exact ranks).

    From a (group x prediction rank) table of positives and negatives: each positive counts
    the group's negatives of lower rank, plus one half of those of equal rank (ties, as in
    ``roc_auc_score``). With rank bins, distinct predictions inside one bin count as ties,
    so the error is at most half those pairs' share of all pairs, which the bound reports.
    O(rows) per call: two ``bincount``s.
    """
    b = pred.n_codes
    key = groups.astype(np.intp, copy=False) * b + pred.codes
    cells = n_groups * b
    weights = pred.labels if pred.labels is not None and pred.labels.size == y.size else y.astype(np.float64)
    pos = np.bincount(key, weights=weights, minlength=cells).reshape(n_groups, b)
    neg = np.bincount(key, minlength=cells).reshape(n_groups, b) - pos
    below = np.cumsum(neg, axis=1) - neg
    u = (pos * (below + 0.5 * neg)).sum(axis=1)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        defined = (n_pos > 0) & (n_neg > 0)
        auc = np.where(defined, u / (n_pos * n_neg), NAN)
        if pred.exact:
            bound = np.zeros(n_groups)
        else:
            bound = np.where(defined, 0.5 * (pos * neg).sum(axis=1) / (n_pos * n_neg), NAN)
    return auc, bound


def auc_se(auc: np.ndarray, n_pos: np.ndarray, n_neg: np.ndarray) -> np.ndarray:
    """Hanley & McNeil (1982) standard error of an AUC."""
    a = np.clip(auc, 1e-6, 1 - 1e-6)
    q1 = a / (2 - a)
    q2 = 2 * a * a / (1 + a)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    out: np.ndarray = np.sqrt(np.maximum(var, 0.0))
    return out


def proportion_se(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Standard error of a proportion, Laplace-smoothed so that 0/n and n/n are not certain."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ps = (k + 1.0) / (n + 2.0)
        out: np.ndarray = np.sqrt(ps * (1 - ps) / n)
    return out


# ------------------------------------------------------------------ impact, text


def impact_metrics(inputs: StressInputs, failing: np.ndarray) -> tuple[list[Metric], str, float]:
    """The model's behaviour on failing evaluation rows against the clean ones.

    Returns metrics, a clause for the explanation ("" when there is nothing to say) and an
    impact magnitude (accuracy drop with labels, absolute prediction shift without).
    """
    if inputs.eval_preds is None:
        return [], "", 0.0
    k = int(np.count_nonzero(failing))
    clean = ~failing
    if k == 0 or not clean.any():
        return [], "", 0.0
    p = inputs.eval_preds
    shift = float(p[failing].mean() - p[clean].mean())
    metrics = [Metric("Average Prediction Shift", MetricCategory.OUTPUT_DIFF, shift)]
    if inputs.eval_labels is None:
        clause = f"the model's average prediction there differs by {shift:+.3f} from clean rows"
        return metrics, clause, abs(shift)
    y = inputs.eval_labels.astype(bool)
    yhat = p >= inputs.config.prediction_threshold
    correct = yhat == y
    acc_fail = float(correct[failing].mean())
    acc_clean = float(correct[clean].mean())
    drop = acc_clean - acc_fail
    metrics += [
        Metric("Accuracy on Failing Rows", MetricCategory.PERFORMANCE_DIFF, acc_fail),
        Metric("Accuracy on Clean Rows", MetricCategory.PERFORMANCE_DIFF, acc_clean),
        Metric("Accuracy Drop", MetricCategory.PERFORMANCE_DIFF, drop),
    ]
    clause = f"the model's accuracy there is {acc_fail:.3f} against {acc_clean:.3f} on clean rows"
    return metrics, clause, max(0.0, drop)


def fmt_count(k: float, n: float) -> str:
    share = k / n if n else 0.0
    return f"{int(k):,} of {int(n):,} rows ({share:.2%})"


def fmt(value: float, digits: int = 3) -> str:
    return "undefined" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def check_thresholds(config: dict[str, Any], key: str) -> list[float]:
    """``config[key]`` as ``[warning, alert]``, validated; the error names the parameter."""
    value = config[key]
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in value)
    ):
        raise ValueError(f"{key} must be [warning, alert] numbers, got {value!r}")
    return [float(value[0]), float(value[1])]


def check_number(
    config: dict[str, Any], key: str, *, low: float | None = None, high: float | None = None
) -> float:
    value = config[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{key} must be in [{low}, {high}], got {value!r}")
    return float(value)


def top_examples(
    values: Sequence[Any], counts: np.ndarray, limit: int = MAX_EXAMPLES
) -> tuple[list[str], list[int]]:
    """The ``limit`` most frequent values with their counts, most frequent first."""
    order = np.argsort(-np.asarray(counts), kind="stable")[:limit]
    return [str(values[i]) for i in order], [int(counts[i]) for i in order]
