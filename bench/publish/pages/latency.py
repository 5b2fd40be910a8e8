"""A suite's latency page: the latest run's cells as a sortable table (the terminal's figures, one row per
cell), and every cell's p50 across the runs, one chart per encoder/backend/dtype/threads row."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from bench.publish import figures
from bench.publish.context import Context
from bench.publish.html import Td, esc, link, table
from bench.publish.inputs import SuiteRuns
from bench.publish.machine import commit
from bench.publish.pages.quality import ONE_RUN
from bench.publish.trend import CellTrend, Point, latency_trends, row_key
from bench.results import CellResult, Report
from bench.speedup import speedup
from bench.stats import format_ns

KIND = "latency"
MS = 1e6  # ns per ms: the charts' unit


def applies(suite: SuiteRuns) -> bool:
    """Whether any run measured latency."""
    return any(run.report.cells for run in suite.runs)


def _speedup_td(report: Report, result: CellResult) -> Td:
    found = speedup(report, result)
    if found is None:
        return Td("")
    text = f"×{found.value:.2f}"
    if found.wide:  # as the terminal marks it
        text = f"~{text} ({found.low:.2f}–{found.high:.2f})"
    return Td(text, sort=found.value)


def _row(report: Report, result: CellResult, references: set[str]) -> list[Td | str]:
    cell, stats = result.cell, result.end_to_end
    low, high = stats.median_ci or (stats.median, stats.median)
    backend = f"{cell.backend} (reference)" if cell.backend in references else cell.backend
    return [
        cell.encoder,
        backend,
        f"{cell.device} {cell.dtype}",
        Td("" if cell.threads is None else cell.threads, sort=cell.threads),
        Td(cell.batch_size, sort=cell.batch_size),
        Td(format_ns(stats.median), sort=stats.median),
        Td(f"{format_ns(low)}–{format_ns(high)}", sort=low),
        Td(format_ns(stats.p99), sort=stats.p99) if stats.p99 is not None else Td("-"),
        Td(f"{stats.throughput:,.0f}", sort=stats.throughput) if stats.throughput else Td("-"),
        Td(stats.n, sort=stats.n),
        _speedup_td(report, result),
        Td("; ".join(result.warnings), cls="warn wrap"),
    ]


def latest_table(report: Report) -> str:
    """The latest run's cells, one row each."""
    references = {s.backend for s in report.setups if (s.info or {}).get("reference")}
    baseline = report.latency_baseline or "the baseline encoder"
    headers = ["encoder", "backend", "device", "threads", "batch", "p50", "p50 95% CI", "p99", "q/s", "n"]
    headers += [f"speed-up vs {baseline}", "warnings"]
    rows = [_row(report, result, references) for result in report.cells]
    caption = "end to end (text in, normalised vector out); click a header to sort"
    return table(headers, rows, caption=caption, table_id="latency-latest")


def _hover(point: Point, machine: str) -> list[str]:
    ci = point.ci
    interval = f"{format_ns(ci[0])}–{format_ns(ci[1])}" if ci else "none"
    when = point.source.started.strftime("%Y-%m-%d %H:%M")
    return [point.source.link, commit(point.source.report.environment), when, interval, machine]


_HOVER = (
    "<b>%{fullData.name}</b><br>p50 %{y:.4g} ms (95% CI %{customdata[3]})<br>"
    "%{customdata[2]} UTC · commit %{customdata[1]} · %{customdata[4]}<extra></extra>"
)


def _series(fig: go.Figure, trend: CellTrend, name: str, colour: int, dash: str) -> None:
    """The band (the median's interval) under the p50 line of one trend."""
    points = trend.points
    x = [p.source.started.isoformat() for p in points]
    low = [(p.ci[0] if p.ci else p.value) / MS for p in points]
    high = [(p.ci[1] if p.ci else p.value) / MS for p in points]
    for edge, fill in ((high, None), (low, "tonexty")):
        fig.add_scatter(
            x=x, y=edge, mode="lines", line={"width": 0}, fill=fill, fillcolor=figures.band_colour(colour),
            hoverinfo="skip", showlegend=False, legendgroup=name,
        )  # fmt: skip
    fig.add_scatter(
        x=x, y=[p.value / MS for p in points], mode="lines+markers", name=name, legendgroup=name,
        line={"color": figures.colour(colour), "dash": dash, "width": 1.6}, marker={"size": 6},
        customdata=[_hover(p, trend.machine) for p in points], hovertemplate=_HOVER,
    )  # fmt: skip


def _marks(fig: go.Figure, trends: Sequence[CellTrend], verdict: str) -> None:
    """The points `bench compare` judges a regression (or improvement) against their previous run."""
    marked = [(t, p) for t in trends for p in t.points if p.change and p.change.verdict == verdict]
    if not marked:
        return
    up = verdict == "regression"
    fig.add_scatter(
        x=[p.source.started.isoformat() for _, p in marked], y=[p.value / MS for _, p in marked],
        mode="markers", name=verdict,
        marker={"symbol": "triangle-up" if up else "triangle-down", "size": 13,
                "color": "#c62828" if up else "#2e7d32", "line": {"width": 1, "color": "white"}},
        customdata=[[p.source.link, f"{t.cell.id} ({t.machine}): {p.change.reason}"] for t, p in marked],
        hovertemplate=f"<b>{verdict}</b> vs the previous run<br>%{{customdata[1]}}<extra></extra>",
    )  # fmt: skip


def _chart(trends: Sequence[CellTrend], index: int, several_machines: bool) -> str:
    encoder, backend, device, dtype, threads = row_key(trends[0].cell)
    title = f"{encoder} · {backend} · {device} {dtype}" + ("" if threads is None else f" · t{threads}")
    fig = figures.figure(x_title="", y_title="p50 end to end (ms, log)", y_log=True)
    batches = sorted({t.cell.batch_size for t in trends})
    machines = list(dict.fromkeys(t.machine for t in trends))
    for trend in trends:
        name = f"batch {trend.cell.batch_size}" + (f" · {trend.machine}" if several_machines else "")
        dash = figures.DASHES[machines.index(trend.machine) % len(figures.DASHES)]
        _series(fig, trend, name, batches.index(trend.cell.batch_size), dash)
    _marks(fig, trends, "regression")
    _marks(fig, trends, "improvement")
    runs = {p.source.link for t in trends for p in t.points}
    return figures.chart(fig, f"trend-{index}", title, sources=sorted(runs))


def trend_charts(context: Context) -> str:
    """One chart per row of cells, each batch size and machine its own line."""
    trends = latency_trends(context.suite.runs, context.machines)
    rows: dict[tuple, list[CellTrend]] = {}
    for trend in trends:
        rows.setdefault(row_key(trend.cell), []).append(trend)
    several = len({t.machine for t in trends}) > 1
    return "\n".join(_chart(row, i, several) for i, row in enumerate(rows.values()))


def _machines_line(context: Context) -> str:
    used = dict.fromkeys(context.machines[run.link] for run in context.suite.runs)
    return ", ".join(used)


def body(context: Context) -> str:
    """The page's content."""
    suite = context.suite
    latest = next(run for run in reversed(suite.runs) if run.report.cells)
    runs = sum(1 for run in suite.runs if run.report.cells)
    parts = [
        f"<h2>Latest run: {link(latest.link, latest.started.strftime('%Y-%m-%d %H:%M UTC'))}, "
        f"commit {esc(commit(latest.report.environment))}, "
        f"machine {esc(context.machines[latest.link])}</h2>",
        latest_table(latest.report),
        f"<h2>Trends over {runs} run{'s' * (runs != 1)}</h2>",
        '<p class="note">p50 with its 95% interval (the band); ▲ a regression and ▼ an improvement where '
        "<code>bench compare</code> would judge one against the previous run on the same machine (the "
        "newer run's [gate] thresholds). Machines "
        f"({esc(_machines_line(context))}) are never joined into one line: see the overview. "
        "Click a point to open its report.</p>",
    ]
    parts.append(trend_charts(context) if runs > 1 else f'<p class="note">{ONE_RUN}</p>')
    return "\n".join(parts)
