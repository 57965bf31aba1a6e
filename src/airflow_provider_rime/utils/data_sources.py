"""What a ``reference_data`` / ``evaluation_data`` argument names, and the columns of a local file.

The stress-test operator accepts a local path, a ``file://`` URI, a URI the RIME cluster reads
itself (``s3://...``), or the id of an already registered dataset. :func:`resolve_data_source`
tells them apart and checks local files before any remote call; :func:`check_columns` fails
early, listing the file's columns, when a named column is missing.
"""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from airflow_provider_rime.utils.files import file_digest

#: Endings that make a bare name a (local) data file rather than a dataset id.
DATA_SUFFIXES = (".csv", ".parquet", ".pq", ".json", ".jsonl", ".gz", ".zip", ".xlsx", ".feather", ".tsv")


class DataSourceKind(str, enum.Enum):
    """Where a dataset comes from."""

    LOCAL = "local"  # a file on this machine: uploaded, then registered
    REMOTE = "remote"  # a URI the cluster reads itself: registered as it is
    DATASET_ID = "dataset_id"  # already registered: used as it is


@dataclass(frozen=True)
class DataSource:
    """A resolved data argument: its kind and its value (an absolute path, a URI or an id)."""

    kind: DataSourceKind
    value: str

    def content_digest(self, extra: str = "") -> str:
        """
        SHA-256 naming this source's content: a local file's bytes, or a remote URI itself.

        :param extra: Mixed into the digest (the parameters it is registered with).
        :raises ValueError: The source is a registered dataset id (it has no content here).
        """
        if self.kind is DataSourceKind.LOCAL:
            return file_digest(Path(self.value), extra)
        if self.kind is DataSourceKind.REMOTE:
            return hashlib.sha256((self.value + extra).encode()).hexdigest()
        raise ValueError(f"dataset id {self.value!r} is registered already; it has no content to digest")

    @property
    def display_name(self) -> str:
        """The file's base name without extension (the start of a dataset name)."""
        name = Path(urlsplit(self.value).path if self.kind is DataSourceKind.REMOTE else self.value).name
        return name.split(".")[0] or "data"


def resolve_data_source(value: str, argument: str) -> DataSource:
    """
    Decide what a ``reference_data`` / ``evaluation_data`` value names, and check local files.

    A ``file://`` URI or anything that looks like a path (a separator or a data-file
    extension) is a local file and must exist; ``s3://``-style URIs are passed to RIME as
    they are; anything else is a registered dataset id.

    :param value: The rendered argument.
    :param argument: The argument's name (for messages).
    :raises FileNotFoundError: A local file does not exist.
    :raises ValueError: The value is empty.
    """
    value = (value or "").strip() if isinstance(value, str) else str(value or "")
    if not value:
        raise ValueError(f"{argument} is empty: give a data file path or URI, or a registered dataset id")
    if value.startswith("file://"):
        path = Path(unquote(urlsplit(value).path))
    elif "://" in value:
        return DataSource(DataSourceKind.REMOTE, value)
    else:
        path = Path(value).expanduser()
        looks_like_path = os.sep in value or "/" in value or value.lower().endswith(DATA_SUFFIXES)
        if not looks_like_path and not path.exists():
            return DataSource(DataSourceKind.DATASET_ID, value)
    if not path.is_file():
        raise FileNotFoundError(f"{argument}: no such file {str(path)!r}")
    return DataSource(DataSourceKind.LOCAL, str(path.resolve()))


def read_columns(path: Path) -> list[str] | None:
    """
    The column names of a local CSV/TSV (its header) or parquet file (its schema), cheaply.

    ``None`` when the format is not one of those, or parquet cannot be read here (no pyarrow).
    """
    import csv

    name = path.name.lower()
    if name.endswith((".csv", ".tsv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, delimiter="\t" if name.endswith(".tsv") else ","), [])
        return [column.strip() for column in header]
    if name.endswith((".parquet", ".pq")):
        try:
            import pyarrow.parquet as pq  # only here: pyarrow is heavy and optional
        except ImportError:
            return None
        return list(pq.read_schema(path).names)
    return None


def check_columns(path: Path, argument: str, named: Mapping[str, Sequence[str]]) -> None:
    """
    Fail early, with the file's columns, when a named column is not in a local data file.

    Files whose columns cannot be read cheaply (see :func:`read_columns`) are not checked.

    :param path: The local data file.
    :param argument: The argument that named the file (for messages).
    :param named: The columns each parameter names, e.g. ``{"label_col": ["label"]}``.
    :raises ValueError: A named column is missing.
    """
    columns = read_columns(path)
    if columns is None:
        return
    for parameter, wanted in named.items():
        missing = [c for c in wanted if c not in columns]
        if missing:
            hint = " (set pred_col=None if the file has no predictions)" if parameter == "pred_col" else ""
            raise ValueError(
                f"{parameter} {', '.join(map(repr, missing))} is not a column of {argument} "
                f"{path.name}; its columns are: {', '.join(columns)}{hint}"
            )
