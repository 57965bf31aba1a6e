"""Continuous tests (the firewall API) through the raw REST API, on the session's engine.

One module-wide continuous test (5 daily bins, the 4th and 5th drifted) is shared by the
reading tests; the tests of bad input each check that nothing was stored.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.engine.flow import assert_rime_error, create_project, labelled_frame, ok, wait_job

DAY = pd.Timedelta(days=1)
START = pd.Timestamp("2024-05-01", tz="UTC")
DRIFTED_DAYS = (3, 4)
DRIFT = "TEST_CATEGORY_TYPE_DRIFT"


def daily_frame(
    days: int, rows: int, seed: int, drifted: tuple[int, ...] = (), first_day: int = 0
) -> pd.DataFrame:
    """``days`` days of ``rows`` rows each, timestamps as ISO text in UTC; ``drifted`` days shifted."""
    frames = []
    for day in range(first_day, first_day + days):
        frame = labelled_frame(rows, seed + day, shift=1.0 if day in drifted else 0.0)
        offsets = np.random.default_rng(seed + day).integers(0, 86_400, rows)
        stamps = START + day * DAY + pd.to_timedelta(offsets, unit="s")
        frame["ts"] = stamps.strftime("%Y-%m-%dT%H:%M:%SZ")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


class Setup:
    """A project with reference data, a predictions-only model and helpers to register more."""

    def __init__(self, api: Any, tmp: Path, name: str) -> None:
        self.api = api
        self.tmp = tmp
        self.project_id = create_project(api, name)
        self.ref_id = self.dataset("ref", labelled_frame(2000, 1))
        self.model_id = ok(api.post(f"/v1/registry/{self.project_id}/model", json={"name": "model"}))[
            "modelId"
        ]["uuid"]
        self.predictions(self.ref_id, "ref")

    def dataset(self, name: str, frame: pd.DataFrame, timestamp_col: str | None = None) -> str:
        path = self.tmp / f"{self.project_id}-{name}.csv"
        frame.to_csv(path, index=False)
        params: dict[str, Any] = {"labelCol": "label"}
        if timestamp_col:
            params["timestampCol"] = timestamp_col
        body = {
            "name": name,
            "dataInfo": {"connectionInfo": {"dataFile": {"path": str(path)}}, "dataParams": params},
        }
        # Not waited for: a job waits for its datasets' validation itself.
        return ok(self.api.post(f"/v1/registry/{self.project_id}/dataset", json=body))["datasetId"]

    def predictions(self, dataset_id: str, name: str) -> None:
        path = self.tmp / f"{self.project_id}-{name}.csv"
        ok(
            self.api.post(
                f"/v1/registry/{self.project_id}/model/{self.model_id}/dataset/{dataset_id}/prediction",
                json={
                    "predInfo": {
                        "connectionInfo": {"dataFile": {"path": str(path)}},
                        "predParams": {"predCol": "pred"},
                    }
                },
            )
        )

    def eval_dataset(self, name: str, frame: pd.DataFrame) -> str:
        dataset_id = self.dataset(name, frame, "ts")
        self.predictions(dataset_id, name)
        return dataset_id

    def create_firewall(self, bin_size: str = "86400s") -> str:
        body = {
            "projectId": {"uuid": self.project_id},
            "modelId": {"uuid": self.model_id},
            "refDataId": self.ref_id,
            "binSize": bin_size,
        }
        return ok(self.api.post("/v1/firewall", json=body))["firewallId"]["uuid"]

    def start(self, firewall_id: str, dataset_id: str, override: bool = False) -> dict[str, Any]:
        body = {
            "testRunIncrementalConfig": {"evalDatasetId": dataset_id, "runTimeInfo": {"resourceRequest": {}}},
            "overrideExistingBins": override,
        }
        return ok(self.api.post(f"/v1/continuous-tests/{firewall_id}", json=body))["job"]

    def run(self, firewall_id: str, dataset_id: str, override: bool = False) -> dict[str, Any]:
        return wait_job(self.api, self.start(firewall_id, dataset_id, override)["jobId"])

    def log(self, job_id: str) -> str:
        return ok(self.api.get(f"/v1-beta/logs/{job_id}"))["result"]["chunk"]


@pytest.fixture(scope="module")
def setup(api, tmp_path_factory) -> Setup:
    return Setup(api, tmp_path_factory.mktemp("firewall"), "firewall")


@pytest.fixture(scope="module")
def continuous(setup) -> dict[str, Any]:
    """The module's continuous test: 5 daily bins of 400 rows, days 3 and 4 drifted."""
    firewall_id = setup.create_firewall()
    eval_id = setup.eval_dataset("eval", daily_frame(5, 400, 100, DRIFTED_DAYS))
    job = setup.run(firewall_id, eval_id)
    assert job["status"] == "JOB_STATUS_SUCCEEDED", job
    return {"firewall_id": firewall_id, "eval_id": eval_id, "job": job}


@pytest.fixture(scope="module")
def hourly(api, tmp_path_factory) -> dict[str, Any]:
    """A second project, with an hourly continuous test."""
    other = Setup(api, tmp_path_factory.mktemp("hourly"), "firewall-hourly")
    return {"setup": other, "firewall_id": other.create_firewall("3600s")}


def _bins(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["jobData"]["continuousInc"]["progress"]["testRuns"]


def test_firewall_is_the_projects_one(api, setup, continuous):
    firewall_id = continuous["firewall_id"]
    project = ok(api.get(f"/v1/projects/{setup.project_id}"))["project"]["project"]
    assert project["firewallIds"] == [{"uuid": firewall_id}]
    fw = ok(api.get(f"/v1/firewall/{firewall_id}"))["firewall"]
    assert fw["firewallId"] == {"uuid": firewall_id}
    assert fw["projectId"] == {"uuid": setup.project_id}
    assert fw["modelId"] == {"uuid": setup.model_id}
    assert fw["refDataId"] == setup.ref_id
    assert fw["binSize"] == "86400s"
    assert fw["latestRunInfo"]["bin"] == {
        "startTime": "2024-05-05T00:00:00.000000Z",
        "endTime": "2024-05-06T00:00:00.000000Z",
    }
    # A second continuous test in the same project is a conflict, and nothing is stored.
    body = {
        "projectId": {"uuid": setup.project_id},
        "modelId": {"uuid": setup.model_id},
        "refDataId": setup.ref_id,
        "binSize": "3600s",
    }
    assert_rime_error(api.post("/v1/firewall", json=body), 409, "already has a continuous test", firewall_id)
    project = ok(api.get(f"/v1/projects/{setup.project_id}"))["project"]["project"]
    assert project["firewallIds"] == [{"uuid": firewall_id}]


def test_one_test_run_per_bin(api, setup, continuous):
    job = continuous["job"]
    assert job["jobType"] == "JOB_TYPE_FIREWALL_BATCH_TEST"
    data = job["jobData"]["continuousInc"]
    assert data["firewallId"] == continuous["firewall_id"]
    bins = _bins(job)
    assert [b["binStartTime"][:10] for b in bins] == [f"2024-05-0{d}" for d in range(1, 6)]
    assert [b["testRun"]["testRunId"] for b in bins] == data["ctTestRunIds"]
    assert {b["testRun"]["status"] for b in bins} == {"TEST_TASK_STATUS_COMPLETED"}
    assert job["jobProgressStr"] == "5 / 5 time bins completed"

    listed = ok(
        api.get(
            "/v1/test-runs",
            params={
                "firstPageQuery.projectId.uuid": setup.project_id,
                "firstPageQuery.testingType": "TEST_TYPE_CONTINUOUS_TESTING",
            },
        )
    )["testRuns"]
    assert {r["testRunId"] for r in listed} == set(data["ctTestRunIds"])
    by_id = {r["testRunId"]: r for r in listed}
    for b in bins:
        run = by_id[b["testRun"]["testRunId"]]
        assert run["testingType"] == "TEST_TYPE_CONTINUOUS_TESTING"
        assert run["binTimeInterval"] == {"startTime": b["binStartTime"], "endTime": b["binEndTime"]}
        assert run["metrics"]["numInputs"] == "400"
        assert set(run["testCategories"]) >= {
            "TEST_CATEGORY_TYPE_DRIFT",
            "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
        }
    stress = ok(api.get("/v1/test-runs", params={"firstPageQuery.projectId.uuid": setup.project_id}))[
        "testRuns"
    ]
    assert not {r["testRunId"] for r in stress} & set(data["ctTestRunIds"])


def test_monitors_have_a_value_per_bin(api, continuous):
    firewall_id = continuous["firewall_id"]
    monitors = ok(api.get(f"/v1-beta/monitors/{firewall_id}"))["monitors"]
    names = [m["name"] for m in monitors]
    assert {
        "Accuracy",
        "AUC",
        "Average Confidence",
        "Prediction Drift",
        "Numeric Feature Drift",
        "Unseen Categorical",
    } <= set(names)
    assert {m["monitorType"] for m in monitors} == {"MONITOR_TYPE_DEFAULT"}
    drift = next(m for m in monitors if m["name"] == "Numeric Feature Drift")
    assert drift["riskCategoryType"] == "RISK_CATEGORY_TYPE_OPERATIONAL_HEALTH"
    assert drift["testCategory"] == "TEST_CATEGORY_TYPE_DRIFT"
    threshold = drift["config"]["degradation"]["threshold"]
    assert threshold["type"] == "TYPE_UPPER_BOUND" and threshold["low"] < threshold["high"]

    result = ok(api.get(f"/v1-beta/monitors/result/{drift['id']['uuid']}"))
    assert result["monitorName"] == "Numeric Feature Drift"
    points = result["dataPoints"]
    assert len(points) == 5
    values = [p["monitorValue"] for p in points]
    # The drifted days are the ones past the alert threshold.
    assert [i for i, v in enumerate(values) if v >= threshold["high"]] == list(DRIFTED_DAYS)
    accuracy = next(m for m in monitors if m["name"] == "Accuracy")
    assert accuracy["config"]["degradation"]["threshold"]["type"] == "TYPE_LOWER_BOUND"
    # Filters: only operational monitors exist; the SDK's user-facing name is accepted too.
    for risk in ("RISK_CATEGORY_TYPE_OPERATIONAL_HEALTH", "Operational"):
        page = ok(
            api.get(
                f"/v1-beta/monitors/{firewall_id}", params={"firstPageReq.includedRiskCategoryTypes": risk}
            )
        )
        assert len(page["monitors"]) == len(monitors)
    security = ok(
        api.get(
            f"/v1-beta/monitors/{firewall_id}", params={"firstPageReq.includedRiskCategoryTypes": "Security"}
        )
    )
    assert security["monitors"] == [] and security["hasMore"] is False
    assert_rime_error(
        api.get(
            f"/v1-beta/monitors/{firewall_id}", params={"firstPageReq.includedRiskCategoryTypes": "Risky"}
        ),
        400,
        "Risky",
    )


def test_events_cover_the_drifted_stretch(api, setup, continuous):
    events = ok(
        api.get(
            f"/v1-beta/detection-events/{setup.project_id}",
            params={"firstPageReq.eventTypes": ["EVENT_TYPE_METRIC_DEGRADATION", "EVENT_TYPE_SECURITY"]},
        )
    )["events"]
    drift = [e for e in events if e["eventObjectName"] == "Numeric Feature Drift"]
    assert len(drift) == 1
    event = drift[0]
    assert event["severity"] == "SEVERITY_ALERT"
    assert event["eventTimeRange"] == {
        "startTime": "2024-05-04T00:00:00.000000Z",
        "endTime": "2024-05-06T00:00:00.000000Z",
    }
    assert event["riskCategoryType"] == "RISK_CATEGORY_TYPE_OPERATIONAL_HEALTH"
    assert event["testCategory"] == "TEST_CATEGORY_TYPE_DRIFT"
    assert event["firewallId"] == {"uuid": continuous["firewall_id"]}
    assert "rose above its alert threshold" in event["description"]
    rca = event["detail"]["metricDegradation"]["rcaResult"]["description"]
    assert "transaction_amount" in rca
    # Filters: by monitor, severity, category, time range; sorted by end time, paged.
    monitor_id = event["eventObjectId"]
    by_monitor = ok(
        api.get(
            f"/v1-beta/detection-events/{setup.project_id}", params={"firstPageReq.eventObjectId": monitor_id}
        )
    )
    assert [e["id"] for e in by_monitor["events"]] == [event["id"]]
    before = ok(
        api.get(
            f"/v1-beta/detection-events/{setup.project_id}",
            params={
                "firstPageReq.eventTimeRange.endTime": "2024-05-04T00:00:00Z",
                "firstPageReq.eventObjectId": monitor_id,
            },
        )
    )
    assert before["events"] == []
    drift_only = ok(
        api.get(
            f"/v1-beta/detection-events/{setup.project_id}",
            params={"firstPageReq.testCategories": "TEST_CATEGORY_TYPE_DRIFT"},
        )
    )["events"]
    assert drift_only and {e["testCategory"] for e in drift_only} == {"TEST_CATEGORY_TYPE_DRIFT"}
    ascending = ok(
        api.get(
            f"/v1-beta/detection-events/{setup.project_id}",
            params={
                "firstPageReq.sort.sortOrder": "ORDER_ASCENDING",
                "firstPageReq.sort.sortBy": "event_time_range.end_time",
            },
        )
    )["events"]
    ends = [e["eventTimeRange"]["endTime"] for e in ascending]
    assert ends == sorted(ends)
    first = ok(api.get(f"/v1-beta/detection-events/{setup.project_id}", params={"pageSize": 1}))
    assert len(first["events"]) == 1 and first["hasMore"] is (len(events) > 1)
    if first["hasMore"]:
        second = ok(
            api.get(
                f"/v1-beta/detection-events/{setup.project_id}",
                params={"pageToken": first["nextPageToken"], "pageSize": 1},
            )
        )
        assert second["events"][0]["id"] != first["events"][0]["id"]
    assert_rime_error(
        api.get(f"/v1-beta/detection-events/{setup.project_id}", params={"firstPageReq.severity": "LOUD"}),
        400,
        "LOUD",
    )


def test_existing_bins_are_skipped_or_overridden(api, setup, continuous):
    firewall_id, eval_id = continuous["firewall_id"], continuous["eval_id"]
    old_ids = continuous["job"]["jobData"]["continuousInc"]["ctTestRunIds"]
    # The same days plus one more: the known days are skipped, the new one is tested.
    more = setup.eval_dataset("eval-more", daily_frame(2, 400, 100, DRIFTED_DAYS, first_day=4))
    job = setup.run(firewall_id, more)
    assert job["status"] == "JOB_STATUS_SUCCEEDED", job
    assert [b["binStartTime"][:10] for b in _bins(job)] == ["2024-05-06"]
    log = setup.log(job["jobId"])
    assert "skipping bin 2024-05-05T00:00:00.000000Z" in log and "overrideExistingBins" in log
    # With overrideExistingBins the known days are tested again and their old runs replaced.
    job = setup.run(firewall_id, eval_id, override=True)
    assert job["status"] == "JOB_STATUS_SUCCEEDED", job
    new_ids = job["jobData"]["continuousInc"]["ctTestRunIds"]
    assert len(new_ids) == 5 and not set(new_ids) & set(old_ids)
    assert "replacing bin 2024-05-01T00:00:00.000000Z" in setup.log(job["jobId"])
    assert_rime_error(api.get(f"/v1/test-runs/{old_ids[0]}"), 404)
    drift = next(
        m
        for m in ok(api.get(f"/v1-beta/monitors/{firewall_id}"))["monitors"]
        if m["name"] == "Numeric Feature Drift"
    )
    points = ok(api.get(f"/v1-beta/monitors/result/{drift['id']['uuid']}"))["dataPoints"]
    assert [p["timeInterval"]["startTime"][:10] for p in points] == [f"2024-05-0{d}" for d in range(1, 7)]


def test_update_firewall_with_a_field_mask(api, setup, continuous):
    firewall_id = continuous["firewall_id"]
    other_ref = setup.dataset("ref-2", labelled_frame(1500, 7))
    # A predictions-only model needs predictions on the new reference data.
    body = {"firewallId": {"uuid": firewall_id}, "firewall": {"refDataId": other_ref}, "mask": "refDataId"}
    assert_rime_error(
        api.put(f"/v1/firewall/{firewall_id}", json=body),
        400,
        "firewall.refDataId",
        "predictions-only",
        "ref-2",
    )
    setup.predictions(other_ref, "ref-2")
    # Nothing changes when one masked field is bad.
    bad = {"firewall": {"refDataId": other_ref, "binSize": "3600s"}, "mask": "refDataId,binSize"}
    assert_rime_error(api.put(f"/v1/firewall/{firewall_id}", json=bad), 400, "binSize cannot change")
    assert ok(api.get(f"/v1/firewall/{firewall_id}"))["firewall"]["refDataId"] == setup.ref_id
    updated = ok(api.put(f"/v1/firewall/{firewall_id}", json=body))["firewall"]
    assert updated["refDataId"] == other_ref
    assert_rime_error(
        api.put(f"/v1/firewall/{firewall_id}", json={"firewall": {}, "mask": "projectId"}),
        400,
        "projectId",
        "modelId",
    )
    body["firewall"]["refDataId"] = setup.ref_id
    assert ok(api.put(f"/v1/firewall/{firewall_id}", json=body))["firewall"]["refDataId"] == setup.ref_id


@pytest.mark.parametrize(
    ("bin_size", "needle"),
    [("60s", "at least one hour"), ("3599s", "at least one hour"), ("1 day", "is not a duration")],
)
def test_bin_size_is_checked(api, hourly, bin_size, needle):
    other = hourly["setup"]
    body = {
        "projectId": {"uuid": other.project_id},
        "modelId": {"uuid": other.model_id},
        "refDataId": other.ref_id,
        "binSize": bin_size,
    }
    # Refused for the bin size itself, before the project's existing firewall is looked at.
    assert_rime_error(api.post("/v1/firewall", json=body), 400, "binSize", needle)
    project = ok(api.get(f"/v1/projects/{other.project_id}"))["project"]["project"]
    assert project["firewallIds"] == [{"uuid": hourly["firewall_id"]}]


def _continuous_runs(api: Any, project_id: str) -> set[str]:
    params = {
        "firstPageQuery.projectId.uuid": project_id,
        "firstPageQuery.testingType": "TEST_TYPE_CONTINUOUS_TESTING",
        "pageSize": 500,
    }
    return {r["testRunId"] for r in ok(api.get("/v1/test-runs", params=params))["testRuns"]}


def test_bad_requests_store_nothing(api, setup, continuous, hourly):
    firewall_id = continuous["firewall_id"]
    before = _continuous_runs(api, setup.project_id)
    # No firewall with that id: the message says how to make one.
    body = {"testRunIncrementalConfig": {"evalDatasetId": continuous["eval_id"]}}
    assert_rime_error(api.post("/v1/continuous-tests/no-such-firewall", json=body), 404, "POST /v1/firewall")
    # An evaluation dataset without a timestamp column.
    no_ts = setup.dataset("no-ts", labelled_frame(300, 3))
    setup.predictions(no_ts, "no-ts")
    assert_rime_error(
        setup.api.post(
            f"/v1/continuous-tests/{firewall_id}", json={"testRunIncrementalConfig": {"evalDatasetId": no_ts}}
        ),
        400,
        "timestamp_col",
    )
    # Predictions missing for the predictions-only model.
    no_preds = setup.dataset("no-preds", daily_frame(1, 300, 5), "ts")
    assert_rime_error(
        api.post(
            f"/v1/continuous-tests/{firewall_id}",
            json={"testRunIncrementalConfig": {"evalDatasetId": no_preds}},
        ),
        400,
        "predictions-only",
        "no-preds",
    )
    # An evaluation dataset of another project.
    other = hourly["setup"]
    foreign = other.eval_dataset("foreign", daily_frame(1, 300, 6))
    assert_rime_error(
        api.post(
            f"/v1/continuous-tests/{firewall_id}",
            json={"testRunIncrementalConfig": {"evalDatasetId": foreign}},
        ),
        400,
        "another project",
    )
    assert _continuous_runs(api, setup.project_id) == before


BAD_TIMESTAMPS = {
    "unparsable": (
        ["2024-05-01T01:00:00Z", "2024-05-01T02:00:00Z", "yesterday", "2024-05-01T03:00:00Z"],
        ["'yesterday'", "row 3"],
    ),
    "mixed-time-zones": (
        ["2024-05-01T01:00:00Z", "2024-05-01 02:00:00", "2024-05-01T03:00:00+02:00", "2024-05-01 04:00:00"],
        ["mixes time zones", "row 1", "row 2"],
    ),
}


def test_bad_timestamps_fail_the_job_with_the_row(api, hourly):
    other, firewall_id = hourly["setup"], hourly["firewall_id"]
    for name, (stamps, needles) in BAD_TIMESTAMPS.items():
        frame = labelled_frame(len(stamps), 9)
        frame["ts"] = stamps
        job = other.run(firewall_id, other.eval_dataset(name, frame))
        assert job["status"] == "JOB_STATUS_FAILED", name
        for needle in needles:
            assert needle in job["errorMsg"], job["errorMsg"]
        assert job["jobData"]["continuousInc"]["ctTestRunIds"] == []
    # The monitors exist from the firewall's creation; failed jobs gave them no value.
    monitors = ok(api.get(f"/v1-beta/monitors/{firewall_id}", params={"pageSize": 100}))["monitors"]
    assert monitors
    for monitor in monitors:
        assert ok(api.get(f"/v1-beta/monitors/result/{monitor['id']['uuid']}"))["dataPoints"] == []
    assert _continuous_runs(api, other.project_id) == set()


def _worker_pid(engine_log: Path, job_id: str) -> int | None:
    """The worker process of ``job_id``, as the engine logged it when it started the job."""
    found = re.search(rf"job {job_id} \(\w+\) started in worker process (\d+)", engine_log.read_text())
    return int(found.group(1)) if found else None


def test_a_killed_job_keeps_finished_bins_and_a_rerun_completes_the_rest(api, hourly, rime_engine):
    other, firewall_id = hourly["setup"], hourly["firewall_id"]
    eval_id = other.eval_dataset("eval", daily_frame(1, 2400, 11))  # 24 hourly bins of ~100 rows
    job = other.start(firewall_id, eval_id)
    # The job names its batch from the start, bins or none (a retried task finds it by that).
    created = ok(api.get(f"/v1/jobs/{job['jobId']}"))["job"]
    assert created["jobData"]["continuousInc"]["evalDatasetId"] == eval_id
    deadline = time.monotonic() + 120
    while True:
        seen = ok(api.get(f"/v1/jobs/{job['jobId']}"))["job"]
        done = [b for b in _bins(seen) if b["testRun"]["status"] == "TEST_TASK_STATUS_COMPLETED"]
        if (
            done
            or time.monotonic() > deadline
            or (seen["status"] != "JOB_STATUS_RUNNING" and seen["status"] != "JOB_STATUS_PENDING")
        ):
            break
        time.sleep(0.05)
    assert seen["status"] == "JOB_STATUS_RUNNING", seen
    # Deleting the firewall while its job runs is refused.
    assert_rime_error(api.delete(f"/v1/firewall/{firewall_id}"), 409, "cancel it", job["jobId"])
    # So is choosing other continuous-test categories: the job writes the monitors it started with.
    drift_only = {"project": {"continuousTestCategories": [DRIFT]}, "mask": "continuousTestCategories"}
    project_url = f"/v1/projects/{other.project_id}"
    assert_rime_error(api.put(project_url, json=drift_only), 409, "cancel it", job["jobId"])
    assert DRIFT in ok(api.get(project_url))["project"]["project"]["continuousTestCategories"]
    assert len(ok(api.get(project_url))["project"]["project"]["continuousTestCategories"]) == 4
    pid = _worker_pid(rime_engine.log_path, job["jobId"])
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    failed = wait_job(api, job["jobId"])
    assert failed["status"] == "JOB_STATUS_FAILED"
    kept = [b for b in _bins(failed) if b["testRun"]["status"] == "TEST_TASK_STATUS_COMPLETED"]
    assert 1 <= len(kept) < 24
    assert {b["testRun"]["status"] for b in _bins(failed)} - {"TEST_TASK_STATUS_COMPLETED"} <= {
        "TEST_TASK_STATUS_FAILED"
    }
    for b in kept:
        ok(api.get(f"/v1/test-runs/{b['testRun']['testRunId']}"))
    rerun = other.run(firewall_id, eval_id)
    assert rerun["status"] == "JOB_STATUS_SUCCEEDED", rerun
    redone = {b["binStartTime"] for b in _bins(rerun)}
    assert not redone & {b["binStartTime"] for b in kept}
    assert len(redone) + len(kept) == 24
    runs = ok(
        api.get(
            "/v1/test-runs",
            params={
                "firstPageQuery.projectId.uuid": other.project_id,
                "firstPageQuery.testingType": "TEST_TYPE_CONTINUOUS_TESTING",
                "pageSize": 100,
            },
        )
    )["testRuns"]
    assert len(runs) == 24 and {r["status"] for r in runs} == {"TEST_TASK_STATUS_COMPLETED"}
    # Once nothing runs, the firewall can be deleted; its bins stay as test runs of the project.
    ok(api.delete(f"/v1/firewall/{firewall_id}"))
    assert_rime_error(api.get(f"/v1/firewall/{firewall_id}"), 404)
    assert ok(api.get(f"/v1/projects/{other.project_id}"))["project"]["project"]["firewallIds"] == []
