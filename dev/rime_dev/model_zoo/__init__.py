"""Model directories with weak spots planted on purpose: ground truth for the model-based tests.

``rules_model.py`` is a RIME ``model_loading`` file: ``get_predict_df(weakness=...)`` returns a
scoring function over the columns of :func:`frames`. ``robust`` coerces types, imputes nulls,
clips numbers to the reference range and lower-cases categories; each weakness undoes one of
those on one feature. ``hostile/`` holds models that misbehave in the model process.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

#: weakness -> (feature, the test that must flag it)
WEAKNESSES = {
    "nulls": ("age", "null_substitution"),
    "case": ("channel", "capitalization_change"),
    "high_frequency": ("hour", "sensitivity"),
}
HOSTILE = ("hang", "memory", "raise", "wrong_shape", "not_probabilities", "exit")


def rules_predict(weakness: str = "robust") -> Callable[[pd.DataFrame], np.ndarray]:
    """``rules_model``'s ``predict_df`` for ``weakness``, in this process (to label data)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("rules_model", HERE / "rules_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_predict_df(weakness)  # type: ignore[no-any-return]


def frames(seed: int, n: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and evaluation data (features and ``label``) of one seed."""
    predict = rules_predict()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(2):
        df = pd.DataFrame(
            {
                "amount": rng.lognormal(3, 1, n),
                "age": rng.integers(18, 90, n).astype(float),
                "hour": rng.uniform(0, 24, n),
                "income": rng.normal(50, 15, n),
                "channel": rng.choice(["online", "store", "phone"], n),
                "city": rng.choice(["rome", "paris", "london", "oslo"], n),
            }
        )
        p = predict(df)
        df["label"] = (rng.random(n) < p).astype(int)
        out.append(df)
    return out[0], out[1]


def model_dir(tmp: Path, weakness: str = "robust") -> Path:
    """A RIME model directory in ``tmp`` for ``weakness`` (``robust``, a key of WEAKNESSES)."""
    target = tmp / f"model-{weakness}"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "rules_model.py", target / "model.py")
    (target / "model_loading.json").write_text(json.dumps({"params": {"weakness": weakness}}))
    return target


def hostile_dir(tmp: Path, kind: str) -> Path:
    """A model directory whose ``predict_df`` misbehaves as ``kind`` says (see HOSTILE)."""
    target = tmp / f"hostile-{kind}"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "hostile" / f"{kind}.py", target / "model.py")
    return target
