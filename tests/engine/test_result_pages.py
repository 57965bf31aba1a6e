"""A test run's page: the summary first, charts of what the catalogue computed, sections that fold.

One stress test with a drifted, degraded evaluation split runs once on the session engine;
the HTML is checked as served, then the same page in a real headless chromium.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.engine.flow import (
    labelled_frame,
    ok,
    page_section,
    served_page,
    start_stress_test,
    wait_job,
)

PROJECT = "result-pages"


@pytest.fixture(scope="module")
def page_url(api, project_id, tmp_path_factory, rime_engine) -> str:
    job = start_stress_test(
        api,
        tmp_path_factory.mktemp("pages"),
        project_id,
        labelled_frame(3000, 11),
        labelled_frame(3000, 12, 1.0),
        "drifted and degraded",
        categories=[
            "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
            "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
            "TEST_CATEGORY_TYPE_DRIFT",
        ],
    )
    done = wait_job(api, job["jobId"])
    assert done["status"] == "JOB_STATUS_SUCCEEDED", done
    run = ok(api.get(f"/v1/test-runs/{job['jobData']['stress']['testRunId']}"))["testRun"]
    return run["webAppUrl"]["url"]


@pytest.fixture(scope="module")
def html(page_url, artifacts_dir, rime_engine) -> str:
    return served_page(rime_engine, page_url, artifacts_dir / "test-run-page.html")


def test_the_failing_list_starts_with_alerts_then_warnings(html):
    failing = page_section(html, "failing")
    severities = re.findall(r'<span class="pill (alert|warning)">', failing)
    assert severities and severities[0] == "alert" and "warning" in severities
    assert severities == sorted(severities)  # "alert" < "warning": every alert before any warning


def test_display_names_not_raw_keys(html):
    failing = page_section(html, "failing")
    assert "subset_" not in failing and "feature_drift" not in failing and "_degradation" not in failing
    assert "Feature Drift" in failing
    # one spelling of each category heading
    assert "Model performance" not in html and "Model Performance" in html


def test_each_failing_drift_case_has_its_distribution_drawn(html):
    drift = page_section(html, "drift-charts")
    svgs = re.findall(r"<svg .*?</svg>", drift, re.S)
    assert svgs, "no drift chart"
    root = ET.fromstring(svgs[0])
    titles = root.find("{http://www.w3.org/2000/svg}title")
    assert titles is not None and titles.text == "transaction_amount: reference and evaluation"
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if "bar" in (r.get("class") or "")]
    assert len(bars) == 20 and sum(float(b.get("width")) for b in bars) > 0  # 10 bins x 2 splits
    # the model's predictions drifted too: their deciles, drawn the same way
    assert ">prediction: reference and evaluation</title>" in drift


def test_subset_bars_and_calibration_curve_are_on_the_page(html):
    subsets = page_section(html, "subset-charts")
    assert 'class="chart chart-bars"' in subsets and 'class="overall"' in subsets
    calibration = page_section(html, "calibration-chart")
    assert calibration.count('class="point"') >= 10  # both curves, most bins populated
    assert "Perfect calibration" in calibration


def test_the_page_opens_as_a_summary(html):
    # the summary and the failing list open; the details folded
    assert re.search(r'<details id="failing" open>', html)
    for folded in ("subset-charts", "calibration-chart", "model-metrics", "TEST_CATEGORY_TYPE_DRIFT"):
        assert re.search(rf'<details id="{folded}"[^>]*>', html).group(0).find(" open") == -1


# ----------------------------------------------------------------------------- in a browser


@pytest.mark.browser
def test_in_a_browser_the_charts_are_drawn_and_sections_fold(page_url, goto_offline, artifacts_dir):
    page = goto_offline(page_url)
    # drawn: each drift chart has a box on screen and bars of non-zero width
    drift_charts = page.locator("#drift-charts svg.chart")
    assert drift_charts.count() >= 1
    box = drift_charts.first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    widths = drift_charts.first.locator("rect.bar").evaluate_all("els => els.map(e => e.getBBox().width)")
    assert len(widths) == 20 and max(widths) > 20
    # the failing list starts with an alert
    first = page.locator("#failing table.failing tr").nth(1).locator(".pill")
    assert first.inner_text() == "Alert"
    # folded sections hide their charts until opened
    subset_chart = page.locator("#subset-charts svg.chart").first
    assert not subset_chart.is_visible()
    page.locator("#subset-charts > summary").click()
    assert subset_chart.is_visible()
    assert subset_chart.locator("rect.bar").count() >= 2
    assert subset_chart.locator("line.overall").count() == 1
    page.locator("#calibration-chart > summary").click()
    curve = page.locator("#calibration-chart svg.chart")
    assert curve.is_visible() and curve.locator("circle.point").count() >= 10
    page.locator("#drift-charts > summary").click()
    assert not drift_charts.first.is_visible()
    page.locator("#drift-charts > summary").click()
    path = artifacts_dir / "test-run-page.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    print(f"screenshot of the test run page: {path}")
