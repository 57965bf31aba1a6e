"""From stored results to a page's charts: which cases get a chart, and the chart's numbers.

The numbers are the catalogue's own, stored with each test case as RIME metrics: a drift
case keeps its feature's row counts per bin (``Distribution Bins``, ``Reference Counts``,
``Evaluation Counts``), a subset case its subsets and their values (``Subsets``,
``Subset Sizes``, ``Subset <metric>``, ``Overall <metric>``), the calibration case both
curves. Nothing here recomputes a statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

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


def drift_figures(cases: list[dict[str, Any]]) -> list[Figure]:
    """Reference against evaluation distribution of each failing feature-drift case."""
    out = []
    for case in _failing(cases, {"feature_drift"}):
        labels, ref, ev = (
            metric(case, "Distribution Bins"),
            metric(case, "Reference Counts"),
            metric(case, "Evaluation Counts"),
        )
        if not labels or not ref or not ev:
            continue
        feature = ", ".join(case.get("features") or [])
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
