"""Bins of the reference, applied to both splits: quantile bins of numeric features, one bin per
value of categorical ones, and percentile ranks for correlations.

Every row of both splits is binned once into 10 reference-quantile bins (a few vectorised
comparisons per split and column); bin counts dividing 10 derive from those codes through a
lookup table, and everything after that is ``bincount`` over small integer codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from airflow_provider_rime.local.catalogue.stats.columns import categorical_column
from airflow_provider_rime.local.catalogue.stats.columns import numeric_column
from airflow_provider_rime.local.catalogue.stats.columns import sample_rows
from airflow_provider_rime.local.catalogue.types import Feature
from airflow_provider_rime.local.catalogue.types import StressInputs

RANK_BINS = 100  # percentile ranks, for correlations
_BASE_BINS = 10  # the bins every row of both splits gets; coarser ones derive from them


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

    return inputs.cache.reference(("refq", name), build)


def _edges(quantiles: np.ndarray, minimum: float) -> np.ndarray:
    edges = np.unique(quantiles)
    # An edge at the minimum would leave bin 0 empty.
    out: np.ndarray = edges[edges > minimum]
    return out


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


def quantile_bins(inputs: StressInputs, name: str, n_bins: int) -> Bins:
    """Numeric column ``name`` of both splits in ``n_bins`` bins at the reference's quantiles.

    Parameters
    ----------
    inputs : StressInputs
        The run; the bins are cached in its ``cache``.
    name : str
        A numeric feature.
    n_bins : int
        Bins wanted; ties merge bins (an integer column may get fewer), and an edge at the
        reference's minimum is dropped (its bin would be empty).

    Returns
    -------
    Bins
        Codes ``0..k-1`` of each row of both splits, ``k`` for null, with readable labels.

    Notes
    -----
    Bin ``i`` is ``[edges[i-1], edges[i])``. When ``n_bins`` divides 100 the edges are the
    reference's percentiles ``100/n_bins, 2*100/n_bins, ...`` (on a seeded sample of at most
    ``EDGE_SAMPLE_ROWS`` rows), and bin counts dividing 10 are derived from the 10-bin codes;
    otherwise they are the quantiles ``1/n_bins, 2/n_bins, ...`` of every non-null reference
    value.
    """

    def reference() -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        # The edges, the reference's codes and, for bins derived from the 10 base bins, the
        # table from base codes to these bins.
        qs, minimum = _reference_quantiles(inputs, name)
        ref = numeric_column(inputs, name).ref
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
                return edges, table[base.ref], table
        else:
            sample = ref[~np.isnan(ref)]
            edges = _edges(np.quantile(sample, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]), minimum)
        return edges, _bin(ref, edges, edges.size + 1), None

    def build() -> Bins:
        edges, ref_codes, table = inputs.cache.reference(("qbins", name, n_bins), reference)
        if table is not None:
            eval_codes = table[quantile_bins(inputs, name, _BASE_BINS).eval]
        else:
            eval_codes = _bin(numeric_column(inputs, name).eval, edges, edges.size + 1)
        return Bins(edges, ref_codes, eval_codes, _label_bins(name, edges))

    return inputs.cache.get(("qbins", name, n_bins), build)


def rank_codes(inputs: StressInputs, name: str, split: str) -> tuple[np.ndarray, int]:
    """Reference-percentile ranks of the sampled rows of ``split``.

    Returns
    -------
    codes : numpy.ndarray
        Rank ``0..n-1`` of each row of ``sample_rows(inputs, split)``, ``n`` for null.
    n : int
        The number of ranks (at most 100: the reference's distinct percentiles, plus one).
    """

    def build() -> tuple[np.ndarray, int]:
        qs, minimum = _reference_quantiles(inputs, name)
        edges = _edges(qs, minimum) if qs.size else np.empty(0)
        col = numeric_column(inputs, name)
        values = col.ref if split == "ref" else col.eval
        rows = sample_rows(inputs, split)
        return _bin(values if rows is None else values[rows], edges, edges.size + 1), edges.size + 1

    return inputs.cache.split(("ranks", name), split, build)


def categorical_bins(inputs: StressInputs, name: str) -> Bins:
    """One bin per value of reference ∪ evaluation, then null."""

    def build() -> Bins:
        col = categorical_column(inputs, name)
        labels = [str(v) for v in col.levels] + [f"{name} is missing"]
        return Bins(np.empty(0), col.ref_codes, col.eval_codes, labels)

    return inputs.cache.get(("cbins", name), build)


def feature_bins(inputs: StressInputs, feature: Feature, n_bins: int) -> Bins:
    """Quantile bins of a numeric feature, value bins of any other."""
    if feature.is_numeric:
        return quantile_bins(inputs, feature.name, n_bins)
    return categorical_bins(inputs, feature.name)
