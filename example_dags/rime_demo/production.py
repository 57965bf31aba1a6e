"""The production database the ``RIME_Firewall`` DAG reads each day's transactions from.

The walkthrough's production month (``fraud_incremental.csv``: 1,000 rows a day from
2018-08-01 to 2018-08-29) when the setting ``fraud_data_dir`` names a directory holding it,
else data of the same schema from the repository's generator. The table has the model's
feature columns, ``timestamp`` (``YYYY-MM-DD``) and ``label``; the stored predictions
(``preds``) are dropped: the DAG adds the production model's own.

:func:`load_production_db` writes the table into any database SQLAlchemy reaches (a SQLite
file by default, PostgreSQL in the tests), once: a table that already has rows is left alone
unless ``replace=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rime_demo import LABEL_COL, PRODUCTION_TABLE, TIMESTAMP_COL
from rime_demo.settings import setting

if TYPE_CHECKING:
    import pandas as pd

#: The walkthrough's production file, in the directory named by the setting ``fraud_data_dir``.
WALKTHROUGH_FILE = "fraud_incremental.csv"
#: The production days of the walkthrough (the generated data covers the same ones).
FIRST_DAY, N_DAYS = "2018-08-01", 29


def production_frame() -> pd.DataFrame:
    """The production month as a DataFrame (walkthrough file or generated), without predictions."""
    import pandas as pd

    source_dir = setting("fraud_data_dir")
    if source_dir:
        frame = pd.read_csv(Path(source_dir) / WALKTHROUGH_FILE)
    else:
        try:
            from rime_dev.datagen import generate_fraud
        except ImportError as err:
            raise RuntimeError(
                "no production data: set the setting fraud_data_dir (Airflow Variable "
                "rime_demo_fraud_data_dir or environment variable RIME_DEMO_FRAUD_DATA_DIR) to a "
                f"directory holding {WALKTHROUGH_FILE}; generated data needs the repository's dev/ "
                "folder on the Python path"
            ) from err
        frame = generate_fraud(
            int(setting("production_rows") or 29_000),
            seed=3,
            start=FIRST_DAY,
            days=N_DAYS,
            drift={"transaction_amount": 0.5, "label": -0.6},
            abnormal={"unseen": 0.02, "nulls": 0.01},
            with_pred=False,
        )
    frame = frame.drop(columns=["preds", "pred"], errors="ignore")
    for column in (TIMESTAMP_COL, LABEL_COL):
        if column not in frame.columns:
            raise ValueError(
                f"the production data has no {column!r} column; its columns: {list(frame.columns)}"
            )
    return frame.sort_values(TIMESTAMP_COL, kind="stable").reset_index(drop=True)


def sqlalchemy_url(database: str) -> str:
    """A SQLAlchemy URL for ``database``: a URL as it is, a file path as a SQLite URL."""
    if "://" in database:
        return database
    return f"sqlite:///{Path(database).expanduser().resolve()}"


def load_production_db(
    database: str,
    *,
    table: str = PRODUCTION_TABLE,
    frame: pd.DataFrame | None = None,
    replace: bool = False,
) -> int:
    """Write the production rows into ``table`` of ``database`` once; return the table's row count.

    :param database: a SQLAlchemy URL (``postgresql://...``) or a SQLite file path.
    :param table: the table to write.
    :param frame: the rows; :func:`production_frame` when ``None``.
    :param replace: drop and rewrite a table that exists already.
    """
    import sqlalchemy as sa

    url = sqlalchemy_url(database)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    try:
        if not replace:
            existing = _row_count(engine, table)
            if existing:
                return existing
        data = production_frame() if frame is None else frame
        # One transaction: a failed load leaves no half-written table behind.
        with engine.begin() as connection:
            data.to_sql(table, connection, if_exists="replace", index=False, chunksize=5_000)
            connection.execute(
                sa.text(f'CREATE INDEX "ix_{table}_{TIMESTAMP_COL}" ON "{table}" ("{TIMESTAMP_COL}")')
            )
        return len(data)
    finally:
        engine.dispose()


def _row_count(engine: object, table: str) -> int:
    import sqlalchemy as sa

    assert isinstance(engine, sa.Engine)
    if not sa.inspect(engine).has_table(table):
        return 0
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one())
