"""Attacks: how far small, bounded changes to numeric features move the model's decisions.

Both tests take ``sample_size`` (10) seeded clean evaluation rows and change numeric features
within ``linf_constraint`` (0.01) of each feature's reference range (max - min):

- ``sensitivity``: one feature at a time, at 16 evenly spaced offsets in
  [-linf_constraint, +linf_constraint] x range. Per feature: the worst prediction change over
  rows and offsets, and the average over rows of each row's worst change.
- ``multi_feat_sensitivity``: up to ``l0_constraint`` (3) features at once: the features
  whose single-feature changes move the model most, at every corner of their box, at the
  combination of each one's worst single offset, and at 16 random points inside it. One case
  for the features attacked together.

Severity is from the average worst change (a decision that a 1% nudge moves on a typical
row), against ``severity_thresholds`` [0.05, 0.1], scaled by the global sensitivity. The worst
change is reported too but does not set the severity: a tree model's step can move one row
near a split, which is not a weakness of the model. Categorical features are not attacked.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pandas as pd

from airflow_provider_rime.local.catalogue import stats
from airflow_provider_rime.local.catalogue.params import Range
from airflow_provider_rime.local.catalogue.params import TestParams
from airflow_provider_rime.local.catalogue.params import Thresholds
from airflow_provider_rime.local.catalogue.registry import Registrar
from airflow_provider_rime.local.catalogue.stats.perturb import CleanSample
from airflow_provider_rime.local.catalogue.stats.perturb import clean_sample
from airflow_provider_rime.local.catalogue.stats.perturb import predict_frames
from airflow_provider_rime.local.catalogue.types import Findings
from airflow_provider_rime.local.catalogue.types import Metric
from airflow_provider_rime.local.catalogue.types import ModelCallFailed
from airflow_provider_rime.local.catalogue.types import Severity
from airflow_provider_rime.local.catalogue.types import StressInputs
from airflow_provider_rime.local.catalogue.types import TestCase
from airflow_provider_rime.local.catalogue.types import severity_from_thresholds
from airflow_provider_rime.rime_api.enums import MetricCategory
from airflow_provider_rime.rime_api.enums import TestCategory

CATEGORY = TestCategory.ADVERSARIAL
register = Registrar(CATEGORY)
#: Offsets tried per feature and row by ``sensitivity`` (and random points by the multi-feature attack).
NUM_OFFSETS = 16
#: Keeps the attack's rows apart from the transformations' sample.
_SALT = 1


@dataclass(frozen=True)
class SensitivityParams(TestParams):
    linf_constraint: Annotated[float, Range(0.0, 1.0)] = 0.01
    sample_size: Annotated[int, Range(1, 10_000)] = 10
    severity_thresholds: Thresholds = (0.05, 0.1)


@dataclass(frozen=True)
class MultiFeatSensitivityParams(SensitivityParams):
    l0_constraint: Annotated[int, Range(1, 100)] = 3


@dataclass(frozen=True)
class _Attacked:
    """One feature's single-feature attack on the sample."""

    feature: str
    step: float
    worst: np.ndarray  # per row: the largest change
    worst_offset: np.ndarray  # per row: the offset that gave it
    failure: ModelCallFailed | None = None

    @property
    def average(self) -> float:
        return float(self.worst.mean()) if self.worst.size else 0.0


def _ranges(inputs: StressInputs) -> dict[str, float]:
    out = {}
    for feature in stats.tested_features(inputs):
        if not feature.is_numeric:
            continue
        col = stats.numeric_column(inputs, feature.name)
        ref = col.ref[col.ref_valid]
        if ref.size and float(ref.max()) > float(ref.min()):
            out[feature.name] = float(ref.max()) - float(ref.min())
    return out


def _single_feature(inputs: StressInputs, linf: float, sample: CleanSample) -> list[_Attacked]:
    def build() -> list[_Attacked]:
        n = len(sample.frame)
        offsets = np.linspace(-1.0, 1.0, NUM_OFFSETS)
        frames, plan = [], []
        for name, width in _ranges(inputs).items():
            if name not in sample.frame.columns:
                continue
            step = linf * width
            base = pd.to_numeric(sample.frame[name], errors="coerce").to_numpy(dtype=np.float64)
            frame = sample.frame.loc[np.repeat(np.arange(n), NUM_OFFSETS)].reset_index(drop=True)
            frame[name] = np.repeat(base, NUM_OFFSETS) + np.tile(offsets * step, n)
            frames.append(frame)
            plan.append((name, step))
        answers = predict_frames(inputs, frames)
        out = []
        for (name, step), answer in zip(plan, answers, strict=True):
            if isinstance(answer, ModelCallFailed):
                out.append(_Attacked(name, step, np.zeros(0), np.zeros(0), answer))
                continue
            change = np.abs(answer.reshape(n, NUM_OFFSETS) - sample.preds[:, None])
            out.append(_Attacked(name, step, change.max(axis=1), offsets[change.argmax(axis=1)] * step))
        return out

    return inputs.cache.get(("single_feature_attack", linf, len(sample.frame)), build)


def _attack_metrics(worst: np.ndarray, step: float | None = None) -> list[Metric]:
    metrics = [
        Metric("Worst Prediction Change", MetricCategory.ATTACK_DETAILS, float(worst.max())),
        Metric("Average Prediction Change", MetricCategory.ATTACK_DETAILS, float(worst.mean())),
        Metric("Num Rows Attacked", MetricCategory.ATTACK_DETAILS, int(worst.size)),
    ]
    if step is not None:
        metrics.append(Metric("Max Change Allowed", MetricCategory.ATTACK_DETAILS, step))
    return metrics


@register("sensitivity", "Feature Sensitivity", SensitivityParams, needs_model=True)
def sensitivity(inputs: StressInputs, params: SensitivityParams) -> Findings | None:
    """How far a small change to one numeric feature moves the model's prediction."""
    if not inputs.has_model:
        return None
    sample = clean_sample(inputs, params.sample_size, _SALT)
    attacked = _single_feature(inputs, params.linf_constraint, sample)
    if not attacked:
        return None
    factor = inputs.config.threshold_factor
    cases = []
    for a in attacked:
        if a.failure is not None:
            cases.append(
                TestCase(
                    [a.feature],
                    Severity.ALERT,
                    f"Changing {a.feature} by at most {a.step:.4g}: {a.failure}.",
                    importance=1.0,
                )
            )
            continue
        severity = severity_from_thresholds(a.average, params.severity_thresholds, factor)
        cases.append(
            TestCase(
                [a.feature],
                severity,
                f"Changing {a.feature} by at most {a.step:.4g} ({params.linf_constraint:.0%} of its range) "
                f"moves "
                f"the model's prediction by {a.average:.3f} on a typical row and by up to "
                f"{float(a.worst.max()):.3f} over {a.worst.size} rows.",
                _attack_metrics(a.worst, a.step),
                importance=a.average,
            )
        )
    return Findings(cases)


@register("multi_feat_sensitivity", "Multi-Feature Sensitivity", MultiFeatSensitivityParams, needs_model=True)
def multi_feat_sensitivity(inputs: StressInputs, params: MultiFeatSensitivityParams) -> Findings | None:
    """How far small changes to several numeric features at once move the model's prediction."""
    if not inputs.has_model:
        return None
    sample = clean_sample(inputs, params.sample_size, _SALT)
    attacked = [a for a in _single_feature(inputs, params.linf_constraint, sample) if a.failure is None]
    if not attacked:
        return None
    chosen = sorted(attacked, key=lambda a: -a.average)[: params.l0_constraint]
    n, k = len(sample.frame), len(chosen)
    steps = np.array([a.step for a in chosen])
    rng = np.random.default_rng([inputs.config.random_seed, _SALT, k])
    corners = np.array(list(itertools.product((-1.0, 1.0), repeat=k)))
    random_points = rng.uniform(-1.0, 1.0, size=(NUM_OFFSETS, k))
    unit = np.vstack([corners, random_points])  # same points for every row
    per_row = unit.shape[0] + 1
    base = {a.feature: pd.to_numeric(sample.frame[a.feature]).to_numpy(dtype=np.float64) for a in chosen}
    frame = sample.frame.loc[np.repeat(np.arange(n), per_row)].reset_index(drop=True)
    for j, a in enumerate(chosen):
        offsets = np.empty((n, per_row))
        offsets[:, :-1] = unit[:, j] * steps[j]
        offsets[:, -1] = a.worst_offset
        frame[a.feature] = np.repeat(base[a.feature], per_row) + offsets.reshape(-1)
    (answer,) = predict_frames(inputs, [frame])
    names = [a.feature for a in chosen]
    if isinstance(answer, ModelCallFailed):
        return Findings(
            [
                TestCase(
                    names, Severity.ALERT, f"Changing {', '.join(names)} together: {answer}.", importance=1.0
                )
            ]
        )
    worst = np.abs(answer.reshape(n, per_row) - sample.preds[:, None]).max(axis=1)
    average = float(worst.mean())
    severity = severity_from_thresholds(average, params.severity_thresholds, inputs.config.threshold_factor)
    case = TestCase(
        names,
        severity,
        f"Changing {', '.join(names)} together, each by at most {params.linf_constraint:.0%} of its range, "
        f"moves the model's prediction by {average:.3f} on a typical row and by up to "
        f"{float(worst.max()):.3f} "
        f"over {n} rows.",
        _attack_metrics(worst),
        importance=average,
    )
    return Findings([case])
