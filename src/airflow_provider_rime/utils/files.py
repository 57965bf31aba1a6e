"""Content digests of local files and model directories: how uploads are named by their content.

A dataset or model registered under a name that carries its digest is registered once per
content: the same file again finds the registration, a changed file gets a new one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def file_digest(path: Path, extra: str = "") -> str:
    """
    SHA-256 of a file's bytes (streamed, so large files never sit in memory) and a string.

    :param path: The file.
    :param extra: Mixed into the digest after the bytes (e.g. the column parameters a
        dataset is registered with, so other parameters make another registration).
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    digest.update(extra.encode())
    return digest.hexdigest()


def directory_files(directory: Path) -> list[str]:
    """The files of a model directory, relative (POSIX) and sorted, without Python caches."""
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def directory_digest(directory: Path) -> str:
    """SHA-256 over a directory's file names and bytes (what :func:`directory_files` lists)."""
    digest = hashlib.sha256()
    for relative in directory_files(directory):
        digest.update(relative.encode() + b"\0")
        digest.update(file_digest(directory / relative).encode())
    return digest.hexdigest()
