"""A RIME model file: ``predict_df(df)`` returns each row's fraud probability.

The example DAG copies this file as ``model.py`` into a model directory next to
``model.pkl`` (the fitted scikit-learn pipeline) and ``features.json`` (the columns it
reads). RIME (a cluster or the local engine) imports it and calls ``predict_df``; it
needs only the libraries the pipeline was fitted with.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_loaded: dict[str, Any] = {}


def _load() -> tuple[Any, list[str]]:
    if not _loaded:
        with (_HERE / "model.pkl").open("rb") as handle:
            _loaded["model"] = pickle.load(handle)
        _loaded["features"] = json.loads((_HERE / "features.json").read_text())["features"]
    return _loaded["model"], _loaded["features"]


def predict_df(df: Any) -> Any:
    """The fraud probability of each row of ``df`` (a 1-d numpy array).

    :param df: a pandas DataFrame with (at least) the model's feature columns.
    """
    model, features = _load()
    return model.predict_proba(df[features])[:, 1]
