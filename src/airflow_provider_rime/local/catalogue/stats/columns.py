"""Columns of both splits prepared once per run: numeric ones as float64, categorical ones coded.

Categorical columns are factorised once over reference ∪ evaluation, numeric ones converted
to float64 once; both are kept in the run's cache (``StressInputs.cache``) for every later
test.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

import numpy as np
import pandas as pd

from airflow_provider_rime.local.catalogue.types import Feature
from airflow_provider_rime.local.catalogue.types import FeatureKind
from airflow_provider_rime.local.catalogue.types import StressInputs

# Quantile edges and rank codes are estimated on at most this many rows per split (seeded
# sample): the bins only need to be *the same* for both splits, and at 100,000 rows a bin's
# nominal share is off by about 0.1%.
EDGE_SAMPLE_ROWS = 100_000


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
    """Column ``name`` of both splits as float64, values that are not numbers as NaN."""

    def build() -> NumericColumn:
        ref, ref_bad = inputs.cache.split(("float", name), "ref", lambda: _as_float(inputs.ref[name]))
        ev, eval_bad = _as_float(inputs.eval[name])
        return NumericColumn(name, ref, ev, ref_bad, eval_bad)

    return inputs.cache.get(("numeric", name), build)


def categorical_column(inputs: StressInputs, name: str) -> CategoricalColumn:
    """Column ``name`` of both splits coded over the values of reference ∪ evaluation."""

    def reference() -> tuple[np.ndarray, Any]:
        codes, uniques = pd.factorize(inputs.ref[name], use_na_sentinel=True)
        return codes.astype(np.int32, copy=False), uniques

    def build() -> CategoricalColumn:
        ref, ev = inputs.ref[name], inputs.eval[name]
        if ref.dtype != ev.dtype:
            # Coding both together settles how unlike values compare (1 and 1.0, ...).
            both = pd.concat([ref, ev], ignore_index=True)
            codes, uniques = pd.factorize(both, use_na_sentinel=True)
            n_levels = len(uniques)
            codes = codes.astype(np.int32, copy=False)
            codes[codes < 0] = n_levels
            return CategoricalColumn(name, list(uniques), codes[: len(ref)], codes[len(ref) :])
        # As factorising reference ∪ evaluation: the reference's levels in their order (coded
        # once per reference), then the evaluation's new ones in order of appearance.
        ref_codes, ref_levels = inputs.cache.split(("factorized", name), "ref", reference)
        eval_codes, eval_levels = pd.factorize(ev, use_na_sentinel=True)
        known = pd.Index(ref_levels).get_indexer(eval_levels)
        new = known < 0
        known[new] = len(ref_levels) + np.arange(int(new.sum()))
        levels = [*ref_levels, *(eval_levels[new] if new.any() else [])]
        table = np.append(known, len(levels)).astype(np.int32)
        ref_out = ref_codes.copy()
        ref_out[ref_out < 0] = len(levels)
        return CategoricalColumn(name, levels, ref_out, table[eval_codes])

    return inputs.cache.get(("categorical", name), build)


def sample_rows(inputs: StressInputs, split: str) -> np.ndarray | None:
    """A seeded sample of ``EDGE_SAMPLE_ROWS`` rows of ``split`` (None: use every row),
    shared by every column's quantile edges and rank codes."""

    def build() -> np.ndarray | None:
        n = len(inputs.ref) if split == "ref" else len(inputs.eval)
        if n <= EDGE_SAMPLE_ROWS:
            return None
        rng = np.random.default_rng(inputs.config.random_seed + (split == "eval"))
        return np.sort(rng.choice(n, EDGE_SAMPLE_ROWS, replace=False))

    return inputs.cache.split(("sample",), split, build)


def sorted_sample(inputs: StressInputs, name: str, split: str) -> np.ndarray:
    """The non-null values of numeric column ``name`` in ``split``, sorted (the two-sample tests
    and distances of drift): all of them up to ``EDGE_SAMPLE_ROWS``, else those at the rows of
    :func:`sample_rows`."""

    def build() -> np.ndarray:
        col = numeric_column(inputs, name)
        values = col.ref if split == "ref" else col.eval
        valid = values[~np.isnan(values)]
        if valid.size > EDGE_SAMPLE_ROWS:
            values = sampled(inputs, values, split)
            valid = values[~np.isnan(values)]
        out: np.ndarray = np.sort(valid)
        return out

    return inputs.cache.split(("sorted", name), split, build)


def sampled(inputs: StressInputs, values: np.ndarray, split: str) -> np.ndarray:
    """``values`` (one per row of ``split``) at the rows of :func:`sample_rows`."""
    rows = sample_rows(inputs, split)
    return values if rows is None else values[rows]


def tested_features(inputs: StressInputs, *, text: bool = False) -> list[Feature]:
    """The features a data test looks at (text-like ones only where the test asks for them)."""
    out = []
    for feature in inputs.features.values():
        if feature.name not in inputs.ref.columns or feature.name not in inputs.eval.columns:
            continue
        if feature.kind is FeatureKind.TEXT and not text:
            continue
        out.append(feature)
    return out
