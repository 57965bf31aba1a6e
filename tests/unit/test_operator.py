"""RimeStressTestOperator on recorded answers: submit, XCom before waiting, defer, finish, gate.

The data files are the ones the recordings registered (``data/``), so the operator finds
their registrations by content hash and starts the stress test without uploading.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import jinja2
import pytest
import respx
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_rime.exceptions import RimeJobError, RimeSeverityGateError, RimeTriggerEventError
from airflow_provider_rime.links import RimeStressTestLink
from airflow_provider_rime.operators.stress_test import RimeStressTestOperator
from airflow_provider_rime.triggers.job import RimeJobTrigger
from tests.task_context import TaskInstanceStandIn, TaskStateStore, make_context

from .conftest import CONN_ID, DATA, body_of, recorded, sent, serve

PROJECT_ID = recorded("create_project").body["project"]["id"]["uuid"]
JOB_ID = recorded("start_stress_test").body["job"]["jobId"]
TEST_RUN_ID = recorded("test_run").body["testRun"]["testRunId"]
REF_ID = recorded("register_dataset_ref").body["datasetId"]
EVAL_ID = recorded("register_dataset_eval").body["datasetId"]
MODEL_ID = recorded("register_model").body["modelId"]["uuid"]
TEST_RUN_URL = recorded("test_run").body["testRun"]["webAppUrl"]["url"]


def make_operator(**kwargs: Any) -> RimeStressTestOperator:
    arguments: dict[str, Any] = {
        "task_id": "stress_test",
        "rime_conn_id": CONN_ID,
        "project": "Fraud detection",
        "reference_data": str(DATA / "ref.csv"),
        "evaluation_data": str(DATA / "eval.csv"),
        "poll_interval": 0.01,
    }
    arguments.update(kwargs)
    operator = RimeStressTestOperator(**arguments)
    operator.hook.retry_min_wait = operator.hook.retry_max_wait = 0
    return operator


def in_turn(*names: str) -> Callable[[httpx.Request], httpx.Response]:
    """A respx side effect: these recorded answers one after the other, the last one from then on."""
    answers = [recorded(name).response() for name in names]

    def answer(_: httpx.Request) -> httpx.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return answer


def serve_submission(api: respx.MockRouter) -> dict[str, respx.Route]:
    """What submitting takes when everything is registered already: look up, check, start."""
    return serve(
        api,
        "projects",
        "test_runs",
        "jobs",
        "datasets",
        "models",
        "prediction",
        "prediction_eval",
        "validate_config",
        "start_stress_test",
    )


def serve_job(api: respx.MockRouter, *names: str) -> respx.Route:
    return api.get(f"/v1/jobs/{JOB_ID}").mock(side_effect=in_turn(*names))


def serve_test_run(api: respx.MockRouter, *names: str) -> respx.Route:
    return api.get(f"/v1/test-runs/{TEST_RUN_ID}").mock(side_effect=in_turn(*names))


def test_defers_with_the_right_trigger_after_pushing_xcom(api: respx.MockRouter):
    routes = serve_submission(api)
    serve_job(api, "job_running")
    serve_test_run(api, "test_run_running")  # the test run is another run: no re-attaching
    ti = TaskInstanceStandIn()
    operator = make_operator(deferrable=True, timeout=600, categories=["drift"])
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context(ti))

    assert deferred.value.method_name == "execute_complete"
    trigger = deferred.value.trigger
    assert isinstance(trigger, RimeJobTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_rime.triggers.job.RimeJobTrigger"
    end_time = kwargs.pop("end_time")
    assert isinstance(end_time, float)
    assert kwargs == {
        "rime_conn_id": CONN_ID,
        "job_id": JOB_ID,
        "test_run_id": TEST_RUN_ID,
        "poll_interval": 0.01,
        "cancel_on_timeout": True,
        "hook_params": {},
    }
    # Pushed before deferring: the link works while the test runs.
    assert ti.xcom == {
        "job_id": JOB_ID,
        "project_id": PROJECT_ID,
        "test_run_id": TEST_RUN_ID,
        "test_run_url": TEST_RUN_URL,
    }
    run_name = f"{ti.dag_id}.{ti.task_id}.{ti.run_id}"
    config = {
        "run_name": run_name,
        "data_info": {"ref_dataset_id": REF_ID, "eval_dataset_id": EVAL_ID},
        "model_id": {"uuid": MODEL_ID},
        "categories": ["TEST_CATEGORY_TYPE_DRIFT"],
    }
    assert body_of(sent(routes["start_stress_test"])) == {"testRunConfig": config}
    assert json.loads(body_of(sent(routes["validate_config"]))["configJson"]) == config


def test_waits_in_the_worker_and_returns_the_summary(api: respx.MockRouter):
    serve_submission(api)
    jobs = serve_job(api, "job_running", "job_succeeded")
    serve_test_run(api, "test_run_running", "test_run")
    ti = TaskInstanceStandIn()
    summary = make_operator(deferrable=False).execute(make_context(ti))
    assert jobs.call_count >= 2
    assert (summary["job_id"], summary["test_run_id"], summary["project_id"]) == (
        JOB_ID,
        TEST_RUN_ID,
        PROJECT_ID,
    )
    assert summary["status"] == "TEST_TASK_STATUS_COMPLETED"
    assert summary["run_name"] == "recorded-run"  # the engine's name of the recorded run
    assert ti.xcom["summary"] == summary
    assert ti.xcom["test_run_url"] == summary["url"] == TEST_RUN_URL


def test_a_retry_reattaches_through_the_task_state_store(api: respx.MockRouter):
    if not make_operator().durable:
        pytest.skip("the task state store comes with Airflow 3.3 (ResumableJobMixin is inert before)")
    serve_job(api, "job_running")
    serve_test_run(api, "test_run_running")
    store = TaskStateStore({RimeStressTestOperator.external_id_key: JOB_ID})
    ti = TaskInstanceStandIn(try_number=2)
    with pytest.raises(TaskDeferred) as deferred:
        make_operator(deferrable=True).execute(make_context(ti, store))
    assert deferred.value.trigger.serialize()[1]["job_id"] == JOB_ID  # no registration, no start
    assert ti.xcom["job_id"] == JOB_ID


def test_a_retry_reattaches_by_run_name(api: respx.MockRouter):
    serve(api, "projects", "test_runs")
    # The project's jobs, as listed while the recorded job ran.
    api.get(f"/v1/jobs/project/{PROJECT_ID}").mock(return_value=recorded("jobs_active").response())
    serve_job(api, "job_running", "job_succeeded")
    serve_test_run(api, "test_run_running", "test_run_running", "test_run")
    ti = TaskInstanceStandIn(try_number=2)
    summary = make_operator(deferrable=False, run_name="recorded-run").execute(make_context(ti))
    assert summary["job_id"] == JOB_ID  # found running under its name: nothing registered or started


def execute_complete(
    operator: RimeStressTestOperator, event: dict[str, Any] | None
) -> tuple[Any, TaskInstanceStandIn]:
    ti = TaskInstanceStandIn()
    return operator.execute_complete(make_context(ti), event), ti


def test_execute_complete_on_success_returns_the_summary(api: respx.MockRouter):
    serve_job(api, "job_succeeded")
    serve_test_run(api, "test_run")
    event = {"status": "success", "message": "done", "job_id": JOB_ID, "test_run_id": TEST_RUN_ID}
    summary, ti = execute_complete(make_operator(fail_on="none"), event)
    assert summary == ti.xcom["summary"]
    counts = recorded("test_run").body["testRun"]["metrics"]["summaryCounts"]
    assert summary["summary_counts"]["fail"] == int(counts["fail"]) > 0


@pytest.mark.parametrize("fail_on", ["alert", "warning"])
def test_the_severity_gate_fails_after_the_summary_is_in_xcom(api: respx.MockRouter, fail_on: str):
    serve_job(api, "job_succeeded")
    serve_test_run(api, "test_run")
    operator = make_operator(fail_on=fail_on)
    ti = TaskInstanceStandIn()
    event = {"status": "success", "job_id": JOB_ID, "test_run_id": TEST_RUN_ID}
    with pytest.raises(RimeSeverityGateError, match=f"fail_on='{fail_on}': {TEST_RUN_URL}"):
        operator.execute_complete(make_context(ti), event)
    assert ti.xcom["summary"]["test_run_id"] == TEST_RUN_ID
    assert ti.xcom["test_run_url"] == TEST_RUN_URL


def test_execute_complete_on_a_failed_job_shows_rimes_message_and_log(api: respx.MockRouter):
    failed = recorded("job_failed").body["job"]
    api.get(f"/v1/jobs/{failed['jobId']}").mock(return_value=recorded("job_failed").response())
    serve(api, "job_failed_logs")
    event = {"status": "failed", "job_id": failed["jobId"], "test_run_id": None}
    with pytest.raises(RimeJobError) as error:
        execute_complete(make_operator(), event)
    assert (error.value.job_id, error.value.status) == (failed["jobId"], "JOB_STATUS_FAILED")
    assert failed["errorMsg"] in str(error.value)
    assert "Last lines of the job log" in str(error.value)


def test_execute_complete_on_a_cancelled_job(api: respx.MockRouter):
    cancelled = recorded("job_cancelled").body["job"]
    serve(api, "job_cancelled", "job_cancelled_logs")
    event = {"status": "cancelled", "job_id": cancelled["jobId"], "test_run_id": None}
    with pytest.raises(
        RimeJobError, match=f"RIME stress test job {cancelled['jobId']} was cancelled"
    ) as error:
        execute_complete(make_operator(), event)
    assert error.value.status == "JOB_STATUS_CANCELLED"


@pytest.mark.parametrize("status", ["timeout", "error"])
def test_execute_complete_fails_on_a_timeout_or_error_event(api: respx.MockRouter, status: str):
    event = {
        "status": status,
        "message": f"RIME job j: {status} happened",
        "job_id": "j",
        "test_run_id": None,
    }
    with pytest.raises(RimeJobError, match=f"{status} happened") as error:
        execute_complete(make_operator(), event)
    assert error.value.status == status


def test_execute_complete_rejects_a_malformed_event():
    for event in (None, {"status": "weird", "job_id": "x"}):
        with pytest.raises(RimeTriggerEventError):
            execute_complete(make_operator(), event)


def test_on_kill_cancels_the_job(api: respx.MockRouter):
    serve_job(api, "job_running")
    cancel = api.post(f"/v1/jobs/cancel/{JOB_ID}").mock(return_value=recorded("cancel_job").response())
    operator = make_operator()
    operator.job_id = JOB_ID
    operator.on_kill()
    assert body_of(sent(cancel)) == {}


def test_the_extra_link_reads_the_test_run_url():
    link = RimeStressTestLink()
    assert link.name == "RIME Stress Test"
    assert RimeStressTestOperator.operator_extra_links[0].name == "RIME Stress Test"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fail_on": "sometimes"}, "fail_on"),
        ({"categories": ["drift", "astrology"]}, "astrology"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_bad_arguments_fail_at_parse_time(kwargs: dict[str, Any], match: str):
    with pytest.raises(ValueError, match=match):
        make_operator(**kwargs)


def test_operator_interface():
    expected = {"project", "reference_data", "evaluation_data", "run_name", "model_dir", "model_name"}
    assert expected | {"test_suite_config", "categories"} <= set(RimeStressTestOperator.template_fields)
    operator = RimeStressTestOperator(
        task_id="interface",
        project="p",
        reference_data="ref.csv",
        evaluation_data="eval.csv",
        categories=["Model Performance", "drift", "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE"],
    )
    assert operator.rime_conn_id == "rime_default"
    assert operator.pred_col == "pred" and operator.label_col == "label"
    assert operator.fail_on == "none"
    assert operator._categories() == [
        "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
        "TEST_CATEGORY_TYPE_DRIFT",
        "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
    ]


def test_test_suite_config_is_sent_like_the_sdk_sends_it_without_changing_the_users_dict():
    suite = {
        "global_test_sensitivity": "TEST_SENSITIVITY_DEFAULT",
        "individual_tests_config": {"a": {"b": 1}},
    }
    operator = RimeStressTestOperator(
        task_id="suite", project="p", reference_data="r.csv", evaluation_data="e.csv", test_suite_config=suite
    )
    config = operator._test_run_config("run", "ref", "eval", "model").to_wire()
    assert config["test_suite_config"] == {
        "global_test_sensitivity": "TEST_SENSITIVITY_DEFAULT",
        "individual_tests_config": '{"a": {"b": 1}}',
    }
    assert suite["individual_tests_config"] == {"a": {"b": 1}}
    assert config["model_id"] == {"uuid": "model"}
    assert config["data_info"] == {"ref_dataset_id": "ref", "eval_dataset_id": "eval"}


def test_a_bad_test_suite_config_fails_before_any_remote_call(api: respx.MockRouter):
    operator = make_operator(test_suite_config={"global_test_sensitivity": "VERY"})
    with pytest.raises(ValueError, match="test_suite_config is not valid"):
        operator.execute(make_context(TaskInstanceStandIn()))


def test_connection_gate_timeouts_and_categorical_features_are_templated_and_checked_once_rendered(
    api: respx.MockRouter,
):
    templated = {
        "rime_conn_id": "{{ params.conn }}",
        "fail_on": "{{ params.gate }}",
        "poll_interval": "{{ params.poll }}",
        "timeout": "{{ params.timeout }}",
        "categorical_features": "{{ params.categorical }}",
        "categories": "{{ params.categories }}",
    }
    assert set(templated) <= set(RimeStressTestOperator.template_fields)
    # Unrendered templates pass the parse-time checks.
    operator = make_operator(**templated)
    params = {
        "conn": CONN_ID,
        "gate": "ALERT",
        "poll": "0.5",
        "timeout": "600",
        "categorical": "channel, age",
        "categories": '["drift", "Model Performance"]',
    }
    operator.render_template_fields({"params": params}, jinja_env=jinja2.Environment())
    operator._validate_static()
    assert operator.rime_conn_id == CONN_ID
    assert (operator.fail_on, operator.poll_interval, operator.timeout) == ("alert", 0.5, 600.0)
    assert operator._categorical_features() == ["channel", "age"]
    assert operator._categories() == ["TEST_CATEGORY_TYPE_DRIFT", "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"]


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("timeout", "soon", "timeout must be a positive number of seconds; got 'soon'"),
        ("poll_interval", "-1", "poll_interval must be a positive number"),
        ("fail_on", "sometimes", "fail_on"),
        ("categorical_features", "[1, 2]", "categorical_features must be a list of names"),
    ],
)
def test_a_bad_rendered_value_fails_before_any_remote_call(
    api: respx.MockRouter, field: str, value: str, match: str
):
    operator = make_operator(**{field: "{{ params.value }}"})
    operator.render_template_fields(
        {"params": {"value": value}}, jinja_env=__import__("jinja2").Environment()
    )
    with pytest.raises(ValueError, match=match):
        operator.execute(make_context(TaskInstanceStandIn()))
    assert not api.calls, "nothing was sent to RIME"


def test_categories_default_is_rimes_and_all_is_resolved_with_the_server(api: respx.MockRouter):
    from airflow_provider_rime.operators.stress_test import (
        ALL_CATEGORIES,
        DEFAULT_CATEGORIES,
        RIME_STRESS_CATEGORIES,
    )

    assert DEFAULT_CATEGORIES == ("Model Performance", "Subset Performance", "Transformations", "Attacks")
    assert make_operator()._test_run_config("run", "ref", "eval", "model").categories is None
    operator = make_operator(categories=ALL_CATEGORIES)
    assert operator._categories() is None and operator._wants_all_categories()
    # The recorded project lists no categories: every stress-testing category RIME has.
    serve(api, "project")
    config = operator._test_run_config("run", "ref", "eval", "model", PROJECT_ID)
    assert config.categories == list(RIME_STRESS_CATEGORIES)
    assert "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION" not in config.to_wire()["categories"]


def test_every_operator_and_the_sensor_template_their_connection_id():
    from airflow_provider_rime.operators.mlflow import MlflowLogRimeResultsOperator
    from airflow_provider_rime.sensors.test_run import RimeTestRunSensor

    for cls in (RimeStressTestOperator, MlflowLogRimeResultsOperator, RimeTestRunSensor):
        assert "rime_conn_id" in cls.template_fields, cls.__name__
    assert "artifact_path" in MlflowLogRimeResultsOperator.template_fields
