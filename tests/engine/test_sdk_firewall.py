"""The real rime-sdk 2.13.2 drives a continuous test on the engine: every call the firewall issue lists."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from tests.engine.flow import assert_rime_error, labelled_frame, ok, sdk_dataset, sdk_upload
from tests.engine.test_firewall import DRIFT, DRIFTED_DAYS, daily_frame

rime_sdk = pytest.importorskip("rime_sdk", reason="rime-sdk is installed by `make install` with --no-deps")


def _registered(client, tmp_path, name, frames):
    """A project with ``frames`` registered (``"eval"`` with timestamps) and a predictions-only model
    with predictions on each."""
    project = client.create_project(name, "continuous tests", "MODEL_TASK_BINARY_CLASSIFICATION")
    paths = sdk_upload(client, tmp_path, frames)
    ids = {
        key: sdk_dataset(
            project, key, path, label_col="label", **({"timestamp_col": "ts"} if key == "eval" else {})
        )
        for key, path in paths.items()
    }
    model_id, _ = project.register_and_validate_model("predictions-only model")
    for key, dataset_id in ids.items():
        project.register_and_validate_predictions_from_file(
            dataset_id, model_id, paths[key], pred_params={"pred_col": "pred"}
        )
    return project, model_id, ids


def test_sdk_continuous_test_flow(sdk_client, tmp_path):
    from rime_sdk.swagger.swagger_client.models import RimeTestType

    client = sdk_client
    project = client.create_project("sdk-firewall", "continuous tests", "MODEL_TASK_BINARY_CLASSIFICATION")
    frames = {
        "ref": labelled_frame(2000, 1),
        "ref2": labelled_frame(1500, 2),
        "eval": daily_frame(4, 400, 300, DRIFTED_DAYS),
    }
    paths = sdk_upload(client, tmp_path, frames)
    ref_id = sdk_dataset(project, "ref", paths["ref"], label_col="label")
    ref2_id = sdk_dataset(project, "ref2", paths["ref2"], label_col="label")
    eval_id = sdk_dataset(project, "eval", paths["eval"], label_col="label", timestamp_col="ts")
    model_id, _ = project.register_and_validate_model("predictions-only model")
    for dataset_id, name in ((ref_id, "ref"), (ref2_id, "ref2"), (eval_id, "eval")):
        project.register_and_validate_predictions_from_file(
            dataset_id, model_id, paths[name], pred_params={"pred_col": "pred"}
        )

    assert not project.has_ct()
    ct = project.create_ct(model_id, ref_id, timedelta(days=1))
    assert project.has_ct()
    assert project.get_ct() == ct
    assert client.get_ct_for_project(project.project_id) == ct
    assert ct.get_bin_size() == timedelta(days=1)
    assert ct.get_ref_data_id() == ref_id
    assert ct.get_model_id() == model_id
    assert ct.project_id == project.project_id
    with pytest.raises(ValueError, match="already has a continuous test"):
        project.create_ct(model_id, ref_id, timedelta(hours=1))
    with pytest.raises(ValueError, match="at least one hour"):
        client.create_project("sdk-firewall-2", "", "MODEL_TASK_BINARY_CLASSIFICATION").create_ct(
            model_id, ref_id, timedelta(minutes=30)
        )

    updated = ct.update_ct(ref_data_id=ref2_id)
    assert updated["firewall"]["ref_data_id"] == ref2_id
    assert ct.get_ref_data_id() == ref2_id
    ct.update_ct(ref_data_id=ref_id)

    job = ct.start_continuous_test(eval_id, override_existing_bins=False, random_seed=1)
    status = job.get_status(wait_until_finish=True, poll_rate_sec=0.5, verbose=True)
    assert status["status"] == "JOB_STATUS_SUCCEEDED", status
    run_ids = job.get_test_run_ids()
    assert len(run_ids) == 4
    runs = job.get_test_runs()
    assert [r.test_run_id for r in runs] == run_ids
    result = runs[DRIFTED_DAYS[0]].get_result_df()
    assert result.iloc[0]["test_run_id"] == run_ids[DRIFTED_DAYS[0]]
    assert result.iloc[0]["metrics.num_inputs"] == 400
    cases = runs[DRIFTED_DAYS[0]].get_test_cases_df()
    drifted = cases[(cases["test_batch_type"] == "feature_drift") & (cases["severity"] != "SEVERITY_PASS")]
    assert len(drifted) > 0
    listed = {r.test_run_id for r in project.list_test_runs(RimeTestType.CONTINUOUS_TESTING)}
    assert listed == set(run_ids)
    assert not listed & {r.test_run_id for r in project.list_test_runs()}

    events = ct.get_events_df()
    assert {"monitor_id", "severity", "risk_category_type", "test_category", "description"} <= set(
        events.columns
    )
    drift = events[events["event_object_name"] == "Numeric Feature Drift"]
    assert len(drift) == 1
    row = drift.iloc[0]
    assert row["severity"] == "SEVERITY_ALERT"
    assert pd.Timestamp(row["event_time_range.start_time"]) == pd.Timestamp("2024-05-04", tz="UTC")
    assert pd.Timestamp(row["event_time_range.end_time"]) == pd.Timestamp("2024-05-05", tz="UTC")

    monitors = list(ct.list_monitors(monitor_types=["Default"], risk_category_types=["Operational"]))
    assert len(monitors) > 10
    assert list(ct.list_monitors(risk_category_types=["Security"])) == []
    by_id = {m._monitor_id: m for m in monitors}
    monitor = by_id[row["monitor_id"]]
    detected = [e.to_dict() for e in monitor.list_detected_events()]
    assert len(detected) == 1
    assert detected[0]["event_object_id"] == row["monitor_id"]
    assert detected[0]["severity"] == "SEVERITY_ALERT"

    # Running the same data again skips every bin; overriding tests them again.
    again = ct.start_continuous_test(eval_id)
    assert again.get_status(wait_until_finish=True, poll_rate_sec=0.5)["status"] == "JOB_STATUS_SUCCEEDED"
    assert again.get_test_run_ids() == []

    project.delete_ct(force=True)
    assert not project.has_ct()
    with pytest.raises(ValueError, match="No ContinuousTest found"):
        project.get_ct()
    client.delete_project(project.project_id, force=True)


DEFAULT_CT = [
    "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
    "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
    DRIFT,
    "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS",
]


def _monitor_categories(api, firewall_id):
    monitors = ok(api.get(f"/v1-beta/monitors/{firewall_id}", params={"pageSize": 100}))["monitors"]
    return monitors, {m["testCategory"] for m in monitors}


def test_sdk_ct_categories_choose_bins_and_monitors(sdk_client, api, tmp_path):
    """update_ct_categories chooses what each bin runs and which monitors the firewall has;
    the monitors exist from create_ct on, with no values until a bin is tested."""
    frames = {"ref": labelled_frame(2000, 1), "eval": daily_frame(2, 400, 300, (1,))}
    project, model_id, ids = _registered(sdk_client, tmp_path, "sdk-ct-categories", frames)
    assert project.info.continuous_test_categories == DEFAULT_CT

    ct = project.create_ct(model_id, ids["ref"], timedelta(days=1))
    firewall_id = ct._ct_id
    monitors = list(ct.list_monitors())
    assert len(monitors) > 10
    listed, categories = _monitor_categories(api, firewall_id)
    assert categories == {"TEST_CATEGORY_TYPE_MODEL_PERFORMANCE", DRIFT, "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS"}
    for monitor in listed:
        result = ok(api.get(f"/v1-beta/monitors/result/{monitor['id']['uuid']}"))
        assert result["dataPoints"] == []

    project.update_ct_categories([DRIFT])
    assert project.info.continuous_test_categories == [DRIFT]
    listed, categories = _monitor_categories(api, firewall_id)
    assert categories == {DRIFT}
    assert {m._monitor_id for m in ct.list_monitors()} == {m["id"]["uuid"] for m in listed}

    job = ct.start_continuous_test(ids["eval"], random_seed=1)
    assert job.get_status(wait_until_finish=True, poll_rate_sec=0.5)["status"] == "JOB_STATUS_SUCCEEDED"
    runs = job.get_test_runs()
    assert len(runs) == 2
    for run in runs:
        assert set(run.get_category_results_df()["test_category"]) == {DRIFT}
        assert set(run.get_test_cases_df()["test_category"]) == {DRIFT}
    listed, categories = _monitor_categories(api, firewall_id)
    assert categories == {DRIFT}
    events = ct.get_events_df()
    assert len(events) > 0
    assert set(events["test_category"]) == {DRIFT}

    # Choosing all again (an empty list: the defaults) brings the other monitors back, empty.
    project.update_ct_categories([])
    assert project.info.continuous_test_categories == DEFAULT_CT
    listed, categories = _monitor_categories(api, firewall_id)
    assert len(categories) == 3
    values = {
        m["testCategory"]: ok(api.get(f"/v1-beta/monitors/result/{m['id']['uuid']}"))["dataPoints"]
        for m in listed
    }
    assert values[DRIFT] != []
    assert values["TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"] == []

    # RIME's Subset Performance Degradation runs as the catalogue's Subset Performance (no monitor).
    project.update_ct_categories(["TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION"])
    assert list(ct.list_monitors()) == []
    job = ct.start_continuous_test(ids["eval"], override_existing_bins=True, random_seed=1)
    assert job.get_status(wait_until_finish=True, poll_rate_sec=0.5)["status"] == "JOB_STATUS_SUCCEEDED"
    for run in job.get_test_runs():
        assert set(run.get_category_results_df()["test_category"]) == {
            "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE"
        }
    project.update_ct_categories([])

    project.update_stress_test_categories(["TEST_CATEGORY_TYPE_MODEL_PERFORMANCE", DRIFT])
    assert project.info.stress_test_categories == ["TEST_CATEGORY_TYPE_MODEL_PERFORMANCE", DRIFT]
    assert project.info.continuous_test_categories == DEFAULT_CT
    sdk_client.delete_project(project.project_id, force=True)


def test_bad_category_is_a_clear_400(sdk_client, api):
    project = sdk_client.create_project("sdk-bad-categories", "", "MODEL_TASK_BINARY_CLASSIFICATION")
    with pytest.raises(ValueError, match=r"TEST_CATEGORY_TYPE_ADVERSARIAL.*not a continuous-test category"):
        project.update_ct_categories(["TEST_CATEGORY_TYPE_ADVERSARIAL"])
    response = api.put(
        f"/v1/projects/{project.project_id}",
        json={"project": {"continuousTestCategories": [DRIFT, "speed"]}, "mask": "continuousTestCategories"},
    )
    assert_rime_error(
        response, 400, "project.continuousTestCategories: 'speed'", "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS"
    )
    response = api.put(
        f"/v1/projects/{project.project_id}",
        json={"project": {"ownerId": {"uuid": "x"}}, "mask": "ownerId"},
    )
    assert_rime_error(response, 400, "ownerId cannot be updated")
    # Nothing was stored half-way.
    assert project.info.continuous_test_categories == DEFAULT_CT
    sdk_client.delete_project(project.project_id, force=True)


def test_update_project_sets_only_the_masked_fields(sdk_client, api):
    project = sdk_client.create_project("sdk-update-project", "before", "MODEL_TASK_BINARY_CLASSIFICATION")
    url = f"/v1/projects/{project.project_id}"
    body = {
        "project": {"name": "  renamed  ", "description": "after", "useCase": "fraud"},
        "mask": "name,use_case",
    }
    updated = ok(api.put(url, json=body))["project"]
    assert (updated["name"], updated["description"], updated["useCase"]) == ("renamed", "before", "fraud")
    assert project.info.name == "renamed" and project.info.description == "before"
    assert_rime_error(
        api.put(url, json={"project": {}, "mask": ""}), 400, "mask is empty", "continuousTestCategories"
    )
    assert_rime_error(api.put(url, json={"project": {}, "mask": "name"}), 400, "project.name is required")
    assert_rime_error(api.put(url, json={"project": {"name": " "}, "mask": "name"}), 400, "project.name")
    sdk_client.delete_project(project.project_id, force=True)
