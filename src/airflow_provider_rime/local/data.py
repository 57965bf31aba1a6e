"""Reading registered data: CSV or Parquet, at a local path or ``file://`` URI the engine can read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def missing_column_message(column: str, role: str, data_name: str, columns: list[str]) -> str:
    shown = ", ".join(map(str, columns[:30])) + (" ..." if len(columns) > 30 else "")
    return f"{role} column {column!r} is not in the {data_name}; its columns are: {shown}"
