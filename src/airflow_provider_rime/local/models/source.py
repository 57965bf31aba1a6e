"""What a model registration points at, resolved before any model code runs.

- A RIME model file: a ``.py`` file, or a directory holding ``model.py``, that defines
  ``predict_df(df)`` (or ``predict_dict(row)``), or RIME's ``model_loading`` form
  ``get_predict_df(**params)`` (or ``get_predict_dict``) returning that function. RIME's API
  carries no ``params`` for a registered model path, so the local engine reads them from
  ``model_loading.json`` (``{"params": {...}}``) beside the file, if there is one.
- An MLflow model (beyond RIME): a directory holding an ``MLmodel`` file, or a ``models:/`` or
  ``runs:/`` URI resolved against the tracking server of ``MLFLOW_TRACKING_URI``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_rime.local.data import DataError, DataRoots

#: Beside a RIME model file: ``{"params": {...}}`` for ``get_predict_df(**params)``.
MODEL_LOADING_FILE = "model_loading.json"
_MLFLOW_SCHEMES = ("models:/", "runs:/")


@dataclass(frozen=True)
class ModelSource:
    """A model the engine can call: its kind, where it is, and how to name it in messages."""

    kind: Literal["rime", "mlflow"]
    location: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_message(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location, "params": self.params}


def resolve_model_source(path: str, name: str, roots: DataRoots) -> ModelSource:
    """The model behind a registration's ``modelInfo.modelPath.path``.

    Raises
    ------
    DataError
        Nothing callable there; the message says what was expected.
    """
    if path.startswith(_MLFLOW_SCHEMES):
        return ModelSource("mlflow", path, name)
    where = "modelInfo.modelPath.path"
    resolved = roots.check(path, where)  # nothing outside the data roots is read, nor its existence told
    if resolved.is_dir():
        if (resolved / "MLmodel").is_file():
            return ModelSource("mlflow", str(resolved), name)
        resolved = roots.check(str(resolved / "model.py"), where)
    if not resolved.is_file():
        raise DataError(
            f"{path}: no such model file (expected a .py file defining predict_df or predict_dict, "
            f"a directory holding model.py, or an MLflow model directory holding MLmodel)"
        )
    if resolved.suffix != ".py":
        raise DataError(f"{path}: a RIME model file is a Python file (.py); got {resolved.name}")
    source = resolved.read_text(errors="replace")
    functions = ("predict_df", "predict_dict", "get_predict_df", "get_predict_dict")
    if not any(f"def {fn}" in source for fn in functions):
        raise DataError(f"{resolved.name} defines none of {', '.join(functions)}")
    params: dict[str, Any] = {}
    loading = resolved.with_name(MODEL_LOADING_FILE)
    if loading.is_file():
        try:
            doc = json.loads(loading.read_text())
        except ValueError as exc:
            raise DataError(f"{MODEL_LOADING_FILE}: not valid JSON ({exc})") from None
        raw = doc.get("params", {}) if isinstance(doc, dict) else None
        if not isinstance(raw, dict):
            raise DataError(
                f'{MODEL_LOADING_FILE} must be {{"params": {{...}}}}, an object of keyword arguments'
            )
        params = raw
    return ModelSource("rime", str(resolved), name, params)
