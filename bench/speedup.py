"""A cell's speed-up over the suite's baseline encoder ("×2.31 vs minilm-l6 torch"), with its interval.

The baseline cell is the baseline encoder's cell with the same device, dtype, batch size and threads, on the
suite's `[latency] baseline_backend` (e.g. torch: every row, `static` and the references included, then gets a
ratio against the baseline as a user would run it) or, without one, on the cell's own backend. With interleaved
rounds on both sides the ratio and its interval come from per-round pairs (`bench.stats.paired_ratio_ci`);
otherwise (one round, or a report written before rounds) from the pooled samples of the two cells
(`bench.stats.ratio_ci`), and without samples it is the ratio of the medians alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.results import Cell, CellResult, Report
from bench.stats import paired_ratio_ci, ratio_ci

__all__ = ["WIDE", "Speedup", "baseline_cell", "compares", "paired_speedup", "speedup"]

# An interval wider than this share of its ratio is marked: two runs could then differ by as much (the
# issue asks that quiet and loaded runs agree within 20%).
WIDE = 0.2


@dataclass(frozen=True)
class Speedup:
    """baseline median / cell median (> 1: the cell is faster), with its 95% interval when one exists."""

    baseline: str  # the baseline encoder
    value: float
    low: float | None = None
    high: float | None = None
    method: str = "medians"  # "rounds" | "samples" | "medians": where the interval comes from
    rounds: int = 0  # the pairs behind a "rounds" interval
    backend: str = ""  # the baseline cell's backend

    @property
    def width(self) -> float | None:
        """The interval's width as a share of the ratio, or None without an interval."""
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / self.value

    @property
    def wide(self) -> bool:
        """True when the interval spans more than `WIDE` of the ratio."""
        width = self.width
        return width is not None and width > WIDE

    @property
    def against(self) -> str:
        """What the ratio divides: "minilm-l6 torch"."""
        return f"{self.baseline} {self.backend}".strip()


def paired_speedup(mine: Sequence[float], theirs: Sequence[float], seed: int = 0) -> Speedup:
    """The speed-up of per-round medians `mine` over the baseline's `theirs` (paired by round), unnamed."""
    # The stats functions give candidate / baseline; a speed-up is baseline / cell, so the cell is passed as
    # their "baseline" (percentile intervals carry over to the ratio's inverse unchanged).
    pairs = min(len(mine), len(theirs))
    ci = paired_ratio_ci(mine[:pairs], theirs[:pairs], seed=seed)
    return Speedup("", ci.ratio, ci.low, ci.high, "rounds", pairs)


def compares(cell: Cell, other: Cell, baseline: str | None, backend: str | None) -> bool:
    """Whether `other` is the baseline cell of `cell` (baseline encoder `baseline`, on `backend` or else
    on `cell`'s own backend)."""
    if not baseline or other == cell:
        return False
    return (other.encoder, other.backend) == (
        baseline,
        backend or cell.backend,
    ) and other.pairing == cell.pairing


def baseline_cell(report: Report, result: CellResult) -> CellResult | None:
    """The baseline encoder's cell that `result` is compared with, or None (no baseline, or it is one)."""
    baseline, backend = report.latency_baseline, report.latency_baseline_backend
    return next((o for o in report.cells if compares(result.cell, o.cell, baseline, backend)), None)


def speedup(report: Report, result: CellResult) -> Speedup | None:
    """`result`'s speed-up over its baseline cell, or None where it has none."""
    base = baseline_cell(report, result)
    if base is None:
        return None
    name, backend = base.cell.encoder, base.cell.backend
    mine, theirs = result.samples.get("end_to_end"), base.samples.get("end_to_end")
    try:
        if min(len(base.rounds), len(result.rounds)) >= 2:
            paired = paired_speedup(
                [r.median for r in result.rounds], [r.median for r in base.rounds], report.suite.measure.seed
            )
            return Speedup(name, paired.value, paired.low, paired.high, "rounds", paired.rounds, backend)
        if mine and theirs:
            ci = ratio_ci(mine, theirs, seed=report.suite.measure.seed)
            return Speedup(name, ci.ratio, ci.low, ci.high, "samples", backend=backend)
    except ValueError:  # a zero or non-finite median in a hand-edited report: the medians alone
        pass
    mine_median, theirs_median = result.end_to_end.median, base.end_to_end.median
    if not (mine_median > 0 and math.isfinite(mine_median) and math.isfinite(theirs_median)):
        return None
    return Speedup(name, theirs_median / mine_median, backend=backend)
