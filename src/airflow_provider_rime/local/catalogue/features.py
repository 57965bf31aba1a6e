"""Inferring feature types (numeric, categorical, boolean, text-like) from a DataFrame."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from airflow_provider_rime.local.catalogue.types import Feature
from airflow_provider_rime.local.catalogue.types import FeatureKind

# A string column is "text-like" when its values are long and mostly distinct.
_TEXT_MIN_AVG_LENGTH = 30
_TEXT_MIN_UNIQUE_RATIO = 0.5


def infer_feature_kind(series: pd.Series) -> FeatureKind:
    if pd.api.types.is_bool_dtype(series):
        return FeatureKind.BOOLEAN
    if pd.api.types.is_numeric_dtype(series):
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
        x = x[~np.isnan(x)]
        # min/max first: most numeric columns are ruled out before the element-wise check.
        if x.size and x.min() == 0 and x.max() == 1 and bool(np.all((x == 0) | (x == 1))):
            return FeatureKind.BOOLEAN
        return FeatureKind.NUMERIC
    values = series.dropna()
    if len(values) == 0:
        return FeatureKind.CATEGORICAL
    rng = np.random.default_rng(0)
    picked = rng.choice(len(values), size=min(len(values), 2000), replace=False)
    sample = values.iloc[picked].astype(str)
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
