"""The quality-vs-latency frontier: which query encoder to use, joined from one report's two halves.

Per encoder: query-encoder parameters, p50/p99 end-to-end latency at batch 1 and batch 256 (its fastest
measured backend/threads cell at that batch size, named in the entry), and the quality of its dense and
hybrid systems on the first measure. An encoder is on the Pareto frontier of a system when no other encoder
is at least as fast and at least as good, and strictly one of the two; latencies whose median confidence
intervals overlap count as equally fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.report.plots import png, pyplot

FRONTIER_BATCHES = (1, 256)


def _fastest(cells: Sequence[dict[str, Any]], encoder: str, batch: int) -> dict[str, Any] | None:
    """The encoder's cell with the lowest p50 at `batch`, or None when none was measured."""
    mine = [c for c in cells if c["cell"]["encoder"] == encoder and c["cell"]["batch_size"] == batch]
    # The median, not "p50": the report leaves percentiles out when too few samples support them, but a
    # median always exists (and is the p50 wherever that is reported).
    return min(mine, key=lambda c: c["end_to_end"]["median"], default=None)


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


def frontier(report: dict[str, Any], latency: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One entry per retrieving encoder: size, latency at the frontier batches, quality, Pareto flags.

    Latency comes from this report's cells, else from `latency` (another report) for encoders it measured.
    """
    retrieval = report.get("retrieval") or {}
    measured = {c["cell"]["encoder"] for c in report.get("cells", [])}
    borrowed = [c for c in (latency or {}).get("cells", []) if c["cell"]["encoder"] not in measured]
    measure = (retrieval.get("measures") or ["nDCG@10"])[0]
    by_id = {s["id"]: s for s in retrieval.get("systems", [])}
    encoders = list(dict.fromkeys(s["encoder"] for s in by_id.values() if s["encoder"]))
    entries = []
    for name in encoders:
        entry: dict[str, Any] = {
            "encoder": name,
            "parameters": (report.get("encoders", {}).get(name) or {}).get("parameters")
            or by_id.get(f"{name}/dense", {}).get("query_parameters"),
            "measure": measure,
        }
        entry["latency_from"] = (
            "this run" if name in measured else (latency or {}).get("suite_file", "given report")
        )
        for batch in FRONTIER_BATCHES:
            cell = _fastest(report.get("cells", []) + borrowed, name, batch)
            entry[f"b{batch}"] = (
                None
                if cell is None
                else {
                    "cell": cell["id"],
                    "p50_ns": cell["end_to_end"]["median"],
                    "p50_ci": cell["end_to_end"].get("median_ci") or [cell["end_to_end"]["median"]] * 2,
                    "p99_ns": cell["end_to_end"]["p99"],
                }
            )
        for system in ("dense", "hybrid"):
            found = by_id.get(f"{name}/{system}")
            entry[system] = None if found is None else found["aggregate"].get(measure)
        entries.append(entry)
    for system in ("dense", "hybrid"):
        usable = [e for e in entries if e[system] is not None and e["b1"] is not None]
        points = [(e["b1"]["p50_ns"], e[system]) for e in usable]
        intervals = [tuple(e["b1"]["p50_ci"]) for e in usable]
        for e, flag in zip(usable, pareto(points, intervals), strict=True):
            e[f"pareto_{system}"] = flag
    return entries


def frontier_section(report: dict[str, Any], latency: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Fill `report["frontier"]`; returns the PNG plots (quality vs latency, latency vs batch) to write."""
    report["frontier"] = frontier(report, latency)
    plots = {}
    if any(e["b1"] is not None for e in report["frontier"]):
        plots["frontier.png"] = quality_latency_plot(report["frontier"])
    if report.get("cells"):
        plots["latency_vs_batch.png"] = latency_batch_plot(report["cells"])
    return plots


def quality_latency_plot(entries: Sequence[dict[str, Any]]) -> bytes:
    """Quality against batch-1 p50 latency (log x), one marker per encoder and system."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for system, marker in (("dense", "o"), ("hybrid", "^")):
        points = [
            (e["b1"]["p50_ns"] / 1e6, e[system], e["encoder"])
            for e in entries
            if e["b1"] and e[system] is not None
        ]
        if not points:
            continue
        axes.scatter([p[0] for p in points], [p[1] for p in points], marker=marker, label=system, s=50)
        for x, y, name in points:
            axes.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("query encoding p50 at batch 1, end to end (ms, log)")
    axes.set_ylabel(entries[0]["measure"] if entries else "quality")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return png(figure)


def latency_batch_plot(cells: Sequence[dict[str, Any]]) -> bytes:
    """p50 latency per query against batch size, one line per encoder/backend/device/threads."""
    plt = pyplot()
    lines: dict[str, list[tuple[int, float]]] = {}
    for cell in cells:
        c = cell["cell"]
        key = "/".join(
            str(p)
            for p in (c["encoder"], c["backend"], c["device"], c["dtype"], c["threads"])
            if p is not None
        )
        lines.setdefault(key, []).append(
            (c["batch_size"], cell["end_to_end"]["median"] / 1e3 / c["batch_size"])
        )
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
