"""RIME's AI Firewall (continuous testing) from Airflow: create or re-point it, run it on a batch.

- :class:`RimeCreateFirewallOperator` makes sure a project has its one firewall, for a model and
  reference data (given directly, or taken from a stress test run), re-pointing an existing
  firewall instead of making a second one.
- :class:`RimeFirewallOperator` runs a continuous test on one batch of production data (a file
  or URI, a registered dataset, or rows fetched with SQL through any common-sql connection),
  with predictions from a column or computed in the task by an MLflow model. It waits like
  :class:`~airflow_provider_rime.operators.stress_test.RimeStressTestOperator` (in the worker
  or deferred, re-attaching on retry, cancelling on kill and timeout) and returns the batch's
  bins (one test run each, with its verdict) and the detection events they opened.

The module imports only what parsing a DAG needs; the hook, pandas, MLflow and RIME's document
models are imported where a task runs.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSkipException, BaseOperator

from airflow_provider_rime.exceptions import (
    RimeApiError,
    RimeFirewallError,
    RimeJobError,
    RimeNotFoundError,
    RimeSeverityGateError,
)
from airflow_provider_rime.hooks import DEFAULT_CONN_ID
from airflow_provider_rime.links import (
    XCOM_FIREWALL_ID,
    XCOM_FIREWALL_URL,
    XCOM_JOB_ID,
    XCOM_PROJECT_ID,
    RimeFirewallLink,
)
from airflow_provider_rime.operators.base import RimeJobOperator, bool_arg, is_template
from airflow_provider_rime.rime_api.enums import TestCategory
from airflow_provider_rime.rime_api.results import FailOn
from airflow_provider_rime.utils.data_sources import DataSource, DataSourceKind, resolve_data_source

if TYPE_CHECKING:
    import pandas as pd
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_rime.hooks.rime import RimeHook
    from airflow_provider_rime.rime_api.documents import Job

#: XCom keys of the firewall operator's results, pushed before the ``fail_on`` gate decides.
XCOM_BINS = "bins"
XCOM_EVENTS = "events"
XCOM_SUMMARY = "summary"
#: XCom key of the batch's row count (pushed when the batch is read; a resumed task reads it back).
XCOM_ROWS = "rows"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_bin_size(value: Any) -> timedelta:
    """
    A firewall bin size as a ``timedelta``: a ``timedelta``, seconds, or ``"1d"``, ``"6h"``, ``"86400s"``.

    :raises ValueError: Not a duration, or shorter than one hour (RIME's minimum).
    """
    if isinstance(value, timedelta):
        size = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        size = timedelta(seconds=float(value))
    else:
        match = _DURATION.match(str(value or ""))
        if not match:
            raise ValueError(
                "bin_size must be a timedelta, seconds, or a duration like '1d', '6h', '86400s'; "
                f"got {value!r}"
            )
        size = timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()])
    if size < timedelta(hours=1):
        raise ValueError(f"bin_size must be at least one hour (RIME's minimum); got {size}")
    return size


class _FirewallTarget:
    """What a firewall is for: a model and reference data, given directly or by a stress test run."""

    def __init__(
        self,
        stress_test_run_id: str | None,
        model_id: str | None,
        reference_dataset_id: str | None,
        bin_size: Any,
    ) -> None:
        self.stress_test_run_id = (stress_test_run_id or "").strip() or None
        self.model_id = (model_id or "").strip() or None
        self.reference_dataset_id = (reference_dataset_id or "").strip() or None
        self.bin_size = parse_bin_size(bin_size)
        if self.stress_test_run_id and (self.model_id or self.reference_dataset_id):
            raise ValueError(
                "give either stress_test_run_id (the firewall takes that run's model and reference data) "
                "or model_id and reference_dataset_id, not both"
            )
        if bool(self.model_id) != bool(self.reference_dataset_id):
            raise ValueError(
                "model_id and reference_dataset_id go together: give both, or stress_test_run_id"
            )

    @property
    def given(self) -> bool:
        return bool(self.stress_test_run_id or self.model_id)

    def resolve(self, hook: RimeHook, project_id: str) -> tuple[str, str]:
        """The model id and reference dataset id (read from the stress test run when given that)."""
        if not self.stress_test_run_id:
            assert self.model_id and self.reference_dataset_id
            return self.model_id, self.reference_dataset_id
        try:
            run = hook.get_test_run(self.stress_test_run_id)
        except RimeNotFoundError:
            raise RimeFirewallError(
                f"stress_test_run_id {self.stress_test_run_id!r}: RIME has no such test run"
            ) from None
        from airflow_provider_rime.rime_api.naming import uuid_of

        run_project = uuid_of(run.get("projectId"))
        if run_project and run_project != project_id:
            raise RimeFirewallError(
                f"stress test run {self.stress_test_run_id} belongs to project {run_project}, "
                f"not to the firewall's project {project_id}"
            )
        model_id, ref_id = uuid_of(run.get("modelId")), run.get("refDataId")
        if not model_id or not ref_id:
            raise RimeFirewallError(
                f"stress test run {self.stress_test_run_id} names no model or reference dataset; "
                "give model_id and reference_dataset_id instead"
            )
        return model_id, str(ref_id)


def ensure_firewall(hook: RimeHook, project_id: str, target: _FirewallTarget, log: Any) -> tuple[str, str]:
    """
    The project's firewall for ``target``: created if missing, re-pointed if it tests another model.

    :return: The firewall id and what was done: ``"created"``, ``"updated"`` or ``"unchanged"``.
    """
    existing = hook.get_project_firewall_id(project_id)
    if existing is None and not target.given:
        raise RimeFirewallError(
            f"project {project_id} has no firewall: create it first (RimeCreateFirewallOperator) or give "
            "stress_test_run_id, or model_id and reference_dataset_id, to create it here"
        )
    if not target.given:
        assert existing is not None
        return existing, "unchanged"
    model_id, ref_id = target.resolve(hook, project_id)
    if existing is None:
        firewall_id = hook.create_firewall(project_id, model_id, ref_id, target.bin_size)
        log.info("Created RIME firewall %s (model %s, reference %s)", firewall_id, model_id, ref_id)
        return firewall_id, "created"
    firewall = hook.get_firewall(existing)
    current = (firewall.model_id.uuid, firewall.ref_data_id)
    if current == (model_id, ref_id):
        log.info("RIME firewall %s already tests model %s on reference %s", existing, model_id, ref_id)
        return existing, "unchanged"
    hook.update_firewall(existing, model_id=model_id, ref_data_id=ref_id)
    log.info(
        "Re-pointed RIME firewall %s from model %s / reference %s to model %s / reference %s",
        existing,
        *current,
        model_id,
        ref_id,
    )
    return existing, "updated"


class _FirewallTargetOperator(BaseOperator):
    """
    Base of the two firewall operators: the project and what its firewall is for (abstract).

    It takes the arguments both operators have (documented by each): ``project``, and the
    firewall's target, ``stress_test_run_id`` or ``model_id`` with ``reference_dataset_id``,
    plus ``bin_size`` for a firewall created by the task (checked here, at parse time).
    """

    def __init__(
        self,
        *,
        project: str,
        stress_test_run_id: str | None = None,
        model_id: str | None = None,
        reference_dataset_id: str | None = None,
        bin_size: Any = "1d",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.stress_test_run_id = stress_test_run_id
        self.model_id = model_id
        self.reference_dataset_id = reference_dataset_id
        self.bin_size = bin_size
        parse_bin_size(bin_size)

    def _firewall_target(self) -> _FirewallTarget:
        """The rendered target arguments, checked together."""
        return _FirewallTarget(
            self.stress_test_run_id, self.model_id, self.reference_dataset_id, self.bin_size
        )


class RimeCreateFirewallOperator(_FirewallTargetOperator):
    """
    Create the project's RIME firewall, or re-point the one it has; never make a second.

    A RIME project has at most one firewall (continuous test). This operator creates it for a
    model and its reference data, or, when the project has one already, updates it to that
    model and reference data (``PUT /v1/firewall/{id}``), keeping its bins and history. The
    model and reference data come from a stress test run (as in the walkthrough, where the
    promoted model's stress test configures the firewall) or are given as ids.

    Returns ``{"firewall_id", "project_id", "action", "url"}`` (``action``: ``created``,
    ``updated`` or ``unchanged``) and pushes ``firewall_id`` and ``firewall_url`` to XCom.

    :param rime_conn_id: The Airflow connection to RIME.
    :param project: Project id or name (it must exist). (templated)
    :param stress_test_run_id: A stress test run whose model and reference dataset the firewall
        takes. (templated)
    :param model_id: The model, when no stress test run is given. (templated)
    :param reference_dataset_id: The registered reference dataset, with ``model_id``. (templated)
    :param bin_size: Width of the firewall's time bins: a ``timedelta``, seconds, or ``"1d"``,
        ``"6h"``; at least one hour. Used when the firewall is created (RIME cannot change it later).
    :param ct_categories: The project's continuous-test categories (``"drift"``,
        ``"Abnormal Inputs"``, ``TestCategory.MODEL_PERFORMANCE``, ...): what each bin runs and
        which monitors the firewall has. Set before the firewall is created or re-pointed;
        ``None`` (the default) leaves the project's as they are (RIME's default: all four).
    """

    template_fields: Sequence[str] = (
        "rime_conn_id",
        "project",
        "stress_test_run_id",
        "model_id",
        "reference_dataset_id",
    )
    operator_extra_links = (RimeFirewallLink(),)
    ui_color = "#5d3fd3"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        rime_conn_id: str = DEFAULT_CONN_ID,
        ct_categories: Sequence[TestCategory | str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rime_conn_id = rime_conn_id
        if not (self.stress_test_run_id or self.model_id):
            raise ValueError("give stress_test_run_id, or model_id and reference_dataset_id")
        if isinstance(ct_categories, str):
            raise ValueError(f"ct_categories must be a list of categories, not the string {ct_categories!r}")
        self.ct_categories = (
            None if ct_categories is None else [TestCategory.parse(str(c)).value for c in ct_categories]
        )

    @cached_property
    def hook(self) -> RimeHook:
        """The RIME hook of this task."""
        from airflow_provider_rime.hooks.rime import RimeHook

        return RimeHook(self.rime_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        """Create or re-point the firewall; push its id and page."""
        target = self._firewall_target()
        project_id = _existing_project_id(self.hook, self.project)
        if self.ct_categories is not None:
            # Before the firewall: its monitors follow the categories from its creation on.
            chosen = self.hook.update_project_categories(project_id, continuous_test=self.ct_categories)
            self.log.info(
                "Continuous-test categories: %s", ", ".join(chosen.get("continuousTestCategories") or [])
            )
        firewall_id, action = ensure_firewall(self.hook, project_id, target, self.log)
        url = _firewall_url(self.hook, firewall_id, self.log)
        ti = context["ti"]
        ti.xcom_push(key=XCOM_FIREWALL_ID, value=firewall_id)
        ti.xcom_push(key=XCOM_PROJECT_ID, value=project_id)
        if url:
            ti.xcom_push(key=XCOM_FIREWALL_URL, value=url)
        return {"firewall_id": firewall_id, "project_id": project_id, "action": action, "url": url}


class RimeFirewallOperator(_FirewallTargetOperator, RimeJobOperator):
    """
    Run the project's RIME firewall (a continuous test) on one batch of production data.

    The batch is a file or URI, a registered dataset id, or the rows a SQL query returns on any
    common-sql connection (``sql`` + ``sql_conn_id``; template the query on the data interval,
    e.g. ``WHERE timestamp = '{{ ds }}'``). Predictions are a column of the batch
    (``pred_col``), or computed in the task by ``model_uri`` (an MLflow model URI such as
    ``models:/rime-fraud-detection@production``) and written into that column. A batch
    without rows skips the task, saying so.

    The operator makes sure the project has a firewall (creating or re-pointing it when
    ``stress_test_run_id`` or ``model_id`` + ``reference_dataset_id`` are given, see
    :class:`RimeCreateFirewallOperator`), uploads and registers the batch once per content
    (with its timestamp column), registers its predictions for the firewall's model, starts
    the continuous test and pushes ``firewall_id``, ``project_id``, ``job_id`` and
    ``firewall_url`` to XCom before it waits (in the worker, or deferred to
    :class:`~airflow_provider_rime.triggers.job.RimeJobTrigger`). A retry re-attaches to the
    running job of the same batch; a killed or timed-out task cancels it.

    It returns, and pushes as XCom ``summary`` before the ``fail_on`` gate, ``firewall_id``,
    ``project_id``, ``job_id``, ``rows``, ``bins`` (one per time bin: ``test_run_id``,
    ``start``, ``end``, ``verdict`` pass/warning/alert, counts and ``url``), ``events`` (the
    detection events in the batch's time range: ``event_id``, ``severity``, ``monitor``,
    ``start``, ``end``, ``description``), ``verdict`` (the worst) and ``url``; ``bins`` and
    ``events`` are also XComs of their own.

    :param rime_conn_id: The Airflow connection to RIME.
    :param project: Project id or name (it must exist). (templated)
    :param evaluation_data: The batch as a file path, URI or registered dataset id. (templated)
    :param sql: The query fetching the batch (instead of ``evaluation_data``). (templated)
    :param sql_conn_id: The common-sql connection the query runs on. (templated)
    :param sql_parameters: Bind parameters of the query. (templated)
    :param timestamp_col: The column that places each row in a time bin. (templated)
    :param label_col: The label column, if the batch has labels. (templated)
    :param pred_col: The predictions' column (read, or written by ``model_uri``). (templated)
    :param model_uri: An MLflow model URI computing the predictions in the task; a scikit-learn
        classifier gives its positive-class probability, other models their ``predict``. (templated)
    :param stress_test_run_id: Create or re-point the firewall from this stress test run. (templated)
    :param model_id: Create or re-point the firewall for this model (with
        ``reference_dataset_id``). (templated)
    :param reference_dataset_id: The firewall's reference dataset (with ``model_id``). (templated)
    :param bin_size: Bin width of a firewall created here (``"1d"``, ``"6h"``, seconds, ``timedelta``).
    :param override_existing_bins: Replace the results of bins an earlier run already filled
        (a rerun of a day); by default RIME keeps them and skips those bins. (templated: a
        rendered ``"True"``/``"false"`` counts)
    :param fail_on: ``"none"``, ``"warning"`` or ``"alert"``: fail the task when a bin's verdict or
        an event of the batch is at least that severe (after pushing the results). (templated)
    :param deferrable: Wait in the triggerer instead of a worker slot.
    :param poll_interval: Seconds between status checks (the first ones come sooner). (templated)
    :param timeout: Longest wait for the continuous test in seconds; the job is cancelled after.
        (templated)
    """

    template_fields: Sequence[str] = (
        "rime_conn_id",
        "project",
        "fail_on",
        "poll_interval",
        "timeout",
        "evaluation_data",
        "sql",
        "sql_conn_id",
        "sql_parameters",
        "timestamp_col",
        "label_col",
        "pred_col",
        "model_uri",
        "stress_test_run_id",
        "model_id",
        "reference_dataset_id",
        "override_existing_bins",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "sql_parameters": "json"}
    operator_extra_links = (RimeFirewallLink(),)
    ui_color = "#5d3fd3"
    ui_fgcolor = "#ffffff"
    external_id_key = "rime_firewall_job_id"
    job_kind = "continuous test"

    def __init__(
        self,
        *,
        evaluation_data: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        sql_parameters: dict[str, Any] | list[Any] | None = None,
        timestamp_col: str = "timestamp",
        label_col: str | None = "label",
        pred_col: str = "pred",
        model_uri: str | None = None,
        override_existing_bins: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.evaluation_data = evaluation_data
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.sql_parameters = sql_parameters
        self.timestamp_col = timestamp_col
        self.label_col = label_col
        self.pred_col = pred_col
        self.model_uri = model_uri
        self.override_existing_bins: Any = override_existing_bins  # a bool once rendered and checked
        self.firewall_id: str | None = None
        self.rows: int | None = None
        self._validate_static(at_parse=True)

    # ------------------------------------------------------------------ 1. validate

    def _validate_static(self, at_parse: bool = False) -> None:
        """Check the arguments; at parse time, templated ``fail_on``/``poll_interval``/``timeout``
        wait for their rendered values (checked before any call to RIME)."""
        super()._validate_static(at_parse)
        if not (at_parse and is_template(self.override_existing_bins)):
            self.override_existing_bins = bool_arg(self.override_existing_bins, "override_existing_bins")
        if bool(self.sql) == bool(self.evaluation_data):
            raise ValueError(
                "give the batch as evaluation_data (a file, URI or registered dataset id) or as sql "
                "(with sql_conn_id), exactly one of them"
            )
        if self.sql and not self.sql_conn_id:
            raise ValueError("sql needs sql_conn_id: the common-sql connection the query runs on")
        if not self.timestamp_col:
            raise ValueError("timestamp_col is empty: the firewall bins rows by their timestamp")
        if not self.pred_col:
            raise ValueError(
                "pred_col is empty: name the predictions' column (read, or written by model_uri)"
            )

    # ------------------------------------------------------------------ 2. the batch

    def _batch(self, work_dir: Path) -> DataSource:
        """The batch as a data source: fetched and checked, predictions added; skip when empty."""
        self._validate_static()
        if not self.project or not str(self.project).strip():
            raise ValueError("project is empty: give a RIME project id or name")
        if self.sql:
            from airflow_provider_rime.utils.sql import fetch_dataframe

            frame = fetch_dataframe(str(self.sql_conn_id), str(self.sql), self.sql_parameters)
            where = f"the query on sql_conn_id {self.sql_conn_id!r}"
        else:
            source = resolve_data_source(str(self.evaluation_data), "evaluation_data")
            if source.kind is not DataSourceKind.LOCAL:
                if self.model_uri:
                    raise ValueError(
                        "model_uri computes predictions in the task, so the batch must be read here: "
                        "give a local file or sql, or a batch that has its pred_col already"
                    )
                return source
            frame = _read_local(Path(source.value))
            where = f"evaluation_data {Path(source.value).name}"
        self.rows = len(frame)
        if frame.empty:
            raise AirflowSkipException(f"{where} returned no rows: nothing for the firewall to test")
        self._check_columns(frame, where)
        if self.model_uri:
            frame = frame.copy()
            frame[self.pred_col] = predict_with_mlflow(str(self.model_uri), frame, self._non_features())
        first = str(frame[self.timestamp_col].min())[:10]
        path = work_dir / f"batch-{re.sub(r'[^0-9A-Za-z_-]+', '-', first)}.csv"
        frame.to_csv(path, index=False)
        return DataSource(DataSourceKind.LOCAL, str(path))

    def _non_features(self) -> list[str]:
        return [c for c in (self.timestamp_col, self.label_col, self.pred_col) if c]

    def _check_columns(self, frame: pd.DataFrame, where: str) -> None:
        import pandas as pd

        columns = [str(c) for c in frame.columns]
        required = {"timestamp_col": self.timestamp_col}
        if self.label_col:
            required["label_col"] = self.label_col
        if not self.model_uri:
            required["pred_col"] = self.pred_col
        for parameter, column in required.items():
            if column not in columns:
                hint = " (or give model_uri to compute predictions)" if parameter == "pred_col" else ""
                raise ValueError(
                    f"{parameter} {column!r} is not a column of {where}; its columns are: "
                    f"{', '.join(columns)}{hint}"
                )
        stamps = pd.to_datetime(frame[self.timestamp_col], errors="coerce", utc=True)
        bad = int(stamps.isna().sum())
        if bad:
            example = frame.loc[stamps.isna(), self.timestamp_col].iloc[0]
            raise ValueError(
                f"timestamp_col {self.timestamp_col!r} of {where} has {bad} values that are not "
                f"timestamps (e.g. {example!r}); use dates like 2018-08-01 or 2018-08-01 12:00:00"
            )

    # ------------------------------------------------------------------ 3. submit

    def submit_job(self, context: Context) -> str:
        """Fetch the batch, make sure of the firewall, register the batch, start (or re-attach)."""
        hook = self.hook
        with tempfile.TemporaryDirectory(prefix="rime-firewall-") as tmp:
            batch = self._batch(Path(tmp))
            # Kept for the result: a deferred task resumes in a new operator instance.
            context["ti"].xcom_push(key=XCOM_ROWS, value=self.rows)
            target = self._firewall_target()
            project_id = _existing_project_id(hook, self.project)
            self.project_id = project_id
            firewall_id, _ = ensure_firewall(hook, project_id, target, self.log)
            self.firewall_id = firewall_id
            firewall = hook.get_firewall(firewall_id)
            dataset_id = self._register(project_id, firewall.model_id.uuid, batch)
        # A running job of this firewall on this batch is this task's (an earlier try's). The
        # others are remembered, so that a start whose response is lost finds its own job, even
        # finished, and never starts a second.
        earlier = hook.find_continuous_test_jobs(project_id, firewall_id, dataset_id)
        job = next((j for j in earlier if not j.is_terminal), None)
        if job is not None:
            self.log.info("Re-attaching to the running continuous test job %s", job.job_id)
        else:
            job = hook.start_continuous_test(
                firewall_id,
                dataset_id,
                override_existing_bins=self.override_existing_bins,
                project_id=project_id,
                known_job_ids={j.job_id for j in earlier},
            )
            self.log.info(
                "Started RIME continuous test job %s on dataset %s (firewall %s)",
                job.job_id,
                dataset_id,
                firewall_id,
            )
        self._push_references(context, job)
        return job.job_id

    def _register(self, project_id: str, model_id: str, batch: DataSource) -> str:
        """Register the batch (once per content) and its predictions for the firewall's model."""
        hook = self.hook
        registered = hook.register_dataset_once(
            project_id,
            batch,
            label_col=self.label_col or "",
            pred_col=self.pred_col,
            timestamp_col=self.timestamp_col,
            role="production",
        )
        if registered.path:
            hook.register_predictions(
                project_id,
                model_id,
                registered.dataset_id,
                registered.path,
                self.pred_col,
                self.timestamp_col,
            )
        return registered.dataset_id

    def _push_references(self, context: Context, job: Job) -> None:
        """Push the firewall, project and job ids and the firewall page before waiting."""
        if self._pushed_job_id == job.job_id:
            return
        ti = context["ti"]
        self.job_id = job.job_id
        self.project_id = job.project_id or self.project_id
        self.firewall_id = _firewall_of(job) or self.firewall_id
        ti.xcom_push(key=XCOM_JOB_ID, value=self.job_id)
        if self.project_id:
            ti.xcom_push(key=XCOM_PROJECT_ID, value=self.project_id)
        if self.firewall_id:
            ti.xcom_push(key=XCOM_FIREWALL_ID, value=self.firewall_id)
            url = _firewall_url(self.hook, self.firewall_id, self.log)
            if url:
                ti.xcom_push(key=XCOM_FIREWALL_URL, value=url)
                self.log.info("RIME firewall %s (job %s): %s", self.firewall_id, self.job_id, url)
        self._pushed_job_id = job.job_id

    # ------------------------------------------------------------------ 4. finish

    def _finish(self, context: Context, job: Job) -> dict[str, Any]:
        """Read the bins and events, push them, then apply the ``fail_on`` gate."""
        hook = self.hook
        if self.rows is None:
            pull = getattr(context["ti"], "xcom_pull", None)
            self.rows = pull(task_ids=self.task_id, key=XCOM_ROWS) if pull else None
        bins = hook.get_continuous_test_bins(job)
        project_id = self.project_id or job.project_id
        events: list[dict[str, Any]] = []
        starts = [str(b["start"]) for b in bins if b.get("start")]
        ends = [str(b["end"]) for b in bins if b.get("end")]
        if starts and ends and project_id:
            events = hook.list_firewall_events(
                project_id, firewall_id=self.firewall_id, start=min(starts), end=max(ends)
            )
        verdict = _worst([b["verdict"] for b in bins] + [e["verdict"] for e in events])
        result = {
            "firewall_id": self.firewall_id,
            "project_id": project_id,
            "job_id": job.job_id,
            "rows": self.rows,
            "bins": bins,
            "events": events,
            "verdict": verdict,
            "url": _firewall_url(hook, self.firewall_id, self.log) if self.firewall_id else None,
        }
        ti = context["ti"]
        # Pushed before the gate: a task failed by the gate still shows its results.
        ti.xcom_push(key=XCOM_BINS, value=bins)
        ti.xcom_push(key=XCOM_EVENTS, value=events)
        ti.xcom_push(key=XCOM_SUMMARY, value=result)
        self.log.info(
            "RIME firewall %s: %d bins (%s), %d events, verdict %s",
            self.firewall_id,
            len(bins),
            ", ".join(f"{b['start']}: {b['verdict']}" for b in bins) or "none new",
            len(events),
            verdict,
        )
        reason = _gate(self.fail_on, bins, events)
        if reason is not None:
            raise RimeSeverityGateError(f"{reason}: {result['url'] or ''}".rstrip(": "))
        return result

    # ------------------------------------------------------------------ 5. lineage

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """OpenLineage, as the task starts: the batch it reads when that is a file, URI or dataset
        (a SQL batch's tables are named once the query ran, on completion)."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        return OperatorLineage(inputs=self._lineage_inputs(None))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage, once the batch was tested: its inputs with the verdicts of every bin it
        filled as ``dataQualityAssertions`` (one per test case), and the continuous test job as
        the run's external query."""
        from airflow.providers.common.compat.openlineage.facet import ExternalQueryRunFacet
        from airflow.providers.openlineage.extractors import OperatorLineage

        from airflow_provider_rime.utils.lineage import firewall_assertions

        run_facets: dict[str, Any] = {}
        verdicts = None
        if self.job_id:
            run_facets["externalQuery"] = ExternalQueryRunFacet(
                externalQueryId=self.job_id, source=self.hook.settings.base_url
            )
            # Read from RIME, not XCom: the OpenLineage child process must not ask the supervisor.
            if self._result is not None and self._result[0] == self.job_id:
                bins = self._result[1]["bins"]
            else:  # failed by fail_on: the bins exist, the result was not kept
                bins = self.hook.get_continuous_test_bins(self.hook.get_job(self.job_id))
            verdicts = firewall_assertions(bins, self.hook) if bins else None
        return OperatorLineage(inputs=self._lineage_inputs(verdicts), run_facets=run_facets)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage of a failed task: as on completion (a task failed by ``fail_on`` has its bins)."""
        return self.get_openlineage_facets_on_complete(task_instance)

    def _lineage_inputs(self, verdicts: list[Any] | None) -> list[Any]:
        """The batch's datasets; the verdicts go on each of them (a query's tables share them)."""
        from airflow_provider_rime.utils.lineage import (
            DatasetName,
            data_source_name,
            input_dataset,
            sql_input_names,
        )
        from airflow_provider_rime.utils.sql import RESOLVED_CONNECTIONS

        names: list[DatasetName] = []
        try:
            if self.sql:
                connection = RESOLVED_CONNECTIONS.get(str(self.sql_conn_id))
                if connection is not None:
                    names = sql_input_names(str(self.sql_conn_id), str(self.sql), connection)
            elif self.evaluation_data:
                source = resolve_data_source(str(self.evaluation_data), "evaluation_data")
                names = [data_source_name(source, self.hook.settings.base_url)]
        except Exception as exc:  # lineage is best effort: it never fails the task
            self.log.info("No OpenLineage inputs for the batch: %s", exc)
        return [input_dataset(name, verdicts) for name in names]


# ---------------------------------------------------------------------- helpers

_VERDICT_RANK = {"pass": 0, "warning": 1, "alert": 2}


def _worst(verdicts: Sequence[str]) -> str:
    return max(verdicts, key=lambda v: _VERDICT_RANK.get(v, 0), default="pass")


def _gate(fail_on: str, bins: list[dict[str, Any]], events: list[dict[str, Any]]) -> str | None:
    """Why the task fails under ``fail_on``, or ``None``."""
    policy = FailOn.parse(fail_on)
    if policy is FailOn.NONE:
        return None
    floor = _VERDICT_RANK[policy.value]
    bad_bins = [b for b in bins if _VERDICT_RANK.get(b["verdict"], 0) >= floor]
    bad_events = [e for e in events if _VERDICT_RANK.get(e["verdict"], 0) >= floor]
    if not (bad_bins or bad_events):
        return None
    parts = []
    if bad_bins:
        parts.append(f"{len(bad_bins)} bins ({', '.join(str(b['start']) for b in bad_bins)})")
    if bad_events:
        parts.append(f"{len(bad_events)} events")
    found = " and ".join(parts)
    return f"The RIME firewall found {found} at {policy.value} or worse and fail_on={policy.value!r}"


def _existing_project_id(hook: RimeHook, project: str) -> str:
    """The id of an existing project given by id or name (the firewall never creates projects)."""
    from airflow_provider_rime.hooks.rime import looks_like_id

    value = str(project or "").strip()
    if not value:
        raise ValueError("project is empty: give a RIME project id or name")
    if looks_like_id(value):
        try:
            return str(hook.get_project(value)["id"]["uuid"])
        except RimeNotFoundError:
            raise RimeFirewallError(
                f"project {value!r} does not exist in RIME (was it deleted?); run the stress-testing "
                "pipeline again to create it and its firewall, or fix the project id"
            ) from None
    found = hook.find_project_id(value)
    if found is None:
        raise RimeFirewallError(
            f"RIME has no project named {value!r}; create it (e.g. with the stress-testing pipeline) first"
        )
    return found


def _firewall_url(hook: RimeHook, firewall_id: str | None, log: Any) -> str | None:
    if not firewall_id:
        return None
    try:
        return hook.get_firewall_url(firewall_id)
    except RimeApiError as exc:  # a missing link must not stop the test
        log.warning("No web link for RIME firewall %s: %s", firewall_id, exc)
        return None


def _firewall_of(job: Job) -> str | None:
    from airflow_provider_rime.rime_api.naming import uuid_of

    return uuid_of((job.job_data.get("continuousInc") or {}).get("firewallId"))


def _read_local(path: Path) -> pd.DataFrame:
    """A local CSV/TSV/parquet/JSON-lines file as a DataFrame, with a clear error for other formats."""
    import pandas as pd

    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    if name.endswith((".jsonl", ".json")):
        return pd.read_json(path, lines=name.endswith(".jsonl"))
    if name.endswith((".csv", ".tsv", ".csv.gz", ".gz")):
        return pd.read_csv(path, sep="\t" if name.endswith(".tsv") else ",")
    raise ValueError(f"evaluation_data {path.name}: read CSV, TSV, parquet or JSON files only")


def predict_with_mlflow(model_uri: str, frame: pd.DataFrame, non_features: Sequence[str]) -> Any:
    """
    Predictions of an MLflow model for ``frame``: a classifier's positive-class probability.

    A scikit-learn model with ``predict_proba`` gives the last column's probability (the
    positive class of a binary classifier); any other model its pyfunc ``predict``. The model
    gets the columns of its signature (or all but the timestamp, label and prediction columns).

    :raises RimeJobError: The URI does not load, or the model fails on the batch.
    """
    import numpy as np

    try:
        import mlflow
    except ImportError:
        raise ValueError("model_uri needs MLflow: pip install 'airflow-provider-rime[mlflow]'") from None
    try:
        pyfunc = mlflow.pyfunc.load_model(model_uri)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RimeJobError(
            f"model_uri {model_uri!r} does not load: {reason}. Check the URI (models:/<name>@<alias>, "
            "models:/<name>/<version>, runs:/<run id>/<path>) and MLFLOW_TRACKING_URI"
        ) from None
    schema = pyfunc.metadata.get_input_schema() if pyfunc.metadata else None
    names = schema.input_names() if schema is not None and schema.has_input_names() else None
    features = [str(c) for c in (names or [c for c in frame.columns if c not in non_features])]
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the batch lacks the model's input columns {missing}; its columns: {list(frame.columns)}"
        )
    inputs = frame[features]
    try:
        if "sklearn" in (pyfunc.metadata.flavors if pyfunc.metadata else {}):
            model = mlflow.sklearn.load_model(model_uri)
            if hasattr(model, "predict_proba"):
                return np.asarray(model.predict_proba(inputs))[:, -1]
        return np.asarray(pyfunc.predict(inputs)).reshape(len(frame), -1)[:, -1]
    except Exception as exc:
        raise RimeJobError(f"model {model_uri!r} failed on the batch: {exc}") from None
