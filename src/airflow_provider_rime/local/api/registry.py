"""The registry of datasets, models and predictions (rime-api.md §6–§8), with validation jobs."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_provider_rime.local.api.deps import ctx, select_page, session
from airflow_provider_rime.local.api.projects import get_project
from airflow_provider_rime.local.api.serialize import dataset_json, model_json, prediction_json
from airflow_provider_rime.local.api.wire import field, json_body, now, page_response, paged, uuid_of
from airflow_provider_rime.local.errors import bad_request, conflict, not_found
from airflow_provider_rime.local.store.schema import Dataset, Job, Model, Prediction

router = APIRouter()

PENDING = "VALIDITY_STATUS_PENDING"
VALID = "VALIDITY_STATUS_VALID"
_CONNECTION_KINDS = ("dataFile", "dataLoading", "databricks", "huggingFace", "dataCollector")


def _metadata(body: dict[str, Any]) -> dict[str, Any] | None:
    meta = field(body, "metadata")
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object {tags, extraInfo}")
    return meta


def _connection_info(info: Any, where: str) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise bad_request(f"{where} is required: {{connectionInfo: {{dataFile: {{path: ...}}}}}}")
    connection = field(info, "connectionInfo")
    if not isinstance(connection, dict):
        raise bad_request(f"{where}.connectionInfo is required and must be an object")
    kinds = [k for k in _CONNECTION_KINDS if field(connection, k) is not None]
    if len(kinds) != 1:
        raise bad_request(
            f"{where}.connectionInfo must hold exactly one of {', '.join(_CONNECTION_KINDS)}; "
            f"got {', '.join(kinds) or 'none'}"
        )
    if kinds[0] != "dataFile":
        raise bad_request(
            f"{where}.connectionInfo.{kinds[0]}: the local engine reads files only; use dataFile with the "
            f"destinationUrl of an upload or a local path"
        )
    path = field(field(connection, "dataFile"), "path")
    if not isinstance(path, str) or not path:
        raise bad_request(f"{where}.connectionInfo.dataFile.path is required")
    return info


def _validation_job(s: Session, project_id: str, kind: str, payload: dict[str, Any]) -> str:
    job_id = str(uuid.uuid4())
    s.add(
        Job(
            id=job_id,
            project_id=project_id,
            kind=kind,
            job_type="JOB_TYPE_UNSPECIFIED",
            status="JOB_STATUS_PENDING",
            payload=payload,
            created_at=now(),
        )
    )
    return job_id


def _commit_unique(s: Session, what: str, name: str) -> None:
    try:
        s.commit()
    except IntegrityError:
        s.rollback()
        raise conflict(f"a {what} named {name!r} already exists in this project") from None


def _require_name(body: dict[str, Any]) -> str:
    name = field(body, "name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name is required and must be a non-empty string")
    return name.strip()


@router.post("/v1/registry/{project_id}/dataset")
async def register_dataset(
    project_id: str, request: Request, s: Session = Depends(session)
) -> dict[str, Any]:
    body = await json_body(request)
    get_project(s, project_id)
    name = _require_name(body)
    info = _connection_info(field(body, "dataInfo"), "dataInfo")
    params = field(info, "dataParams")
    if params is not None and not isinstance(params, dict):
        raise bad_request("dataInfo.dataParams must be an object")
    if field(body, "ctInfo") is not None:
        raise bad_request("ctInfo (continuous testing) is not supported by the local engine yet")
    dataset = Dataset(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=name,
        data_info=info,
        user_metadata=_metadata(body),
        validity_status=PENDING,
        validity_message="validation pending",
        created_at=now(),
    )
    s.add(dataset)
    job_id = _validation_job(s, project_id, "validate_dataset", {"dataset_id": dataset.id})
    _commit_unique(s, "dataset", name)
    ctx(request).runner.wake()
    return {"datasetId": dataset.id, "registryValidationJobId": {"uuid": job_id}}


Entry = TypeVar("Entry", Dataset, Model)


def _lookup(
    s: Session, request: Request, entity: type[Entry], kind: str, id_params: tuple[str, ...]
) -> Entry:
    """An entry by id, or by name (optionally within ``projectId.uuid``), from the query string."""
    entry_id = next((request.query_params[p] for p in id_params if request.query_params.get(p)), None)
    name = request.query_params.get(f"{kind}Name")
    if entry_id:
        found = s.get(entity, entry_id)
        if found is None:
            raise not_found(kind, entry_id)
        return found
    if name:
        stmt = select(entity).where(entity.name == name)
        project_id = request.query_params.get("projectId.uuid") or request.query_params.get("projectId")
        if project_id:
            stmt = stmt.where(entity.project_id == project_id)
        by_name = s.scalars(stmt.order_by(entity.created_at)).first()
        if by_name is None:
            raise not_found(f"{kind} named", name)
        return by_name
    raise bad_request(f"give {id_params[0]} or {kind}Name")


@router.get("/v1/registry/dataset")
def read_dataset(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    return {"dataset": dataset_json(_lookup(s, request, Dataset, "dataset", ("datasetId",)))}


@router.delete("/v1/registry/dataset/{dataset_id}")
def delete_dataset(dataset_id: str, s: Session = Depends(session)) -> dict[str, Any]:
    ds = s.get(Dataset, dataset_id)
    if ds is None:
        raise not_found("dataset", dataset_id)
    s.delete(ds)
    s.commit()
    return {}


@router.get("/v1/registry/{project_id}/dataset")
def list_datasets(project_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    offset, size, query = paged(request, {"p": project_id})
    get_project(s, query["p"])
    stmt = select(Dataset).where(Dataset.project_id == query["p"])
    rows, total = select_page(s, stmt.order_by(Dataset.created_at, Dataset.id), offset, size)
    return page_response("datasets", [dataset_json(d) for d in rows], offset, size, total, query)


@router.post("/v1/registry/{project_id}/model")
async def register_model(project_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    body = await json_body(request)
    get_project(s, project_id)
    name = _require_name(body)
    info = field(body, "modelInfo")
    if info is not None:
        if not isinstance(info, dict):
            raise bad_request("modelInfo must be an object")
        if field(info, "huggingFace") is not None:
            raise bad_request("modelInfo.huggingFace: the local engine cannot load models from a hub")
        if not isinstance(field(field(info, "modelPath"), "path"), str):
            raise bad_request("modelInfo.modelPath.path is required: the model.py file or its directory")
    model = Model(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=name,
        model_info=info,
        user_metadata=_metadata(body),
        external_id=field(body, "externalId"),
        validity_status=PENDING if info else VALID,
        validity_message="validation pending" if info else "predictions-only model",
        created_at=now(),
    )
    s.add(model)
    response: dict[str, Any] = {"modelId": {"uuid": model.id}}
    if info:
        response["registryValidationJobId"] = {
            "uuid": _validation_job(s, project_id, "validate_model", {"model_id": model.id})
        }
    _commit_unique(s, "model", name)
    ctx(request).runner.wake()
    return response


@router.get("/v1/registry/model")
def read_model(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    return {
        "model": {
            "model": model_json(_lookup(s, request, Model, "model", ("modelId.uuid", "modelId"))),
            "ownerDetails": {"name": "local"},
        }
    }


@router.delete("/v1/registry/model/{model_id}")
def delete_model(model_id: str, s: Session = Depends(session)) -> dict[str, Any]:
    model = s.get(Model, model_id)
    if model is None:
        raise not_found("model", model_id)
    s.delete(model)
    s.commit()
    return {}


@router.get("/v1/registry/{project_id}/model")
def list_models(project_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    offset, size, query = paged(request, {"p": project_id})
    get_project(s, query["p"])
    stmt = select(Model).where(Model.project_id == query["p"])
    rows, total = select_page(s, stmt.order_by(Model.created_at, Model.id), offset, size)
    items = [{"model": model_json(m), "ownerDetails": {"name": "local"}} for m in rows]
    return page_response("models", items, offset, size, total, query)


@router.post("/v1/registry/{project_id}/model/{model_id}/dataset/{dataset_id}/prediction")
async def register_predictions(
    project_id: str, model_id: str, dataset_id: str, request: Request, s: Session = Depends(session)
) -> dict[str, Any]:
    body = await json_body(request)
    get_project(s, project_id)
    model = s.get(Model, model_id)
    if model is None or model.project_id != project_id:
        raise not_found("model", model_id)
    dataset = s.get(Dataset, dataset_id)
    if dataset is None or dataset.project_id != project_id:
        raise not_found("dataset", dataset_id)
    info = _connection_info(field(body, "predInfo"), "predInfo")
    params = field(info, "predParams")
    if params is not None and not isinstance(params, dict):
        raise bad_request("predInfo.predParams must be an object")
    if s.get(Prediction, (model_id, dataset_id)) is not None:
        raise conflict(
            f"predictions of model {model.name!r} on dataset {dataset.name!r} are already registered"
        )
    s.add(
        Prediction(
            model_id=model_id,
            dataset_id=dataset_id,
            project_id=project_id,
            pred_info=info,
            user_metadata=_metadata(body),
            validity_status=PENDING,
            validity_message="validation pending",
            created_at=now(),
        )
    )
    job_id = _validation_job(
        s, project_id, "validate_predictions", {"model_id": model_id, "dataset_id": dataset_id}
    )
    try:
        s.commit()
    except IntegrityError:
        s.rollback()
        raise conflict("these predictions are already registered") from None
    ctx(request).runner.wake()
    return {"registryValidationJobId": {"uuid": job_id}}


@router.get("/v1/registry/prediction/{model_id}/{dataset_id}")
def read_prediction(model_id: str, dataset_id: str, s: Session = Depends(session)) -> dict[str, Any]:
    pred = s.get(Prediction, (model_id, dataset_id))
    if pred is None:
        raise not_found("prediction set", f"{model_id}/{dataset_id}")
    return {"prediction": prediction_json(pred)}


@router.delete("/v1/registry/prediction/{model_id}/{dataset_id}")
def delete_prediction(model_id: str, dataset_id: str, s: Session = Depends(session)) -> dict[str, Any]:
    pred = s.get(Prediction, (model_id, dataset_id))
    if pred is None:
        raise not_found("prediction set", f"{model_id}/{dataset_id}")
    s.delete(pred)
    s.commit()
    return {}


@router.get("/v1/registry/{project_id}/prediction")
def list_predictions(project_id: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    first = {
        "p": project_id,
        "m": uuid_of(
            request.query_params.get("firstPageReq.modelId.uuid")
            or request.query_params.get("firstPageReq.modelId")
        ),
        "d": request.query_params.get("firstPageReq.datasetId"),
    }
    offset, size, query = paged(request, first)
    get_project(s, query["p"])
    stmt = select(Prediction).where(Prediction.project_id == query["p"])
    if query.get("m"):
        stmt = stmt.where(Prediction.model_id == query["m"])
    if query.get("d"):
        stmt = stmt.where(Prediction.dataset_id == query["d"])
    rows, total = select_page(s, stmt.order_by(Prediction.created_at), offset, size)
    return page_response("predictions", [prediction_json(p) for p in rows], offset, size, total, query)
