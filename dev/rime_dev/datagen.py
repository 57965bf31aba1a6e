"""Synthetic tabular data with known ground truth, for tests, benchmarks and the example DAGs.

Two generators, both vectorised numpy (1M rows in about a second):

- :func:`generate_fraud`: the schema of the fraud walkthrough (``category, card_type,
  card_company, transaction_amount, city, browser_version, country, timestamp, label,
  pred``), with nulls in ``category`` / ``card_type`` / ``card_company`` like the real data.
- :func:`generate_wide`: ``num_0..num_{k-1}`` numeric and ``cat_0..cat_{m-1}`` categorical
  columns, ``label`` and ``pred``.

``label`` is drawn from a logistic model of the (possibly drifted) features, so a feature
drift moves the label rate the way covariate shift does. ``pred`` is the probability that
a deliberately imperfect model gives (the true logit, damped, plus noise): informative
(AUC about 0.75-0.8) but not perfect. Both generators draw from one *base* distribution that
does not depend on the seed, so any two calls are reference/evaluation splits of the same
population unless a switch says otherwise.

Switches (all default to "off"):

``drift: {column: magnitude}``
    Numeric column: every value shifted by ``magnitude`` base standard deviations
    (lognormal columns on the log scale: ``transaction_amount`` is multiplied by
    ``exp(2 * magnitude)``, ``num_1``, ``num_5``, ... by ``exp(0.75 * magnitude)``; Poisson
    columns are rounded after the shift, so shifts under half a unit vanish). Categorical
    column: a share ``magnitude`` (0..1) of the rows is redrawn uniformly over the column's
    base categories (nulls stay nulls).
    ``city`` and ``country`` are one variable (``country`` is the city's country): drifting
    either drifts both. The key ``"label"`` shifts the true fraud logit by ``magnitude``
    (prior shift: the rate moves, the model's ``pred`` does not know).
``degrade: {"feature": name, ...}``
    One subset where the model is broken. Select rows with ``"values": [...]`` (or
    ``"value"``) for a categorical column, ``"quantiles": (lo, hi)`` (quantiles of this
    frame's column, half-open ``[lo, hi)``, ``hi=1`` includes the max) or ``"range": (lo, hi)``
    (raw values) for a numeric one. In the subset, a share ``"strength"`` (default 1.0) of
    the rows has its prediction replaced: ``"mode": "shuffle"`` (default) by the prediction
    of another random row of the subset (the model knows nothing there; the prediction
    distribution is unchanged), ``"flip"`` by ``1 - pred`` (the model is wrong there).
``abnormal: {kind: share}`` or ``{"kind:column": share}``
    Exactly ``round(share * n_rows)`` rows get an abnormal value in one column; the rows of
    different kinds are disjoint, and the model's prediction on them is shuffled among them
    (models do badly on inputs they never saw). Kinds and their default columns:

    ============== ======================== ========================= =====================
    kind           fraud column             wide column               injected value
    ============== ======================== ========================= =====================
    outliers       transaction_amount       num_2 (uniform 0..10)     base mean + 20 std
    unseen         browser_version          cat_0                     ``"unseen_<k>"``, k<3
    nulls          transaction_amount       num_1                     NaN
    empty_strings  city                     cat_1                     ``""``
    capitalization category                 cat_2                     the value upper-cased
    ============== ======================== ========================= =====================

    ``frame.attrs["injected"]`` records ``{kind: {"column": c, "count": n}}``;
    :func:`injected_counts` derives the same without generating.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from typing_extensions import Unpack

LABEL = "label"
PRED = "pred"

ABNORMAL_KINDS = ("outliers", "unseen", "nulls", "empty_strings", "capitalization")
_OUTLIER_STDS = 20.0


@dataclass(frozen=True)
class _Categorical:
    levels: tuple[str, ...]
    probs: tuple[float, ...]
    null_share: float = 0.0
    effects: tuple[float, ...] | None = None  # contribution to the fraud logit per level


@dataclass(frozen=True)
class _Numeric:
    kind: str  # "normal" | "lognormal" | "uniform" | "poisson"
    a: float  # normal/lognormal: location; uniform: low; poisson: lambda
    b: float  # normal/lognormal: scale; uniform: high
    weight: float = 0.0  # contribution to the fraud logit per (log-)std

    @property
    def mean(self) -> float:
        """Mean of the scale the drift works on (log scale for lognormal)."""
        if self.kind in ("normal", "lognormal"):
            return self.a
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        return self.a

    @property
    def std(self) -> float:
        if self.kind in ("normal", "lognormal"):
            return self.b
        if self.kind == "uniform":
            return (self.b - self.a) / math.sqrt(12)
        return math.sqrt(self.a)

    def raw_mean_std(self) -> tuple[float, float]:
        """Mean and std of the values themselves (for placing outliers)."""
        if self.kind == "lognormal":
            s2 = self.b**2
            mean = math.exp(self.a + s2 / 2)
            return mean, math.sqrt((math.exp(s2) - 1) * math.exp(2 * self.a + s2))
        return self.mean, self.std

    def draw(self, rng: np.random.Generator, n: int, shift_stds: float) -> np.ndarray:
        shift = shift_stds * self.std
        if self.kind == "normal":
            return rng.normal(self.a + shift, self.b, n)
        if self.kind == "lognormal":
            return np.exp(rng.normal(self.a + shift, self.b, n))
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b, n) + shift
        return np.round(rng.poisson(self.a, n) + shift).astype(np.float64)

    def standardised(self, values: np.ndarray) -> np.ndarray:
        x = np.log(values) if self.kind == "lognormal" else values
        return (x - self.mean) / self.std


# The fraud walkthrough's marginals (fraud_ref.csv), rounded.
_CITIES = {
    "London": ("GBR", 0.159),
    "New York": ("USA", 0.158),
    "Boston": ("USA", 0.152),
    "Rome": ("ITA", 0.115),
    "Chicago": ("USA", 0.111),
    "Berlin": ("GER", 0.094),
    "San Francisco": ("USA", 0.071),
    "Sao Paolo": ("BRA", 0.053),
    "Los Angeles": ("USA", 0.043),
    "Rio de Janeiro": ("BRA", 0.028),
    "Paris": ("FRA", 0.016),
}
_COUNTRY_EFFECT = {"USA": 0.5, "GBR": -0.3, "ITA": -0.2, "GER": 0.25, "BRA": -1.0, "FRA": 0.4}

_FRAUD_CATEGORICALS: dict[str, _Categorical] = {
    "category": _Categorical(
        ("Food", "Shopping", "Business", "School", "Entertainment"),
        (0.321, 0.320, 0.313, 0.031, 0.015),
        null_share=0.14,
        effects=(0.3, 0.4, -0.5, 0.0, -0.2),
    ),
    "card_type": _Categorical(("credit", "debit"), (0.57, 0.43), null_share=0.18, effects=(0.1, -0.1)),
    "card_company": _Categorical(
        ("mastercard", "american express", "discover", "visa"),
        (0.301, 0.286, 0.264, 0.149),
        null_share=0.03,
        effects=(0.0, 0.2, -0.1, -0.2),
    ),
    "city": _Categorical(
        tuple(_CITIES),
        tuple(p for _, p in _CITIES.values()),
        effects=tuple(_COUNTRY_EFFECT[c] for c, _ in _CITIES.values()),
    ),
    "browser_version": _Categorical(
        ("chrome 58.0", "chrome 59.0", "chrome 60.0", "chrome 61.0"),
        (0.003, 0.944, 0.0527, 0.0003),
        effects=(0.0, 0.1, -0.3, -0.3),
    ),
}
_FRAUD_AMOUNT = _Numeric("lognormal", 6.0, 2.0, weight=0.6)
_FRAUD_INTERCEPT = 0.72  # fraud rate about 0.69, as in the reference data
_FRAUD_DEFAULT_COLUMNS = {
    "outliers": "transaction_amount",
    "unseen": "browser_version",
    "nulls": "transaction_amount",
    "empty_strings": "city",
    "capitalization": "category",
}

# How the model's prediction relates to the true logit: damped plus noise.
_PRED_DAMPING = 0.9
_PRED_NOISE = 0.4


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _check_rows(n_rows: int) -> None:
    if not isinstance(n_rows, (int, np.integer)) or isinstance(n_rows, bool) or n_rows < 1:
        raise ValueError(f"n_rows must be a positive integer, got {n_rows!r}")


def _draw_codes(rng: np.random.Generator, spec: _Categorical, n: int) -> np.ndarray:
    """Level codes by inverse CDF; -1 for null."""
    cdf = np.cumsum(np.asarray(spec.probs, dtype=np.float64))
    cdf /= cdf[-1]
    codes = np.searchsorted(cdf, rng.random(n), side="right").astype(np.int64)
    np.minimum(codes, len(spec.levels) - 1, out=codes)
    if spec.null_share > 0:
        codes[rng.random(n) < spec.null_share] = -1
    return codes


def _drift_codes(rng: np.random.Generator, codes: np.ndarray, n_levels: int, share: float) -> np.ndarray:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"drift of a categorical column is a share of rows in [0, 1], got {share}")
    redraw = (rng.random(codes.size) < share) & (codes >= 0)
    codes = codes.copy()
    codes[redraw] = rng.integers(0, n_levels, int(redraw.sum()))
    return codes


def _strings(levels: Sequence[str], codes: np.ndarray) -> np.ndarray:
    table = np.array([*levels, None], dtype=object)  # code -1 -> None
    return table[codes]


def _validate_drift(drift: Mapping[str, float] | None, columns: Sequence[str]) -> dict[str, float]:
    drift = dict(drift or {})
    unknown = set(drift) - set(columns) - {LABEL}
    if unknown:
        raise ValueError(
            f"drift: unknown column(s) {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(columns)} or {LABEL!r}"
        )
    for key, value in drift.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"drift[{key!r}] must be a finite number, got {value!r}")
    return {k: float(v) for k, v in drift.items()}


def _parse_abnormal(
    abnormal: Mapping[str, float] | None, default_columns: Mapping[str, str], n_rows: int
) -> list[tuple[str, str, int]]:
    """``[(kind, column, count)]`` in a fixed order."""
    out = []
    for key, share in (abnormal or {}).items():
        kind, _, column = key.partition(":")
        if kind not in ABNORMAL_KINDS:
            raise ValueError(f"abnormal: unknown kind {kind!r}; choose from {', '.join(ABNORMAL_KINDS)}")
        if not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
            raise ValueError(f"abnormal[{key!r}] must be a share of rows in [0, 1], got {share!r}")
        out.append((kind, column or default_columns[kind], round(share * n_rows)))
    total = sum(count for _, _, count in out)
    if total > n_rows:
        raise ValueError(f"abnormal: the shares add up to {total} rows, more than n_rows={n_rows}")
    return out


def injected_counts(
    n_rows: int, abnormal: Mapping[str, float] | None, *, schema: str = "fraud"
) -> dict[str, dict[str, Any]]:
    """What ``abnormal`` injects into a frame of ``n_rows``: ``{kind: {"column", "count"}}``."""
    defaults = _FRAUD_DEFAULT_COLUMNS if schema == "fraud" else _wide_default_columns(3, 3)
    return {kind: {"column": col, "count": n} for kind, col, n in _parse_abnormal(abnormal, defaults, n_rows)}


class _Frame:
    """Columns under construction, with what each one is (for drift, degrade and abnormal)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.numeric: dict[str, np.ndarray] = {}
        self.numeric_specs: dict[str, _Numeric] = {}
        self.codes: dict[str, np.ndarray] = {}
        self.cat_specs: dict[str, _Categorical] = {}
        self.strings: dict[str, np.ndarray] = {}

    def add_categorical(
        self, rng: np.random.Generator, name: str, spec: _Categorical, drift: Mapping[str, float]
    ) -> np.ndarray:
        """Draw (and drift) one categorical column; return its contribution to the label's logit."""
        codes = _draw_codes(rng, spec, self.n)
        if name in drift:
            codes = _drift_codes(rng, codes, len(spec.levels), drift[name])
        self.codes[name], self.cat_specs[name] = codes, spec
        self.strings[name] = _strings(spec.levels, codes)
        assert spec.effects is not None
        return np.append(np.asarray(spec.effects), 0.0)[codes]


def _degrade_mask(frame: _Frame, values: Mapping[str, np.ndarray], degrade: Mapping[str, Any]) -> np.ndarray:
    feature = str(degrade.get("feature"))
    allowed = {"feature", "value", "values", "quantiles", "range", "strength", "mode"}
    unknown = set(degrade) - allowed
    if unknown:
        raise ValueError(
            f"degrade: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}"
        )
    if feature not in values:
        raise ValueError(f"degrade['feature'] must be one of {', '.join(values)}, got {feature!r}")
    column = values[feature]
    if "value" in degrade or "values" in degrade:
        wanted = degrade["values"] if "values" in degrade else [degrade["value"]]
        if isinstance(wanted, str):
            wanted = [wanted]
        return np.asarray(pd.Series(column).isin(list(wanted)).to_numpy(), dtype=bool)
    if "quantiles" in degrade:
        lo, hi = (float(q) for q in degrade["quantiles"])
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(
                f"degrade['quantiles'] must be (lo, hi) with 0 <= lo < hi <= 1, got {degrade['quantiles']!r}"
            )
        x = np.asarray(column, dtype=np.float64)
        qlo, qhi = np.nanquantile(x, [lo, hi])
        return (x >= qlo) & ((x < qhi) if hi < 1.0 else (x <= qhi))
    if "range" in degrade:
        lo, hi = (float(v) for v in degrade["range"])
        x = np.asarray(column, dtype=np.float64)
        return (x >= lo) & (x < hi)
    raise ValueError("degrade needs 'value', 'values', 'quantiles' or 'range' to select the subset")


def _shuffle_within(rng: np.random.Generator, pred: np.ndarray, rows: np.ndarray) -> None:
    pred[rows] = pred[rng.permutation(rows)]


class Switches(TypedDict, total=False):
    """The switches both generators take (described in the module docstring); unsaid, off
    (``with_pred``: on)."""

    drift: Mapping[str, float] | None
    degrade: Mapping[str, object] | None
    abnormal: Mapping[str, float] | None
    with_pred: bool


class _Switches(NamedTuple):
    """What a generator was asked to inject, checked."""

    drift: Mapping[str, float]
    degrade: Mapping[str, Any] | None
    abnormal: list[tuple[str, str, int]]
    with_pred: bool

    @classmethod
    def check(
        cls,
        switches: Switches,
        columns: Sequence[str],
        abnormal_columns: Mapping[str, str],
        n_rows: int,
        *,
        one_variable: tuple[str, str] | None = None,
    ) -> _Switches:
        """The switches checked against a generator's ``columns`` and default ``abnormal_columns``.

        ``one_variable=(a, b)``: drifting ``a`` drifts ``b`` (the larger magnitude wins).
        """
        unknown = set(switches) - set(Switches.__annotations__)
        if unknown:
            raise TypeError(
                f"unknown switch(es) {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(Switches.__annotations__)}"
            )
        drift = _validate_drift(switches.get("drift"), columns)
        if one_variable and one_variable[0] in drift:
            source, target = one_variable
            drift[target] = max(drift.get(target, 0.0), drift.pop(source))
        abnormal = _parse_abnormal(switches.get("abnormal"), abnormal_columns, n_rows)
        return cls(drift, switches.get("degrade"), abnormal, switches.get("with_pred", True))


def _finish(
    frame: _Frame,
    logit: np.ndarray,
    rng: np.random.Generator,
    switches: _Switches,
    order: Sequence[str],
    extra: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Labels, predictions, degrade and abnormal values, then the DataFrame."""
    drift, degrade, abnormal, with_pred = switches
    n = frame.n
    true_logit = logit + drift.get(LABEL, 0.0)
    label = (rng.random(n) < _sigmoid(true_logit)).astype(np.int64)
    pred = _sigmoid(_PRED_DAMPING * logit + rng.normal(0.0, _PRED_NOISE, n))

    values: dict[str, np.ndarray] = dict(frame.numeric)
    values.update(frame.strings)
    if degrade:
        mask = _degrade_mask(frame, values, degrade)
        strength = float(degrade.get("strength", 1.0))
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"degrade['strength'] must be in [0, 1], got {strength}")
        rows = np.flatnonzero(mask & (rng.random(n) < strength))
        mode = degrade.get("mode", "shuffle")
        if mode == "shuffle":
            _shuffle_within(rng, pred, rows)
        elif mode == "flip":
            pred[rows] = 1.0 - pred[rows]
        else:
            raise ValueError(f"degrade['mode'] must be 'shuffle' or 'flip', got {mode!r}")

    injected: dict[str, dict[str, Any]] = {}
    if abnormal:
        total = sum(count for _, _, count in abnormal)
        chosen = rng.choice(n, size=total, replace=False)
        start = 0
        for kind, column, count in abnormal:
            rows = np.sort(chosen[start : start + count])
            start += count
            _inject(kind, column, rows, frame, values)
            injected[kind] = {"column": column, "count": count}
        _shuffle_within(rng, pred, chosen)

    data: dict[str, Any] = {}
    for name in order:
        data[name] = values[name] if name in values else (extra or {})[name]
    data[LABEL] = label
    if with_pred:
        data[PRED] = pred
    df = pd.DataFrame(data)
    df.attrs["injected"] = injected
    return df


def _inject(kind: str, column: str, rows: np.ndarray, frame: _Frame, values: dict[str, np.ndarray]) -> None:
    if column not in values:
        raise ValueError(f"abnormal {kind!r}: unknown column {column!r}")
    is_numeric = column in frame.numeric
    if kind in ("outliers", "nulls") and not is_numeric:
        raise ValueError(f"abnormal {kind!r} needs a numeric column, {column!r} is categorical")
    if kind in ("unseen", "empty_strings", "capitalization") and is_numeric:
        raise ValueError(f"abnormal {kind!r} needs a categorical column, {column!r} is numeric")
    col = values[column]
    if kind == "outliers":
        mean, std = frame.numeric_specs[column].raw_mean_std()
        col[rows] = mean + _OUTLIER_STDS * std * (1.0 + np.arange(rows.size) % 3)
    elif kind == "nulls":
        col[rows] = np.nan
    elif kind == "unseen":
        col[rows] = np.array([f"unseen_{k}" for k in range(3)], dtype=object)[np.arange(rows.size) % 3]
    elif kind == "empty_strings":
        col[rows] = ""
    elif kind == "capitalization":
        spec = frame.cat_specs[column]
        upper = np.array([v.upper() for v in spec.levels], dtype=object)
        codes = frame.codes[column][rows]
        # A null row has no value to capitalise: take the most common level's.
        col[rows] = upper[np.where(codes >= 0, codes, 0)]


def generate_fraud(
    n_rows: int,
    *,
    seed: int = 0,
    start: str = "2018-08-01",
    days: int = 29,
    **switches: Unpack[Switches],
) -> pd.DataFrame:
    """Fraud transactions with the walkthrough's schema; see the module docstring for the switches.

    ``timestamp`` is a ``YYYY-MM-DD`` string, uniform over ``days`` days from ``start``.
    """
    _check_rows(n_rows)
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    columns = [*_FRAUD_CATEGORICALS, "transaction_amount", "country"]
    checked = _Switches.check(
        switches, columns, _FRAUD_DEFAULT_COLUMNS, n_rows, one_variable=("country", "city")
    )
    drift_ = checked.drift
    rng = np.random.default_rng(seed)
    frame = _Frame(n_rows)
    logit = np.full(n_rows, _FRAUD_INTERCEPT)
    for name, spec in _FRAUD_CATEGORICALS.items():
        logit += frame.add_categorical(rng, name, spec, drift_)
    amount = _FRAUD_AMOUNT.draw(rng, n_rows, drift_.get("transaction_amount", 0.0))
    frame.numeric["transaction_amount"], frame.numeric_specs["transaction_amount"] = amount, _FRAUD_AMOUNT
    z = np.clip(_FRAUD_AMOUNT.standardised(amount), -4, 4)
    logit += _FRAUD_AMOUNT.weight * z - 0.15 * z**2  # fraud likes large and very small amounts less
    city_codes = frame.codes["city"]
    countries = np.array([c for c, _ in _CITIES.values()], dtype=object)
    frame.strings["country"] = countries[city_codes]
    dates = pd.date_range(start, periods=days, freq="D").strftime("%Y-%m-%d").to_numpy(dtype=object)
    timestamp = dates[rng.integers(0, days, n_rows)]
    order = [
        "category",
        "card_type",
        "card_company",
        "transaction_amount",
        "city",
        "browser_version",
        "country",
        "timestamp",
    ]
    return _finish(frame, logit, rng, checked, order, extra={"timestamp": timestamp})


_NUMERIC_KINDS = ("normal", "lognormal", "uniform", "poisson")
_LEVEL_COUNTS = (4, 6, 10, 16, 30)


def _wide_numeric_spec(i: int) -> _Numeric:
    kind = _NUMERIC_KINDS[i % 4] if i != 2 else "uniform"
    weight = 1.2 / (1 + i / 2) if i < 6 else 0.0
    if kind == "normal":
        return _Numeric("normal", float(i), 1.0 + (i % 3), weight)
    if kind == "lognormal":
        return _Numeric("lognormal", 1.0, 0.75, weight)
    if kind == "uniform":
        return _Numeric("uniform", 0.0, 10.0, weight)
    return _Numeric("poisson", 5.0 + i, 0.0, weight)


def _wide_categorical_spec(j: int) -> _Categorical:
    k = _LEVEL_COUNTS[j % len(_LEVEL_COUNTS)]
    weights = 1.0 / (np.arange(k) + 1.5)
    probs = weights / weights.sum()
    effects = tuple(float(e) for e in np.linspace(0.8, -0.8, k)) if j < 3 else tuple([0.0] * k)
    return _Categorical(
        tuple(f"c{j}_v{v}" for v in range(k)),
        tuple(float(p) for p in probs),
        null_share=0.02 if j % 2 else 0.0,
        effects=effects,
    )


def _wide_default_columns(n_numeric: int, n_categorical: int) -> dict[str, str]:
    return {
        "outliers": "num_2" if n_numeric > 2 else "num_0",
        "unseen": "cat_0",
        "nulls": "num_1" if n_numeric > 1 else "num_0",
        "empty_strings": "cat_1" if n_categorical > 1 else "cat_0",
        "capitalization": "cat_2" if n_categorical > 2 else "cat_0",
    }


def generate_wide(
    n_rows: int,
    *,
    n_numeric: int = 15,
    n_categorical: int = 5,
    seed: int = 0,
    **switches: Unpack[Switches],
) -> pd.DataFrame:
    """A wide frame: ``num_i`` cycle through normal, lognormal, uniform(0, 10) (always ``num_2``)
    and Poisson (integer) columns; ``cat_j`` have 4, 6, 10, 16, 30 levels with a Zipf-like mix
    (odd ``j``: 2% nulls). ``num_0..num_5`` and ``cat_0..cat_2`` drive the label.
    """
    _check_rows(n_rows)
    if n_numeric < 1 or n_categorical < 1:
        raise ValueError(f"n_numeric and n_categorical must be at least 1, got {n_numeric}, {n_categorical}")
    num_names = [f"num_{i}" for i in range(n_numeric)]
    cat_names = [f"cat_{j}" for j in range(n_categorical)]
    abnormal_columns = _wide_default_columns(n_numeric, n_categorical)
    checked = _Switches.check(switches, [*num_names, *cat_names], abnormal_columns, n_rows)
    drift_ = checked.drift
    rng = np.random.default_rng(seed)
    frame = _Frame(n_rows)
    logit = np.full(n_rows, 0.3)
    for i, name in enumerate(num_names):
        spec = _wide_numeric_spec(i)
        x = spec.draw(rng, n_rows, drift_.get(name, 0.0))
        frame.numeric[name], frame.numeric_specs[name] = x, spec
        if spec.weight:
            logit += spec.weight * np.clip(
                spec.standardised(np.maximum(x, 1e-12) if spec.kind == "lognormal" else x), -4, 4
            )
    for j, name in enumerate(cat_names):
        logit += frame.add_categorical(rng, name, _wide_categorical_spec(j), drift_)
    return _finish(frame, logit, rng, checked, [*num_names, *cat_names])


Generator = Callable[..., pd.DataFrame]


def reference_and_evaluation(
    generator: Generator,
    n_rows: int,
    *,
    seed: int = 0,
    n_eval: int | None = None,
    reference_kwargs: Mapping[str, Any] | None = None,
    **eval_kwargs: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A clean reference split (seed ``seed``) and an evaluation split (seed ``seed + 1``).

    ``eval_kwargs`` (``drift=``, ``degrade=``, ``abnormal=``, ...) apply to the evaluation
    split only; ``reference_kwargs`` to the reference (e.g. ``n_numeric=`` for both).
    Shape arguments such as ``n_numeric`` passed in ``eval_kwargs`` are used for both splits.
    """
    shape_keys = {"n_numeric", "n_categorical", "with_pred", "start", "days"}
    shared = {k: v for k, v in eval_kwargs.items() if k in shape_keys}
    ref = generator(n_rows, seed=seed, **{**shared, **(reference_kwargs or {})})
    ev = generator(n_eval if n_eval is not None else n_rows, seed=seed + 1, **eval_kwargs)
    return ref, ev
