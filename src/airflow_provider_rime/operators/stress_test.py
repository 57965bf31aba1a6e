"""RimeStressTestOperator: register data and a model, run a RIME stress test, return its summary.

It reads like Airflow's ``DbtCloudRunJobOperator``: validate the arguments, submit the job
(registering what it needs through the hook, once per content), push the job's references
to XCom *before* waiting, wait in the worker or defer to
:class:`~airflow_provider_rime.triggers.job.RimeJobTrigger`, then finish: read the summary,
push it, and apply the severity gate. The waiting, re-attaching and cancelling are
:class:`~.base.RimeJobOperator`'s.

The module imports only what parsing a DAG needs; the hook, the trigger and RIME's document
models are imported where a task runs (they cost more than the rest of the provider).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_rime.exceptions import (
    RimeApiError,
    RimeJobError,
    RimeNotFoundError,
    RimeSeverityGateError,
)
from airflow_provider_rime.links import (
    XCOM_JOB_ID,
    XCOM_PROJECT_ID,
    XCOM_TEST_RUN_ID,
    XCOM_TEST_RUN_URL,
    RimeStressTestLink,
)
from airflow_provider_rime.operators.base import RimeJobOperator, is_template
from airflow_provider_rime.rime_api.enums import STRESS_TEST_DEFAULT_CATEGORIES, TestCategory
from airflow_provider_rime.utils.data_sources import (
    DataSource,
    DataSourceKind,
    check_columns,
    resolve_data_source,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_rime.rime_api.documents import Job, TestRunConfig, TestSuiteConfig

#: XCom key of the summary, pushed before the severity gate decides (also the return value).
XCOM_SUMMARY = "summary"

#: ``categories=ALL_CATEGORIES`` runs every category the server runs for the project: the
#: project's ``stressTestCategories`` as RIME reports them (the local engine: every category it
#: has tests for), or, when the project names none, every stress-testing category RIME has.
ALL_CATEGORIES = "all"

#: What ``categories=None`` runs: RIME's stress-testing default (Model Performance, Subset
#: Performance, Transformations, Attacks; the last two call the model, so they run when the
#: operator is given a model directory).
DEFAULT_CATEGORIES: tuple[str, ...] = tuple(c.display_name for c in STRESS_TEST_DEFAULT_CATEGORIES)

#: Every category a RIME stress test can run (the continuous-testing-only and custom ones left out).
RIME_STRESS_CATEGORIES: tuple[TestCategory, ...] = tuple(
    c
    for c in TestCategory
    if c not in (TestCategory.UNSPECIFIED, TestCategory.CUSTOM, TestCategory.SUBSET_PERFORMANCE_DEGRADATION)
)


@dataclass(frozen=True)
class StressTestInputs:
    """The checked data and model arguments of one stress test."""

    reference: DataSource
    evaluation: DataSource
    model_dir: Path | None


class RimeStressTestOperator(RimeJobOperator):
    """
    Run a RIME stress test on a model's reference and evaluation data.

    The operator finds or creates the project, uploads and registers the data (and the
    model, if a model directory is given) once per content, starts the stress test, pushes
    ``job_id``, ``test_run_id``, ``test_run_url`` and ``project_id`` to XCom, then waits in
    the worker or defers to :class:`~airflow_provider_rime.triggers.job.RimeJobTrigger`. It
    returns a JSON-safe summary: ``test_run_id``, ``project_id``, ``job_id``, ``run_name``,
    ``url``, ``status``, ``summary_counts``, ``severity_counts``, ``pass_rate`` and
    ``model_metrics``; the summary is also pushed as XCom ``summary`` before the severity
    gate (``fail_on``) may fail the task.

    A retry of the task re-attaches to its still-running stress test instead of starting
    another (through the task state store on Airflow 3.3+, and by looking up the test run
    name otherwise). ``on_kill`` and ``timeout`` cancel the job.

    :param rime_conn_id: The Airflow connection to RIME.
    :param project: Project id or name; a project of that name is created if missing. (templated)
    :param project_description: Description of a project created here. (templated)
    :param reference_data: Reference (training) data: a local path, ``file://`` URI, a URI
        the cluster can read (``s3://...``), or an already registered dataset id. (templated)
    :param evaluation_data: Evaluation data, in the same forms. (templated)
    :param label_col: The label column. (templated)
    :param pred_col: The column holding the model's predictions in both data files; its
        values are registered as the model's predictions. ``None`` when the files have none. (templated)
    :param timestamp_col: The timestamp column, if any. (templated)
    :param model_dir: A directory with a ``model.py`` defining ``predict_df``; it is uploaded
        and registered. Without it a predictions-only model is registered. (templated)
    :param model_name: Name of the registered model; for a model directory a content hash is
        appended so a changed model is registered anew. (templated)
    :param run_name: Name of the test run; by default ``<dag_id>.<task_id>.<run_id>`` (plus
        the map index), which is what lets a retry find its run. Keep it unique per task
        instance. (templated)
    :param categories: Test categories to run (``"drift"``, ``"Model Performance"`` or
        ``"TEST_CATEGORY_TYPE_DRIFT"``). ``None`` (the default) runs RIME's stress-testing
        default, :data:`DEFAULT_CATEGORIES`: Model Performance, Subset Performance,
        Transformations and Attacks (the last two call the model: they run when ``model_dir`` is
        given). :data:`ALL_CATEGORIES` (``"all"``) runs every category the server runs for the
        project. (templated)
    :param test_suite_config: RIME's ``test_suite_config`` (``global_test_sensitivity``,
        ``individual_tests_config``, ``global_exclude_columns``). (templated)
    :param categorical_features: Columns to treat as categorical. (templated)
    :param fail_on: Severity gate: ``"none"`` never fails on results, ``"warning"`` fails on
        any warning or alert, ``"alert"`` fails on alerts (high severity or failed tests). (templated)
    :param deferrable: Wait in the triggerer instead of a worker slot; default from
        ``[operators] default_deferrable``.
    :param poll_interval: Seconds between status checks. (templated)
    :param timeout: Longest wait for the stress test in seconds; the job is cancelled after.
        ``None`` waits forever. (templated)
    :param durable: (Airflow 3.3+, from ``ResumableJobMixin``) keep the job id in the task state
        store so a retry re-attaches to it; default ``True``.
    :param wait_for_registry_validation: Wait until RIME has validated newly registered data
        (and fail with its message if invalid) before starting the test. Off by default, like
        RIME's own client: an invalid dataset then fails the stress test job with the same message.
    """

    template_fields: Sequence[str] = (
        "rime_conn_id",
        "project",
        "project_description",
        "reference_data",
        "evaluation_data",
        "label_col",
        "pred_col",
        "timestamp_col",
        "run_name",
        "model_dir",
        "model_name",
        "test_suite_config",
        "categories",
        "categorical_features",
        "fail_on",
        "poll_interval",
        "timeout",
    )
    template_fields_renderers = {"test_suite_config": "json"}
    operator_extra_links = (RimeStressTestLink(),)
    ui_color = "#5d3fd3"
    ui_fgcolor = "#ffffff"
    external_id_key = "rime_stress_test_job_id"
    job_kind = "stress test"

    def __init__(
        self,
        *,
        project: str,
        project_description: str = "",
        reference_data: str,
        evaluation_data: str,
        label_col: str = "label",
        pred_col: str | None = "pred",
        timestamp_col: str | None = None,
        model_dir: str | None = None,
        model_name: str | None = None,
        run_name: str | None = None,
        categories: list[str] | str | None = None,
        test_suite_config: dict[str, Any] | None = None,
        categorical_features: list[str] | None = None,
        wait_for_registry_validation: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.project_description = project_description
        self.reference_data = reference_data
        self.evaluation_data = evaluation_data
        self.label_col = label_col
        self.pred_col = pred_col
        self.timestamp_col = timestamp_col
        self.model_dir = model_dir
        self.model_name = model_name
        self.run_name = run_name
        self.categories = categories
        self.test_suite_config = test_suite_config
        self.categorical_features = categorical_features
        self.wait_for_registry_validation = wait_for_registry_validation
        # Bad arguments that are already known at parse time fail the DAG import (templated
        # ones are checked once rendered, before any remote call).
        self._validate_static(at_parse=True)
        if isinstance(categories, str | list | tuple) and not is_template(categories):
            self._categories()

    # ------------------------------------------------------------------ 1. validate

    def _wants_all_categories(self) -> bool:
        categories = self.categories
        if isinstance(categories, str):
            return categories.strip().lower() == ALL_CATEGORIES
        return any(str(c).strip().lower() == ALL_CATEGORIES for c in categories or ())

    def _categories(self) -> list[TestCategory] | None:
        """The categories in RIME's spelling (``TEST_CATEGORY_TYPE_*``); ``None`` runs RIME's default set.

        :data:`ALL_CATEGORIES` is resolved with the server when the test is started.
        """
        if not self.categories:
            return None
        if self._wants_all_categories():
            if not isinstance(self.categories, str) and len(self.categories) > 1:
                raise ValueError(
                    f"categories: {ALL_CATEGORIES!r} already means every category; pass it alone "
                    f"(categories={ALL_CATEGORIES!r}); got {self.categories!r}"
                )
            return None
        names = _string_list(self.categories, "categories", f"or {ALL_CATEGORIES!r}")
        try:
            return [TestCategory.parse(c) for c in names] or None
        except ValueError as exc:
            raise ValueError(f"categories: {exc}") from None

    def _categorical_features(self) -> list[str] | None:
        if self.categorical_features in (None, "", []):
            return None
        return _string_list(self.categorical_features, "categorical_features")

    def _server_categories(self, project_id: str) -> list[TestCategory]:
        """Every category the server runs for the project (what :data:`ALL_CATEGORIES` stands for)."""
        project = self.hook.get_project(project_id)
        named = []
        for value in project.get("stressTestCategories") or []:
            try:
                named.append(TestCategory.parse(str(value)))
            except ValueError:
                self.log.info("Skipping category %r, unknown to this provider version", value)
        categories = named or list(RIME_STRESS_CATEGORIES)
        self.log.info(
            "categories=%r: running %s", ALL_CATEGORIES, ", ".join(c.display_name for c in categories)
        )
        return categories

    def _suite_config(self) -> TestSuiteConfig | None:
        """``test_suite_config`` as RIME takes it, without changing the user's dict."""
        from pydantic import ValidationError

        from airflow_provider_rime.rime_api.documents import TestSuiteConfig

        config: Any = self.test_suite_config
        if config in (None, "", {}):
            return None
        if isinstance(config, str):
            try:
                config = json.loads(config)
            except ValueError as exc:
                raise ValueError(f"test_suite_config is not a dict nor JSON: {exc}") from None
        if not isinstance(config, dict):
            raise ValueError(f"test_suite_config must be a dict; got {type(config).__name__}")
        config = dict(config)
        if isinstance(config.get("individual_tests_config"), dict):
            # rime-sdk sends it as a JSON string; RIME expects that.
            config["individual_tests_config"] = json.dumps(config["individual_tests_config"])
        try:
            return TestSuiteConfig.model_validate(config)
        except ValidationError as exc:
            raise ValueError(f"test_suite_config is not valid: {exc}") from None

    def _validate_inputs(self) -> StressTestInputs:
        """Check the rendered arguments; raise a clear error before any remote call."""
        self._validate_static()
        if not self.project or not str(self.project).strip():
            raise ValueError("project is empty: give a RIME project id or name")
        if not self.label_col:
            raise ValueError("label_col is empty")
        inputs = StressTestInputs(
            reference=resolve_data_source(self.reference_data, "reference_data"),
            evaluation=resolve_data_source(self.evaluation_data, "evaluation_data"),
            model_dir=Path(self.model_dir).expanduser() if self.model_dir else None,
        )
        if inputs.model_dir is not None and not (inputs.model_dir / "model.py").is_file():
            raise FileNotFoundError(
                f"model_dir {str(inputs.model_dir)!r} must be a directory with a model.py defining predict_df"
            )
        named_columns = {
            "label_col": [self.label_col],
            "pred_col": [self.pred_col] if self.pred_col else [],
            "timestamp_col": [self.timestamp_col] if self.timestamp_col else [],
            "categorical_features": self._categorical_features() or [],
        }
        for source, argument in (
            (inputs.reference, "reference_data"),
            (inputs.evaluation, "evaluation_data"),
        ):
            if source.kind is DataSourceKind.LOCAL:
                check_columns(Path(source.value), argument, named_columns)
        self._categories()
        self._suite_config()
        return inputs

    def _resolved_run_name(self, context: Context) -> str:
        if not self.run_name:
            ti = context["ti"]
            name = f"{ti.dag_id}.{ti.task_id}.{ti.run_id}"
            map_index = getattr(ti, "map_index", -1)
            if map_index is not None and map_index >= 0:
                name += f".{map_index}"
            self.run_name = name
        return self.run_name

    def _test_run_config(
        self, run_name: str, ref_id: str, eval_id: str, model_id: str, project_id: str | None = None
    ) -> TestRunConfig:
        from airflow_provider_rime.rime_api.documents import RimeUUID, StressDataInfo, TestRunConfig

        categories: list[TestCategory] | None
        if self._wants_all_categories():
            if project_id is None:
                raise ValueError(f"categories={ALL_CATEGORIES!r} needs the project to ask the server")
            categories = self._server_categories(project_id)
        else:
            categories = self._categories()
        return TestRunConfig(
            run_name=run_name,
            data_info=StressDataInfo(ref_dataset_id=ref_id, eval_dataset_id=eval_id),
            model_id=RimeUUID.of(model_id),
            categories=categories,
            test_suite_config=self._suite_config(),
        )

    # ------------------------------------------------------------------ 2. submit

    def submit_job(self, context: Context) -> str:
        """Start the stress test (registering what it needs), or re-attach to this task's running one."""
        inputs = self._validate_inputs()
        hook = self.hook
        project_id = hook.get_or_create_project(str(self.project), self.project_description or "")
        self.project_id = project_id
        run_name = self._resolved_run_name(context)
        # The run name is unique per DAG, task and run: a running job of that name is this task's
        # (an earlier try's), and is re-attached to. The others are remembered, so that a start
        # whose response is lost finds its own job, even finished, and never starts a second.
        earlier = hook.find_stress_test_jobs(project_id, run_name)
        job = next((j for j in earlier if not j.is_terminal), None)
        if job is not None:
            self.log.info("Re-attaching to the running stress test job %s (run %r)", job.job_id, run_name)
        else:
            job = self._start(project_id, run_name, inputs, known_job_ids={j.job_id for j in earlier})
            self.log.info("Started RIME stress test job %s (run %r)", job.job_id, run_name)
        if not job.project_id:
            job.job_data.setdefault("stress", {}).setdefault("projectId", {"uuid": project_id})
        self._push_references(context, job)
        return job.job_id

    def _start(
        self, project_id: str, run_name: str, inputs: StressTestInputs, *, known_job_ids: set[str]
    ) -> Job:
        """Register the data, the model and its predictions (each once per content), then start the test."""
        hook = self.hook
        columns: dict[str, Any] = {
            "label_col": self.label_col,
            "pred_col": self.pred_col,
            "timestamp_col": self.timestamp_col,
            "categorical_features": self._categorical_features(),
        }
        reference = hook.register_dataset_once(project_id, inputs.reference, role="reference", **columns)
        evaluation = hook.register_dataset_once(project_id, inputs.evaluation, role="evaluation", **columns)
        model_id = hook.register_model_once(project_id, inputs.model_dir, self.model_name)
        pred_col = self.pred_col
        for dataset in (reference, evaluation):
            # The prediction column is in the file the dataset was registered from.
            if pred_col and dataset.path:
                hook.register_predictions(
                    project_id, model_id, dataset.dataset_id, dataset.path, pred_col, self.timestamp_col
                )
        if self.wait_for_registry_validation:
            for dataset_id in dict.fromkeys((reference.dataset_id, evaluation.dataset_id)):
                hook.wait_for_validation("dataset", partial(hook.get_dataset, dataset_id), dataset_id)
        config = self._test_run_config(
            run_name, reference.dataset_id, evaluation.dataset_id, model_id, project_id
        )
        try:
            hook.validate_test_run_config(config)
        except RimeNotFoundError:
            self.log.debug("The cluster has no config validator; RIME checks the config on start")
        return hook.start_stress_test(project_id, config, known_job_ids=known_job_ids)

    # ------------------------------------------------------------------ 3. push XCom

    def _push_references(self, context: Context, job: Job) -> None:
        """Push the ids and the test run URL to XCom: before waiting, so the link works meanwhile."""
        if self._pushed_job_id == job.job_id:
            return
        ti = context["ti"]
        self.job_id = job.job_id
        self.test_run_id = job.test_run_id or self.test_run_id
        self.project_id = job.project_id or self.project_id
        ti.xcom_push(key=XCOM_JOB_ID, value=self.job_id)
        if self.project_id:
            ti.xcom_push(key=XCOM_PROJECT_ID, value=self.project_id)
        if self.test_run_id:
            ti.xcom_push(key=XCOM_TEST_RUN_ID, value=self.test_run_id)
            try:
                url = self.hook.get_test_run_url(self.test_run_id)
            except RimeApiError as exc:  # a missing link must not stop the test
                self.log.warning("No web link for RIME test run %s yet: %s", self.test_run_id, exc)
            else:
                ti.xcom_push(key=XCOM_TEST_RUN_URL, value=url)
                self.log.info("RIME stress test %s (job %s): %s", self.test_run_id, self.job_id, url)
        self._pushed_job_id = job.job_id

    # ------------------------------------------------------------------ 5. finish

    def _finish(self, context: Context, job: Job) -> dict[str, Any]:
        """Read the summary, push it to XCom, then apply the severity gate."""
        from airflow_provider_rime.rime_api.results import TestRunSummary, severity_gate

        test_run_id = job.test_run_id or self.test_run_id
        if not test_run_id:
            raise RimeJobError(f"RIME job {job.job_id} succeeded but names no test run", job_id=job.job_id)
        summary = TestRunSummary.from_test_run(self.hook.get_test_run(test_run_id), job_id=job.job_id)
        summary.project_id = summary.project_id or self.project_id
        summary.run_name = summary.run_name or self.run_name
        result = summary.to_dict()
        # Pushed before the gate: a task failed by the gate still shows its results.
        context["ti"].xcom_push(key=XCOM_SUMMARY, value=result)
        counts = summary.summary_counts
        self.log.info(
            "RIME stress test %s: %d tests, %d passed, %d warnings, %d failed (pass rate %.1f%%): %s",
            test_run_id,
            counts["total"],
            counts["pass"],
            counts["warning"],
            counts["fail"],
            100 * summary.pass_rate,
            summary.url,
        )
        reason = severity_gate(summary, self.fail_on)
        if reason is not None:
            raise RimeSeverityGateError(reason)
        return result

    # ------------------------------------------------------------------ 6. lineage

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """OpenLineage, as the task starts: the reference and evaluation data it reads."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        return OperatorLineage(inputs=self._lineage_inputs(with_assertions=False))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage, once the test ran: the inputs, RIME's verdicts on the evaluation data as
        ``dataQualityAssertions``, and the test run as the external query of the run."""
        from airflow.providers.common.compat.openlineage.facet import ExternalQueryRunFacet
        from airflow.providers.openlineage.extractors import OperatorLineage

        run_facets: dict[str, Any] = {}
        if self.test_run_id:
            run_facets["externalQuery"] = ExternalQueryRunFacet(
                externalQueryId=self.test_run_id, source=self.hook.settings.base_url
            )
        return OperatorLineage(inputs=self._lineage_inputs(with_assertions=True), run_facets=run_facets)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage of a failed task: as on completion (a task failed by ``fail_on`` has results)."""
        return self.get_openlineage_facets_on_complete(task_instance)

    def _lineage_inputs(self, with_assertions: bool) -> list[Any]:
        from airflow_provider_rime.utils.lineage import (
            DatasetName,
            assertions,
            data_source_name,
            input_dataset,
        )

        rime_url = self.hook.settings.base_url
        names: list[DatasetName | None] = []
        for value, argument in (
            (self.reference_data, "reference_data"),
            (self.evaluation_data, "evaluation_data"),
        ):
            try:
                names.append(data_source_name(resolve_data_source(value, argument), rime_url))
            except (OSError, ValueError) as exc:
                self.log.info("No lineage for %s: %s", argument, exc)
                names.append(None)
        reference, evaluation = names
        verdicts = None
        if with_assertions and self.test_run_id:
            test_names = {
                str(b.get("testType")): str(b.get("testName") or b.get("testType"))
                for b in self.hook.list_batch_results(self.test_run_id)
            }
            verdicts = assertions(self.hook.list_test_cases(self.test_run_id), test_names)
        inputs = []
        if reference is not None and reference != evaluation:
            inputs.append(input_dataset(reference))
        if evaluation is not None:
            inputs.append(input_dataset(evaluation, verdicts))
        return inputs


def _string_list(value: Any, name: str, alternative: str = "") -> list[str]:
    """A list of names from a list, or from its rendered text (a JSON list, or ``a, b``)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        also = f" {alternative}" if alternative else ""
        raise ValueError(f"{name} must be a list of names{also}; got {value!r}")
    return [str(v) for v in value]
