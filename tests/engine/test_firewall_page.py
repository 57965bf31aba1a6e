"""The continuous test's page: per monitor a chart over the bins, the bins with their verdicts, the events.

A week of daily bins runs once on the session engine through the REST API, the last three
days drifted and degraded; the page is checked as served, then in a headless chromium.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from tests.engine.flow import (
    labelled_frame,
    logged_in_client,
    ok,
    page_section,
    register_predictions,
    served_page,
    wait_job,
    wait_valid,
)

PROJECT = "firewall-page"
DAYS = 7
BAD_DAYS = {4, 5, 6}
SVG = "{http://www.w3.org/2000/svg}"


def _register(api, project_id: str, name: str, path: Path, params: dict[str, str]) -> str:
    body = {
        "projectId": {"uuid": project_id},
        "name": name,
        "dataInfo": {"connectionInfo": {"dataFile": {"path": str(path)}}, "dataParams": params},
    }
    dataset_id = ok(api.post(f"/v1/registry/{project_id}/dataset", json=body))["datasetId"]
    assert wait_valid(api, dataset_id)["validityStatus"] == "VALIDITY_STATUS_VALID"
    return dataset_id


@pytest.fixture(scope="module")
def firewall_url(api, project_id, tmp_path_factory, rime_engine) -> str:
    where = tmp_path_factory.mktemp("firewall-page")
    ref_path = where / "ref.parquet"
    labelled_frame(3000, 31).to_parquet(ref_path, index=False)
    days = []
    for day in range(DAYS):
        frame = labelled_frame(400, 40 + day, 1.0 if day in BAD_DAYS else 0.0)
        frame.insert(0, "ts", pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=day, minutes=5))
        days.append(frame)
    eval_path = where / "production.parquet"
    pd.concat(days, ignore_index=True).to_parquet(eval_path, index=False)
    ref_id = _register(api, project_id, "reference", ref_path, {"labelCol": "label"})
    eval_id = _register(api, project_id, "production", eval_path, {"labelCol": "label", "timestampCol": "ts"})
    model_id = ok(api.post(f"/v1/registry/{project_id}/model", json={"name": "model"}))["modelId"]["uuid"]
    register_predictions(api, project_id, model_id, ref_id, ref_path)
    register_predictions(api, project_id, model_id, eval_id, eval_path)
    firewall_id = ok(
        api.post(
            "/v1/firewall",
            json={
                "projectId": {"uuid": project_id},
                "modelId": {"uuid": model_id},
                "refDataId": ref_id,
                "binSize": "86400s",
            },
        )
    )["firewallId"]["uuid"]
    # before any bin: the page says what to do
    with logged_in_client(rime_engine) as client:
        empty = client.get(f"/projects/{project_id}/firewall")
    assert empty.status_code == 200 and "No bins tested yet" in empty.text
    # ... which categories each bin runs, and the monitors, there from the firewall's creation on
    assert "Model Performance, Subset Performance, Drift, Abnormal Inputs" in empty.text
    waiting = page_section(empty.text, "waiting-monitors")
    assert "Accuracy" in waiting and "Numeric Feature Drift" in waiting
    job = ok(
        api.post(
            f"/v1/continuous-tests/{firewall_id}",
            json={"testRunIncrementalConfig": {"evalDatasetId": eval_id}},
        )
    )["job"]
    done = wait_job(api, job["jobId"])
    assert done["status"] == "JOB_STATUS_SUCCEEDED", done
    return ok(api.get(f"/v1-beta/firewall/{firewall_id}/url"))["url"]["url"]


@pytest.fixture(scope="module")
def html(firewall_url, artifacts_dir, rime_engine) -> str:
    return served_page(rime_engine, firewall_url, artifacts_dir / "firewall-page.html")


def _charts(section: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", section, re.S)]


def _marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if cls in (e.get("class") or "").split()]


def test_a_bins_table_with_verdicts_linking_each_bins_test_run(html, project_id):
    bins = page_section(html, "bins")
    rows = re.findall(r"<tr><td><a href=\"(/projects/[^\"]+/test-runs/[^\"]+)\">(2026-03-\d\d)", bins)
    assert [day for _, day in rows] == [f"2026-03-{d + 1:02d}" for d in range(DAYS)]
    assert all(link.startswith(f"/projects/{project_id}/test-runs/") for link, _ in rows)
    rows_html = re.findall(r"<tr><td><a href=.*?</tr>", bins, re.S)
    assert len(rows_html) == DAYS
    verdicts = []
    for row in rows_html:
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        verdict = re.findall(r'class="pill (warning|alert)"', cells[3])
        flagged = re.findall(r'class="pill (warning|alert)"', cells[4])
        # the verdict is the worst of the monitors that warned or alerted in the bin
        expected = "alert" if "alert" in flagged else "warning" if flagged else None
        assert (verdict[0] if verdict else None) == expected, row
        verdicts.append(expected)
    # the drifted, degraded days alert
    assert all(verdicts[d] == "alert" for d in BAD_DAYS), verdicts


def test_per_monitor_a_time_series_with_thresholds_and_events_shaded(html):
    flagged = _charts(page_section(html, "monitor-charts"))
    assert flagged, "no monitor warned or alerted"
    for chart in flagged:
        points = _marks(chart, "circle", "point")
        assert 1 <= len(points) <= DAYS
        assert _marks(chart, "line", "threshold"), "no threshold line"
        # each point links to its bin's test run page
        links = [a.get("href") for a in chart.iter(SVG + "a")]
        assert len(links) == len(points) and all("/test-runs/" in link for link in links)
    shaded = [chart for chart in flagged if _marks(chart, "rect", "span")]
    assert shaded, "no detection event shaded"
    # an event spans the bad stretch: the last three of seven bins
    span = _marks(shaded[0], "rect", "span")[0]
    xs = sorted(float(p.get("cx")) for p in _marks(shaded[0], "circle", "point"))
    assert float(span.get("x")) < xs[-1] < float(span.get("x")) + float(span.get("width"))


def test_the_events_list_and_the_project_page_link(html, rime_engine, project_id):
    events = page_section(html, "events")
    assert events.count("<tr>") >= 2
    assert "2026-03-05 00:00 UTC" in events  # the bad stretch starts on day 5 (index 4)
    with logged_in_client(rime_engine) as client:
        project_page = client.get(f"/projects/{project_id}").text
    assert f'href="/projects/{project_id}/firewall"' in project_page
    assert "No stress test runs yet" in project_page  # bins are not listed as stress tests


def test_a_project_without_a_continuous_test_has_no_firewall_page(rime_engine, api):
    from tests.engine.flow import create_project

    other = create_project(api, "no-firewall-here")
    with logged_in_client(rime_engine) as client:
        response = client.get(f"/projects/{other}/firewall")
    assert response.status_code == 404
    assert "has no continuous test" in response.text


@pytest.mark.browser
def test_in_a_browser_the_monitor_charts_are_drawn_and_link_to_bins(
    firewall_url, goto_offline, artifacts_dir
):
    page = goto_offline(firewall_url)
    charts = page.locator("#monitor-charts svg.chart")
    assert charts.count() >= 1
    box = charts.first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150
    assert charts.first.locator("circle.point").count() >= 1
    assert charts.first.locator("line.threshold").count() >= 1
    assert page.locator("#monitor-charts rect.span").count() >= 1
    # folded: the monitors within their thresholds
    other = page.locator("#other-monitors svg.chart")
    if other.count():
        assert not other.first.is_visible()
        page.locator("#other-monitors > summary").click()
        assert other.first.is_visible()
        page.locator("#other-monitors > summary").click()
    path = artifacts_dir / "firewall-page.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    print(f"screenshot of the firewall page: {path}")
    # a point opens its bin's test run page, which links back
    charts.first.locator("a").last.click()
    page.wait_for_url(re.compile(r".*/test-runs/.*"))
    assert page.locator("a", has_text="continuous test").count() >= 1
