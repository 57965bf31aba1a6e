"""Run ``RIME_Firewall`` over its production month in one process, one ``dag.test()`` per day.

``python -m rime_dev.firewall_month`` (the demo runs it with its Airflow environment) parses
the example DAG once and runs it for every day from its ``start_date`` to its ``end_date``,
in order, as catch-up would. After each day it prints one JSON line
``{"day", "state", "rows", "verdict", "bins", "events", "seconds", "url"}``: ``state`` is the DAG
run's, ``rows``/``verdict``/``events`` come from ``run_firewall``'s result (``null`` on a day the
short-circuit skipped). ``airflow dags backfill`` would need a running scheduler; ``airflow dags
test`` per day would start 31 interpreters.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DAG_ID = "RIME_Firewall"


def firewall_summary(dag_run: Any) -> dict[str, Any] | None:
    """The ``summary`` XCom ``run_firewall`` pushed in ``dag_run``, read back from the metadata
    DB (``None`` on a day the short-circuit skipped it)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.dag_id == dag_run.dag_id,
                XComModel.run_id == dag_run.run_id,
                XComModel.task_id == "run_firewall",
                XComModel.key == "summary",
            )
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def run_month(dags_folder: Path, first: datetime | None = None, last: datetime | None = None) -> int:
    """Run every day; print a JSON line per day; return the number of failed days."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder / "rime_firewall.py"), safe_mode=False)
    if bag.import_errors:
        raise SystemExit(f"RIME_Firewall does not parse: {bag.import_errors}")
    dag = bag.dags[DAG_ID]
    start, stop = first or dag.start_date, last or dag.end_date
    if start is None or stop is None:
        raise SystemExit("RIME_Firewall needs a start_date and an end_date (or --first and --last)")
    day, end = start.replace(tzinfo=timezone.utc), stop.replace(tzinfo=timezone.utc)
    failed = 0
    while day <= end:
        started = time.monotonic()
        dag_run = dag.test(logical_date=day)
        summary = firewall_summary(dag_run)
        failed += dag_run.state != "success"
        print(
            json.dumps(
                {
                    "day": day.date().isoformat(),
                    "state": str(dag_run.state),
                    "rows": None if summary is None else summary.get("rows"),
                    "verdict": None if summary is None else summary.get("verdict"),
                    "bins": None if summary is None else len(summary.get("bins") or []),
                    "events": None if summary is None else len(summary.get("events") or []),
                    "event_monitors": None
                    if summary is None
                    else sorted({e["monitor"] for e in summary.get("events") or []}),
                    "seconds": round(time.monotonic() - started, 1),
                    "url": None if summary is None else summary.get("url"),
                }
            ),
            flush=True,
        )
        day += timedelta(days=1)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags-folder", type=Path, required=True)
    parser.add_argument(
        "--first", type=datetime.fromisoformat, default=None, help="first day (default: start_date)"
    )
    parser.add_argument(
        "--last", type=datetime.fromisoformat, default=None, help="last day (default: end_date)"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.dags_folder))
    return 1 if run_month(args.dags_folder, args.first, args.last) else 0


if __name__ == "__main__":
    sys.exit(main())
