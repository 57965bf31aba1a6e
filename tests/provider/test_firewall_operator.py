"""The firewall operators against the local engine (a real HTTP server), production rows from SQLite.

One project per module with a predictions-only model and its reference data; a SQLite
production database of four days (one empty) behind an Airflow ``sqlite`` connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSkipException, TaskDeferred

from airflow_provider_rime.exceptions import RimeFirewallError, RimeSeverityGateError
from airflow_provider_rime.hooks.rime import RimeHook
from airflow_provider_rime.operators.firewall import RimeCreateFirewallOperator, RimeFirewallOperator
from airflow_provider_rime.rime_api.enums import TestCategory, TestType
from airflow_provider_rime.utils.data_sources import resolve_data_source

from .conftest import TaskInstanceStandIn, TaskStateStore, assert_kill_cancels, make_context

DAYS = ("2018-08-01", "2018-08-02", "2018-08-03")
ROWS_PER_DAY = 300
TABLE = "fraud_production"


def day_sql(day: str) -> str:
    return f"SELECT * FROM {TABLE} WHERE timestamp = '{day}'"


@pytest.fixture(scope="module")
def frames() -> dict[str, Any]:
    """Reference data and three production days, each with the model's predictions in ``pred``."""
    from rime_dev.datagen import generate_fraud

    reference = generate_fraud(2000, seed=11, with_pred=True)
    production = generate_fraud(
        ROWS_PER_DAY * len(DAYS),
        seed=12,
        start=DAYS[0],
        days=len(DAYS),
        drift={"transaction_amount": 0.8},
        with_pred=True,
    )
    return {"reference": reference, "production": production}


@pytest.fixture(scope="module")
def production_conn(
    airflow_db: Path, frames: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> str:
    import sqlalchemy as sa
    from airflow.models import Connection
    from airflow.utils.session import create_session

    path = tmp_path_factory.mktemp("production") / "production.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    frames["production"].to_sql(TABLE, engine, index=False)
    engine.dispose()
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == "fw_production").delete()
        session.add(Connection(conn_id="fw_production", conn_type="sqlite", host=str(path)))
    return "fw_production"


@pytest.fixture(scope="module")
def firewall_target(
    hook: RimeHook, project_id: str, frames: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """A predictions-only model and its registered reference data in the module's project."""
    path = tmp_path_factory.mktemp("reference") / "reference.csv"
    frames["reference"].drop(columns=["timestamp"]).to_csv(path, index=False)
    reference = hook.register_dataset_once(
        project_id, resolve_data_source(str(path), "reference"), label_col="label", pred_col="pred"
    )
    model_id = hook.register_model(project_id, "fraud-predictions")
    assert reference.path
    hook.register_predictions(project_id, model_id, reference.dataset_id, reference.path, "pred")
    return {"model_id": model_id, "reference_dataset_id": reference.dataset_id}


@pytest.fixture(scope="module")
def firewall_id(rime_connection: str, project_id: str, firewall_target: dict[str, str]) -> str:
    created = RimeCreateFirewallOperator(
        task_id="create_firewall",
        rime_conn_id=rime_connection,
        project=project_id,
        bin_size="1d",
        **firewall_target,
    ).execute(make_context(TaskInstanceStandIn(task_id="create_firewall")))
    assert created["action"] in ("created", "unchanged")
    return str(created["firewall_id"])


def firewall_operator(rime_connection: str, project: str, **kwargs: Any) -> RimeFirewallOperator:
    arguments: dict[str, Any] = {
        "task_id": "run_firewall",
        "rime_conn_id": rime_connection,
        "project": project,
        "poll_interval": 0.2,
        "timeout": 300,
    }
    return RimeFirewallOperator(**{**arguments, **kwargs})


@pytest.fixture(scope="module")
def day_operator(
    rime_connection: str, project_id: str, production_conn: str
) -> Callable[..., RimeFirewallOperator]:
    """Makes the firewall operator on one production day's rows, read by SQL, for ``project``
    (default: the module's)."""

    def make(day: str, project: str = project_id, **kwargs: Any) -> RimeFirewallOperator:
        return firewall_operator(
            rime_connection, project, sql=day_sql(day), sql_conn_id=production_conn, **kwargs
        )

    return make


def ct_runs(hook: RimeHook, project_id: str) -> list[dict[str, Any]]:
    return list(hook.list_test_runs(project_id, TestType.CONTINUOUS_TESTING))


@pytest.fixture(scope="module")
def first_day(
    firewall_id: str,
    day_operator: Callable[..., RimeFirewallOperator],
) -> tuple[TaskInstanceStandIn, dict[str, Any]]:
    ti = TaskInstanceStandIn(task_id="run_firewall")
    operator = day_operator(DAYS[0], deferrable=False)
    return ti, operator.execute(make_context(ti))


def test_a_day_from_sql_is_one_bin_with_its_verdict_and_events(
    first_day: tuple[TaskInstanceStandIn, dict[str, Any]],
    firewall_id: str,
    project_id: str,
    hook: RimeHook,
    frames: dict[str, Any],
) -> None:
    ti, result = first_day

    assert result["firewall_id"] == firewall_id and result["project_id"] == project_id
    assert result["rows"] == int((frames["production"]["timestamp"] == DAYS[0]).sum()) > 0
    [day] = result["bins"]
    assert day["start"].startswith(DAYS[0]) and day["end"].startswith(DAYS[1])
    assert day["verdict"] in ("pass", "warning", "alert")
    assert day["summary_counts"]["total"] > 0
    assert hook.get_test_run(day["test_run_id"])["binTimeInterval"]["startTime"].startswith(DAYS[0])
    assert result["verdict"] in ("pass", "warning", "alert")
    assert all(e["start"] < day["end"] and e["end"] > day["start"] for e in result["events"])
    # Pushed before any gate: the link, the ids, the results.
    assert ti.xcom["firewall_id"] == firewall_id
    assert ti.xcom["firewall_url"].startswith("http")
    assert ti.xcom["job_id"] == result["job_id"]
    assert ti.xcom["bins"] == result["bins"] and ti.xcom["summary"] == result


def test_rerunning_a_day_adds_no_bin_and_override_replaces_it(
    first_day: tuple[TaskInstanceStandIn, dict[str, Any]],
    project_id: str,
    hook: RimeHook,
    day_operator: Callable[..., RimeFirewallOperator],
) -> None:
    _, first = first_day
    before = ct_runs(hook, project_id)

    rerun = day_operator(DAYS[0], deferrable=False).execute(
        make_context(TaskInstanceStandIn(task_id="rerun"))
    )
    assert rerun["bins"] == []
    assert len(ct_runs(hook, project_id)) == len(before)

    replaced = day_operator(DAYS[0], override_existing_bins=True, deferrable=False).execute(
        make_context(TaskInstanceStandIn(task_id="override"))
    )
    [day] = replaced["bins"]
    assert day["start"] == first["bins"][0]["start"]
    bins_of_the_day = [
        r
        for r in ct_runs(hook, project_id)
        if str(r.get("binTimeInterval", {}).get("startTime", "")).startswith(DAYS[0])
    ]
    assert len(bins_of_the_day) == 1, "override replaces the day's bin, it does not add one"


def test_an_empty_day_skips(
    firewall_id: str,
    day_operator: Callable[..., RimeFirewallOperator],
) -> None:
    operator = day_operator("2018-07-31")

    with pytest.raises(AirflowSkipException, match="returned no rows"):
        operator.execute(make_context(TaskInstanceStandIn(task_id="empty")))


def test_rime_sdk_reads_the_bins_and_events(
    first_day: tuple[TaskInstanceStandIn, dict[str, Any]],
    rime_engine: Any,
    firewall_id: str,
    project_id: str,
    hook: RimeHook,
) -> None:
    from rime_sdk import Client
    from rime_sdk.swagger.swagger_client.models.rime_test_type import RimeTestType
    from rime_sdk.test_run import TestRun

    assert first_day[1]["bins"], "the operator has run: the firewall has bins (later tests may replace them)"
    client = Client(rime_engine.url, rime_engine.api_key)
    project = client.get_project(project_id)
    ct = project.get_ct()
    assert ct.get_bin_size().days == 1
    events = ct.get_events_df()
    assert len(events) == len(list(hook.list_detection_events(project_id)))
    sdk_runs = [run.test_run_id for run in project.list_test_runs(RimeTestType.CONTINUOUS_TESTING)]
    assert sdk_runs and set(sdk_runs) == {r["testRunId"] for r in ct_runs(hook, project_id)}
    for test_run_id in sdk_runs:
        frame = TestRun(client._api_client, test_run_id).get_result_df()
        assert frame["test_run_id"].iloc[0] == test_run_id
        assert int(frame["metrics.summary_counts.total"].iloc[0]) > 0


def test_a_retry_reattaches_through_the_task_state_store(
    firewall_id: str,
    hook: RimeHook,
    day_operator: Callable[..., RimeFirewallOperator],
) -> None:
    store = TaskStateStore()
    first_try = TaskInstanceStandIn(task_id="durable")
    operator = day_operator(DAYS[1], deferrable=True, override_existing_bins=True)
    with pytest.raises(TaskDeferred):
        operator.execute(make_context(first_try, store))
    job_id = first_try.xcom["job_id"]

    # The triggerer died; the retry waits in the worker and re-attaches to the same job.
    second_try = TaskInstanceStandIn(task_id="durable", run_id=first_try.run_id, try_number=2)
    operator = day_operator(DAYS[1], deferrable=False)
    result = operator.execute(make_context(second_try, store))
    assert result["job_id"] == job_id
    assert [b["start"][:10] for b in result["bins"]] == [DAYS[1]]


def test_kill_cancels_the_job(
    firewall_id: str,
    hook: RimeHook,
    day_operator: Callable[..., RimeFirewallOperator],
) -> None:
    ti = TaskInstanceStandIn(task_id="killed")
    operator = day_operator(DAYS[2], deferrable=False, override_existing_bins=True)
    assert_kill_cancels(operator, ti, hook, "the continuous test")


def test_fail_on_alert_fails_after_the_results_are_in_xcom(
    firewall_id: str,
    day_operator: Callable[..., RimeFirewallOperator],
) -> None:
    ti = TaskInstanceStandIn(task_id="gated")
    operator = day_operator(DAYS[0], override_existing_bins=True, fail_on="warning", deferrable=False)
    try:
        result = operator.execute(make_context(ti))
    except RimeSeverityGateError as failure:
        assert ti.xcom["summary"]["verdict"] in ("warning", "alert")
        assert "fail_on='warning'" in str(failure)
    else:
        assert result["verdict"] == "pass"


def test_create_firewall_repoints_instead_of_making_a_second(
    rime_connection: str, project_id: str, firewall_id: str, firewall_target: dict[str, str], hook: RimeHook
) -> None:
    other_model = hook.register_model(project_id, "another-model")
    reference = hook.get_dataset(firewall_target["reference_dataset_id"])
    path = reference["dataInfo"]["connectionInfo"]["dataFile"]["path"]
    hook.register_predictions(project_id, other_model, firewall_target["reference_dataset_id"], path, "pred")

    repointed = RimeCreateFirewallOperator(
        task_id="create_firewall",
        rime_conn_id=rime_connection,
        project=project_id,
        model_id=other_model,
        reference_dataset_id=firewall_target["reference_dataset_id"],
    ).execute(make_context(TaskInstanceStandIn(task_id="create_firewall")))
    try:
        assert repointed == {**repointed, "firewall_id": firewall_id, "action": "updated"}
        assert hook.get_firewall(firewall_id).model_id.uuid == other_model
        assert hook.get_project(project_id)["firewallIds"] == [{"uuid": firewall_id}]
    finally:
        hook.update_firewall(firewall_id, model_id=firewall_target["model_id"])


def test_create_firewall_sets_the_continuous_test_categories(
    rime_connection: str, project_id: str, firewall_id: str, firewall_target: dict[str, str], hook: RimeHook
) -> None:
    chosen = [TestCategory.DRIFT.value, TestCategory.ABNORMAL_INPUTS.value]
    result = RimeCreateFirewallOperator(
        task_id="create_firewall",
        rime_conn_id=rime_connection,
        project=project_id,
        ct_categories=["drift", "Abnormal Inputs"],
        **firewall_target,
    ).execute(make_context(TaskInstanceStandIn(task_id="create_firewall")))
    try:
        assert result["firewall_id"] == firewall_id
        assert hook.get_project(project_id)["continuousTestCategories"] == chosen
        monitors = list(hook.list_monitors(firewall_id))
        assert monitors
        assert {m.test_category for m in monitors} == set(chosen)
    finally:
        hook.update_project_categories(project_id, continuous_test=[])
    assert len(hook.get_project(project_id)["continuousTestCategories"]) == 4
    for bad, message in (
        ("drift", "a list of categories"),
        (["speed"], "Unknown RIME test category 'speed'"),
    ):
        with pytest.raises(ValueError, match=message):
            RimeCreateFirewallOperator(
                task_id="bad", project=project_id, ct_categories=bad, **firewall_target
            )


def test_a_deleted_project_fails_clearly_and_creates_nothing(
    hook: RimeHook,
    firewall_target: dict[str, str],
    day_operator: Callable[..., RimeFirewallOperator],
) -> None:
    gone = hook.get_or_create_project(f"deleted-{time.time_ns()}", "deleted below")
    hook.delete_project(gone)
    count = len(list(hook.list_projects()))

    operator = day_operator(DAYS[0], project=gone)
    with pytest.raises(RimeFirewallError, match="does not exist in RIME"):
        operator.execute(make_context(TaskInstanceStandIn(task_id="deleted")))
    assert len(list(hook.list_projects())) == count


def test_a_project_without_a_firewall_says_how_to_make_one(
    hook: RimeHook,
    day_operator: Callable[..., RimeFirewallOperator],
) -> None:
    bare = hook.get_or_create_project(f"no-firewall-{time.time_ns()}", "no firewall")

    operator = day_operator(DAYS[0], project=bare)
    with pytest.raises(RimeFirewallError, match=r"has no firewall.*RimeCreateFirewallOperator"):
        operator.execute(make_context(TaskInstanceStandIn(task_id="bare")))
    assert hook.get_project_firewall_id(bare) is None


def test_defers_on_the_job_trigger_and_completes_with_its_event(
    firewall_id: str, project_id: str, day_operator: Callable[..., RimeFirewallOperator]
) -> None:
    import asyncio

    from airflow_provider_rime.triggers.job import RimeJobTrigger

    ti = TaskInstanceStandIn(task_id="deferred")
    operator = day_operator(DAYS[2], deferrable=True, override_existing_bins=True)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context(ti))
    trigger = deferred.value.trigger
    assert isinstance(trigger, RimeJobTrigger) and deferred.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    assert kwargs["job_id"] == ti.xcom["job_id"] and kwargs["cancel_on_timeout"] is True
    # Pushed before waiting: the link works while the firewall runs.
    assert ti.xcom["firewall_id"] == firewall_id and ti.xcom["firewall_url"].startswith("http")

    async def first_event() -> dict[str, Any]:
        async for event in RimeJobTrigger(**kwargs).run():
            return dict(event.payload)
        raise AssertionError("the trigger yielded nothing")

    event = asyncio.run(first_event())
    assert event["status"] == "success", event

    class ResumedTaskInstance(TaskInstanceStandIn):
        def xcom_pull(self, task_ids: str, key: str) -> Any:
            return self.xcom.get(key)

    # The task resumes in a new operator instance, with the XComs of the same try.
    resumed_ti = ResumedTaskInstance(task_id="deferred", run_id=ti.run_id, xcom=ti.xcom)
    resumed = day_operator(DAYS[2], deferrable=True)
    result = resumed.execute_complete(make_context(resumed_ti), event)
    assert result["job_id"] == kwargs["job_id"]
    assert result["firewall_id"] == firewall_id and result["project_id"] == project_id
    assert result["rows"] == ti.xcom["rows"] > 0
    assert [b["start"][:10] for b in result["bins"]] == [DAYS[2]]
    assert ti.xcom["summary"] == result


def test_bad_sql_input_fails_the_task_naming_what_to_fix(
    rime_connection: str, project_id: str, production_conn: str, hook: RimeHook, tmp_path: Path
) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    from airflow_provider_rime.exceptions import RimeSqlFetchError

    datasets_before = len(list(hook.list_datasets(project_id)))
    no_timestamp = firewall_operator(
        rime_connection,
        project_id,
        sql=f"SELECT transaction_amount, label, pred FROM {TABLE} WHERE timestamp = '{DAYS[0]}'",
        sql_conn_id=production_conn,
    )
    with pytest.raises(ValueError, match=r"timestamp_col 'timestamp' is not a column of the query"):
        no_timestamp.execute(make_context(TaskInstanceStandIn(task_id="no_timestamp")))

    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == "fw_broken").delete()
        session.add(
            Connection(conn_id="fw_broken", conn_type="sqlite", host=str(tmp_path / "no" / "such.db"))
        )
    broken = firewall_operator(rime_connection, project_id, sql=day_sql(DAYS[0]), sql_conn_id="fw_broken")
    with pytest.raises(RimeSqlFetchError, match=r"fw_broken.*failed.*Check the connection"):
        broken.execute(make_context(TaskInstanceStandIn(task_id="broken")))
    assert len(list(hook.list_datasets(project_id))) == datasets_before
