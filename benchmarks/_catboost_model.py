"""The walkthrough's CatBoost model as a RIME model file, with an optional planted weakness.

Copied into a model directory as ``model.py`` beside ``pipeline.pkl`` (the fitted pipeline:
categorical columns filled with ``"missing"``, CatBoost with native categorical features, the
example DAG's settings) and ``model_loading.json`` (``{"params": {"weakness": ...}}``).
Weaknesses: ``none``; ``nulls`` (a missing transaction amount scores 0.97); ``case`` (a city
whose case differs from the training data's scores 0.97); ``high_frequency`` (the score swings
with a fast periodic term in the transaction amount).
"""

import pickle
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent


def get_predict_df(weakness="none"):
    with (_HERE / "pipeline.pkl").open("rb") as handle:
        saved = pickle.load(handle)
    pipeline, features, cities = saved["pipeline"], saved["features"], set(saved["cities"])

    def predict_df(df):
        p = pipeline.predict_proba(df[features])[:, 1]
        if weakness == "nulls":
            p = np.where(df["transaction_amount"].isna().to_numpy(), 0.97, p)
        elif weakness == "case":
            known = df["city"].map(lambda c: c in cities or not isinstance(c, str)).to_numpy(dtype=bool)
            lowered = df["city"].map(
                lambda c: isinstance(c, str) and c.lower() in {x.lower() for x in cities}
            )
            p = np.where(~known & lowered.to_numpy(dtype=bool), 0.97, p)
        elif weakness == "high_frequency":
            amount = np.nan_to_num(df["transaction_amount"].astype(float).to_numpy(), nan=0.0)
            z = np.log(p / (1 - p)) + 1.5 * np.sin(2 * np.pi * amount / 0.5)
            p = 1 / (1 + np.exp(-z))
        return p

    return predict_df
