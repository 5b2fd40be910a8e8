"""Do two runs of a suite agree on the speed-ups? Each cell's speed-up over the baseline encoder, side by side.

Absolute latencies move with the machine and its load; a speed-up measured inside one run (both cells in the same
interleaved rounds, `bench.rounds`) should not. Comparing two runs' speed-ups cell by cell is how a shared or
loaded machine is checked for fairness: a run beside a competing load should give the same ratios as a quiet one
(issue 14 asks for agreement within 20% on the 1-thread cells).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import Report
from bench.speedup import Speedup, speedup

__all__ = ["TOLERANCE", "Agreement", "agreement"]

TOLERANCE = 0.2  # the share by which two runs' speed-ups may differ and still agree


@dataclass(frozen=True)
class Agreement:
    """One cell's speed-up in both runs; `change` = second / first - 1."""

    cell: str
    threads: int | None
    first: Speedup
    second: Speedup

    @property
    def change(self) -> float:
        return self.second.value / self.first.value - 1.0

    def agrees(self, tolerance: float = TOLERANCE) -> bool:
        return abs(self.change) <= tolerance


def agreement(first: Report, second: Report, *, threads: int | None = None) -> list[Agreement]:
    """The cells both runs have a speed-up for (only those with `threads` intra-op threads, if given), in
    the first run's order."""
    theirs = {r.cell.id: r for r in second.cells}
    out = []
    for mine in first.cells:
        other = theirs.get(mine.cell.id)
        if other is None or (threads is not None and mine.cell.threads != threads):
            continue
        a, b = speedup(first, mine), speedup(second, other)
        if a is not None and b is not None and a.value > 0:
            out.append(Agreement(mine.cell.id, mine.cell.threads, a, b))
    return out
