"""A cell's speed-up over the suite's baseline encoder ("x2.31 vs minilm-l6"), with its interval.

The baseline cell is the baseline encoder's cell with the same backend, device, dtype, batch size and
threads (`Cell.peers`). With interleaved rounds on both sides the ratio and its interval come from per-round pairs
(`bench.stats.paired_ratio_ci`); otherwise (one round, or a report written before rounds) from the pooled
samples of the two cells (`bench.stats.ratio_ci`), and without samples it is the ratio of the medians alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import CellResult, Report
from bench.stats import paired_ratio_ci, ratio_ci

__all__ = ["WIDE", "Speedup", "baseline_cell", "speedup"]

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

    @property
    def wide(self) -> bool:
        """True when the interval spans more than `WIDE` of the ratio."""
        if self.low is None or self.high is None:
            return False
        return (self.high - self.low) > WIDE * self.value


def baseline_cell(report: Report, result: CellResult) -> CellResult | None:
    """The baseline encoder's cell that `result` is compared with, or None (no baseline, or it is one)."""
    baseline = report.latency_baseline
    if not baseline or result.cell.encoder == baseline:
        return None
    return next(
        (
            other
            for other in report.cells
            if other.cell.encoder == baseline and other.cell.peers == result.cell.peers
        ),
        None,
    )


def _seed(report: Report) -> int:
    return int((report.suite.get("measure") or {}).get("seed") or 0)


def speedup(report: Report, result: CellResult) -> Speedup | None:
    """`result`'s speed-up over its baseline cell, or None where it has none."""
    base = baseline_cell(report, result)
    if base is None:
        return None
    name = base.cell.encoder
    # The stats functions give candidate / baseline; a speed-up is baseline / cell, so the cell is passed as
    # their "baseline" (percentile intervals carry over to the ratio's inverse unchanged).
    pairs = min(len(base.rounds), len(result.rounds))
    mine, theirs = result.samples.get("end_to_end"), base.samples.get("end_to_end")
    try:
        if pairs >= 2:
            ci = paired_ratio_ci(
                [r.median for r in result.rounds[:pairs]],
                [r.median for r in base.rounds[:pairs]],
                seed=_seed(report),
            )
            return Speedup(name, ci.ratio, ci.low, ci.high, "rounds", pairs)
        if mine and theirs:
            ci = ratio_ci(mine, theirs, seed=_seed(report))
            return Speedup(name, ci.ratio, ci.low, ci.high, "samples")
    except ValueError:  # a zero or non-finite median in a hand-edited report: the medians alone
        pass
    mine_median, theirs_median = result.end_to_end.median, base.end_to_end.median
    if not (mine_median > 0 and math.isfinite(mine_median) and math.isfinite(theirs_median)):
        return None
    return Speedup(name, theirs_median / mine_median)
