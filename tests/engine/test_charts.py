"""The result pages' SVG charts: well-formed, accessible, and the marks where the numbers say."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from airflow_provider_rime.local.web import charts

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))  # raises on malformed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    title = root.find("s:title", NS)
    desc = root.find("s:desc", NS)
    assert title is not None and title.text and desc is not None and desc.text
    # the accessible name points at the title and the description
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{{{NS['s']}}}{tag}") if cls in (e.get("class") or "").split()]


def tooltip(element: ET.Element) -> str:
    t = element.find("s:title", NS)
    assert t is not None and t.text
    return t.text


def test_paired_histogram_draws_shares_of_each_split():
    root = parse(
        charts.paired_histogram(
            "amount: reference vs evaluation",
            ["< 10", "10 to 20", "amount is missing"],
            [50, 50, 0],
            [10, 70, 20],
        )
    )
    ref = marks(root, "rect", "ref")
    ev = marks(root, "rect", "eval")
    assert len(ref) == len(ev) == 3
    widths = [float(r.get("width")) for r in ref]
    assert widths[0] == pytest.approx(widths[1]) and widths[2] == 0  # 50% / 50% / 0%
    eval_widths = [float(r.get("width")) for r in ev]
    # 70% is 7 times 10% and the widest bar; bars grow to the right from one origin
    assert eval_widths[1] == pytest.approx(7 * eval_widths[0], rel=1e-3)
    assert max(eval_widths + widths) == eval_widths[1]
    assert tooltip(ev[1]) == "10 to 20: Evaluation 70.0% (70 rows)"
    assert "Reference" in ET.tostring(root, encoding="unicode")


def test_labels_are_escaped_and_long_ones_shortened_with_the_full_text_in_a_tooltip():
    label = "merchant = <Tom & Jerry's> " + "x" * 40
    root = parse(charts.paired_histogram("a < b & c", [label], [1], [2]))
    texts = [t for t in root.iter(f"{{{NS['s']}}}text") if t.find("s:title", NS) is not None]
    assert tooltip(texts[0]) == label
    assert texts[0].find("s:title", NS).tail.endswith("…")
    assert root.find("s:title", NS).text == "a < b & c"


def test_bars_with_the_overall_line_and_the_worst_highlighted():
    root = parse(
        charts.bars(
            "Subset accuracy by city",
            ["city = Rome", "city = Paris", "city is missing"],
            [0.9, 0.6, None],
            overall=0.8,
            axis_label="Accuracy",
            sizes=[100, 50, 0],
            highlight=1,
        )
    )
    bars = marks(root, "rect", "bar")
    assert len(bars) == 2  # no bar for the missing value
    assert float(bars[0].get("width")) == pytest.approx(1.5 * float(bars[1].get("width")), rel=1e-3)
    assert bars[1].get("fill") == charts.ALERT and bars[0].get("fill") == charts.EVALUATION
    assert tooltip(bars[1]) == "city = Paris: 0.6, 50 rows"
    (overall,) = marks(root, "line", "overall")
    x_overall = float(overall.get("x1"))
    # the overall line sits between the ends of the 0.6 and 0.9 bars, at 0.8
    left = float(bars[0].get("x"))
    end_06 = left + float(bars[1].get("width"))
    end_09 = left + float(bars[0].get("width"))
    assert x_overall == pytest.approx(end_06 + (end_09 - end_06) * 2 / 3, rel=1e-3)
    assert "no value" in ET.tostring(root, encoding="unicode")


def test_bars_with_negative_values_start_at_zero():
    root = parse(charts.bars("Change", ["a", "b"], [-0.2, 0.4], axis_label="Change"))
    a, b = marks(root, "rect", "bar")
    assert float(a.get("x")) + float(a.get("width")) == pytest.approx(float(b.get("x")), abs=0.2)


def test_calibration_points_on_the_unit_square_and_gaps_break_the_line():
    xs = [0.05, 0.15, 0.25, 0.35]
    root = parse(
        charts.calibration(
            "Calibration",
            [("Reference", xs, [0.0, 0.2, None, 0.4]), ("Evaluation", xs, [0.1, math.nan, 0.3, 0.5])],
            counts=[[10, 10, 0, 10], [5, 0, 5, 5]],
        )
    )
    points = marks(root, "circle", "point")
    assert len(points) == 6
    (diagonal,) = marks(root, "line", "diagonal")
    x0, y0, x1, y1 = (float(diagonal.get(k)) for k in ("x1", "y1", "x2", "y2"))
    # a point at (0.25, 0.3): x a quarter across, y 30% up the plot
    p = next(p for p in points if "predicted ≈ 0.25" in tooltip(p))
    assert float(p.get("cx")) == pytest.approx(x0 + 0.25 * (x1 - x0), abs=0.1)
    assert float(p.get("cy")) == pytest.approx(y0 - 0.3 * (y0 - y1), abs=0.1)
    assert tooltip(p) == "Evaluation: predicted ≈ 0.25, observed 0.3, 5 rows"
    # each curve has a gap: reference draws one 2-point line, evaluation one 2-point line
    lines = list(root.iter(f"{{{NS['s']}}}polyline"))
    assert sorted(len(line.get("points").split()) for line in lines) == [2, 2]


def test_time_series_points_thresholds_spans_and_links():
    times = [f"2026-01-{d:02d}" for d in range(1, 8)]
    values = [0.1, 0.12, 0.5, 0.7, None, 0.11, 0.1]
    root = parse(
        charts.time_series(
            "PSI of amount",
            times,
            values,
            axis_label="PSI",
            thresholds=[charts.Threshold("Warning", 0.2), charts.Threshold("Alert", 0.6, "alert")],
            spans=[charts.Span(2, 3, "Drift in amount", "alert")],
            links=[f"/runs/{i}" for i in range(7)],
            point_severities=["", "", "warning", "alert", "", "", ""],
        )
    )
    points = marks(root, "circle", "point")
    assert len(points) == 6
    warn, alert = marks(root, "line", "threshold")
    (span,) = marks(root, "rect", "span")
    assert tooltip(span) == "Drift in amount"
    ys = {tooltip(p).split(":")[0]: float(p.get("cy")) for p in points}
    # SVG y grows downwards: 0.7 above the alert line, 0.5 between the lines, 0.1 below both
    assert (
        ys["2026-01-04"]
        < float(alert.get("y1"))
        < ys["2026-01-03"]
        < float(warn.get("y1"))
        < ys["2026-01-01"]
    )
    xs = sorted(float(p.get("cx")) for p in points)
    span_x = float(span.get("x"))
    assert span_x < xs[2] < xs[3] < span_x + float(span.get("width")) < xs[4]
    # the points link to their bins; the missing bin breaks the line in two
    links = [a.get("href") for a in root.iter(f"{{{NS['s']}}}a")]
    assert links == ["/runs/0", "/runs/1", "/runs/2", "/runs/3", "/runs/5", "/runs/6"]
    assert [p.get("fill") for p in points[2:4]] == [charts.WARNING, charts.ALERT]
    assert len(list(root.iter(f"{{{NS['s']}}}polyline"))) == 2


def test_a_flat_series_and_empty_inputs_still_draw_valid_svg():
    root = parse(charts.time_series("Flat", ["a", "b"], [1.0, 1.0]))
    ys = {p.get("cy") for p in marks(root, "circle", "point")}
    assert len(ys) == 1
    for empty in (
        charts.time_series("None", [], []),
        charts.bars("None", [], []),
        charts.paired_histogram("None", ["a"], [1], []),
        charts.calibration("None", [("Reference", [0.5], [None])]),
    ):
        assert "No data to draw." in ET.tostring(parse(empty), encoding="unicode")


def test_the_same_input_gives_the_same_markup():
    args = ("PSI", ["a", "b"], [0.1, 0.2])
    assert charts.time_series(*args) == charts.time_series(*args)
    assert charts.time_series(*args) != charts.time_series("Other", ["a", "b"], [0.1, 0.2])


def test_figures_read_the_stored_metrics_and_shorten_labels():
    from airflow_provider_rime.local.web import figures

    case = {
        "metrics": [
            {"metric": "psi", "category": "X", "floatValue": 0.5},
            {"metric": "Reference Counts", "category": "X", "intList": {"values": ["3", "4"]}},
            {"metric": "Curve", "category": "X", "floatList": {"values": [0.25, None]}},
            {"metric": "Worst Subset Size", "category": "X", "intValue": "12"},
        ]
    }
    assert figures.metric(case, "Reference Counts") == [3, 4]
    assert figures.metric(case, "Curve") == [0.25, None]
    assert figures.metric(case, "Worst Subset Size") == 12
    assert figures.metric(case, "absent") is None
    # lists are for charts; single values are listed, with RIME's spelling of PSI
    assert figures.scalar_metrics(case) == [("PSI", 0.5), ("Worst Subset Size", 12)]
    assert figures.short_label("0.41 <= amount < 0.68", "amount") == "0.41 <= x < 0.68"
    assert figures.short_label("city = Rome", "city") == "Rome"
    assert figures.short_label("city: other values", "city") == "other values"
    assert figures.short_label("city is missing", "city") == "missing"
    assert [figures.bin_size_text(s) for s in (86_400, 7_200, 3_600, 604_800, 5_400)] == [
        "1 day",
        "2 hours",
        "1 hour",
        "1 week",
        "5400 seconds",
    ]
