"""Every latency cell's trend over a suite's runs, per machine, with the gate's verdict between neighbours.

A series is one cell identity (`Cell.key`) on one machine (fingerprint digest): reports from different
machines are never joined into one line. Each point after the first is judged against the previous point of
its series exactly as `bench compare` would judge that pair of reports (`compare.compare_cell`, with the
thresholds of the newer run's [gate]); the bootstrap is run only where the medians already exceed both
thresholds (`GateSpec.exceeded`), since a change within either is "no change" whatever its interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bench.compare import LatencyChange, compare_cell
from bench.history import latency_point
from bench.publish.inputs import Source
from bench.results import Cell, CellResult

__all__ = ["CellTrend", "Point", "latency_trends", "row_key"]


@dataclass(frozen=True)
class Point:
    """One run's p50 of a cell (ns), its median interval, and its verdict against the previous point."""

    source: Source
    result: CellResult
    value: float
    ci: tuple[float, float] | None
    change: LatencyChange | None = None  # a regression or an improvement; None: no change or first


@dataclass(frozen=True)
class CellTrend:
    """One cell identity on one machine across the runs that measured it, oldest first."""

    cell: Cell
    machine: str
    points: tuple[Point, ...]


def row_key(cell: Cell) -> tuple[str, str, str, str, int | None]:
    """What one chart shows (every batch size of it): encoder, backend, device, dtype, threads."""
    return (cell.encoder, cell.backend, cell.device, cell.dtype, cell.threads)


def _median(result: CellResult) -> float | None:
    samples = result.samples.get("end_to_end")
    return float(np.median(samples)) if samples else None


def _change(previous: Point, point: Point) -> LatencyChange | None:
    """The gate's verdict on the pair, where it is not "no change"."""
    before, after = _median(previous.result), _median(point.result)
    if not before or after is None:
        return None
    gate = point.source.report.gate
    cell_id = point.result.id
    if not all(gate.exceeded(cell_id, after / before, after - before)):
        return None
    change = compare_cell(cell_id, previous.result, point.result, gate)
    return None if change.verdict == "no change" else change


def _judged(points: list[Point]) -> tuple[Point, ...]:
    out = points[:1]
    for previous, point in zip(points, points[1:], strict=False):
        change = _change(previous, point)
        out.append(point if change is None else replace(point, change=change))
    return tuple(out)


def latency_trends(runs: Sequence[Source], machines: Mapping[str, str]) -> list[CellTrend]:
    """One trend per (cell identity, machine) in order of first appearance; `machines` maps a run's
    `Source.link` to its machine label."""
    series: dict[tuple, list[Point]] = {}
    for source in runs:
        for result in source.report.cells:
            value, ci = latency_point(result)
            if value is not None:
                key = (result.cell.key, machines[source.link])
                series.setdefault(key, []).append(Point(source, result, value, ci))
    return [
        CellTrend(points[0].result.cell, machine, _judged(points)) for (_, machine), points in series.items()
    ]
