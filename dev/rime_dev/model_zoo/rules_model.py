"""A fraud score over amount, age, hour, income, channel and city (a RIME model file).

``get_predict_df(weakness="robust")`` returns ``predict_df``. The robust score coerces
numbers, imputes nulls with the reference medians, clips numbers to the reference ranges and
reads categories case-insensitively (unknown ones count as neutral). Weaknesses:
``nulls`` (a missing age scores as near-certain fraud), ``case`` (channel looked up with its
exact case; a miss scores as near-certain fraud) and ``high_frequency`` (the score swings
with a fast periodic term in hour).
"""

import numpy as np
import pandas as pd

MEDIANS = {"amount": 20.0, "age": 53.0, "hour": 12.0, "income": 50.0}
RANGES = {"amount": (1.0, 450.0), "age": (18.0, 89.0), "hour": (0.0, 24.0), "income": (0.0, 100.0)}
CHANNEL = {"online": 0.25, "store": -0.15, "phone": 0.0}
CITY = {"rome": 0.1, "paris": -0.1, "london": 0.05, "oslo": 0.0}


def get_predict_df(weakness="robust"):
    def predict_df(df):
        num = {}
        for name, (low, high) in RANGES.items():
            values = pd.to_numeric(df[name], errors="coerce")
            missing = values.isna().to_numpy()
            num[name] = values.fillna(MEDIANS[name]).clip(low, high).to_numpy(dtype=float)
            num[name + "_missing"] = missing
        z = (
            -1.2
            + 0.06 * (np.log(num["amount"]) - 3.0)
            + 0.004 * (num["age"] - 53.0)
            + 0.01 * (num["hour"] - 12.0)
            + 0.004 * (num["income"] - 50.0)
        )
        city = df["city"].astype(str).str.lower().map(CITY).fillna(0.0).to_numpy(dtype=float)
        if weakness == "case":
            exact = df["channel"].map(CHANNEL)
            channel = exact.fillna(4.0).to_numpy(dtype=float)
        else:
            channel = df["channel"].astype(str).str.lower().map(CHANNEL).fillna(0.0).to_numpy(dtype=float)
        z = z + city + channel
        if weakness == "high_frequency":
            z = z + 1.2 * np.sin(2 * np.pi * num["hour"] / 0.07)
        p = 1.0 / (1.0 + np.exp(-z))
        if weakness == "nulls":
            p = np.where(num["age_missing"], 0.97, p)
        return p

    return predict_df
