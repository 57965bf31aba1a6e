"""Charts of the result pages, drawn on the server as inline SVG.

No JavaScript and no CDN: every chart is a pure function from numbers to SVG markup, so a
page renders the same offline, in a screenshot and in a test. Each chart carries a
``<title>`` and a ``<desc>`` (read by screen readers), axis labels, a legend where there is
more than one series, and a ``<title>`` tooltip on every mark (bar, point, span).

Four kinds:

- :func:`time_series`: one value per time bin, with threshold lines and shaded spans
  (a monitor over a continuous test's bins, detection events shaded).
- :func:`paired_histogram`: the share of reference and evaluation rows per bin of a feature
  (numeric bins or categorical values), side by side.
- :func:`bars`: one bar per group with a line at the overall value (subset performance).
- :func:`calibration`: reliability diagram, observed positive rate against predicted
  probability, with the diagonal of perfect calibration.

Each chart takes its ``title`` first: the chart's heading and accessible name (its
``<title>``). Missing values (``None`` or NaN) draw no mark; the tooltip says "no value".
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from markupsafe import Markup, escape

#: Colours: reference grey, evaluation blue, warning amber, alert red.
REFERENCE = "#8a94a6"
EVALUATION = "#2f6fdf"
WARNING = "#d99a00"
ALERT = "#d33a2c"
SEVERITY_COLOURS = {"warning": WARNING, "alert": ALERT}

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Threshold:
    """A horizontal line across a time series: ``severity`` is "warning" or "alert"."""

    label: str
    value: float
    severity: str = "warning"


@dataclass(frozen=True)
class Span:
    """A shaded stretch of bins ``start..end`` (inclusive indices) of a time series."""

    start: int
    end: int
    label: str
    severity: str = "warning"


def _finite(value: float | None) -> TypeGuard[float]:
    return isinstance(value, int | float) and math.isfinite(value)


def _finite_values(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if _finite(v)]


def _fmt(value: float | None, digits: int = 3) -> str:
    if not _finite(value):
        return "no value"
    assert value is not None
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.{digits}g}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _nice_max(value: float) -> float:
    """A round upper end of an axis at or above ``value``."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _ticks(low: float, high: float, n: int = 4) -> list[float]:
    return [low + (high - low) * i / n for i in range(n + 1)]


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(width: int, height: int, title: str, desc: str, kind: str) -> tuple[str, list[str]]:
    # Ids from the content: the same input gives the same markup (pure), distinct charts differ.
    uid = "chart-" + hashlib.blake2s(f"{kind}|{title}|{desc}".encode(), digest_size=5).hexdigest()
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" {_FONT}>'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13" font-weight="600">'
        f"{escape(_short(title, 70))}</text>"
    )
    return uid, [head]


def _legend(parts: list[str], x: float, y: float, items: Sequence[tuple[str, str, str]]) -> None:
    """Legend entries ``(label, colour, shape)`` left to right from ``(x, y)``; shape "box" or "line"."""
    for label, colour, shape in items:
        if shape == "line":
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 14:.1f}" y2="{y - 4:.1f}" '
                f'stroke="{colour}" stroke-width="2" stroke-dasharray="4 3"/>'
            )
        else:
            parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 18:.1f}" y="{y:.1f}">{escape(label)}</text>')
        x += 26 + 6.2 * len(label)


def _close(parts: list[str]) -> Markup:
    parts.append("</svg>")
    return Markup("".join(parts))


def _no_data(title: str, width: int, kind: str) -> Markup:
    _, parts = _open(width, 60, title, "No data to draw.", kind)
    parts.append(
        f'<text x="{width / 2:.1f}" y="42" text-anchor="middle" fill="#6b7385">No data to draw.</text>'
    )
    return _close(parts)


def paired_histogram(
    title: str,
    labels: Sequence[str],
    reference: Sequence[float],
    evaluation: Sequence[float],
    *,
    axis_label: str = "Share of rows",
    width: int = 460,
) -> Markup:
    """Reference and evaluation shares of each bin, as pairs of horizontal bars.

    Parameters
    ----------
    title : str
        The chart's title (also its accessible name).
    labels : sequence of str
        The bins: numeric ranges or categorical values, drawn top to bottom.
    reference, evaluation : sequence of float
        Row counts per bin of each split; each split is drawn as shares of its total.
    axis_label : str, default "Share of rows"
        Label of the value axis.
    width : int, default 460
        Width in pixels; the height follows the number of bins.

    Returns
    -------
    markupsafe.Markup
        An ``<svg>`` element; one ``<rect class="bar ref">`` and one ``<rect class="bar eval">``
        per bin, each with a tooltip giving the share and the count.
    """
    if not labels or len(reference) != len(labels) or len(evaluation) != len(labels):
        return _no_data(title, width, "histogram")
    ref_total = sum(v for v in reference if _finite(v)) or 1.0
    eval_total = sum(v for v in evaluation if _finite(v)) or 1.0
    ref_share = [(v / ref_total if _finite(v) else 0.0) for v in reference]
    eval_share = [(v / eval_total if _finite(v) else 0.0) for v in evaluation]
    top = _nice_max(max(ref_share + eval_share))
    left, right, row = 170, 16, 22
    plot_top = 44
    plot_h = row * len(labels)
    height = plot_top + plot_h + 42
    plot_w = width - left - right
    desc = f"Share of reference and evaluation rows in each of {len(labels)} bins. " + "; ".join(
        f"{lab}: reference {_pct(r)}, evaluation {_pct(e)}"
        for lab, r, e in zip(labels, ref_share, eval_share, strict=True)
    )
    _, parts = _open(width, height, title, desc, "histogram")
    _legend(parts, left, 34, [("Reference", REFERENCE, "box"), ("Evaluation", EVALUATION, "box")])
    for tick in _ticks(0.0, top):
        x = left + plot_w * tick / top
        parts.append(
            f'<line x1="{x:.1f}" y1="{plot_top}" x2="{x:.1f}" y2="{plot_top + plot_h}" stroke="#e3e6ec"/>'
            f'<text x="{x:.1f}" y="{plot_top + plot_h + 14}" text-anchor="middle">{_pct(tick)}</text>'
        )
    for i, label in enumerate(labels):
        y = plot_top + i * row
        parts.append(
            f'<text x="{left - 6}" y="{y + row / 2 + 4:.1f}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(_short(label, 25))}</text>"
        )
        for j, (share, n, colour, cls, split) in enumerate(
            (
                (ref_share[i], reference[i], REFERENCE, "ref", "Reference"),
                (eval_share[i], evaluation[i], EVALUATION, "eval", "Evaluation"),
            )
        ):
            w = plot_w * share / top
            n_text = f"{int(n):,}" if _finite(n) else "no"
            parts.append(
                f'<rect class="bar {cls}" x="{left}" y="{y + 3 + j * 8:.1f}" width="{max(w, 0.0):.1f}" '
                f'height="8" fill="{colour}"><title>{escape(label)}: {split} {_pct(share)} '
                f"({n_text} rows)</title></rect>"
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(axis_label)}</text>'
    )
    return _close(parts)


def bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    overall: float | None = None,
    overall_label: str = "Overall",
    axis_label: str = "",
    sizes: Sequence[int] | None = None,
    highlight: int | None = None,
    width: int = 460,
) -> Markup:
    """One horizontal bar per group, with a dashed line at the overall value.

    Parameters
    ----------
    labels : sequence of str
        The groups (subsets), drawn top to bottom.
    values : sequence of float or None
        Each group's value; ``None``/NaN draws no bar.
    overall : float, optional
        The value over all rows, drawn as a vertical dashed line.
    overall_label : str, default "Overall"
        The legend's name of that line.
    axis_label : str
        Label of the value axis (the metric's name).
    sizes : sequence of int, optional
        Rows per group, shown in the tooltips.
    highlight : int, optional
        Index of a group to draw in the alert colour (the worst subset).
    width : int, default 460
        Width in pixels; the height follows the number of groups.

    Returns
    -------
    markupsafe.Markup
        An ``<svg>`` element with one ``<rect class="bar">`` per group with a value, and a
        ``<line class="overall">`` when ``overall`` is given.
    """
    if not labels or len(values) != len(labels):
        return _no_data(title, width, "bars")
    finite = _finite_values([*values, overall])
    low = min(0.0, *finite) if finite else 0.0
    top = _nice_max(max(finite, default=1.0)) if finite else 1.0
    left, right, row = 170, 40, 20
    plot_top = 44
    plot_h = row * len(labels)
    height = plot_top + plot_h + 42
    plot_w = width - left - right
    span = (top - low) or 1.0

    def xpos(v: float) -> float:
        return left + plot_w * (v - low) / span

    desc = f"{axis_label or 'Value'} of {len(labels)} groups" + (
        f" against {_fmt(overall)} overall. " if _finite(overall) else ". "
    )
    desc += "; ".join(f"{lab}: {_fmt(v)}" for lab, v in zip(labels, values, strict=True))
    _, parts = _open(width, height, title, desc, "bars")
    if _finite(overall):  # one series: the legend only names the line
        _legend(parts, left, 34, [(f"{overall_label} {_fmt(overall)}", "#1d2330", "line")])
    for tick in _ticks(low, top):
        x = xpos(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{plot_top}" x2="{x:.1f}" y2="{plot_top + plot_h}" stroke="#e3e6ec"/>'
            f'<text x="{x:.1f}" y="{plot_top + plot_h + 14}" text-anchor="middle">{_fmt(tick, 2)}</text>'
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = plot_top + i * row
        parts.append(
            f'<text x="{left - 6}" y="{y + row / 2 + 4:.1f}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(_short(label, 25))}</text>"
        )
        if not _finite(value):
            parts.append(f'<text x="{left + 4}" y="{y + row / 2 + 4:.1f}" fill="#6b7385">no value</text>')
            continue
        assert value is not None
        x0, x1 = sorted((xpos(0.0 if low <= 0 else low), xpos(value)))
        colour = ALERT if i == highlight else EVALUATION
        size = f", {sizes[i]:,} rows" if sizes is not None and i < len(sizes) else ""
        parts.append(
            f'<rect class="bar" x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1.0):.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(label)}: {_fmt(value)}{size}</title></rect>'
        )
    if _finite(overall):
        assert overall is not None
        x = xpos(overall)
        parts.append(
            f'<line class="overall" x1="{x:.1f}" y1="{plot_top - 2}" x2="{x:.1f}" '
            f'y2="{plot_top + plot_h + 2}" '
            f'stroke="#1d2330" stroke-width="2" stroke-dasharray="4 3">'
            f"<title>{escape(overall_label)}: {_fmt(overall)}</title></line>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(axis_label)}</text>'
    )
    return _close(parts)


def calibration(
    title: str,
    curves: Sequence[tuple[str, Sequence[float], Sequence[float | None]]],
    *,
    counts: Sequence[Sequence[int]] | None = None,
    width: int = 340,
) -> Markup:
    """Reliability diagram: observed positive rate against predicted probability.

    Parameters
    ----------
    curves : sequence of (name, x, y)
        Each curve's name ("Reference", "Evaluation"), bin positions on [0, 1] and observed
        positive rates (``None``/NaN for an empty bin, which breaks the line).
    counts : sequence of sequences of int, optional
        Rows per bin of each curve, shown in the tooltips.
    width : int, default 340
        Width and height of the square plot area plus margins.

    Returns
    -------
    markupsafe.Markup
        An ``<svg>`` element with the diagonal (``line.diagonal``), one ``polyline`` per curve
        segment and one ``circle.point`` per non-empty bin.
    """
    if not curves or not any(any(_finite(v) for v in ys) for _, _, ys in curves):
        return _no_data(title, width, "calibration")
    left, top_margin, bottom = 48, 44, 40
    size = width - left - 16
    height = top_margin + size + bottom
    colours = [REFERENCE, EVALUATION, ALERT, WARNING]

    def pos(x: float, y: float) -> tuple[float, float]:
        return left + size * x, top_margin + size * (1.0 - y)

    desc = "Observed positive rate per bin of predicted probability; the diagonal is perfect calibration. "
    desc += " ".join(
        f"{name}: "
        + ", ".join(f"{_fmt(x, 2)} → {_fmt(y)}" for x, y in zip(xs, ys, strict=True) if _finite(y))
        + "."
        for name, xs, ys in curves
    )
    _, parts = _open(width, height, title, desc, "calibration")
    _legend(
        parts,
        left,
        34,
        [(name, colours[i % len(colours)], "box") for i, (name, _, _) in enumerate(curves)],
    )
    for tick in _ticks(0.0, 1.0):
        x, y = pos(tick, tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top_margin}" x2="{x:.1f}" y2="{top_margin + size}" stroke="#e3e6ec"/>'
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + size}" y2="{y:.1f}" stroke="#e3e6ec"/>'
            f'<text x="{x:.1f}" y="{top_margin + size + 14}" text-anchor="middle">{_fmt(tick, 2)}</text>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick, 2)}</text>'
        )
    x0, y0 = pos(0, 0)
    x1, y1 = pos(1, 1)
    parts.append(
        f'<line class="diagonal" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#b8bfcc" '
        'stroke-dasharray="4 3"><title>Perfect calibration</title></line>'
    )
    for i, (name, xs, ys) in enumerate(curves):
        colour = colours[i % len(colours)]
        coords: list[tuple[float, float] | None] = []
        points: list[str] = []
        for j, (xv, yv) in enumerate(zip(xs, ys, strict=True)):
            if not _finite(yv):
                coords.append(None)
                continue
            px, py = pos(min(max(xv, 0.0), 1.0), min(max(yv, 0.0), 1.0))
            coords.append((px, py))
            n = f", {counts[i][j]:,} rows" if counts is not None and j < len(counts[i]) else ""
            points.append(
                f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(name)}: predicted ≈ {_fmt(xv, 2)}, observed {_fmt(yv)}{n}</title></circle>"
            )
        parts.extend(_broken_line(coords, colour))
        parts.extend(points)
    parts.append(
        f'<text x="{left + size / 2:.1f}" y="{height - 8}" text-anchor="middle">Predicted probability</text>'
        f'<text transform="translate(12 {top_margin + size / 2:.1f}) rotate(-90)" text-anchor="middle">'
        "Observed positive rate</text>"
    )
    return _close(parts)


def _polyline(points: list[str], colour: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>'


def _broken_line(coords: Sequence[tuple[float, float] | None], colour: str) -> list[str]:
    """The polylines through ``coords``, broken at each missing point (``None``); a run of
    fewer than two points draws none. The last run's line comes first."""
    lines: list[str] = []
    segment: list[str] = []
    for point in [*coords, None]:
        if point is None:
            if len(segment) > 1:
                lines.insert(0, _polyline(segment, colour))
            segment = []
        else:
            segment.append(f"{point[0]:.1f},{point[1]:.1f}")
    return lines


def time_series(
    title: str,
    times: Sequence[str],
    values: Sequence[float | None],
    *,
    axis_label: str = "",
    thresholds: Sequence[Threshold] = (),
    spans: Sequence[Span] = (),
    links: Sequence[str | None] | None = None,
    point_severities: Sequence[str] | None = None,
    width: int = 720,
    height: int = 240,
) -> Markup:
    """One point per time bin joined by a line, with threshold lines and shaded spans.

    Parameters
    ----------
    title : str
        The chart's title (the monitor's name).
    times : sequence of str
        The bins' labels (start times), left to right.
    values : sequence of float or None
        The value per bin; ``None``/NaN draws no point and breaks the line.
    axis_label : str
        Label of the value axis (the metric).
    thresholds : sequence of Threshold
        Horizontal lines (warning amber, alert red).
    spans : sequence of Span
        Stretches of bins to shade (detection events), with their label as tooltip.
    links : sequence of str or None, optional
        Per bin, a URL the point links to (the bin's test run page).
    point_severities : sequence of str, optional
        Per bin, "warning" or "alert" to colour the point; anything else is the normal colour.
    width, height : int
        Size in pixels.

    Returns
    -------
    markupsafe.Markup
        An ``<svg>`` with ``rect.span`` per span, ``line.threshold`` per threshold, a
        ``polyline`` per run of bins with values and one ``circle.point`` per such bin.
    """
    if not times or len(values) != len(times):
        return _no_data(title, width, "timeseries")
    left, right, top_margin, bottom = 56, 16, 44, 56
    plot_w = width - left - right
    plot_h = height - top_margin - bottom
    finite = _finite_values([*values, *(t.value for t in thresholds)])
    low = min(finite, default=0.0)
    high = max(finite, default=1.0)
    low = min(low, 0.0) if low >= 0 and high > 0 and low < high * 0.5 else low
    if high == low:
        high, low = high + (abs(high) or 1.0) * 0.1, low - (abs(low) or 1.0) * 0.1
    pad = (high - low) * 0.08
    high += pad
    low = low - pad if low != 0 else low
    n = len(times)
    step = plot_w / n

    def xpos(i: float) -> float:
        return left + step * (i + 0.5)

    def ypos(v: float) -> float:
        return top_margin + plot_h * (1.0 - (v - low) / (high - low))

    desc = f"{axis_label or 'Value'} per bin, {n} bins from {times[0]} to {times[-1]}."
    if thresholds:
        desc += " Thresholds: " + ", ".join(f"{t.label} {_fmt(t.value)}" for t in thresholds) + "."
    if spans:
        desc += (
            " Shaded: " + "; ".join(f"{s.label} ({times[s.start]} to {times[s.end]})" for s in spans) + "."
        )
    _, parts = _open(width, height, title, desc, "timeseries")
    legend: list[tuple[str, str, str]] = [(axis_label or "Value", EVALUATION, "box")]
    legend += [
        (f"{t.label} {_fmt(t.value)}", SEVERITY_COLOURS.get(t.severity, WARNING), "line") for t in thresholds
    ]
    _legend(parts, left, 34, legend)
    for span in spans:
        start, end = max(0, span.start), min(n - 1, span.end)
        colour = SEVERITY_COLOURS.get(span.severity, WARNING)
        parts.append(
            f'<rect class="span" x="{left + step * start:.1f}" y="{top_margin}" '
            f'width="{step * (end - start + 1):.1f}" height="{plot_h}" fill="{colour}" fill-opacity="0.13">'
            f"<title>{escape(span.label)}</title></rect>"
        )
    for tick in _ticks(low, high):
        y = ypos(tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e3e6ec"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick, 2)}</text>'
        )
    every = max(1, math.ceil(n / max(1, plot_w // 70)))
    for i in range(0, n, every):
        parts.append(
            f'<text x="{xpos(i):.1f}" y="{top_margin + plot_h + 14}" text-anchor="middle">'
            f"{escape(_short(times[i], 12))}</text>"
        )
    for t in thresholds:
        if not _finite(t.value) or not low <= t.value <= high:
            continue
        y = ypos(t.value)
        parts.append(
            f'<line class="threshold" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{SEVERITY_COLOURS.get(t.severity, WARNING)}" stroke-width="1.5" stroke-dasharray="5 4">'
            f"<title>{escape(t.label)}: {_fmt(t.value)}</title></line>"
        )
    coords: list[tuple[float, float] | None] = []
    marks: list[str] = []
    for i, value in enumerate(values):
        if not _finite(value):
            coords.append(None)
            continue
        x, y = xpos(i), ypos(value)
        coords.append((x, y))
        severity = point_severities[i] if point_severities is not None and i < len(point_severities) else ""
        colour = SEVERITY_COLOURS.get(severity, EVALUATION)
        point = (
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
            f"<title>{escape(times[i])}: {_fmt(value)}</title></circle>"
        )
        link = links[i] if links is not None and i < len(links) else None
        marks.append(f'<a href="{escape(link)}">{point}</a>' if link else point)
    parts.extend(_broken_line(coords, EVALUATION))
    parts.extend(marks)
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">Bin start (UTC)</text>'
        f'<text transform="translate(12 {top_margin + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(_short(axis_label, 30))}</text>"
    )
    return _close(parts)
