"""Log a RIME stress test's results into an MLflow run.

The operator reads the results through :class:`~airflow_provider_rime.hooks.rime.RimeHook`
and writes them with MLflow's client API, so it never touches MLflow's process-global
state (active run, tracking URI). MLflow is imported inside ``execute`` (the provider core
does not depend on it: install the ``mlflow`` extra), and so is the hook (DAG parsing does
not need it).
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_rime.hooks import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

MLFLOW_EXTRA_HINT = (
    "MlflowLogRimeResultsOperator needs MLflow; install the provider's mlflow extra: "
    "pip install 'airflow-provider-rime[mlflow]'"
)

#: Run tags the walkthrough's MLflow runs carry (the firewall DAG reads them back).
TAG_TEST_RUN_LINK = "RIME Stress Test Link"
TAG_TEST_RUN_ID = "RIME Stress Test Run ID"
TAG_PROJECT_ID = "RIME Project ID"

#: Where the test cases and category results go inside the run's artifacts.
DEFAULT_ARTIFACT_PATH = "rime"

_METRIC_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./ ]")


def summary_metrics(summary: Mapping[str, Any], prefix: str = "rime") -> dict[str, float]:
    """Flatten every numeric value of a test-run summary into MLflow metric names.

    Nested keys are joined with ``_``: ``{"summary_counts": {"fail": 2}}`` becomes
    ``rime_summary_counts_fail``, ``{"model_metrics": {"AUC": {"eval": 0.9}}}`` becomes
    ``rime_model_metrics_AUC_eval``. Booleans, ``None`` and non-numeric values are skipped;
    numeric strings (RIME sends int64 as strings) are converted.

    :param summary: the summary dict returned by ``RimeHook.get_test_run_summary``.
    :param prefix: the first part of every metric name.
    """
    metrics: dict[str, float] = {}

    def visit(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, Mapping):
            for key, child in value.items():
                visit(child, (*path, str(key)))
            return
        number = _as_number(value)
        if number is not None:
            metrics[_METRIC_NAME_UNSAFE.sub("_", "_".join(path))] = number

    visit(summary, (prefix,))
    return metrics


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else None
        except ValueError:
            return None
    return None


def _timestamp_millis(value: Any) -> int:
    """The test run's upload time in epoch milliseconds, or 0 when it is unknown.

    Metrics are logged at this fixed timestamp (and step 0) so that logging the same test
    run twice is deduplicated by MLflow instead of growing each metric's history.
    """
    if not isinstance(value, str) or not value:
        return 0
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


#: Columns of the flat test-case table (``test_cases.csv``).
TEST_CASE_COLUMNS = (
    "testBatchType",
    "testCategory",
    "category",
    "features",
    "status",
    "severity",
    "importanceScore",
    "testCaseId",
)


def write_test_case_table(test_cases: Iterable[Mapping[str, Any]], path: Path) -> int:
    """Write the test cases as a CSV table (one row per case), returning the row count.

    :param test_cases: RIME ``TestrunresultTestCase`` dicts.
    :param path: the CSV file to write.
    """
    from airflow_provider_rime.rime_api.results import metric_value_of

    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*TEST_CASE_COLUMNS, "metrics"])
        for case in test_cases:
            features = case.get("features") or []
            metrics = {
                str(m.get("metric", "")): metric_value_of(m)
                for m in case.get("metrics") or []
                if isinstance(m, Mapping)
            }
            writer.writerow(
                [
                    *(
                        ";".join(map(str, features)) if column == "features" else case.get(column, "")
                        for column in TEST_CASE_COLUMNS
                    ),
                    json.dumps(metrics, sort_keys=True, default=str),
                ]
            )
            rows += 1
    return rows


class MlflowLogRimeResultsOperator(BaseOperator):
    """Log a RIME test run's results into an MLflow run, and return its pass rate.

    Into the run it writes: every numeric summary value as metric ``rime_<name>``
    (summary counts, severity counts, pass rate, model metrics on reference and
    evaluation data); the test run, project and job ids, the run name, status and link
    as params ``rime_*``; the tags ``RIME Stress Test Link``, ``RIME Stress Test Run ID``
    and ``RIME Project ID``; and, under ``artifact_path``, the test cases (JSON and a CSV
    table), the category results and the summary (JSON).

    Running it again for the same test run leaves the same state: metrics are logged at
    the test run's timestamp and step 0 (MLflow drops exact repeats), params and tags are
    rewritten with equal values, artifacts are overwritten. Without ``mlflow_run_id`` the
    operator finds the run tagged with the test run's id in ``experiment_name`` or creates
    it, so a retry reuses the run instead of making a second one. Logging a *different*
    test run into a run that already holds one fails, because MLflow params are immutable.

    :param test_run_id: the RIME test run whose results to log (templated; e.g.
        ``"{{ ti.xcom_pull(task_ids='run_stress_test', key='test_run_id') }}"`` or an
        ``XComArg``).
    :param job_id: the RIME job that produced the test run, if known (templated; e.g. the
        stress test's XCom ``job_id``); logged as param ``rime_job_id``.
    :param rime_conn_id: the Airflow connection to the RIME cluster or local engine (templated).
    :param mlflow_run_id: the MLflow run to log into (templated). When ``None``, the run
        tagged ``RIME Stress Test Run ID = test_run_id`` in ``experiment_name`` is used,
        and created if missing.
    :param tracking_uri: the MLflow tracking URI (templated); ``None`` means MLflow's
        default (the ``MLFLOW_TRACKING_URI`` environment variable).
    :param registry_uri: the MLflow model registry URI (templated); ``None`` means MLflow's
        default.
    :param experiment_name: the experiment in which to find or create the run when
        ``mlflow_run_id`` is ``None`` (templated).
    :param artifact_path: the directory inside the run's artifacts for the result files
        (templated); ``""`` writes them at the top of the run's artifacts.
    """

    template_fields: Sequence[str] = (
        "test_run_id",
        "job_id",
        "rime_conn_id",
        "mlflow_run_id",
        "tracking_uri",
        "registry_uri",
        "experiment_name",
        "artifact_path",
    )
    ui_color = "#d1e7f7"

    def __init__(
        self,
        *,
        test_run_id: str,
        job_id: str | None = None,
        rime_conn_id: str = DEFAULT_CONN_ID,
        mlflow_run_id: str | None = None,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        experiment_name: str = "rime_stress_tests",
        artifact_path: str = DEFAULT_ARTIFACT_PATH,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.test_run_id = test_run_id
        self.job_id = job_id
        self.rime_conn_id = rime_conn_id
        self.mlflow_run_id = mlflow_run_id
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self.experiment_name = experiment_name
        self.artifact_path = artifact_path

    def execute(self, context: Context) -> float:
        try:
            from mlflow import MlflowClient
            from mlflow.entities import Metric, Param, RunTag
        except ImportError as err:
            raise ImportError(MLFLOW_EXTRA_HINT) from err

        test_run_id = str(self.test_run_id).strip()
        if not test_run_id or test_run_id == "None":
            raise ValueError("test_run_id is empty: pass the stress test's test_run_id (XCom).")

        from airflow_provider_rime.hooks.rime import RimeHook

        hook = RimeHook(rime_conn_id=self.rime_conn_id)
        summary = hook.get_test_run_summary(test_run_id, job_id=str(self.job_id) if self.job_id else None)
        test_run = hook.get_test_run(test_run_id)
        url = summary.get("url") or hook.get_test_run_url(test_run_id)
        project_id = str(summary.get("project_id") or _nested(test_run, "projectId", "uuid") or "")

        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        run_id = self.mlflow_run_id or self._find_or_create_run(client, test_run_id)
        self._refuse_other_test_run(client, run_id, test_run_id)

        timestamp = _timestamp_millis(test_run.get("uploadTime"))
        metrics = summary_metrics(summary)
        params = {
            "rime_test_run_id": test_run_id,
            "rime_project_id": project_id,
            "rime_job_id": summary.get("job_id"),
            "rime_run_name": summary.get("run_name") or test_run.get("name"),
            "rime_status": summary.get("status") or test_run.get("status"),
            "rime_test_run_url": url,
        }
        tags = {TAG_TEST_RUN_LINK: url, TAG_TEST_RUN_ID: test_run_id, TAG_PROJECT_ID: project_id}
        client.log_batch(
            run_id,
            metrics=[Metric(name, value, timestamp, 0) for name, value in sorted(metrics.items())],
            params=[Param(name, str(value)) for name, value in params.items() if value not in (None, "")],
            tags=[RunTag(name, str(value)) for name, value in tags.items() if value],
        )

        with tempfile.TemporaryDirectory(prefix="rime-mlflow-") as tmp:
            out = Path(tmp)
            test_cases = list(hook.list_test_cases(test_run_id))
            (out / "test_cases.json").write_text(json.dumps(test_cases, indent=1, default=str))
            write_test_case_table(test_cases, out / "test_cases.csv")
            categories = list(hook.get_category_results(test_run_id))
            (out / "category_results.json").write_text(json.dumps(categories, indent=1, default=str))
            (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
            # Same file names every time: a second run overwrites instead of adding.
            client.log_artifacts(run_id, tmp, artifact_path=self.artifact_path.strip("/") or None)

        pass_rate = float(metrics.get("rime_pass_rate", _pass_rate(summary)))
        self.log.info(
            "Logged RIME test run %s into MLflow run %s: %d metrics, %d test cases, pass rate %.3f",
            test_run_id,
            run_id,
            len(metrics),
            len(test_cases),
            pass_rate,
        )
        context["ti"].xcom_push(key="mlflow_run_id", value=run_id)
        return pass_rate

    def _find_or_create_run(self, client: Any, test_run_id: str) -> str:
        experiment = client.get_experiment_by_name(self.experiment_name)
        experiment_id = (
            experiment.experiment_id if experiment else client.create_experiment(self.experiment_name)
        )
        escaped = test_run_id.replace("'", "\\'")
        found = client.search_runs(
            [experiment_id], filter_string=f"tags.`{TAG_TEST_RUN_ID}` = '{escaped}'", max_results=1
        )
        if found:
            return str(found[0].info.run_id)
        run = client.create_run(experiment_id, tags={TAG_TEST_RUN_ID: test_run_id}, run_name=test_run_id)
        client.set_terminated(run.info.run_id)
        return str(run.info.run_id)

    @staticmethod
    def _refuse_other_test_run(client: Any, run_id: str, test_run_id: str) -> None:
        logged = client.get_run(run_id).data.params.get("rime_test_run_id")
        if logged and logged != test_run_id:
            raise ValueError(
                f"MLflow run {run_id} already holds the results of RIME test run {logged}; "
                f"log test run {test_run_id} into another run (MLflow params cannot change)."
            )


def _nested(data: Mapping[str, Any], *keys: str) -> Any:
    value: Any = data
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _pass_rate(summary: Mapping[str, Any]) -> float:
    counts = summary.get("summary_counts") or {}
    total = _as_number(counts.get("total")) or 0.0
    passed = _as_number(counts.get("pass")) or 0.0
    return passed / total if total else 0.0
