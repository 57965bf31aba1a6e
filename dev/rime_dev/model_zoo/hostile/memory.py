def predict_df(df):
    hog = bytearray(64 << 30)  # 64 GiB: beyond any model process limit
    return [len(hog)] * len(df)
