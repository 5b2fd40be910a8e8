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
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.results import CellRound
from bench.timing import Budget, Clock, Samples, collect, collector_paused, timed_call, warm_up
from daft.tokenization import follow_threads

__all__ = ["TimedCell", "interleave", "schedule"]

# A visit starts with an untimed call only when a call is shorter than this share of the round's minimum
# time: for a call of a second, the cold start is a rounding error and a call more would double the cost.
REWARM_SHARE = 0.5


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

    step: Any  # a `bench.backends.Prepared` (or a `bench.timing.Step`)
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


def interleave(
    cells: Sequence[TimedCell],
    rounds: int,
    seed: int,
    on_visit: Callable[[int, int], None] | None = None,
) -> list[list[int]]:
    """Visit every cell once per round in each round's shuffled order; returns the schedule followed.

    `on_visit(round, index)` is called before each visit (progress). The cyclic collector runs between
    rounds, never inside one. A KeyboardInterrupt leaves the cells with the rounds they finished.
    """
    order = schedule([c.group for c in cells], rounds, seed)
    # A full collection walks every model's objects (most of a second with torch loaded); frozen once,
    # the collection between rounds only walks what the rounds allocated.
    gc.collect()
    gc.freeze()
    try:
        for round_index, visits in enumerate(order):
            with collector_paused():
                for position, index in enumerate(visits):
                    if on_visit is not None:
                        on_visit(round_index, index)
                    cells[index].visit(position)
    finally:
        gc.unfreeze()
    return order
