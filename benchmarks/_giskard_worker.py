"""Giskard 2.x ``scan`` of a RIME model directory on the walkthrough's data, timed.

Runs inside ``benchmarks/.work/giskard-venv``, where this project is not installed: ``train``
takes the example DAG's pipeline builder (``rime_demo.training``, light to import) from the
source tree.
Usage::

    python _giskard_worker.py train REF.csv OUT_DIR          # fit the walkthrough's CatBoost pipeline
    python _giskard_worker.py scan MODEL_DIR EVAL.csv OUT.json

``scan`` writes ``{"import_s", "scan_s", "issues": [{"detector", "group", "features", ...}]}``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import sys
import time
from pathlib import Path

NON_FEATURES = ("label", "preds", "pred", "timestamp")
ROOT = Path(__file__).resolve().parents[1]


def train(ref_path: str, out_dir: str) -> None:
    """Fit the example DAG's CatBoost pipeline (its own builder, from the source tree) on REF.csv."""
    import pandas as pd

    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "example_dags")]
    from rime_demo.training import build_pipeline

    ref = pd.read_csv(ref_path)
    features = [c for c in ref.columns if c not in NON_FEATURES]
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(ref[c])]
    numeric = [c for c in features if c not in categorical]
    pipeline = build_pipeline("catboost-classifier", categorical, numeric).fit(ref[features], ref["label"])
    saved = {"pipeline": pipeline, "features": features, "cities": sorted(ref["city"].dropna().unique())}
    (Path(out_dir) / "pipeline.pkl").write_bytes(pickle.dumps(saved))


def scan(model_dir: str, eval_path: str, out_path: str) -> None:
    os.environ.setdefault("GSK_DISABLE_ANALYTICS", "True")
    t0 = time.perf_counter()
    import giskard
    import numpy as np
    import pandas as pd

    t1 = time.perf_counter()
    spec = importlib.util.spec_from_file_location("rime_model", Path(model_dir) / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = json.loads((Path(model_dir) / "model_loading.json").read_text())["params"]
    predict_df = module.get_predict_df(**params)
    data = pd.read_csv(eval_path)
    features = [c for c in data.columns if c not in NON_FEATURES]
    data = data[[*features, "label"]]
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(data[c])]

    def prediction_function(df):
        p = np.asarray(predict_df(df), dtype=float)
        return np.stack([1 - p, p], axis=1)

    model = giskard.Model(
        prediction_function, model_type="classification", classification_labels=[0, 1], feature_names=features
    )
    dataset = giskard.Dataset(
        data,
        target="label",
        cat_columns=categorical,
    )
    t2 = time.perf_counter()
    report = giskard.scan(model, dataset, raise_exceptions=False, verbose=False)
    t3 = time.perf_counter()
    issues = []
    for issue in report.issues:
        issues.append(
            {
                "detector": type(issue).__name__,
                "group": str(getattr(issue.group, "name", issue.group)),
                "level": str(getattr(issue, "level", "")),
                "features": list(getattr(issue, "features", []) or []),
                "description": str(getattr(issue, "description", ""))[:300],
            }
        )
    Path(out_path).write_text(
        json.dumps(
            {
                "giskard": giskard.__version__,
                "import_s": t1 - t0,
                "setup_s": t2 - t1,
                "scan_s": t3 - t2,
                "rows": len(data),
                "issues": issues,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(*sys.argv[2:4])
    else:
        scan(*sys.argv[2:5])
