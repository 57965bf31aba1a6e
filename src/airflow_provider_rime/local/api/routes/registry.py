"""The registry: datasets, models and prediction sets (each validated by a job once registered)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from airflow_provider_rime.local import render
from airflow_provider_rime.local.api.deps import Db, Engine, ExistingProject, Paged, Pager
from airflow_provider_rime.local.services import registry
from airflow_provider_rime.local.store.schema import Dataset, Model, Prediction, Project
from airflow_provider_rime.rime_api.documents import (
    RegisterDatasetRequest,
    RegisterModelRequest,
    RegisterPredictionsRequest,
)

router = APIRouter(tags=["registry"])

# rime-sdk sends ``modelId.uuid``; the plain spellings are accepted too.
ProjectFilter = Annotated[str | None, Query(alias="projectId.uuid")]
PlainProjectFilter = Annotated[str | None, Query(alias="projectId", include_in_schema=False)]


def _project_filter(
    project_id: ProjectFilter = None, plain_project_id: PlainProjectFilter = None
) -> str | None:
    """The project filter of a registry read, in either spelling."""
    return project_id or plain_project_id


InProject = Annotated[str | None, Depends(_project_filter)]


def _list_entries(
    s: Session,
    kind: type[registry.Entry],
    project: Project,
    pager: Pager,
    key: str,
    show: Callable[[registry.Entry], dict[str, Any]],
) -> dict[str, Any]:
    """One page of the project's datasets or models, as ``key``."""
    state = pager.start({})
    rows, total = registry.list_in_project(s, kind, project.id, state.offset, pager.size)
    return pager.page(key, [show(entry) for entry in rows], state, total)


@router.post("/v1/registry/{project_id}/dataset")
def register_dataset(
    project: ExistingProject, body: RegisterDatasetRequest, engine: Engine, s: Db
) -> dict[str, Any]:
    dataset, job_id = registry.register_dataset(engine, s, project, body)
    return render.registration(dataset_id=dataset.id, validation_job_id=job_id)


@router.get("/v1/registry/dataset")
def read_dataset(
    s: Db,
    dataset_id: Annotated[str | None, Query(alias="datasetId")] = None,
    dataset_name: Annotated[str | None, Query(alias="datasetName")] = None,
    project_id: InProject = None,
) -> dict[str, Any]:
    found = registry.find(s, Dataset, dataset_id, dataset_name, project_id)
    return {"dataset": render.dataset(found)}


@router.get("/v1/registry/{project_id}/dataset")
def list_datasets(project: ExistingProject, s: Db, pager: Paged) -> dict[str, Any]:
    return _list_entries(s, Dataset, project, pager, "datasets", render.dataset)


@router.post("/v1/registry/{project_id}/model")
def register_model(
    project: ExistingProject, body: RegisterModelRequest, engine: Engine, s: Db
) -> dict[str, Any]:
    model, job_id = registry.register_model(engine, s, project, body)
    return render.registration(model_id=model.id, validation_job_id=job_id)


@router.get("/v1/registry/model")
def read_model(
    s: Db,
    model_id: Annotated[str | None, Query(alias="modelId.uuid")] = None,
    plain_model_id: Annotated[str | None, Query(alias="modelId", include_in_schema=False)] = None,
    model_name: Annotated[str | None, Query(alias="modelName")] = None,
    project_id: InProject = None,
) -> dict[str, Any]:
    found = registry.find(s, Model, model_id or plain_model_id, model_name, project_id)
    return {"model": render.model_with_owner(found)}


@router.get("/v1/registry/{project_id}/model")
def list_models(project: ExistingProject, s: Db, pager: Paged) -> dict[str, Any]:
    return _list_entries(s, Model, project, pager, "models", render.model_with_owner)


@router.post("/v1/registry/{project_id}/model/{model_id}/dataset/{dataset_id}/prediction")
def register_predictions(
    project: ExistingProject,
    model_id: str,
    dataset_id: str,
    body: RegisterPredictionsRequest,
    engine: Engine,
    s: Db,
) -> dict[str, Any]:
    job_id = registry.register_predictions(engine, s, project, model_id, dataset_id, body)
    return render.registration(validation_job_id=job_id)


@router.get("/v1/registry/prediction/{model_id}/{dataset_id}")
def read_prediction(model_id: str, dataset_id: str, s: Db) -> dict[str, Any]:
    return {"prediction": render.prediction(registry.get_prediction(s, model_id, dataset_id))}


@router.get("/v1/registry/{project_id}/prediction")
def list_predictions(
    project: ExistingProject,
    s: Db,
    pager: Paged,
    model_id: Annotated[str | None, Query(alias="firstPageReq.modelId.uuid")] = None,
    plain_model_id: Annotated[
        str | None, Query(alias="firstPageReq.modelId", include_in_schema=False)
    ] = None,
    dataset_id: Annotated[str | None, Query(alias="firstPageReq.datasetId")] = None,
) -> dict[str, Any]:
    state = pager.start({"m": model_id or plain_model_id, "d": dataset_id})
    rows, total = registry.list_predictions(
        s, project.id, state.query.get("m"), state.query.get("d"), state.offset, pager.size
    )
    return pager.page("predictions", [render.prediction(p) for p in rows], state, total)


# Deleting entries (rime-sdk sends the body `{}`: there is nothing in it to read).


@router.delete("/v1/registry/dataset/{dataset_id}")
def delete_dataset(dataset_id: str, s: Db) -> dict[str, Any]:
    registry.delete(s, Dataset, dataset_id)
    return {}


@router.delete("/v1/registry/model/{model_id}")
def delete_model(model_id: str, s: Db) -> dict[str, Any]:
    registry.delete(s, Model, model_id)
    return {}


@router.delete("/v1/registry/prediction/{model_id}/{dataset_id}")
def delete_prediction(model_id: str, dataset_id: str, s: Db) -> dict[str, Any]:
    registry.delete(s, Prediction, (model_id, dataset_id))
    return {}
