"""RimeHook's firewall methods send RIME's requests (paths, JSON names, query keys) as rime-sdk does.

The answers here are written from RIME's REST reference (rime-sdk 2.13.2's swagger models);
the end-to-end tests run the same methods against the local engine.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import respx

from airflow_provider_rime.exceptions import RimeNotFoundError
from airflow_provider_rime.hooks.rime import RimeHook
from airflow_provider_rime.rime_api.enums import JobStatus, JobType

from .conftest import body_of, query_of, sent

PROJECT = "0f3c8a52-1111-4a4b-9c6d-000000000001"
FIREWALL = "0f3c8a52-2222-4a4b-9c6d-000000000002"
MODEL = "0f3c8a52-3333-4a4b-9c6d-000000000003"
OTHER_MODEL = "0f3c8a52-4444-4a4b-9c6d-000000000004"
JOB = "0f3c8a52-5555-4a4b-9c6d-000000000005"


def project_body(firewall_ids: list[str]) -> dict:
    return {
        "project": {
            "project": {
                "id": {"uuid": PROJECT},
                "name": "p",
                "firewallIds": [{"uuid": f} for f in firewall_ids],
            }
        }
    }


def firewall_body(model: str = MODEL, ref: str = "ds-ref") -> dict:
    return {
        "firewall": {
            "firewallId": {"uuid": FIREWALL},
            "projectId": {"uuid": PROJECT},
            "modelId": {"uuid": model},
            "binSize": "86400s",
            "refDataId": ref,
        }
    }


def ct_job(status: str, run_ids: list[str], *, firewall: str = FIREWALL, **extra: str) -> dict:
    return {
        "jobId": JOB,
        "jobType": "JOB_TYPE_FIREWALL_BATCH_TEST",
        "status": status,
        "jobData": {
            "continuousInc": {
                "firewallId": firewall,
                "ctTestRunIds": run_ids,
                "progress": {
                    "testRuns": [
                        {
                            "testRun": {"testRunId": r, "status": "TEST_TASK_STATUS_COMPLETED"},
                            "binStartTime": f"2018-08-0{i + 1}T00:00:00Z",
                            "binEndTime": f"2018-08-0{i + 2}T00:00:00Z",
                        }
                        for i, r in enumerate(run_ids)
                    ]
                },
                **extra,
            }
        },
    }


def test_project_firewall_is_the_first_of_firewall_ids(hook: RimeHook, api: respx.MockRouter) -> None:
    api.get(f"/v1/projects/{PROJECT}").mock(
        side_effect=[
            httpx.Response(200, json=project_body([FIREWALL])),
            httpx.Response(200, json=project_body([])),
        ]
    )

    assert hook.get_project_firewall_id(PROJECT) == FIREWALL
    assert hook.get_project_firewall_id(PROJECT) is None


def test_create_firewall_sends_rimes_body_and_finds_an_existing_one_first(
    hook: RimeHook, api: respx.MockRouter
) -> None:
    api.get(f"/v1/projects/{PROJECT}").mock(return_value=httpx.Response(200, json=project_body([])))
    create = api.post("/v1/firewall").mock(
        return_value=httpx.Response(200, json={"firewallId": {"uuid": FIREWALL}})
    )

    assert hook.create_firewall(PROJECT, MODEL, "ds-ref", timedelta(days=1)) == FIREWALL
    assert body_of(sent(create)) == {
        "projectId": {"uuid": PROJECT},
        "modelId": {"uuid": MODEL},
        "refDataId": "ds-ref",
        "binSize": "86400s",
    }


def test_create_firewall_refuses_bins_under_an_hour_before_sending(hook: RimeHook) -> None:
    with pytest.raises(ValueError, match="at least one hour"):
        hook.create_firewall(PROJECT, MODEL, "ds-ref", timedelta(minutes=30))


def test_get_and_update_firewall_with_a_camel_case_field_mask(hook: RimeHook, api: respx.MockRouter) -> None:
    api.get(f"/v1/firewall/{FIREWALL}").mock(return_value=httpx.Response(200, json=firewall_body()))
    update = api.put(f"/v1/firewall/{FIREWALL}").mock(return_value=httpx.Response(200, json={}))

    firewall = hook.get_firewall(FIREWALL)
    hook.update_firewall(FIREWALL, model_id=OTHER_MODEL, ref_data_id="ds-ref-2")

    assert (firewall.model_id.uuid, firewall.ref_data_id, firewall.bin_timedelta) == (
        MODEL,
        "ds-ref",
        timedelta(days=1),
    )
    assert body_of(sent(update)) == {
        "firewallId": {"uuid": FIREWALL},
        "firewall": {"modelId": {"uuid": OTHER_MODEL}, "refDataId": "ds-ref-2"},
        "mask": "modelId,refDataId",
    }


def test_start_continuous_test_reads_the_dataset_then_posts_rimes_body(
    hook: RimeHook, api: respx.MockRouter
) -> None:
    dataset = api.get("/v1/registry/dataset", params={"datasetId": "ds-eval"}).mock(
        return_value=httpx.Response(
            200, json={"dataset": {"datasetId": "ds-eval", "validityStatus": "VALID"}}
        )
    )
    start = api.post(f"/v1/continuous-tests/{FIREWALL}").mock(
        return_value=httpx.Response(200, json={"job": ct_job("JOB_STATUS_PENDING", [])})
    )

    job = hook.start_continuous_test(FIREWALL, "ds-eval", override_existing_bins=True)

    assert dataset.called
    assert job.job_id == JOB and job.job_type == JobType.FIREWALL_BATCH_TEST
    assert body_of(sent(start)) == {
        "testRunIncrementalConfig": {"evalDatasetId": "ds-eval", "runTimeInfo": {"resourceRequest": {}}},
        "overrideExistingBins": True,
    }


def test_start_continuous_test_on_a_missing_dataset_fails_before_starting(
    hook: RimeHook, api: respx.MockRouter
) -> None:
    api.get("/v1/registry/dataset").mock(return_value=httpx.Response(404, json={"message": "not found"}))

    with pytest.raises(RimeNotFoundError):
        hook.start_continuous_test(FIREWALL, "ds-gone")


def test_a_running_continuous_test_is_found_by_its_dataset(hook: RimeHook, api: respx.MockRouter) -> None:
    listing = api.get(f"/v1/jobs/project/{PROJECT}").mock(
        return_value=httpx.Response(
            200,
            json={"jobs": [ct_job("JOB_STATUS_RUNNING", ["tr-1"])], "hasMore": False},
        )
    )
    api.get("/v1/test-runs/tr-1").mock(
        return_value=httpx.Response(200, json={"testRun": {"testRunId": "tr-1", "evalDataId": "ds-eval"}})
    )

    found = hook.find_active_continuous_test(PROJECT, FIREWALL, "ds-eval")
    other = hook.find_active_continuous_test(PROJECT, FIREWALL, "ds-another-day")

    assert found is not None and found.job_id == JOB and found.job_status is JobStatus.RUNNING
    assert other is None
    query = query_of(listing.calls[0].request)
    assert query["firstPageQuery.selectedTypes"] == ["JOB_TYPE_FIREWALL_BATCH_TEST"]
    assert set(query["firstPageQuery.selectedStatuses"]) >= {"JOB_STATUS_PENDING", "JOB_STATUS_RUNNING"}


def test_another_firewalls_job_is_not_re_attached(hook: RimeHook, api: respx.MockRouter) -> None:
    api.get(f"/v1/jobs/project/{PROJECT}").mock(
        return_value=httpx.Response(
            200,
            json={
                "jobs": [ct_job("JOB_STATUS_RUNNING", [], firewall="other", evalDatasetId="ds-eval")],
                "hasMore": False,
            },
        )
    )

    assert hook.find_active_continuous_test(PROJECT, FIREWALL, "ds-eval") is None


def test_bins_come_with_their_interval_and_verdict(hook: RimeHook, api: respx.MockRouter) -> None:
    def test_run(run_id: str, fail: int, warning: int) -> dict:
        return {
            "testRun": {
                "testRunId": run_id,
                "status": "TEST_TASK_STATUS_COMPLETED",
                "binTimeInterval": {
                    "startTime": f"2018-08-0{run_id[-1]}T00:00:00Z",
                    "endTime": f"2018-08-0{int(run_id[-1]) + 1}T00:00:00Z",
                },
                "metrics": {
                    "summaryCounts": {
                        "total": 10,
                        "pass": 10 - fail - warning,
                        "warning": warning,
                        "fail": fail,
                    }
                },
                "webAppUrl": {"url": f"rime.example/{run_id}"},
            }
        }

    api.get("/v1/test-runs/tr-2").mock(return_value=httpx.Response(200, json=test_run("tr-2", 1, 0)))
    api.get("/v1/test-runs/tr-1").mock(return_value=httpx.Response(200, json=test_run("tr-1", 0, 2)))
    from airflow_provider_rime.rime_api.documents import Job

    bins = hook.get_continuous_test_bins(Job.model_validate(ct_job("JOB_STATUS_SUCCEEDED", ["tr-2", "tr-1"])))

    assert [(b["test_run_id"], b["verdict"], b["start"]) for b in bins] == [
        ("tr-1", "warning", "2018-08-01T00:00:00Z"),
        ("tr-2", "alert", "2018-08-02T00:00:00Z"),
    ]
    assert bins[0]["url"] == "https://rime.example/tr-1"
    assert bins[0]["pass_rate"] == pytest.approx(0.8)


def test_events_are_read_as_rime_sdk_reads_them_and_kept_to_the_range(
    hook: RimeHook, api: respx.MockRouter
) -> None:
    def event(event_id: str, start: str, end: str, severity: str) -> dict:
        return {
            "id": {"uuid": event_id},
            "projectId": {"uuid": PROJECT},
            "firewallId": {"uuid": FIREWALL},
            "eventType": "EVENT_TYPE_METRIC_DEGRADATION",
            "severity": severity,
            "eventObjectId": "m1",
            "eventObjectName": "Accuracy",
            "eventTimeRange": {"startTime": start, "endTime": end},
            "description": "Accuracy fell",
            "detail": {"metricDegradation": {"rcaResult": {"description": "amount drifted"}}},
        }

    route = api.get(f"/v1-beta/detection-events/{PROJECT}").mock(
        return_value=httpx.Response(
            200,
            json={
                "events": [
                    event("e-old", "2018-08-01T00:00:00Z", "2018-08-02T00:00:00Z", "SEVERITY_ALERT"),
                    event("e-in", "2018-08-01T00:00:00Z", "2018-08-04T00:00:00Z", "SEVERITY_WARNING"),
                ],
                "hasMore": False,
            },
        )
    )

    events = hook.list_firewall_events(
        PROJECT, firewall_id=FIREWALL, start="2018-08-03T00:00:00Z", end="2018-08-04T00:00:00Z"
    )

    assert [(e["event_id"], e["verdict"], e["root_cause"]) for e in events] == [
        ("e-in", "warning", "amount drifted")
    ]
    assert query_of(sent(route))["firstPageReq.eventTypes"] == [
        "EVENT_TYPE_METRIC_DEGRADATION",
        "EVENT_TYPE_SECURITY",
    ]


def test_monitors_are_filtered_with_rime_sdks_query_keys(hook: RimeHook, api: respx.MockRouter) -> None:
    route = api.get(f"/v1-beta/monitors/{FIREWALL}").mock(
        return_value=httpx.Response(
            200,
            json={"monitors": [{"id": {"uuid": "m1"}, "name": "Accuracy", "firewallId": {"uuid": FIREWALL}}]},
        )
    )

    monitors = list(
        hook.list_monitors(FIREWALL, monitor_types=["Default"], risk_category_types=["Operational"])
    )

    assert [m.name for m in monitors] == ["Accuracy"]
    query = query_of(sent(route))
    assert query["firstPageReq.includedMonitorTypes"] == ["MONITOR_TYPE_DEFAULT"]
    assert query["firstPageReq.includedRiskCategoryTypes"] == ["RISK_CATEGORY_TYPE_OPERATIONAL_HEALTH"]


def test_firewall_url_gets_a_scheme(hook: RimeHook, api: respx.MockRouter) -> None:
    api.get(f"/v1-beta/firewall/{FIREWALL}/url").mock(
        return_value=httpx.Response(200, json={"url": {"url": "rime.example/firewall"}})
    )

    assert hook.get_firewall_url(FIREWALL) == "https://rime.example/firewall"
