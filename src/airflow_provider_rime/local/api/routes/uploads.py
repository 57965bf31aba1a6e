"""Upload URLs (with the API key) and the pre-signed PUTs to them (the URL's token is the credential)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from airflow_provider_rime.local import render
from airflow_provider_rime.local.api.deps import Db, Engine
from airflow_provider_rime.local.services import uploads
from airflow_provider_rime.rime_api.documents import DatasetUploadUrlRequest, ModelUploadUrlRequest

router = APIRouter(tags=["uploads"])
#: Reached without an API key, like a cloud store's pre-signed URLs.
presigned = APIRouter(tags=["uploads"])


@router.post("/v1-beta/datasets/upload-url")
def dataset_upload_url(body: DatasetUploadUrlRequest, engine: Engine, s: Db) -> dict[str, Any]:
    grant = uploads.grant_file_upload(engine, s, body)
    return render.upload_urls(
        grant.file_urls, grant.done_url, grant.destination_url, grant.upload_limit, directory=False
    )


@router.post("/v1-beta/models/upload-url")
def model_upload_url(body: ModelUploadUrlRequest, engine: Engine, s: Db) -> dict[str, Any]:
    grant = uploads.grant_directory_upload(engine, s, body)
    return render.upload_urls(
        grant.file_urls, grant.done_url, grant.destination_url, grant.upload_limit, directory=True
    )


@router.get("/v1-beta/uploaded-file-urls")
def uploaded_file_urls(engine: Engine) -> dict[str, Any]:
    return {"fileUrls": uploads.uploaded_file_urls(engine)}


@presigned.put("/v1-beta/uploads/{token}/files/{rel_path:path}")
async def put_file(
    token: str,
    rel_path: str,
    request: Request,
    engine: Engine,
    s: Db,
    content_length: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    await uploads.receive_file(engine, s, token, rel_path, request.stream(), content_length)
    return {}


@presigned.put("/v1-beta/uploads/{token}/done")
async def put_done(token: str, request: Request, s: Db) -> dict[str, Any]:
    await request.body()  # "Upload complete: <time>": nothing to keep
    uploads.mark_done(s, token)
    return {}
