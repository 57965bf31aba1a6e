"""The ``RIME_Firewall`` DAG's steps that are not RIME calls: production rows, the production model, MLflow.

Each function runs inside a task; pandas, MLflow and the SQL hooks are imported here, never
at DAG parse time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rime_demo import LABEL_COL, PRED_COL, PRODUCTION_ALIAS, REGISTERED_MODEL, TIMESTAMP_COL


def fetch_production_rows(conn_id: str, sql: str, out_dir: Path) -> dict[str, Any]:
    """Run the day's query on the production database; write the rows to ``out_dir/production.csv``.

    :param conn_id: a common-sql connection (SQLite in the demo; any DbApiHook works).
    :param sql: the query, already rendered for the run's data interval.
    :param out_dir: the run's directory.
    :return: ``{"path", "rows"}`` (``path`` is ``None`` when there are no rows).
    """
    from airflow_provider_rime.utils.sql import fetch_dataframe

    frame = fetch_dataframe(conn_id, sql)
    if frame.empty:
        return {"path": None, "rows": 0}
    if TIMESTAMP_COL not in frame.columns:
        raise ValueError(
            f"the production query returned no {TIMESTAMP_COL!r} column; its columns: {list(frame.columns)}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "production.csv"
    frame.to_csv(path, index=False)
    return {"path": str(path), "rows": len(frame)}


def production_model(registered_model: str = REGISTERED_MODEL) -> dict[str, Any]:
    """The production model version and what its stress test left on it (tags set by the promotion).

    :return: ``model_uri`` (``models:/<name>@production``), ``model_version``, ``mlflow_run_id``,
        ``project_id`` and ``stress_test_run_id``.
    :raises LookupError: no version carries the alias, or it lacks the RIME tags.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(registered_model, PRODUCTION_ALIAS)
    except MlflowException as exc:
        raise LookupError(
            f"no version of {registered_model!r} has the alias {PRODUCTION_ALIAS!r}: run "
            f"RIME_Stress_Testing first ({exc})"
        ) from None
    project_id = version.tags.get("rime_project_id")
    if not project_id:
        raise LookupError(
            f"{registered_model} version {version.version} has no rime_project_id tag: it was not "
            "promoted by RIME_Stress_Testing"
        )
    return {
        "model_uri": f"models:/{registered_model}@{PRODUCTION_ALIAS}",
        "model_version": str(version.version),
        "mlflow_run_id": version.run_id,
        "project_id": project_id,
        "stress_test_run_id": version.tags.get("rime_stress_test_run_id"),
    }


def add_production_predictions(data_path: str, model_uri: str, out_dir: Path) -> str:
    """Write the day's rows with the production model's fraud probability as column ``pred``.

    :param data_path: the day's rows (CSV).
    :param model_uri: the production model (``models:/<name>@production``).
    :param out_dir: the run's directory.
    """
    import pandas as pd

    from airflow_provider_rime.operators.firewall import predict_with_mlflow

    frame = pd.read_csv(data_path)
    frame[PRED_COL] = predict_with_mlflow(model_uri, frame, [TIMESTAMP_COL, LABEL_COL, PRED_COL])
    path = out_dir / "production_with_preds.csv"
    frame.to_csv(path, index=False)
    return str(path)


def log_firewall_result(mlflow_run_id: str, day: str, result: dict[str, Any]) -> dict[str, float]:
    """Log one day's firewall result to the production model's MLflow run.

    Metrics (step = the day's ordinal, so MLflow plots them over the month):
    ``rime_firewall_rows``, ``rime_firewall_bins``, ``rime_firewall_alert_bins``,
    ``rime_firewall_warning_bins``, ``rime_firewall_events``, ``rime_firewall_pass_rate`` (the
    bins' mean pass rate); the whole result (bins, events, links) as the artifact
    ``rime_firewall/<day>.json``. Logging a day again replaces its artifact and adds metric
    values at the same step.

    :param mlflow_run_id: the production model's run.
    :param day: the data interval's day (``YYYY-MM-DD``).
    :param result: what :class:`~airflow_provider_rime.operators.firewall.RimeFirewallOperator` returned.
    :return: the metrics logged.
    """
    from datetime import date, datetime, timezone

    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag

    bins = result.get("bins") or []
    rates = [float(b["pass_rate"]) for b in bins if b.get("pass_rate") is not None]
    metrics = {
        "rime_firewall_rows": float(result.get("rows") or 0),
        "rime_firewall_bins": float(len(bins)),
        "rime_firewall_alert_bins": float(sum(b.get("verdict") == "alert" for b in bins)),
        "rime_firewall_warning_bins": float(sum(b.get("verdict") == "warning" for b in bins)),
        "rime_firewall_events": float(len(result.get("events") or [])),
    }
    if rates:
        metrics["rime_firewall_pass_rate"] = sum(rates) / len(rates)
    when = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=timezone.utc)
    stamp, step = int(when.timestamp() * 1000), when.toordinal()
    client = MlflowClient()
    # One request (one store transaction) for the metrics and the link, not one per value.
    client.log_batch(
        mlflow_run_id,
        metrics=[Metric(key, value, stamp, step) for key, value in metrics.items()],
        tags=[RunTag("RIME Firewall Link", str(result["url"]))] if result.get("url") else [],
    )
    client.log_dict(mlflow_run_id, result, f"rime_firewall/{day}.json")
    return metrics
