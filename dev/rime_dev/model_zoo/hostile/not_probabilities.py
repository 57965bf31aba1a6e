import numpy as np


def predict_df(df):
    return np.linspace(-2.0, 5.0, len(df))
