"""The quality-vs-latency frontier: which query encoder to use, joined from one report's two halves.

Per encoder: query-encoder parameters, p50/p99 end-to-end latency at the suite's key batch sizes
(`Report.key_batches`: its smallest and its largest; its fastest measured backend/threads cell at that batch
size, named in the entry), and the quality of its dense and hybrid systems on the primary measure. An encoder
is on the Pareto frontier of a system when no other encoder is at least as fast and at least as good, and
strictly one of the two; latencies whose median confidence intervals overlap count as equally fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bench.results import CellResult, FrontierEntry, FrontierLatency, Report
from daft.core.plots import png, pyplot

SYSTEMS = ("dense", "hybrid")


def _fastest(cells: Sequence[CellResult], encoder: str, batch: int) -> CellResult | None:
    """The encoder's cell with the lowest p50 at `batch`, or None when none was measured."""
    mine = [c for c in cells if c.cell.encoder == encoder and c.cell.batch_size == batch]
    # The median, not "p50": the report leaves percentiles out when too few samples support them, but a
    # median always exists (and is the p50 wherever that is reported).
    return min(mine, key=lambda c: c.end_to_end.median, default=None)


def _latency(cell: CellResult | None) -> FrontierLatency | None:
    if cell is None:
        return None
    stats = cell.end_to_end
    return FrontierLatency(cell.id, stats.median, stats.median_ci or (stats.median, stats.median), stats.p99)


def pareto(
    points: Sequence[tuple[float, float]], intervals: Sequence[tuple[float, float]] | None = None
) -> list[bool]:
    """For (latency, quality) points: whether each is undominated (lower latency and higher quality win).

    With `intervals` (each latency's confidence interval), latencies whose intervals overlap are ties: an
    encoder is not "faster" by noise, so among equally fast encoders only the better ones stay.
    """
    spans = intervals or [(lat, lat) for lat, _ in points]

    def faster(j: int, i: int) -> bool:
        return spans[j][1] < spans[i][0]

    def as_fast(j: int, i: int) -> bool:
        return faster(j, i) or not faster(i, j)

    return [
        not any(
            as_fast(j, i) and qj >= qi and (faster(j, i) or qj > qi)
            for j, (_, qj) in enumerate(points)
            if j != i
        )
        for i, (_, qi) in enumerate(points)
    ]


def measured_frontier(report: Report, latency: Report | None = None) -> tuple[FrontierEntry, ...] | None:
    """`frontier`, or None when no retrieving encoder has a latency (a retrieval-only suite with no latency
    report): a frontier of quality alone would be an empty table and an empty plot."""
    entries = frontier(report, latency)
    if any(at is not None for entry in entries for at in entry.latency.values()):
        return entries
    return None


def frontier(report: Report, latency: Report | None = None) -> tuple[FrontierEntry, ...]:
    """One entry per retrieving encoder: size, latency at the frontier batches, quality, Pareto flags.

    Latency comes from this report's cells, else from `latency` (another report) for encoders it measured;
    the batch sizes are those of the report that measured latency.
    """
    batches = report.key_batches or (latency.key_batches if latency else ())
    measured = {c.cell.encoder for c in report.cells}
    borrowed = [c for c in (latency.cells if latency else ()) if c.cell.encoder not in measured]
    cells = [*report.cells, *borrowed]
    systems = report.retrieval.systems if report.retrieval else ()
    measure = report.retrieval.primary if report.retrieval and report.retrieval.measures else "nDCG@10"
    by_id = {s.id: s for s in systems}
    encoders = list(dict.fromkeys(s.encoder for s in systems if s.encoder))
    entries = []
    for name in encoders:
        dense = by_id.get(f"{name}/dense")
        info = report.encoders.get(name)
        quality = {}
        for system in SYSTEMS:
            found = by_id.get(f"{name}/{system}")
            quality[system] = None if found is None else found.aggregate.get(measure)
        entries.append(
            FrontierEntry(
                encoder=name,
                parameters=(info.parameters if info else None)
                or (dense.pair.query_parameters if dense and dense.pair else None),
                measure=measure,
                latency_from="this run"
                if name in measured
                else (latency.suite_file if latency else "given report"),
                latency={batch: _latency(_fastest(cells, name, batch)) for batch in batches},
                quality=quality,
            )
        )
    flags: dict[str, dict[str, bool]] = {e.encoder: {} for e in entries}
    for system in SYSTEMS:
        usable = [(e, q, at) for e in entries if (q := e.quality[system]) is not None and (at := e.single)]
        points = [(at.p50_ns, q) for _, q, at in usable]
        for (e, _, _), flag in zip(usable, pareto(points, [at.p50_ci for *_, at in usable]), strict=True):
            flags[e.encoder][system] = flag
    return tuple(replace(e, pareto=flags[e.encoder]) for e in entries)


def frontier_plots(entries: Sequence[FrontierEntry], cells: Sequence[CellResult]) -> dict[str, bytes]:
    """The PNG plots to write beside the report: quality vs latency, and latency vs batch size."""
    plots = {}
    if any(e.single is not None for e in entries):
        plots["frontier.png"] = quality_latency_plot(entries)
    if cells:
        plots["latency_vs_batch.png"] = latency_batch_plot(cells)
    return plots


def quality_latency_plot(entries: Sequence[FrontierEntry]) -> bytes:
    """Quality against the p50 latency at the smallest batch (log x), one marker per encoder and system."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for system, marker in (("dense", "o"), ("hybrid", "^")):
        points = [
            (at.p50_ns / 1e6, e.quality[system], e.encoder)
            for e in entries
            if (at := e.single) and e.quality[system] is not None
        ]
        if not points:
            continue
        axes.scatter([p[0] for p in points], [p[1] for p in points], marker=marker, label=system, s=50)
        for x, y, name in points:
            axes.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel(f"query encoding p50 at batch {entries[0].batches[0]}, end to end (ms, log)")
    axes.set_ylabel(entries[0].measure if entries else "quality")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return png(figure)


def latency_batch_plot(cells: Sequence[CellResult]) -> bytes:
    """p50 latency per query against batch size, one line per encoder/backend/device/threads."""
    plt = pyplot()
    lines: dict[str, list[tuple[int, float]]] = {}
    for result in cells:
        c = result.cell
        key = "/".join(str(p) for p in (c.encoder, c.backend, c.device, c.dtype, c.threads) if p is not None)
        lines.setdefault(key, []).append((c.batch_size, result.end_to_end.median / 1e3 / c.batch_size))
    figure, axes = plt.subplots(figsize=(8, 5))
    for key, points in sorted(lines.items()):
        points.sort()
        axes.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=key)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("batch size")
    axes.set_ylabel("p50 per query, end to end (µs, log)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=6, ncol=2)
    return png(figure)
