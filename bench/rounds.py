"""Interleaved rounds: each cell is measured in R rounds, every round visiting every cell once, shuffled.

Why: a shared machine's load comes and goes over seconds to minutes. Cells measured one after another,
minutes apart, fall on either side of a neighbour's burst, and a speed-up then divides a loaded cell by a
quiet one (a run once showed x839 and x0.41 in one table). Interleaved, a burst lands on a few rounds of
every cell alike, and a ratio taken within each round (`bench.speedup`) pairs samples that shared the
machine's state. This is asv's interleaved rounds (`asv run --interleave-rounds`: each round runs every
benchmark once) and pyperf's worker processes (samples spread over several runs and pooled).

Each round's order is a seeded permutation, so no cell always follows the same neighbour (a cell visited
right after a heavy one inherits its caches and clock state); the seed is the suite's [measure] seed and
each cell records its position in every round (`CellRound.position`). The cells a speed-up pairs (one
group: `Cell.peers`) are visited back to back within a round, so each pair shares the machine's state
of the same moment. A cell warms up once, before its
first round (each input shape once, then to steady state); later visits begin with one untimed call when
calls are short, because the cells visited in between evicted its weights from the caches.

How many rounds (`Stopping`): a cell is measured until the quantity its table shows is known well enough,
not for a fixed time. From a floor of rounds on, it stops once the 95% interval of its speed-up over its
baseline cell (paired by round; for a cell without one, of its median over the rounds) is narrower than a
target share of the value; `rounds` is the ceiling, and the sample cap stops it too. This is asv's
`repeat = (min_repeat, max_repeat, max_time)` (a floor, a ceiling and a time cap per benchmark), with the
stop decided by the interval a reader sees, as Kalibera and Jones's rigorous benchmarking sizes repetitions
by the precision of the ratio. The time per visit is what pyperf calibrates (its loops, sized so that one
value takes at least 100 ms): `Budget.share` gives each visit a slice of the budget, and a call slower than
the slice is made once (a batch of 256 through MiniLM-L6: one call a round). A baseline cell stays while any
cell compared with it runs, so every pair keeps its rounds. Each cell records why it stopped.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.results import CellRound
from bench.speedup import paired_speedup
from bench.stats import Stats
from bench.timing import Budget, Clock, Prepared, Samples, collect, collector_paused, timed_call, warm_up
from daft.models.tokenization import follow_threads

__all__ = [
    "BASELINE",
    "CEILING",
    "INTERRUPTED",
    "INTERVAL",
    "SAMPLE_CAP",
    "Stopping",
    "TimedCell",
    "interleave",
    "schedule",
]

# A visit starts with an untimed call only when a call is shorter than this share of the round's minimum
# time: for a call of a second, the cold start is a rounding error and a call more would double the cost.
REWARM_SHARE = 0.5

# Why a cell stopped (`CellResult.stopped`).
INTERVAL = "interval"  # its interval reached the target width
CEILING = "ceiling"  # the most rounds
SAMPLE_CAP = "sample cap"  # the most samples
BASELINE = "baseline"  # others' speed-ups divide it: measured until the last of them stopped
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Stopping:
    """When a cell has had rounds enough: from `min_rounds` on (0: never before the ceiling), once its
    interval is at most `target_width` of its value."""

    min_rounds: int = 0
    target_width: float = 0.1
    seed: int = 0  # the bootstrap's


def schedule(groups: Sequence[Hashable], rounds: int, seed: int) -> list[list[int]]:
    """The visiting order of each round: a permutation of the cells (indexes into `groups`, each cell's
    group), reproducible from `seed`. The groups come in a shuffled order and the cells of a group one
    after another, in a shuffled order too: the cells a speed-up compares (`Cell.peers`) are measured
    back to back, a fraction of a second apart instead of up to a whole round."""
    if rounds < 1:
        raise ValueError(f"need rounds >= 1, got {rounds}")
    members: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    keys = list(members)
    rng = np.random.default_rng(seed)
    order = []
    for _ in range(rounds):
        visits = []
        for g in rng.permutation(len(keys)):
            cells = members[keys[int(g)]]
            visits += [cells[int(i)] for i in rng.permutation(len(cells))]
        order.append(visits)
    return order


def _merged(total: Mapping[str, Any] | None, part: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A word cache's stats over two visits as one: the counts add, the rates are recomputed from them."""
    if part is None:
        return dict(total) if total is not None else None
    if total is None:
        return dict(part)
    words = total["words"] + part["words"]
    texts = total["texts"] + part["texts"]

    def hits(stats: Mapping[str, Any], rate: str, count: str) -> float:
        return (stats[rate] or 0.0) * stats[count]

    word_hits = hits(total, "word_hit_rate", "words") + hits(part, "word_hit_rate", "words")
    text_hits = hits(total, "text_hit_rate", "texts") + hits(part, "text_hit_rate", "texts")
    return {
        **part,
        "words": words,
        "word_hit_rate": word_hits / words if words else None,
        "texts": texts,
        "text_hit_rate": text_hits / texts if texts else None,
    }


@dataclass
class TimedCell:
    """One cell's timing across rounds: its prepared step and batches, the samples pooled over the
    rounds, each round's summary, and (for a static backend) the word cache's hit rates."""

    step: Prepared  # a backend's (`bench.backends`), or a fake
    batch: Callable[[int], Sequence[str]]
    budget: Budget  # the cell's whole budget; each round collects `budget.share(rounds)`
    rounds: int
    shapes: Sequence[Hashable] | None = None
    group: Hashable = None  # cells of one group are visited back to back (`schedule`)
    clock: Clock = time.perf_counter_ns
    samples: Samples = field(default_factory=Samples)
    visits: list[CellRound] = field(default_factory=list)
    word_cache: dict[str, Any] | None = None
    threads: int | None = None  # the cell's intra-op threads, which batch tokenisation follows too
    baseline: TimedCell | None = None  # the cell its speed-up divides, if any
    stopped: str | None = None  # why it needs no more rounds (None: still measured)

    def width(self, seed: int = 0) -> float | None:
        """The width of this cell's 95% interval as a share of its value: its speed-up's over the baseline
        cell, paired by round, else its median's over the rounds; None with fewer than two rounds."""
        mine = [r.median for r in self.visits]
        if len(mine) < 2:
            return None
        if self.baseline is not None:
            return paired_speedup(mine, [r.median for r in self.baseline.visits], seed).width
        stats = Stats(mine, seed=seed)
        low, high = stats.median_ci
        return (high - low) / stats.median if stats.median > 0 else None

    def reason_to_stop(self, rounds: int, rule: Stopping) -> str | None:
        """Why this cell needs no more rounds, or None (a baseline cell is decided by its dependants)."""
        if len(self.visits) >= rounds:
            return CEILING
        if len(self.samples.end_to_end) >= self.budget.max_samples:
            return SAMPLE_CAP
        if len(self.visits) < (rule.min_rounds or rounds):
            return None
        width = self.width(rule.seed)
        return INTERVAL if width is not None and width <= rule.target_width else None

    def visit(self, position: int) -> None:
        """Measure one round: activate the step (its thread count), warm up or re-warm, collect a share."""
        self.step.activate()
        follow_threads(self.threads)
        share = self.budget.share(self.rounds)
        if not self.visits:
            warm_up(self.step, self.batch, self.budget, self.samples, self.shapes, self.clock)
        elif self.visits[-1].median < REWARM_SHARE * share.min_time_s * 1e9:
            timed_call(self.step, self.batch(0), self.clock)
        cache_stats = getattr(self.step, "cache_stats", lambda: None)
        cache_stats()  # resets the counters, so the rates are this cell's (the cache is frozen)
        before = len(self.samples.end_to_end)
        try:
            collect(self.step, self.batch, share, self.samples, self.clock)
        except KeyboardInterrupt:  # a round half-measured is no round: keep the samples of whole ones
            for phase in (self.samples.tokenize, self.samples.forward, self.samples.end_to_end):
                del phase[before:]
            raise
        self.word_cache = _merged(self.word_cache, cache_stats())
        new = self.samples.end_to_end[before:]
        self.visits.append(CellRound(float(np.median(new)), len(new), position))


def _stop(cells: Sequence[TimedCell], rounds: int, rule: Stopping) -> None:
    """After a round: stop the cells measured enough. A baseline cell is not judged by its own interval: it
    stops at the ceiling, or once no cell compared with it runs."""
    baselines = {id(c.baseline) for c in cells if c.baseline is not None}
    running = [c for c in cells if c.stopped is None]
    for cell in running:
        if id(cell) not in baselines:
            cell.stopped = cell.reason_to_stop(rounds, rule)
    needed = {id(c.baseline) for c in cells if c.stopped is None and c.baseline is not None}
    for cell in running:
        if id(cell) in baselines:
            cell.stopped = CEILING if len(cell.visits) >= rounds else None if id(cell) in needed else BASELINE


def interleave(
    cells: Sequence[TimedCell],
    rounds: int,
    seed: int,
    on_visit: Callable[[int, int], None] | None = None,
    rule: Stopping | None = None,
) -> list[list[int]]:
    """Visit every running cell once per round in each round's shuffled order, until `rule` stops each (by
    default, after `rounds`); returns the schedule, which stopped cells left out.

    `on_visit(round, index)` is called before each visit (progress). The cyclic collector runs between
    rounds, never inside one. A KeyboardInterrupt leaves the cells with the rounds they finished.
    """
    rule = rule or Stopping(seed=seed)
    order = schedule([c.group for c in cells], rounds, seed)
    # A full collection walks every model's objects (most of a second with torch loaded); frozen once,
    # the collection between rounds only walks what the rounds allocated.
    gc.collect()
    gc.freeze()
    try:
        for round_index, visits in enumerate(order):
            with collector_paused():
                for position, index in enumerate(i for i in visits if cells[i].stopped is None):
                    if on_visit is not None:
                        on_visit(round_index, index)
                    cells[index].visit(position)
            _stop(cells, rounds, rule)
            if all(c.stopped for c in cells):
                break
    except KeyboardInterrupt:
        for cell in cells:
            cell.stopped = cell.stopped or INTERRUPTED
        raise
    finally:
        gc.unfreeze()
    return order
