"""The walkthrough's reference (train) and evaluation (test) data, as files.

Either the walkthrough's CSV files (setting ``fraud_data_dir``) or, by default, data of the
same schema from the repository's generator (``dev/rime_dev/datagen.py``), with mild drift
and a few abnormal inputs in the evaluation split so that the stress test has something to find.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rime_demo import LABEL_COL, TIMESTAMP_COL
from rime_demo.settings import setting

if TYPE_CHECKING:
    import pandas as pd

SPLITS = ("train", "test")
_WALKTHROUGH_FILES = {"train": "fraud_ref.csv", "test": "fraud_eval.csv"}


def fetch_fraud_data(split: str, out_dir: Path) -> Path:
    """Write one split of the fraud data to ``out_dir/<split>.csv`` and return the path.

    The stored predictions (``preds``) of the walkthrough's files are dropped: each model
    adds its own. The train split carries no timestamp, like the walkthrough's reference file.

    :param split: ``"train"`` (reference) or ``"test"`` (evaluation).
    :param out_dir: the directory to write into.
    """
    import pandas as pd

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    source_dir = setting("fraud_data_dir")
    if source_dir:
        frame = pd.read_csv(Path(source_dir) / _WALKTHROUGH_FILES[split])
        frame = frame.drop(columns=["preds", "pred"], errors="ignore")
    else:
        frame = _generate(split)
    if split == "train":
        frame = frame.drop(columns=[TIMESTAMP_COL], errors="ignore")
    if LABEL_COL not in frame.columns:
        raise ValueError(f"the {split} data has no {LABEL_COL!r} column")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{split}.csv"
    frame.to_csv(path, index=False)
    return path


def _generate(split: str) -> pd.DataFrame:
    try:
        # The generator is developer tooling in the repository's dev/ folder, not part of the
        # installed provider: a deployment without the repository reads the walkthrough's files.
        from rime_dev.datagen import generate_fraud
    except ImportError as err:
        raise RuntimeError(
            "no fraud data: set the setting fraud_data_dir (Airflow Variable rime_demo_fraud_data_dir "
            "or environment variable RIME_DEMO_FRAUD_DATA_DIR) to a directory holding fraud_ref.csv and "
            "fraud_eval.csv; generated data needs the repository's dev/ folder on the Python path"
        ) from err
    if split == "train":
        return generate_fraud(int(setting("ref_rows") or 10_000), seed=1, with_pred=False)
    return generate_fraud(
        int(setting("eval_rows") or 20_000),
        seed=2,
        drift={"transaction_amount": 0.3, "label": -0.4},
        abnormal={"unseen": 0.01, "nulls": 0.005},
        with_pred=False,
    )
