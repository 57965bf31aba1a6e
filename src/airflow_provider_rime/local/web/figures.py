"""From stored results to a page's charts: which cases get a chart, and the chart's numbers.

The numbers are the catalogue's own, stored with each test case as RIME metrics: a drift
case keeps its feature's row counts per bin (``Distribution Bins``, ``Reference Counts``,
``Evaluation Counts``), a subset case its subsets and their values (``Subsets``,
``Subset Sizes``, ``Subset <metric>``, ``Overall <metric>``), the calibration case both
curves; a continuous test's monitors keep one value per bin. Nothing here recomputes a
statistic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from markupsafe import Markup

from airflow_provider_rime.local.services.monitors import FirewallOverview
from airflow_provider_rime.local.web import charts
from airflow_provider_rime.rime_api.enums import Severity

#: Charts of one kind drawn on a test run's page (the most important failing cases).
CHARTS_PER_SECTION = 12

#: Metric names shown as RIME's web app writes them.
_METRIC_LABELS = {"psi": "PSI"}


def metric_label(name: str) -> str:
    """A metric's name for a page (``psi`` is ``PSI``)."""
    return _METRIC_LABELS.get(name, name)


def metric(case: dict[str, Any], name: str) -> Any:
    """The value of the case's metric ``name`` (lists as Python lists, ints as ints), or None."""
    for m in case.get("metrics") or []:
        if m.get("metric") != name:
            continue
        if "floatValue" in m:
            return m["floatValue"]
        if "intValue" in m:
            return int(m["intValue"])
        if "strValue" in m:
            return m["strValue"]
        if "floatList" in m:
            return [None if v is None else float(v) for v in m["floatList"].get("values", [])]
        if "intList" in m:
            return [int(v) for v in m["intList"].get("values", [])]
        if "strList" in m:
            return list(m["strList"].get("values", []))
        return None
    return None


def scalar_metrics(case: dict[str, Any]) -> list[tuple[str, Any]]:
    """The case's single-valued metrics, labelled for a page (the lists are for charts)."""
    out = []
    for m in case.get("metrics") or []:
        if any(key in m for key in ("floatList", "intList", "strList")):
            continue
        value = metric(case, m.get("metric", ""))
        out.append((metric_label(m.get("metric", "")), "" if value is None else value))
    return out


def short_label(label: str, feature: str) -> str:
    """A bin or subset label without its feature's name (the chart's title names it).

    ``city = Rome`` is ``Rome``, ``city is missing`` is ``missing``, and in a range the feature
    is ``x``: ``0.41 <= x < 0.68``.
    """
    if not feature:
        return label
    if label == f"{feature} is missing":
        return "missing"
    for prefix in (f"{feature} = ", f"{feature}: "):
        if label.startswith(prefix):
            return label[len(prefix) :]
    return label.replace(feature, "x")


def severity_rank(case: dict[str, Any]) -> int:
    try:
        return Severity(case.get("severity")).rank
    except ValueError:
        return 0


@dataclass(frozen=True)
class Figure:
    """A chart with what it is about: its case's severity and a caption."""

    svg: Markup
    severity: str
    caption: str


def _failing(cases: list[dict[str, Any]], test_types: set[str] | None = None) -> list[dict[str, Any]]:
    return [
        c
        for c in cases
        if severity_rank(c) > 0 and (test_types is None or c.get("testBatchType") in test_types)
    ]


#: Drift tests whose cases keep a distribution per bin: each feature's, the predictions'.
DISTRIBUTION_TESTS = ("feature_drift", "prediction_drift")


def drift_figures(cases: list[dict[str, Any]]) -> list[Figure]:
    """Reference against evaluation distribution of each failing feature or prediction drift case."""
    out = []
    for case in _failing(cases, set(DISTRIBUTION_TESTS)):
        labels, ref, ev = (
            metric(case, "Distribution Bins"),
            metric(case, "Reference Counts"),
            metric(case, "Evaluation Counts"),
        )
        if not labels or not ref or not ev:
            continue
        feature = ", ".join(case.get("features") or []) or "prediction"
        stat = next((f"{label} {v:.3g}" for label, v in scalar_metrics(case) if isinstance(v, float)), "")
        out.append(
            Figure(
                charts.paired_histogram(
                    f"{feature}: reference and evaluation",
                    [short_label(label, feature) for label in labels],
                    ref,
                    ev,
                    axis_label=f"Share of rows (x = {feature})",
                ),
                case.get("severity", ""),
                f"{feature} ({stat})" if stat else feature,
            )
        )
        if len(out) == CHARTS_PER_SECTION:
            break
    return out


def subset_figures(cases: list[dict[str, Any]], test_names: dict[str, str]) -> list[Figure]:
    """Per failing subset-performance case, the metric of every subset with the overall line."""
    out = []
    for case in _failing(cases):
        test_type = case.get("testBatchType", "")
        if not test_type.startswith("subset_"):
            continue
        name = test_names.get(test_type, test_type)
        metric_name = name.removeprefix("Subset ")
        labels = metric(case, "Subsets")
        values = metric(case, f"Subset {metric_name}")
        if not labels or values is None or len(values) != len(labels):
            continue
        worst = metric(case, "Worst Subset")
        feature = ", ".join(case.get("features") or [])
        out.append(
            Figure(
                charts.bars(
                    f"{name} by {feature}",
                    [short_label(label, feature) for label in labels],
                    [v if v is None or math.isfinite(v) else None for v in values],
                    overall=metric(case, f"Overall {metric_name}"),
                    overall_label="Overall",
                    axis_label=f"{metric_name} (x = {feature})" if feature else metric_name,
                    sizes=metric(case, "Subset Sizes"),
                    highlight=labels.index(worst) if worst in labels else None,
                ),
                case.get("severity", ""),
                f"{name}, {feature}: worst subset {worst}" if worst else f"{name}, {feature}",
            )
        )
        if len(out) == CHARTS_PER_SECTION:
            break
    return out


def calibration_figure(cases: list[dict[str, Any]]) -> Figure | None:
    """The reliability diagram of the calibration-comparison case, failing or not."""
    for case in cases:
        if case.get("testBatchType") != "calibration_comparison":
            continue
        xs = metric(case, "Predicted Probability Bins")
        ref = metric(case, "Reference Calibration Curve")
        ev = metric(case, "Evaluation Calibration Curve")
        if not xs or ref is None or ev is None:
            return None
        counts = [
            metric(case, "Reference Calibration Rows") or [],
            metric(case, "Evaluation Calibration Rows") or [],
        ]
        mse = metric(case, "Calibration MSE")
        caption = f"Calibration MSE {mse:.4f}" if isinstance(mse, float) else "Calibration"
        return Figure(
            charts.calibration(
                "Calibration: reference and evaluation",
                [("Reference", xs, ref), ("Evaluation", xs, ev)],
                counts=counts,
            ),
            case.get("severity", ""),
            caption,
        )
    return None


# ----------------------------------------------------------------------------- the firewall page


def bin_label(start: datetime, bin_seconds: int) -> str:
    """A bin's start as an axis shows it: the date for daily (or longer) bins, else date and hour."""
    return start.strftime("%Y-%m-%d" if bin_seconds >= 86_400 else "%m-%d %H:%M")


def bin_size_text(seconds: int) -> str:
    """``86400`` is "1 day", ``7200`` "2 hours"."""
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def monitor_figures(overview: FirewallOverview, test_run_url: Callable[[str], str]) -> list[Figure]:
    """Per monitor with values, its series over every bin of the continuous test.

    One point per bin (linking to the bin's test run page, coloured by its severity), the
    monitor's warning and alert thresholds as lines, its detection events shaded. Monitors that
    warned or alerted come first, worst first; the rest keep the monitors' order.
    """
    bins = overview.bins
    index = {b.test_run_id: i for i, b in enumerate(bins)}
    seconds = overview.firewall.bin_size_seconds
    times = [bin_label(b.start, seconds) for b in bins]
    links = [test_run_url(b.test_run_id) for b in bins]
    events_by_monitor: dict[str, list[Any]] = {}
    for event, _name in overview.events:
        events_by_monitor.setdefault(event.monitor_id, []).append(event)
    out: list[tuple[int, int, Figure]] = []
    for position, series in enumerate(overview.series):
        if not series.points or not bins:
            continue
        values: list[float | None] = [None] * len(bins)
        severities = [""] * len(bins)
        worst = 0
        for point in series.points:
            i = index.get(point.test_run_id)
            if i is None:
                continue
            values[i] = point.value
            severities[i] = _severity_class(point.severity)
            worst = max(worst, point.severity.rank)
        monitor = series.monitor
        thresholds = [
            charts.Threshold(label, value, sev)
            for label, value, sev in (
                ("Warning", series.warning, "warning"),
                ("Alert", series.alert, "alert"),
            )
            if value is not None
        ]
        spans = []
        for event in events_by_monitor.get(monitor.id, []):
            inside = [
                i
                for i, b in enumerate(bins)
                if b.start >= _aware(event.start_time) and b.end <= _aware(event.end_time)
            ]
            if inside:
                spans.append(
                    charts.Span(
                        min(inside), max(inside), event.description, _severity_class(Severity(event.severity))
                    )
                )
        direction = "lower is worse" if series.lower_is_worse else "higher is worse"
        svg = charts.time_series(
            monitor.name,
            times,
            values,
            axis_label=monitor.metric_name,
            thresholds=thresholds,
            spans=spans,
            links=links,
            point_severities=severities,
            width=520,
            height=230,
        )
        caption = f"{monitor.metric_name} per bin ({direction})"
        if spans:
            caption += f"; {len(spans)} detection event{'s' if len(spans) != 1 else ''} shaded"
        out.append((-worst, position, Figure(svg, Severity.from_rank(worst).value, caption)))
    return [figure for _, _, figure in sorted(out, key=lambda t: (t[0], t[1]))]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _severity_class(severity: Severity) -> str:
    return {Severity.WARNING: "warning", Severity.ALERT: "alert"}.get(severity, "")
