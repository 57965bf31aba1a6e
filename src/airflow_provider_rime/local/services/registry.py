"""The registry of datasets, models and prediction sets, each validated by a job after registration."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.data import DataError, DataRoots, OutsideDataRoots
from airflow_provider_rime.local.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from airflow_provider_rime.local.jobs.queue import DatasetPayload, ModelPayload, PredictionsPayload, enqueue
from airflow_provider_rime.local.store.queries import get_existing, select_page
from airflow_provider_rime.local.store.schema import Dataset, JobKind, Model, Prediction, Project
from airflow_provider_rime.rime_api.documents import (
    ConnectionInfo,
    RegisterDatasetRequest,
    RegisterModelRequest,
    RegisterPredictionsRequest,
)
from airflow_provider_rime.rime_api.enums import ValidityStatus
from airflow_provider_rime.rime_api.naming import utc_now

_PENDING_MESSAGE = "validation pending"
_CONNECTION_KINDS = ("dataFile", "dataLoading", "databricks", "huggingFace", "dataCollector")
Entry = TypeVar("Entry", Dataset, Model)


def check_readable(engine: EngineContext, path: str, where: str) -> None:
    """Refuse, before anything is stored or read, a path outside the engine's data roots.

    :raises PermissionDenied: The resolved path is outside the upload area and every data root.
    :raises InvalidInput: The path is not a local absolute path or ``file://`` URI.
    """
    try:
        DataRoots.of(engine.settings.readable_roots).check(path, where)
    except OutsideDataRoots as exc:
        raise PermissionDenied(str(exc)) from None
    except DataError as exc:
        raise InvalidInput(f"{where}: {exc}") from None


def _check_data_file(engine: EngineContext, connection: ConnectionInfo, where: str) -> None:
    kinds = connection.kinds()
    if len(kinds) != 1:
        raise InvalidInput(
            f"{where}.connectionInfo must hold exactly one of {', '.join(_CONNECTION_KINDS)}; "
            f"got {', '.join(kinds) or 'none'}"
        )
    if connection.data_file is None:
        raise InvalidInput(
            f"{where}.connectionInfo.{kinds[0]}: the local engine reads files only; use dataFile with the "
            f"destinationUrl of an upload or a local path"
        )
    check_readable(engine, connection.data_file.path, f"{where}.connectionInfo.dataFile.path")


def _awaiting_validation() -> dict[str, Any]:
    """The columns of a new entry whose validation job has not run yet."""
    return {
        "validity_status": ValidityStatus.PENDING.value,
        "validity_message": _PENDING_MESSAGE,
        "created_at": utc_now(),
    }


def _commit_unique(s: Session, message: str) -> None:
    try:
        s.commit()
    except IntegrityError:
        s.rollback()
        raise Conflict(message) from None


#: How messages name each kind of registry entry.
KINDS: dict[type[Dataset | Model | Prediction], str] = {
    Dataset: "dataset",
    Model: "model",
    Prediction: "prediction set",
}


def find(
    s: Session, entity: type[Entry], entry_id: str | None, name: str | None, project_id: str | None
) -> Entry:
    """A dataset or model by id, or by name (within a project when one is given)."""
    kind = KINDS[entity]
    if entry_id:
        return get_existing(s, entity, entry_id, kind)
    if name:
        stmt = select(entity).where(entity.name == name)
        if project_id:
            stmt = stmt.where(entity.project_id == project_id)
        by_name = s.scalars(stmt.order_by(entity.created_at)).first()
        if by_name is None:
            raise NotFound.named(f"{kind} named", name)
        return by_name
    id_param = "modelId.uuid" if entity is Model else "datasetId"
    raise InvalidInput(f"give {id_param} or {kind}Name")


def delete(s: Session, entity: type[Dataset | Model | Prediction], key: str | tuple[str, str]) -> None:
    """Delete a registry entry (a prediction set's key is ``(model_id, dataset_id)``)."""
    s.delete(get_existing(s, entity, key, KINDS[entity]))
    s.commit()


def list_in_project(
    s: Session, entity: type[Entry], project_id: str, offset: int, size: int
) -> tuple[list[Entry], int]:
    """A page of a project's datasets or models, oldest first."""
    stmt = select(entity).where(entity.project_id == project_id)
    return select_page(s, stmt.order_by(entity.created_at, entity.id), offset, size)


# ----------------------------------------------------------------------------- datasets


def register_dataset(
    engine: EngineContext, s: Session, project: Project, request: RegisterDatasetRequest
) -> tuple[Dataset, str]:
    """Store a dataset and queue its validation; returns the dataset and the validation job's id."""
    _check_data_file(engine, request.data_info.connection_info, "dataInfo")
    if request.ct_info is not None:
        raise InvalidInput("ctInfo (continuous testing) is not supported by the local engine yet")
    dataset = Dataset(
        id=str(uuid.uuid4()),
        project_id=project.id,
        name=request.name,
        data_info=request.data_info.to_wire(),
        user_metadata=request.metadata,
        **_awaiting_validation(),
    )
    s.add(dataset)
    job = enqueue(s, JobKind.VALIDATE_DATASET, project.id, DatasetPayload(dataset_id=dataset.id))
    _commit_unique(s, f"a dataset named {request.name!r} already exists in this project")
    engine.runner.wake()
    return dataset, job.id


# ----------------------------------------------------------------------------- models


def register_model(
    engine: EngineContext, s: Session, project: Project, request: RegisterModelRequest
) -> tuple[Model, str | None]:
    """Store a model; one with a model file is validated by a job (its id is returned)."""
    info = request.model_info
    if info is not None:
        if info.hugging_face is not None:
            raise InvalidInput("modelInfo.huggingFace: the local engine cannot load models from a hub")
        if info.model_path is None:
            raise InvalidInput("modelInfo.modelPath.path is required: the model.py file or its directory")
        check_readable(engine, info.model_path.path, "modelInfo.modelPath.path")
    model = Model(
        id=str(uuid.uuid4()),
        project_id=project.id,
        name=request.name,
        model_info=info.to_wire() if info is not None else None,
        user_metadata=request.metadata,
        external_id=request.external_id,
        **_awaiting_validation(),
    )
    if info is None:  # a "predictions-only" model: nothing to validate
        model.validity_status, model.validity_message = ValidityStatus.VALID.value, "predictions-only model"
    s.add(model)
    job_id = None
    if info is not None:
        job_id = enqueue(s, JobKind.VALIDATE_MODEL, project.id, ModelPayload(model_id=model.id)).id
    _commit_unique(s, f"a model named {request.name!r} already exists in this project")
    engine.runner.wake()
    return model, job_id


# ----------------------------------------------------------------------------- predictions


def register_predictions(
    engine: EngineContext,
    s: Session,
    project: Project,
    model_id: str,
    dataset_id: str,
    request: RegisterPredictionsRequest,
) -> str:
    """Store a model's predictions on a dataset and queue their validation; returns the job's id."""
    model = s.get(Model, model_id)
    if model is None or model.project_id != project.id:
        raise NotFound.named("model", model_id)
    dataset = s.get(Dataset, dataset_id)
    if dataset is None or dataset.project_id != project.id:
        raise NotFound.named("dataset", dataset_id)
    _check_data_file(engine, request.pred_info.connection_info, "predInfo")
    if s.get(Prediction, (model_id, dataset_id)) is not None:
        raise Conflict(
            f"predictions of model {model.name!r} on dataset {dataset.name!r} are already registered"
        )
    s.add(
        Prediction(
            model_id=model_id,
            dataset_id=dataset_id,
            project_id=project.id,
            pred_info=request.pred_info.to_wire(),
            user_metadata=request.metadata,
            **_awaiting_validation(),
        )
    )
    payload = PredictionsPayload(model_id=model_id, dataset_id=dataset_id)
    job = enqueue(s, JobKind.VALIDATE_PREDICTIONS, project.id, payload)
    _commit_unique(s, "these predictions are already registered")
    engine.runner.wake()
    return job.id


def get_prediction(s: Session, model_id: str, dataset_id: str) -> Prediction:
    """A model's prediction set on a dataset."""
    return get_existing(s, Prediction, (model_id, dataset_id), KINDS[Prediction])


def list_predictions(
    s: Session, project_id: str, model_id: str | None, dataset_id: str | None, offset: int, size: int
) -> tuple[list[Prediction], int]:
    stmt = select(Prediction).where(Prediction.project_id == project_id)
    if model_id:
        stmt = stmt.where(Prediction.model_id == model_id)
    if dataset_id:
        stmt = stmt.where(Prediction.dataset_id == dataset_id)
    return select_page(s, stmt.order_by(Prediction.created_at), offset, size)
