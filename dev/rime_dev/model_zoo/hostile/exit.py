import os


def predict_df(df):
    os._exit(7)
