"""Registry validation jobs: is a registered dataset, model or prediction set usable?

Each job reads the file the registration names, sets the entry's ``validityStatus`` and
``validityStatusMessage`` (the message says what is wrong in the user's terms), and raises
``DataError`` when the entry is invalid so that the job fails with the same message.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_rime.local.data import (
    DataError,
    DataRoots,
    fingerprint,
    inspect_table,
    missing_column_message,
)
from airflow_provider_rime.local.models import (
    ModelLimits,
    ModelProcess,
    ModelSource,
    model_execution_enabled,
    resolve_model_source,
)
from airflow_provider_rime.local.store.schema import Dataset, Model, Prediction
from airflow_provider_rime.rime_api.documents import ConnectionInfo, DataInfo, ModelInfo, PredInfo
from airflow_provider_rime.rime_api.enums import ValidityStatus
from airflow_provider_rime.rime_api.naming import to_camel

#: How long predictions wait for their dataset's own validation (it tells the row count).
DATASET_WAIT_SECONDS = 600
#: Feature lists of ``dataParams`` whose columns must be in the data.
_FEATURE_LISTS = ("categorical_features", "text_features", "protected_features", "features_not_in_model")

Doc = TypeVar("Doc", bound=BaseModel)
Entry = TypeVar("Entry", Dataset, Model, Prediction)


def read_stored(model: type[Doc], doc: dict[str, Any] | None, where: str) -> Doc:
    """A stored registry document as its wire model (rows stored by older engines included)."""
    try:
        return model.model_validate(doc or {})
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        raise DataError(f"{where}.{field}: {problem['msg']}") from None


def data_file_path(connection: ConnectionInfo, where: str) -> str:
    """The file a registration points at (the local engine reads ``dataFile`` connections only)."""
    if connection.data_file is None:
        kinds = ", ".join(connection.kinds()) or "none"
        raise DataError(
            f"{where}: the local engine reads connectionInfo.dataFile.path (a CSV or Parquet file); "
            f"got {kinds}"
        )
    return connection.data_file.path


def _record(
    sessions: sessionmaker[Session],
    entity: type[Entry],
    key: Any,
    *,
    valid: bool,
    message: str,
    **facts: Any,
) -> None:
    """Store the verdict (and what validation learned) in one transaction."""
    with sessions.begin() as s:
        entry = s.get_one(entity, key)
        entry.validity_status = (ValidityStatus.VALID if valid else ValidityStatus.INVALID).value
        entry.validity_message = message
        for name, value in facts.items():
            setattr(entry, name, value)


class _Verdict:
    """What a validation found when the entry is valid: the message and the facts to store."""

    def __init__(self) -> None:
        self.message: str | None = None
        self.facts: dict[str, Any] = {}

    def valid(self, message: str, **facts: Any) -> None:
        self.message, self.facts = message, facts


@contextmanager
def _verdict(sessions: sessionmaker[Session], entity: type[Entry], key: Any) -> Iterator[_Verdict]:
    """Record a validation's outcome: the ``DataError`` the block raises (re-raised) as the
    entry's invalid status, or what the block passed to ``valid()`` as its valid status."""
    verdict = _Verdict()
    try:
        yield verdict
    except DataError as exc:
        _record(sessions, entity, key, valid=False, message=str(exc))
        raise
    if verdict.message is None:
        raise RuntimeError("a validation finished without a verdict")
    _record(sessions, entity, key, valid=True, message=verdict.message, **verdict.facts)


def validate_dataset(sessions: sessionmaker[Session], dataset_id: str, roots: DataRoots) -> None:
    """Check that the dataset's file reads, has rows, and holds the columns its params name."""
    with sessions() as s:
        stored = s.get_one(Dataset, dataset_id).data_info
    with _verdict(sessions, Dataset, dataset_id) as verdict:
        info = read_stored(DataInfo, stored, "dataInfo")
        path = data_file_path(info.connection_info, "dataInfo")
        content = fingerprint(path, roots)
        table, _ = inspect_table(path, roots)
        params = info.data_params
        if params is not None:
            for role, column in (("label", params.label_col), ("timestamp", params.timestamp_col)):
                if column and column not in table.columns:
                    raise DataError(missing_column_message(column, role, "data", table.columns))
            for name in _FEATURE_LISTS:
                missing = [c for c in getattr(params, name) or [] if c not in table.columns]
                if missing:
                    raise DataError(
                        f"dataParams.{to_camel(name)} names columns not in the data: {', '.join(missing)}"
                    )
        if table.num_rows == 0:
            raise DataError("the file has no rows")
        verdict.valid(
            f"{table.num_rows} rows, {len(table.columns)} columns ({table.file_format})",
            num_rows=table.num_rows,
            columns=table.columns,
            size_bytes=content.size_bytes,
            content_digest=content.digest,
        )


def validate_predictions(
    sessions: sessionmaker[Session], model_id: str, dataset_id: str, roots: DataRoots
) -> None:
    """Check that the predictions are probabilities of class 1, one per row of the dataset."""
    import pyarrow.compute as pc

    deadline = time.monotonic() + DATASET_WAIT_SECONDS
    while True:
        with sessions() as s:
            ds = s.get_one(Dataset, dataset_id)
            if ds.validity_status != ValidityStatus.PENDING or time.monotonic() > deadline:
                n_rows = ds.num_rows
                break
        time.sleep(0.2)
    with sessions() as s:
        stored = s.get_one(Prediction, (model_id, dataset_id)).pred_info
    with _verdict(sessions, Prediction, (model_id, dataset_id)) as verdict:
        info = read_stored(PredInfo, stored, "predInfo")
        column = (info.pred_params.pred_col if info.pred_params else None) or "pred"
        path = data_file_path(info.connection_info, "predInfo")
        content = fingerprint(path, roots)
        table, values = inspect_table(path, roots, numeric_column=column)
        if values is None:
            raise DataError(missing_column_message(column, "prediction", "predictions file", table.columns))
        nulls = values.null_count + int(pc.sum(pc.is_nan(values)).as_py() or 0)
        if nulls:
            raise DataError(f"prediction column {column!r} has {nulls} missing values")
        low, high = pc.min_max(values).values()
        if table.num_rows and (low.as_py() < 0 or high.as_py() > 1):
            raise DataError(
                f"prediction column {column!r} must hold probabilities of class 1 in [0, 1]; "
                f"found values from {low.as_py():.4g} to {high.as_py():.4g}"
            )
        if n_rows is not None and table.num_rows != n_rows:
            raise DataError(f"the predictions have {table.num_rows} rows but the dataset has {n_rows}")
        verdict.valid(
            f"{table.num_rows} predictions in column {column!r}",
            size_bytes=content.size_bytes,
            content_digest=content.digest,
        )


def model_source(model: Model, roots: DataRoots) -> ModelSource | None:
    """What calling ``model`` runs: ``None`` for a predictions-only model, or when this engine's
    model execution is turned off (``RIME_LOCAL_MODEL_EXECUTION=0``)."""
    if not model.model_info or not model_execution_enabled():
        return None
    info = read_stored(ModelInfo, model.model_info, "modelInfo")
    if info.model_path is None:
        return None
    return resolve_model_source(info.model_path.path, model.name, roots)


def validate_model(sessions: sessionmaker[Session], model_id: str, roots: DataRoots) -> None:
    """Check that the model loads: its file (or MLflow model) is there and, unless model
    execution is turned off, it imports in a model process and exposes a prediction function.

    Calling it on data waits for a stress test, which checks it on a few reference rows first.
    """
    with sessions() as s:
        model = s.get_one(Model, model_id)
        stored, name = model.model_info, model.name
    with _verdict(sessions, Model, model_id) as verdict:
        info = read_stored(ModelInfo, stored, "modelInfo")
        if info.model_path is None:
            raise DataError("modelInfo.modelPath.path is required for a model with a model file")
        source = resolve_model_source(info.model_path.path, name, roots)
        what = "MLflow model" if source.kind == "mlflow" else f"model file {Path(source.location).name}"
        if model_execution_enabled():
            with ModelProcess(source, ModelLimits.from_env()):
                pass
            verdict.valid(f"{what}: loaded in a model process")
        else:
            verdict.valid(f"{what} (not loaded: model execution is turned off on this engine)")
