"""Reading registered data: CSV or Parquet, at a local path or ``file://`` URI the engine can read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


class DataError(ValueError):
    """Data the user registered cannot be used; the message says why in their terms."""


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
    if name.endswith(PARQUET_SUFFIXES) or path.is_dir():
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


def read_table(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Load a whole table; errors are ``DataError`` naming the file and what is wrong."""
    import pandas as pd

    path = resolve_path(uri)
    if not path.exists():
        raise DataError(f"{uri}: no such file")
    fmt = file_format(path)
    try:
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
class TableInfo:
    """What registry validation needs to know about a file, without loading it into pandas."""

    num_rows: int
    columns: list[str]
    size_bytes: int
    file_format: str


def _csv_options(path: Path, column_types: dict[str, Any] | None = None) -> tuple[Any, Any, Any]:
    from pyarrow import csv

    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    parse = csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = csv.ConvertOptions(column_types=column_types or {}, include_columns=list(column_types or []))
    return csv.ReadOptions(block_size=8 << 20), parse, convert


def _open_csv(path: Path, column_types: dict[str, Any] | None = None) -> Any:
    import pyarrow as pa
    from pyarrow import csv

    read, parse, convert = _csv_options(path, column_types)
    stream = pa.input_stream(str(path), compression="detect")
    return csv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)


def inspect_table(uri: str, numeric_column: str | None = None) -> tuple[TableInfo, Any]:
    """Row count, column names and size of a CSV or Parquet file, streamed with pyarrow.

    With ``numeric_column``, also returns that column as a float64 pyarrow array (values that
    are not numbers make a ``DataError`` naming the column). Neither call loads the table into
    pandas, so validating a large file is quick and light.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = resolve_path(uri)
    if not path.exists():
        raise DataError(f"{uri}: no such file")
    fmt = file_format(path)
    size = (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )
    column: Any = None
    try:
        if fmt == "parquet":
            dataset = pq.ParquetDataset(str(path)) if path.is_dir() else None
            if dataset is not None:
                names = list(dataset.schema.names)
                rows = sum(f.count_rows() for f in dataset.fragments)
            else:
                meta = pq.ParquetFile(str(path))
                names = list(meta.schema_arrow.names)
                rows = meta.metadata.num_rows
            if numeric_column is not None and numeric_column in names:
                table = pq.read_table(str(path), columns=[numeric_column])
                column = _as_float(table.column(numeric_column), numeric_column)
        else:
            reader = _open_csv(path)
            names = list(reader.schema.names)
            reader.close()
            types = {n: pa.string() for n in names}
            if numeric_column is not None and numeric_column in names:
                types = {numeric_column: pa.float64()}
            rows, chunks = 0, []
            for batch in _open_csv(path, types):
                rows += batch.num_rows
                if numeric_column is not None and numeric_column in names:
                    chunks.append(batch.column(0))
            if chunks:
                column = pa.chunked_array(chunks, type=pa.float64())
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
