"""Calling the model on perturbed copies of evaluation rows, in as few calls as possible.

Transformations and Attacks build many small frames (one per feature, or per perturbation)
from the same clean rows. :func:`predict_frames` sends them to the model as one batch and
splits the answer; when the model raises on the batch, it asks frame by frame, so that one
feature the model cannot take does not hide what it does on the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from airflow_provider_rime.local.catalogue.types import ModelCallFailed
from airflow_provider_rime.local.catalogue.types import StressInputs


@dataclass(frozen=True)
class CleanSample:
    """Evaluation rows without nulls in the tested features, and the model's answers on them."""

    rows: np.ndarray
    frame: pd.DataFrame
    preds: np.ndarray
    labels: np.ndarray | None


def clean_sample(inputs: StressInputs, size: int, salt: int = 0) -> CleanSample:
    """Up to ``size`` seeded evaluation rows with no missing feature value (any rows if none
    are clean), with the model's predictions on them (one call, cached per run)."""

    def build() -> CleanSample:
        assert inputs.model is not None and inputs.model_frame is not None
        features = [c for c in inputs.features if c in inputs.eval.columns]
        clean = np.flatnonzero(~inputs.eval[features].isna().any(axis=1).to_numpy())
        pool = clean if clean.size else np.arange(len(inputs.eval))
        rng = np.random.default_rng([inputs.config.random_seed, salt, size])
        rows = np.sort(rng.choice(pool, size=min(size, pool.size), replace=False))
        frame = inputs.model_frame.iloc[rows].reset_index(drop=True)
        preds = inputs.model(frame)
        labels = inputs.eval_labels[rows] if inputs.eval_labels is not None else None
        return CleanSample(rows, frame, preds, labels)

    return inputs.cache.get(("clean_sample", size, salt), build)


def predict_frames(inputs: StressInputs, frames: list[pd.DataFrame]) -> list[np.ndarray | ModelCallFailed]:
    """The model's predictions on each frame, or the failure it raised on that frame."""
    assert inputs.model is not None
    if not frames:
        return []
    sizes = [len(f) for f in frames]
    try:
        preds = inputs.model(pd.concat(frames, ignore_index=True))
    except ModelCallFailed:
        out: list[np.ndarray | ModelCallFailed] = []
        for frame in frames:
            try:
                out.append(inputs.model(frame))
            except ModelCallFailed as exc:
                out.append(exc)
        return out
    return list(np.split(preds, np.cumsum(sizes)[:-1]))


def with_column(frame: pd.DataFrame, column: str, values: list[object]) -> pd.DataFrame:
    """A copy of ``frame`` with ``column`` replaced by ``values`` (pandas infers the new type:
    strings in a numeric column make it an object column, as they would in a real file)."""
    out = frame.copy()
    out[column] = pd.Series(values, index=out.index)
    return out
