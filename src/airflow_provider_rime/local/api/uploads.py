"""Pre-signed uploads (rime-api.md §5): the engine serves its own upload URLs."""

from __future__ import annotations

import os
import re
import secrets
import uuid
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from airflow_provider_rime.local.api.deps import ctx, require_api_key, session
from airflow_provider_rime.local.api.wire import field, i64, json_body, now
from airflow_provider_rime.local.errors import ApiError, bad_request, not_found
from airflow_provider_rime.local.store.schema import Upload

router = APIRouter()
authed = APIRouter(dependencies=[Depends(require_api_key)])

UPLOAD_TTL = timedelta(hours=24)
_CHUNK = 1024 * 1024
_SAFE_PART = re.compile(r"^[A-Za-z0-9._ ()+=@,-]+$")


def safe_relative(path: Any, where: str) -> PurePosixPath:
    """A relative path with no '..', no absolute root, no odd characters."""
    if not isinstance(path, str) or not path.strip():
        raise bad_request(f"{where} is required and must be a non-empty string")
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute() or any(part in ("..", ".", "") for part in p.parts):
        raise bad_request(f"{where} {path!r} must be a relative path without '..' or '.' parts")
    for part in p.parts:
        if not _SAFE_PART.match(part):
            raise bad_request(
                f"{where} {path!r}: use letters, digits, spaces and ._-()+=@, in file and directory names"
            )
    return p


def _upload_root(request: Request, upload_path: Any) -> Path:
    root = ctx(request).settings.upload_dir
    if upload_path in (None, ""):
        return root / uuid.uuid4().hex
    return root / safe_relative(upload_path, "uploadPath")


def _urls(request: Request, token: str) -> tuple[str, str]:
    base = ctx(request).settings.base_url
    return f"{base}/v1-beta/uploads/{token}/files", f"{base}/v1-beta/uploads/{token}/done"


@authed.post("/v1-beta/datasets/upload-url")
async def dataset_upload_url(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    body = await json_body(request)
    file_name = safe_relative(field(body, "fileName"), "fileName")
    if len(file_name.parts) != 1:
        raise bad_request("fileName must be a bare file name, without directories")
    directory = _upload_root(request, field(body, "uploadPath"))
    token = secrets.token_urlsafe(32)
    s.add(
        Upload(
            token=token,
            destination=str(directory),
            files=[str(file_name)],
            is_directory=False,
            created_at=now(),
            expires_at=now() + UPLOAD_TTL,
        )
    )
    s.commit()
    files_url, done_url = _urls(request, token)
    return {
        "uploadUrl": f"{files_url}/{file_name}",
        "doneFileUploadUrl": done_url,
        "destinationUrl": (directory / str(file_name)).as_uri(),
        "uploadLimit": i64(ctx(request).settings.upload_limit_bytes),
    }


@authed.post("/v1-beta/models/upload-url")
async def model_upload_url(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    body = await json_body(request)
    directory_name = safe_relative(field(body, "directoryName"), "directoryName")
    rel_paths = field(body, "relativeFilePaths")
    if not isinstance(rel_paths, list) or not rel_paths:
        raise bad_request("relativeFilePaths is required: the files of the model directory, relative to it")
    files = [str(safe_relative(p, "relativeFilePaths[]")) for p in rel_paths]
    directory = _upload_root(request, field(body, "uploadPath")) / str(directory_name)
    token = secrets.token_urlsafe(32)
    s.add(
        Upload(
            token=token,
            destination=str(directory),
            files=files,
            is_directory=True,
            created_at=now(),
            expires_at=now() + UPLOAD_TTL,
        )
    )
    s.commit()
    files_url, done_url = _urls(request, token)
    return {
        "uploadPathMap": {f: f"{files_url}/{f}" for f in files},
        "doneFileUploadUrl": done_url,
        "destinationUrl": directory.as_uri(),
        "uploadLimit": i64(ctx(request).settings.upload_limit_bytes),
    }


def _live_upload(s: Session, token: str) -> Upload:
    upload = s.get(Upload, token)
    if upload is None:
        raise not_found("upload", token[:6] + "…")
    expires = (
        upload.expires_at if upload.expires_at.tzinfo else upload.expires_at.replace(tzinfo=now().tzinfo)
    )
    if expires < now():
        raise ApiError(403, "this upload URL has expired; ask for a new one")
    return upload


@router.put("/v1-beta/uploads/{token}/files/{rel_path:path}")
async def put_file(
    token: str, rel_path: str, request: Request, s: Session = Depends(session)
) -> dict[str, Any]:
    upload = _live_upload(s, token)
    if rel_path not in upload.files:
        raise ApiError(403, f"{rel_path!r} is not a file of this upload")
    limit = ctx(request).settings.upload_limit_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and limit and int(declared) > limit:
        raise ApiError(
            413, f"the file is {int(declared)} bytes, over this server's upload limit of {limit} bytes"
        )
    target = Path(upload.destination)
    target = target / rel_path if upload.is_directory else target / upload.files[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary file and rename: a failed or oversized upload leaves nothing behind.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    written = 0
    try:
        with open(tmp, "wb") as fh:
            async for chunk in request.stream():
                written += len(chunk)
                if limit and written > limit:
                    raise ApiError(413, f"the file is over this server's upload limit of {limit} bytes")
                fh.write(chunk)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {}


@router.put("/v1-beta/uploads/{token}/done")
async def put_done(token: str, request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    upload = _live_upload(s, token)
    await request.body()
    upload.completed_at = now()
    s.commit()
    return {}


@authed.get("/v1-beta/uploaded-file-urls")
def uploaded_file_urls(request: Request) -> dict[str, Any]:
    root = ctx(request).settings.upload_dir
    urls = [p.as_uri() for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".part")]
    return {"fileUrls": urls}
