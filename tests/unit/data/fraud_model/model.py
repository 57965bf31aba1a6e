"""A tiny model for the unit tests: the score grows with the amount."""

import numpy as np


def predict_df(df):
    return 1 / (1 + np.exp(-(np.log(df["amount"]) - 3)))
