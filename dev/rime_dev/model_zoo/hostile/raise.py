def predict_df(df):
    raise KeyError("transaction_amount_usd")
