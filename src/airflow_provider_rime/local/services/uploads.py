"""Pre-signed uploads: the engine hands out its own upload URLs and stores what is PUT there.

As on RIME, a client asks for upload URLs (with its API key), then PUTs the bytes to them
without a key: the random token in the URL is the credential, valid for a day and only for the
files named when it was made. A token is single-use: once the client PUTs the done marker, its
URLs take no more bytes; and an upload never replaces a file that is already there (a retried PUT
of the same bytes is accepted, different bytes are refused), so a registered file cannot be
overwritten through the upload API.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from airflow_provider_rime.local.context import EngineContext
from airflow_provider_rime.local.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TooLarge
from airflow_provider_rime.local.store.schema import Upload
from airflow_provider_rime.rime_api.documents import DatasetUploadUrlRequest, ModelUploadUrlRequest
from airflow_provider_rime.rime_api.naming import utc_now

UPLOAD_TTL = timedelta(hours=24)
_SAFE_PART = re.compile(r"^[A-Za-z0-9._ ()+=@,-]+$")
#: Longest file or directory name most file systems allow.
_MAX_PART_BYTES = 255


@dataclass(frozen=True)
class UploadGrant:
    """Where to PUT each file, the done marker's URL, and what to register afterwards."""

    file_urls: dict[str, str]
    done_url: str
    destination_url: str
    upload_limit: int


def safe_relative(path: str, where: str) -> PurePosixPath:
    """A relative path with no '..', no absolute root, no odd characters."""
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute() or any(part in ("..", ".", "") for part in p.parts):
        raise InvalidInput(f"{where} {path!r} must be a relative path without '..' or '.' parts")
    for part in p.parts:
        if not _SAFE_PART.match(part):
            raise InvalidInput(
                f"{where} {path!r}: use letters, digits, spaces and ._-()+=@, in file and directory names"
            )
        if len(part.encode()) > _MAX_PART_BYTES:
            raise InvalidInput(f"{where}: {part[:40]!r}... is longer than {_MAX_PART_BYTES} bytes")
    return p


def _upload_root(engine: EngineContext, upload_path: str | None) -> Path:
    root = engine.settings.upload_dir
    if not upload_path:
        return root / uuid.uuid4().hex
    return root / safe_relative(upload_path, "uploadPath")


def _grant(
    engine: EngineContext, s: Session, destination: Path, files: list[str], *, is_directory: bool
) -> UploadGrant:
    token = secrets.token_urlsafe(32)
    now = utc_now()
    s.add(
        Upload(
            token=token,
            destination=str(destination),
            files=files,
            is_directory=is_directory,
            created_at=now,
            expires_at=now + UPLOAD_TTL,
        )
    )
    s.commit()
    base = f"{engine.settings.base_url}/v1-beta/uploads/{token}"
    return UploadGrant(
        file_urls={f: f"{base}/files/{f}" for f in files},
        done_url=f"{base}/done",
        destination_url=(destination / files[0] if not is_directory else destination).as_uri(),
        upload_limit=engine.settings.upload_limit_bytes,
    )


def grant_file_upload(engine: EngineContext, s: Session, request: DatasetUploadUrlRequest) -> UploadGrant:
    """Upload URLs for one data file."""
    file_name = safe_relative(request.file_name, "fileName")
    if len(file_name.parts) != 1:
        raise InvalidInput("fileName must be a bare file name, without directories")
    directory = _upload_root(engine, request.upload_path)
    return _grant(engine, s, directory, [str(file_name)], is_directory=False)


def grant_directory_upload(engine: EngineContext, s: Session, request: ModelUploadUrlRequest) -> UploadGrant:
    """Upload URLs for each file of a model directory."""
    directory_name = safe_relative(request.directory_name, "directoryName")
    files = [str(safe_relative(p, "relativeFilePaths[]")) for p in request.relative_file_paths]
    directory = _upload_root(engine, request.upload_path) / str(directory_name)
    return _grant(engine, s, directory, files, is_directory=True)


def live_upload(s: Session, token: str) -> Upload:
    """The upload a URL's token names, if it has not expired."""
    upload = s.get(Upload, token)
    if upload is None:
        raise NotFound.named("upload", token[:6] + "…")
    now = utc_now()
    expires = upload.expires_at if upload.expires_at.tzinfo else upload.expires_at.replace(tzinfo=now.tzinfo)
    if expires < now:
        raise PermissionDenied("this upload URL has expired; ask for a new one")
    return upload


async def receive_file(
    engine: EngineContext,
    s: Session,
    token: str,
    rel_path: str,
    chunks: AsyncIterator[bytes],
    declared_length: str | None,
) -> None:
    """Store the bytes PUT to an upload URL; over the upload limit, nothing is kept."""
    upload = live_upload(s, token)
    if upload.completed_at is not None:
        raise PermissionDenied("this upload is complete (its done marker was sent); ask for a new upload URL")
    if rel_path not in upload.files:
        raise PermissionDenied(f"{rel_path!r} is not a file of this upload")
    limit = engine.settings.upload_limit_bytes
    if declared_length and declared_length.isdigit() and limit and int(declared_length) > limit:
        raise TooLarge(
            f"the file is {int(declared_length)} bytes, over this server's upload limit of {limit} bytes"
        )
    target = Path(upload.destination)
    target = target / rel_path if upload.is_directory else target / upload.files[0]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise Conflict(
            f"{rel_path!r}: a file is in the way of its directory; ask for a new upload URL"
        ) from None
    if target.exists() and not target.is_file():
        raise Conflict(f"{rel_path!r}: a directory of that name exists; ask for a new upload URL")
    # Write to a temporary file, then link it into place: a failed or oversized upload leaves
    # nothing behind, and a file that is already there is never replaced.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    written = 0
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as fh:
            async for chunk in chunks:
                written += len(chunk)
                if limit and written > limit:
                    raise TooLarge(f"the file is over this server's upload limit of {limit} bytes")
                digest.update(chunk)
                fh.write(chunk)
        try:
            os.link(tmp, target)
        except FileExistsError:
            if not target.is_file() or _sha256(target) != digest.hexdigest():
                raise Conflict(
                    f"{rel_path!r} was already uploaded with other content; uploaded files are never "
                    f"replaced: ask for a new upload URL"
                ) from None
            # The same bytes again (a PUT retried after a lost response): nothing to do.
    finally:
        if tmp.exists():
            tmp.unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mark_done(s: Session, token: str) -> None:
    """The client says every file of the upload is there."""
    upload = live_upload(s, token)
    if upload.completed_at is None:  # a retried done marker changes nothing
        upload.completed_at = utc_now()
        s.commit()


def uploaded_file_urls(engine: EngineContext) -> list[str]:
    """Every uploaded file, as the URI to register it with."""
    root = engine.settings.upload_dir
    return [p.as_uri() for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".part")]
