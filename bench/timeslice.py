"""A multi-thread cell that measured the scheduler: calls lasting whole time slices on a loaded machine.

On a machine whose cores are busy with other work, a call on two intra-op threads ends only when both threads
reach the barrier at its end, and the one waiting for a core gets it at the next scheduler tick: every call
then lasts a whole number of ticks (seen on a loaded 2-core VM: every 2-thread `static` cell from batch 8 on
read 7.99-8.01 ms or 16.0 ms, against 0.15-3.2 ms quiet). Such a cell is reported as that, not as the encoder's
latency: its median is far above the same cell's on one thread, which never waits for a second core. With
one busy neighbour most samples lie on multiples of a tick, which the warning names; on a machine so loaded
that the waits are slices of many lengths there is no grid (seen at load 10 on 2 cores: 127 ms against
0.28 ms on one thread, at batch 8).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.results import CellResult

__all__ = ["MIN_RATIO", "PREFIX", "QUANTA_NS", "detect", "is_marked"]

QUANTA_NS = (10_000_000, 4_000_000, 1_000_000)  # Linux ticks at HZ = 100, 250, 1000; the largest that fits
TOLERANCE = 0.02  # of a tick: a sample this close to a multiple is on it (4% of values by chance)
MIN_SHARE = 0.5  # of the samples on multiples of one tick
# The cell's median over its one-thread cell's: no encoder gets this much slower from a second thread (quiet,
# the slowest 2-thread cell of cpu_latency against its 1-thread one was 1.5x: static-cold at batch 256).
MIN_RATIO = 3.0
PREFIX = "scheduler time slices"


def _on_ticks(values: np.ndarray) -> tuple[float, int] | None:
    """(share of samples, tick in ns) for the largest tick whose multiples hold `MIN_SHARE` of them."""
    for quantum in QUANTA_NS:
        ticks = np.rint(values / quantum)
        share = float(np.mean((ticks >= 1) & (np.abs(values - ticks * quantum) <= TOLERANCE * quantum)))
        if share >= MIN_SHARE:
            return share, quantum
    return None


def detect(samples: Sequence[float], one_thread_median: float) -> str | None:
    """The warning for a cell whose end-to-end `samples` (ns) waited for cores: `MIN_RATIO` times
    `one_thread_median` (the same cell on one thread) or more, with the tick grid they sit on if any; else
    None."""
    if not len(samples) or not one_thread_median > 0:
        return None
    values = np.asarray(samples, dtype=np.float64)
    ratio = float(np.median(values)) / one_thread_median
    if ratio < MIN_RATIO:
        return None
    grid = _on_ticks(values)
    on = "" if grid is None else f", {grid[0]:.0%} of samples at multiples of {grid[1] / 1e6:g} ms"
    return f"{PREFIX}: {ratio:.0f}x the 1-thread cell{on} (the threads waited for a busy core)"


def is_marked(result: CellResult) -> bool:
    """Whether `result` measured the scheduler (its warnings say so)."""
    return any(w.startswith(PREFIX) for w in result.warnings)
