"""Inferring feature types (numeric, categorical, boolean, text-like) from a DataFrame."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from airflow_provider_rime.local.catalogue.types import Feature, FeatureKind

# A string column is "text-like" when its values are long and mostly distinct.
_TEXT_MIN_AVG_LENGTH = 30
_TEXT_MIN_UNIQUE_RATIO = 0.5


def infer_feature_kind(series: pd.Series) -> FeatureKind:
    if pd.api.types.is_bool_dtype(series):
        return FeatureKind.BOOLEAN
    if pd.api.types.is_numeric_dtype(series):
        values = series.dropna()
        if len(values) and values.isin([0, 1]).all() and values.nunique() == 2:
            return FeatureKind.BOOLEAN
        return FeatureKind.NUMERIC
    values = series.dropna()
    if len(values) == 0:
        return FeatureKind.CATEGORICAL
    sample = values.sample(n=min(len(values), 2000), random_state=0).astype(str)
    if (
        sample.str.len().mean() >= _TEXT_MIN_AVG_LENGTH
        and sample.nunique() / len(sample) >= _TEXT_MIN_UNIQUE_RATIO
    ):
        return FeatureKind.TEXT
    return FeatureKind.CATEGORICAL


def infer_features(
    frame: pd.DataFrame, categorical_features: Iterable[str] = (), text_features: Iterable[str] = ()
) -> dict[str, Feature]:
    """Feature types of every column of ``frame``; the explicit lists override inference."""
    categorical = set(categorical_features)
    text = set(text_features)
    features = {}
    for column in frame.columns:
        name = str(column)
        if name in categorical:
            kind = FeatureKind.CATEGORICAL
        elif name in text:
            kind = FeatureKind.TEXT
        else:
            kind = infer_feature_kind(frame[column])
        features[name] = Feature(name, kind)
    return features
