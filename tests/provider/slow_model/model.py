"""A model that takes its time: each call sleeps, so a stress test calling it stays RUNNING.

The tests that cancel, time out or re-attach to a running job use it: since the engine forks
its job workers from a warm fork server, a predictions-only stress test on a few thousand rows
ends in well under a second, before a test could act on it running.
"""

import time

import numpy as np
import pandas as pd

#: Seconds each call takes.
DELAY = 0.3


def predict_df(df: pd.DataFrame) -> np.ndarray:
    time.sleep(DELAY)
    return np.full(len(df), 0.5)
