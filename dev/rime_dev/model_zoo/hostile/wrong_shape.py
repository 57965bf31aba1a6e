import numpy as np


def predict_df(df):
    return np.full((len(df), 3), 0.3)
