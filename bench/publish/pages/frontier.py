"""A suite's frontier page: quality against batch-1 latency (log x) of its latest run with a frontier, the
Pareto set of each system joined, and the frontier's table."""

from __future__ import annotations

from collections.abc import Sequence

from bench.frontier import SYSTEMS
from bench.publish import figures
from bench.publish.context import Context
from bench.publish.html import Td, esc, link, table
from bench.publish.inputs import Source, SuiteRuns
from bench.results import FrontierEntry, FrontierLatency
from bench.stats import format_ns

KIND = "frontier"
_SYMBOLS = {"dense": "circle", "hybrid": "triangle-up"}


def _latest(suite: SuiteRuns) -> Source | None:
    """The newest run whose frontier has a batch-1 latency."""
    with_frontier = [
        run for run in suite.runs if run.report.frontier and any(e.single for e in run.report.frontier)
    ]
    return with_frontier[-1] if with_frontier else None


def applies(suite: SuiteRuns) -> bool:
    """Whether a run joined latency and quality."""
    return _latest(suite) is not None


Point = tuple[FrontierEntry, float, FrontierLatency]  # an entry, its quality, its batch-1 latency


def _points(entries: Sequence[FrontierEntry], system: str) -> list[Point]:
    return [(e, q, at) for e in entries if (q := e.quality.get(system)) is not None and (at := e.single)]


def _hover(source: Source, system: str, point: Point) -> list[str]:
    e, q, at = point
    params = "-" if e.parameters is None else f"{e.parameters / 1e6:.2f} M"
    p99 = format_ns(at.p99_ns) if at.p99_ns is not None else "-"
    figures_text = f"p50 {format_ns(at.p50_ns)}, p99 {p99}, {e.measure} {q:.4f}, {params} params"
    return [source.link, f"{e.encoder} / {system}", at.cell, figures_text]


def frontier_chart(source: Source) -> str:
    """One marker per encoder and system; each system's Pareto set joined by a line."""
    entries = source.report.frontier or ()
    fig = figures.figure(
        x_title=f"p50 at batch {entries[0].batches[0]}, end to end (ms, log)",
        y_title=entries[0].measure,
        x_log=True,
    )
    hover = "<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]}<extra></extra>"
    for i, system in enumerate(SYSTEMS):
        points = _points(entries, system)
        if not points:
            continue
        fig.add_scatter(
            x=[at.p50_ns / 1e6 for *_, at in points], y=[q for _, q, _ in points], mode="markers+text",
            name=system, text=[e.encoder for e, *_ in points], textposition="top center",
            textfont={"size": 10},
            error_x={"type": "data", "thickness": 1, "width": 0,
                     "array": [(at.p50_ci[1] - at.p50_ns) / 1e6 for *_, at in points],
                     "arrayminus": [(at.p50_ns - at.p50_ci[0]) / 1e6 for *_, at in points]},
            marker={"symbol": _SYMBOLS[system], "size": 11, "color": figures.colour(i)},
            customdata=[_hover(source, system, p) for p in points], hovertemplate=hover,
        )  # fmt: skip
        pareto = sorted((p for p in points if p[0].pareto.get(system)), key=lambda p: p[2].p50_ns)
        fig.add_scatter(
            x=[at.p50_ns / 1e6 for *_, at in pareto], y=[q for _, q, _ in pareto], mode="lines",
            name=f"{system} Pareto set", line={"color": figures.colour(i), "dash": "dot", "width": 1.5},
            customdata=[_hover(source, system, p) for p in pareto], hovertemplate=hover,
        )  # fmt: skip
    return figures.chart(
        fig, "frontier", "quality vs query-encoding latency", sources=[source.link], height=480
    )


def frontier_table(entries: Sequence[FrontierEntry]) -> str:
    """The terminal's frontier table, sortable."""
    measure, columns = entries[0].measure, entries[0].figures
    small = columns[0][0]

    def latency(e: FrontierEntry, batch: int, p99: bool = False) -> Td:
        at = e.latency.get(batch)
        value = None if at is None else at.p99_ns if p99 else at.p50_ns
        return Td("-" if value is None else format_ns(value), sort=value)

    def quality(e: FrontierEntry, system: str) -> Td:
        value = e.quality.get(system)
        mark = " ◆" if e.pareto.get(system) else ""
        return Td("-" if value is None else f"{value:.4f}{mark}", sort=value)

    rows = [
        [
            e.encoder,
            Td("-" if e.parameters is None else f"{e.parameters / 1e6:.2f} M", sort=e.parameters),
            *(latency(e, batch, p99) for batch, p99 in columns),
            quality(e, "dense"),
            quality(e, "hybrid"),
            at.cell if (at := e.single) else "-",
        ]
        for e in entries
    ]
    headers = ["encoder", "params", *(f"b{batch} {'p99' if p99 else 'p50'}" for batch, p99 in columns)]
    headers += [f"dense {measure}", f"hybrid {measure}", f"b{small} cell"]
    caption = f"◆ on the Pareto frontier (no other encoder both faster at batch {small} and better)"
    return table(headers, rows, caption=caption, table_id="frontier-table")


def body(context: Context) -> str:
    """The page's content."""
    source = _latest(context.suite)
    assert source is not None
    small = (source.report.frontier or ())[0].batches[0]
    return "\n".join(
        [
            f"<h2>Run of {link(source.link, source.started.strftime('%Y-%m-%d %H:%M UTC'))}</h2>",
            f"<p class=\"note\">Each encoder's fastest measured cell at batch {small} (the bar: its p50's 95% "
            "interval) against the quality of its dense and hybrid systems; hover for the pair, backend and "
            f"figures. {esc('Dotted lines join the Pareto set of each system.')}</p>",
            frontier_chart(source),
            frontier_table(source.report.frontier or ()),
        ]
    )
