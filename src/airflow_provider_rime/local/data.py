"""Reading registered data: CSV or Parquet, at a local path or ``file://`` URI inside the data roots.

The engine reads files only inside its *data roots*: its own upload area and the directories
given with ``rime-local serve --data-root`` (or the environment variable
``RIME_LOCAL_DATA_ROOTS``). Paths are resolved (symlinks, ``..``) before the check, and a
Parquet directory is walked with a bound on files and time, without following symlinked
directories, so nothing outside the roots is read and no walk runs away.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from airflow_provider_rime.local.settings import ENV_DATA_ROOTS

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


class DataError(ValueError):
    """Data the user registered cannot be used; the message says why in their terms."""


class OutsideDataRoots(DataError):
    """A path outside every data root: refused before anything is read."""


#: Most files a Parquet directory may hold.
MAX_DIRECTORY_FILES = 10_000
#: Longest time a Parquet directory's walk may take, in seconds.
MAX_WALK_SECONDS = 20.0


@dataclass(frozen=True)
class DataRoots:
    """The directories the engine may read data and models from (resolved, absolute)."""

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, paths: Iterable[Path | str]) -> DataRoots:
        return cls(tuple(Path(p).expanduser().resolve() for p in paths))

    @classmethod
    def from_env(cls) -> DataRoots:
        """The roots a worker process was given by its engine (``RIME_LOCAL_DATA_ROOTS``)."""
        return cls.of(p for p in os.environ.get(ENV_DATA_ROOTS, "").split(os.pathsep) if p)

    def to_env(self) -> str:
        return os.pathsep.join(str(r) for r in self.roots)

    def contains(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.roots)

    def check(self, uri: str, where: str) -> Path:
        """The resolved local path of ``uri``, if it is inside a data root.

        Nothing is read: the refusal does not depend on whether the file exists.

        :param where: How the request names the path (``dataInfo.connectionInfo.dataFile.path``).
        :raises OutsideDataRoots: The resolved path is outside every root.
        :raises DataError: ``uri`` is not a local absolute path or ``file://`` URI.
        """
        path = resolve_path(uri)
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            raise OutsideDataRoots(f"{where}: {uri!r} cannot be resolved (a symlink loop?)") from None
        if not self.contains(resolved):
            raise OutsideDataRoots(
                f"{where}: {uri!r} is outside the directories this engine may read. The local engine "
                f"reads data and models only from its upload area (upload the file with POST "
                f"/v1-beta/datasets/upload-url or /v1-beta/models/upload-url and register its "
                f"destinationUrl) and from the data roots it was started with (rime-local serve "
                f"--data-root DIR, or the environment variable {ENV_DATA_ROOTS})"
            )
        return resolved


def directory_files(directory: Path, roots: DataRoots) -> list[Path]:
    """The data files of a Parquet directory, walked with bounds.

    Symlinked directories are not followed (no loops); a symlinked file counts only if it
    resolves inside a data root. Hidden files and ``_``-prefixed ones (``_SUCCESS``,
    ``_metadata``) are skipped, as pyarrow does.

    :raises DataError: More than ``MAX_DIRECTORY_FILES`` files, or a walk longer than
        ``MAX_WALK_SECONDS``.
    """
    deadline = time.monotonic() + MAX_WALK_SECONDS
    found: list[Path] = []
    seen = 0
    stack = [directory]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as exc:
            raise DataError(f"{directory.name}: could not list {current.name}: {exc.strerror}") from None
        for entry in sorted(entries, key=lambda e: e.name):
            seen += 1
            if seen > MAX_DIRECTORY_FILES:
                raise DataError(
                    f"{directory.name}: the directory holds more than {MAX_DIRECTORY_FILES} entries; "
                    f"register a single file or a smaller Parquet directory"
                )
            if time.monotonic() > deadline:
                raise DataError(
                    f"{directory.name}: listing the directory took longer than {MAX_WALK_SECONDS:.0f} s; "
                    f"register a single file or a smaller Parquet directory"
                )
            if entry.name.startswith((".", "_")):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
            elif entry.is_symlink():
                target = Path(entry.path).resolve()
                if target.is_file() and roots.contains(target):
                    found.append(target)
    return sorted(found)


def resolve_path(uri: str) -> Path:
    """The local file behind ``uri`` (an absolute path or a ``file://`` URI)."""
    if not isinstance(uri, str) or not uri:
        raise DataError("the data path is empty")
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif parsed.scheme in ("", None) or (len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")):
        path = Path(uri)
    else:
        raise DataError(
            f"{uri!r}: the local engine reads local files only (a path or file:// URI); "
            f"upload the file first (POST /v1-beta/datasets/upload-url) and register its destinationUrl"
        )
    if not path.is_absolute():
        raise DataError(f"{uri!r} is a relative path; give an absolute path or a file:// URI")
    return path


def file_format(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir() or name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PAR1":
        return "parquet"
    raise DataError(
        f"{path.name}: not a CSV or Parquet file (expected a name ending in .csv or .parquet, "
        f"or Parquet content)"
    )


def read_table(uri: str, roots: DataRoots, columns: list[str] | None = None) -> pd.DataFrame:
    """Load a whole table; errors are ``DataError`` naming the file and what is wrong."""
    import pandas as pd
    import pyarrow.parquet as pq

    path = roots.check(uri, "the data path")
    if not path.exists():
        raise DataError(f"{uri}: no such file")
    fmt = file_format(path)
    try:
        if fmt == "parquet" and path.is_dir():
            files = [str(f) for f in directory_files(path, roots)]
            if not files:
                raise DataError(f"{path.name}: the directory holds no Parquet files")
            return pq.ParquetDataset(files).read(columns=columns).to_pandas()
        if fmt == "parquet":
            return pd.read_parquet(path, columns=columns)
        sep = "\t" if path.name.lower().endswith(".tsv") else ","
        return pd.read_csv(path, sep=sep, usecols=columns, low_memory=False)
    except DataError:
        raise
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path.name}: could not be read as {fmt.upper()}: {_first_line(exc)}") from None
    except ValueError as exc:  # usecols naming missing columns, bad parquet
        raise DataError(f"{path.name}: {_first_line(exc)}") from None
    except OSError as exc:
        raise DataError(f"{path.name}: could not be read: {_first_line(exc)}") from None
    except Exception as exc:  # pyarrow raises its own types for corrupt files
        raise DataError(f"{path.name}: could not be read as {fmt.upper()}: {_first_line(exc)}") from None


@dataclass(frozen=True)
class Fingerprint:
    """Size and SHA-256 of a registered file (a Parquet directory: of its files, names included)."""

    size_bytes: int
    digest: str


def fingerprint(uri: str, roots: DataRoots) -> Fingerprint:
    """What validation records of a file, and what a stress test checks before it reads it."""
    import hashlib

    path = roots.check(uri, "the data path")
    if not path.exists():
        raise DataError(f"{uri}: no such file")
    files = directory_files(path, roots) if path.is_dir() else [path]
    digest = hashlib.sha256()
    size = 0
    try:
        for file in files:
            if path.is_dir():
                digest.update(str(file.relative_to(path) if file.is_relative_to(path) else file).encode())
                digest.update(b"\0")
            with open(file, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    size += len(block)
                    digest.update(block)
    except OSError as exc:
        raise DataError(f"{path.name}: could not be read: {_first_line(exc)}") from None
    return Fingerprint(size_bytes=size, digest=digest.hexdigest())


def check_unchanged(uri: str, roots: DataRoots, digest: str | None, what: str) -> None:
    """Refuse a file that changed since validation recorded ``digest`` (``None``: nothing recorded)."""
    if digest is None:
        return
    now = fingerprint(uri, roots)
    if now.digest != digest:
        raise DataError(
            f"{what} changed since it was registered and validated (the file now has {now.size_bytes} "
            f"bytes and different content); register the new file under a new name"
        )


@dataclass(frozen=True)
class TableInfo:
    """What registry validation needs to know about a file, without loading it into pandas."""

    num_rows: int
    columns: list[str]
    size_bytes: int
    file_format: str


#: Block sizes a CSV is streamed with: a row (or the header) must fit in one block, so a file
#: whose rows do not fit the first is read again with the next.
CSV_BLOCK_SIZES = (8 << 20, 64 << 20)


def _csv_options(
    path: Path, column_types: dict[str, Any] | None = None, block_size: int = CSV_BLOCK_SIZES[0]
) -> tuple[Any, Any, Any]:
    from pyarrow import csv

    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    parse = csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = csv.ConvertOptions(column_types=column_types or {}, include_columns=list(column_types or []))
    return csv.ReadOptions(block_size=block_size), parse, convert


def _scan_csv(path: Path, numeric_column: str | None) -> tuple[list[str], int, Any]:
    """Column names, row count and (optionally) one numeric column of a CSV, streamed."""
    import pyarrow as pa

    if path.stat().st_size == 0:
        raise DataError(f"{path.name}: the file is empty (no header, no rows)")
    for block_size in CSV_BLOCK_SIZES:
        try:
            reader = _open_csv(path, None, block_size)
            names = list(reader.schema.names)
            reader.close()
            types = {n: pa.string() for n in names}
            wanted = numeric_column is not None and numeric_column in names
            if wanted:
                types = {str(numeric_column): pa.float64()}
            rows, chunks = 0, []
            for batch in _open_csv(path, types, block_size):
                rows += batch.num_rows
                if wanted:
                    chunks.append(batch.column(0))
            column = pa.chunked_array(chunks, type=pa.float64()) if chunks else None
            return names, rows, column
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if "straddling" not in message and "Empty CSV file" not in message:
                raise
    limit = CSV_BLOCK_SIZES[-1] >> 20
    raise DataError(
        f"{path.name}: a row or the header is longer than {limit} MB (or a quote is never closed); "
        f"the local engine reads CSV rows up to {limit} MB: store very long values or very wide "
        f"tables as Parquet"
    )


def _open_csv(
    path: Path, column_types: dict[str, Any] | None = None, block_size: int = CSV_BLOCK_SIZES[0]
) -> Any:
    import pyarrow as pa
    from pyarrow import csv

    read, parse, convert = _csv_options(path, column_types, block_size)
    stream = pa.input_stream(str(path), compression="detect")
    return csv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)


def inspect_table(uri: str, roots: DataRoots, numeric_column: str | None = None) -> tuple[TableInfo, Any]:
    """Row count, column names and size of a CSV or Parquet file, streamed with pyarrow.

    With ``numeric_column``, also returns that column as a float64 pyarrow array (values that
    are not numbers make a ``DataError`` naming the column). Neither call loads the table into
    pandas, so validating a large file is quick and light.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = roots.check(uri, "the data path")
    if not path.exists():
        raise DataError(f"{uri}: no such file")
    fmt = file_format(path)
    files = directory_files(path, roots) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path.name}: the directory holds no Parquet files")
    size = sum(f.stat().st_size for f in files)
    column: Any = None
    try:
        if fmt == "parquet":
            dataset = pq.ParquetDataset([str(f) for f in files]) if path.is_dir() else None
            if dataset is not None:
                names = list(dataset.schema.names)
                rows = sum(f.count_rows() for f in dataset.fragments)
            else:
                meta = pq.ParquetFile(str(path))
                names = list(meta.schema_arrow.names)
                rows = meta.metadata.num_rows
            if numeric_column is not None and numeric_column in names:
                table = (dataset.read if dataset is not None else pq.ParquetFile(str(path)).read)(
                    columns=[numeric_column]
                )
                column = _as_float(table.column(numeric_column), numeric_column)
        else:
            names, rows, column = _scan_csv(path, numeric_column)
    except DataError:
        raise
    except pa.ArrowInvalid as exc:
        message = _first_line(exc)
        if numeric_column is not None and "conversion error" in message.lower():
            raise DataError(
                f"column {numeric_column!r} holds values that are not numbers ({message})"
            ) from None
        raise DataError(f"{path.name}: could not be read as {fmt.upper()}: {message}") from None
    except OSError as exc:
        raise DataError(f"{path.name}: could not be read: {_first_line(exc)}") from None
    return TableInfo(
        num_rows=int(rows), columns=[str(n) for n in names], size_bytes=size, file_format=fmt
    ), column


def _as_float(column: Any, name: str) -> Any:
    import pyarrow as pa

    try:
        return column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise DataError(f"column {name!r} holds values that are not numbers (type {column.type})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def missing_column_message(column: str, role: str, data_name: str, columns: list[str]) -> str:
    shown = ", ".join(map(str, columns[:30])) + (" ..." if len(columns) > 30 else "")
    return f"{role} column {column!r} is not in the {data_name}; its columns are: {shown}"
