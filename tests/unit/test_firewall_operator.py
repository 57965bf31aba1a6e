"""RimeFirewallOperator and RimeCreateFirewallOperator: bad input fails clearly before any RIME call.

respx answers nothing here (every request would fail the test): each case must stop in the task,
naming the argument and what to do. The runs against the engine are in tests/system.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
import pytest
import respx
from airflow.providers.common.compat.sdk import AirflowSkipException

from airflow_provider_rime.exceptions import RimeJobError
from airflow_provider_rime.operators.firewall import (
    RimeCreateFirewallOperator,
    RimeFirewallOperator,
    _gate,
    parse_bin_size,
)
from tests.task_context import TaskInstanceStandIn, make_context

from .conftest import CONN_ID

HEADER = "amount,channel,timestamp,label,pred\n"


def operator(**kwargs: Any) -> RimeFirewallOperator:
    arguments: dict[str, Any] = {"task_id": "run_firewall", "rime_conn_id": CONN_ID, "project": "p"}
    return RimeFirewallOperator(**{**arguments, **kwargs})


def run(op: RimeFirewallOperator) -> Any:
    return op.execute(make_context(TaskInstanceStandIn(task_id=op.task_id)))


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of them"),
        ({"evaluation_data": "a.csv", "sql": "SELECT 1", "sql_conn_id": "db"}, "exactly one of them"),
        ({"sql": "SELECT 1"}, "sql needs sql_conn_id"),
        ({"evaluation_data": "a.csv", "bin_size": "30m"}, "at least one hour"),
        ({"evaluation_data": "a.csv", "bin_size": "daily"}, "bin_size must be"),
        ({"evaluation_data": "a.csv", "fail_on": "sometimes"}, "fail_on must be one of"),
        ({"evaluation_data": "a.csv", "timestamp_col": ""}, "timestamp_col is empty"),
        ({"evaluation_data": "a.csv", "poll_interval": 0}, "poll_interval"),
    ],
)
def test_bad_arguments_fail_at_parse_time(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        operator(**kwargs)


def test_create_firewall_needs_a_model_source() -> None:
    with pytest.raises(ValueError, match="stress_test_run_id, or model_id"):
        RimeCreateFirewallOperator(task_id="create_firewall", project="p")


def test_bin_sizes_read_like_durations() -> None:
    assert parse_bin_size("1d") == timedelta(days=1)
    assert parse_bin_size("6h") == timedelta(hours=6)
    assert parse_bin_size(86400) == timedelta(days=1)
    assert parse_bin_size("86400s") == timedelta(days=1)


def test_an_empty_batch_skips_saying_so(api: respx.MockRouter, tmp_path: Path) -> None:
    batch = write(tmp_path / "day.csv", HEADER)

    with pytest.raises(AirflowSkipException, match=r"day.csv returned no rows"):
        run(operator(evaluation_data=batch))


@pytest.mark.parametrize(
    ("contents", "refusal"),
    [
        pytest.param(
            "amount,label,pred\n1.0,0,0.2\n",
            r"timestamp_col 'timestamp' is not a column.*amount, label, pred",
            id="no-timestamp-column-names-it-and-lists-the-columns",
        ),
        pytest.param(
            HEADER + "1.0,web,yesterday,0,0.2\n", r"not timestamps.*'yesterday'", id="unparsable-timestamps"
        ),
        pytest.param(
            "amount,timestamp,label\n1.0,2018-08-01,0\n",
            r"pred_col 'pred'.*give model_uri",
            id="no-predictions-and-no-model-to-compute-them",
        ),
    ],
)
def test_a_bad_batch_is_refused_saying_what_to_fix(
    api: respx.MockRouter, tmp_path: Path, contents: str, refusal: str
) -> None:
    batch = write(tmp_path / "day.csv", contents)

    with pytest.raises(ValueError, match=refusal):
        run(operator(evaluation_data=batch))


def test_a_model_uri_that_does_not_load_fails_naming_it(
    api: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow is the mlflow extra: the Airflow 2 environment runs the provider's core without it.
    pytest.importorskip("mlflow", reason="model_uri needs the mlflow extra, not installed here")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    batch = write(tmp_path / "day.csv", "amount,timestamp,label\n1.0,2018-08-01,0\n")

    with pytest.raises(RimeJobError, match=r"model_uri 'models:/no-such-model@production' does not load"):
        run(operator(evaluation_data=batch, model_uri="models:/no-such-model@production"))


def test_a_remote_batch_cannot_get_predictions_from_a_model(api: respx.MockRouter) -> None:
    with pytest.raises(ValueError, match="must be read here"):
        run(operator(evaluation_data="s3://bucket/day.csv", model_uri="models:/m@production"))


def test_the_gate_reads_bins_and_events() -> None:
    bins = [{"start": "2018-08-01", "verdict": "warning"}, {"start": "2018-08-02", "verdict": "pass"}]
    alert_event = [{"verdict": "alert"}]

    assert _gate("none", bins, alert_event) is None
    assert _gate("alert", bins, []) is None
    assert "1 events" in str(_gate("alert", bins, alert_event))
    assert "1 bins (2018-08-01)" in str(_gate("warning", bins, []))


def test_operator_interface() -> None:
    op = operator(evaluation_data="a.csv")

    assert {"sql", "evaluation_data", "model_uri", "project"} <= set(op.template_fields)
    # The connection is templated too, and the hook is made from the rendered id.
    op.rime_conn_id = "{{ params.conn }}"
    op.render_template_fields({"params": {"conn": "rime_prod"}}, jinja_env=jinja2.Environment())
    assert op.rime_conn_id == "rime_prod"
    assert op.hook.rime_conn_id == "rime_prod"
    assert [link.name for link in op.operator_extra_links] == ["RIME Firewall"]
    assert op.external_id_key != "rime_stress_test_job_id"


def test_templated_gate_and_waits_are_checked_once_rendered() -> None:
    op = operator(evaluation_data="a.csv", fail_on="{{ params.f }}", poll_interval="{{ params.p }}")
    op.timeout = "{{ params.t }}"
    env = jinja2.Environment()
    op.render_template_fields({"params": {"f": " Alert ", "p": "2.5", "t": "600"}}, jinja_env=env)
    op._validate_static()
    assert (op.fail_on, op.poll_interval, op.timeout) == ("alert", 2.5, 600.0)

    override = operator(evaluation_data="a.csv", override_existing_bins="{{ params.o }}")
    assert override.override_existing_bins == "{{ params.o }}", "checked once rendered"
    override.render_template_fields({"params": {"o": True}}, jinja_env=env)
    override._validate_static()
    assert override.override_existing_bins is True
    override.override_existing_bins = "maybe"
    with pytest.raises(ValueError, match="override_existing_bins must be true or false; got 'maybe'"):
        override._validate_static()

    late = operator(evaluation_data="a.csv", poll_interval="{{ params.p }}")
    late.render_template_fields({"params": {"p": "soon"}}, jinja_env=env)
    with pytest.raises(ValueError, match="poll_interval must be a positive number of seconds; got 'soon'"):
        late._validate_static()
