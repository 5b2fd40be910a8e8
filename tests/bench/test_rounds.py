"""Interleaved rounds on a virtual clock: the schedule, warm-up once, pooling, and a load that comes and goes.

Every latency here is made up and every clock is virtual, so nothing depends on this machine's speed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bench.results import Cell, CellResult, PhaseStats
from bench.rounds import BASELINE, CEILING, INTERRUPTED, INTERVAL, Stopping, TimedCell, interleave, schedule
from bench.speedup import speedup
from bench.timing import Budget, NoOp, batches
from tests.bench.support import report

US = 1_000


class Clock:
    """Virtual nanoseconds: only the fake steps move them."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class Fake(NoOp):
    """A call costs `cost_ns` times `load(now)`; records its calls and activations."""

    def __init__(self, clock: Clock, cost_ns: int, load: Callable[[int], float] = lambda t: 1.0):
        self.clock, self.cost_ns, self.load = clock, cost_ns, load
        self.calls = 0
        self.activations = 0

    def activate(self) -> None:
        self.activations += 1

    def forward(self, inputs):
        self.calls += 1
        self.clock.now += int(self.cost_ns * self.load(self.clock.now))
        return inputs


BUDGET = Budget(min_time_s=0.002, min_samples=10, max_samples=10_000, max_time_s=1.0, warmup_max_s=0.01)


def timed(step: Fake, rounds: int, budget: Budget = BUDGET) -> TimedCell:
    return TimedCell(step, batches(["q"], 1), budget, rounds, clock=step.clock)


def test_each_round_visits_every_cell_once_in_a_seeded_shuffled_order() -> None:
    order = schedule(range(12), 5, seed=3)  # every cell a group of its own
    assert len(order) == 5 and all(sorted(r) == list(range(12)) for r in order)
    assert len({tuple(r) for r in order}) > 1  # shuffled per round, not one order repeated
    assert any(r != list(range(12)) for r in order)
    assert schedule(range(12), 5, seed=3) == order and schedule(range(12), 5, seed=4) != order
    with pytest.raises(ValueError):
        schedule(range(3), 0, seed=0)


def test_a_groups_cells_are_visited_back_to_back_in_a_shuffled_order() -> None:
    groups = ["b1", "b8", "b1", "b8", "b1", "b32"]  # e.g. three encoders at batch 1, two at batch 8
    order = schedule(groups, 20, seed=0)
    for visits in order:
        assert sorted(visits) == list(range(6))
        runs = [groups[i] for i in visits]
        assert len([g for k, g in enumerate(runs) if k == 0 or runs[k - 1] != g]) == 3  # one run per group
    assert len({tuple(v) for v in order}) > 5  # both the groups and their members are shuffled
    assert {v.index(0) for v in order} != {order[0].index(0)}


def test_interleave_follows_the_schedule_and_records_positions() -> None:
    clock = Clock()
    cells = [timed(Fake(clock, (i + 1) * 100 * US), rounds=4) for i in range(3)]
    seen: list[tuple[int, int]] = []
    order = interleave(cells, 4, seed=7, on_visit=lambda r, i: seen.append((r, i)))
    assert order == schedule([None] * 3, 4, seed=7)
    assert seen == [(r, i) for r, visits in enumerate(order) for i in visits]
    for index, cell in enumerate(cells):
        assert [v.position for v in cell.visits] == [visits.index(index) for visits in order]
        assert cell.step.activations == 4  # its thread count is made current at every visit


def test_warm_up_runs_once_and_samples_pool_over_rounds() -> None:
    clock = Clock()
    step = Fake(clock, 100 * US)
    cell = timed(step, rounds=5)
    interleave([cell], 5, seed=0)
    samples = cell.samples
    assert samples.warmup_steady and samples.warmup_calls >= 2 * BUDGET.warmup_window
    # warm-up once, then per round: one untimed re-warm call (calls are short) and its share of samples.
    share = BUDGET.share(5)
    assert all(v.n >= share.min_samples and v.n * 100 * US >= share.min_time_s * 1e9 for v in cell.visits)
    assert len(samples.end_to_end) == sum(v.n for v in cell.visits)
    assert step.calls == samples.warmup_calls + samples.warmup_shapes + 4 + len(samples.end_to_end)
    assert all(v.median == 100 * US for v in cell.visits)


def test_budget_share_divides_the_times_and_counts() -> None:
    assert BUDGET.share(1) is BUDGET
    share = Budget(min_time_s=0.3, min_samples=20, max_samples=10, max_time_s=2.5).share(5)
    assert share.min_time_s == pytest.approx(0.06) and share.max_time_s == pytest.approx(0.5)
    assert share.min_samples == 4 and share.max_samples == 4
    # A round's median needs three samples to outvote a preempted call; never more than the whole asked.
    assert (
        Budget(min_samples=10).share(5).min_samples == 3 and Budget(min_samples=2).share(5).min_samples == 2
    )


def _result(encoder: str, cell: TimedCell) -> CellResult:
    samples = tuple(float(x) for x in cell.samples.end_to_end)
    return CellResult(
        Cell(encoder, "torch", "cpu", "fp32", 1, 1),
        PhaseStats(n=len(samples), median=float(np.median(samples))),
        samples={"end_to_end": samples},
        rounds=tuple(cell.visits),
    )


def _ratio(base: TimedCell, fast: TimedCell) -> float:
    run = report([_result("base", base), _result("fast", fast)], suite={"latency": {"baseline": "base"}})
    found = speedup(run, run.cells[1])
    assert found is not None
    return found.value


def test_a_load_that_comes_and_goes_does_not_move_the_ratio_as_it_moves_a_sequential_one() -> None:
    """The baseline cell costs 100 µs a call, the other 50 µs (x2.00); a neighbour triples every call for
    the first 6 ms of a run of about 12. Measured one after the other, the load falls on the baseline alone;
    interleaved, it falls on the first rounds of both."""
    budget = Budget(min_time_s=0.005, min_samples=10, max_time_s=1.0, warmup_window=2, warmup_max_s=0.01)

    def load(t: int) -> float:
        return 3.0 if t < 6_000 * US else 1.0

    def run(rounds: int) -> float:
        clock = Clock()
        base = timed(Fake(clock, 100 * US, load), rounds, budget)
        fast = timed(Fake(clock, 50 * US, load), rounds, budget)
        if rounds == 1:  # the order before rounds: the baseline cell's whole budget, then the other's
            base.visit(0)
            fast.visit(1)
        else:
            interleave([base, fast], rounds, seed=0)
        assert clock.now > 10_000 * US  # the load covered about half of the run either way
        return _ratio(base, fast)

    assert run(1) == pytest.approx(6.0)  # the sequential ratio takes the load whole
    assert run(5) == pytest.approx(2.0)


def test_a_load_on_one_cell_in_some_rounds_widens_the_interval_not_the_ratio() -> None:
    clock = Clock()
    hit_rounds = {1, 3}
    base_step = Fake(clock, 100 * US)
    base, fast = timed(base_step, 5), timed(Fake(clock, 50 * US), 5)
    real_visit = TimedCell.visit

    def loaded(position: int) -> None:
        base_step.load = (lambda t: 4.0) if len(base.visits) in hit_rounds else (lambda t: 1.0)
        real_visit(base, position)

    base.visit = loaded  # type: ignore[method-assign]
    interleave([base, fast], 5, seed=1)
    assert [v.median for v in base.visits] == [100 * US, 400 * US, 100 * US, 400 * US, 100 * US]
    run = report([_result("base", base), _result("fast", fast)], suite={"latency": {"baseline": "base"}})
    found = speedup(run, run.cells[1])
    assert found is not None and found.method == "rounds" and found.rounds == 5
    assert found.value == pytest.approx(2.0)
    assert found.wide and found.high == pytest.approx(8.0)


def test_a_round_cut_by_ctrl_c_leaves_only_whole_rounds() -> None:
    clock = Clock()
    step = Fake(clock, 100 * US)
    cell = timed(step, rounds=5)
    cell.visit(0)
    whole = len(cell.samples.end_to_end)
    real_forward = step.forward
    start = step.calls

    def interrupted(inputs):
        if step.calls - start >= 3:  # the re-warm call and two timed samples made, then Ctrl-C
            raise KeyboardInterrupt
        return real_forward(inputs)

    step.forward = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        cell.visit(0)
    assert len(cell.visits) == 1 and len(cell.samples.end_to_end) == whole == cell.visits[0].n
    assert len(cell.samples.tokenize) == len(cell.samples.forward) == whole


def test_a_one_thread_cell_tokenises_serially_and_the_others_as_the_user_asked(monkeypatch) -> None:
    import os

    from daft.models import tokenization

    seen = []

    class Spy(Fake):
        def forward(self, inputs):
            seen.append(os.environ.get("TOKENIZERS_PARALLELISM"))
            return super().forward(inputs)

    monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    monkeypatch.setattr(tokenization, "_ASKED", None)
    clock = Clock()
    one, two = Spy(clock, 10 * US), Spy(clock, 10 * US)
    cells = [
        TimedCell(one, batches(["q"], 1), BUDGET, 1, clock=one.clock, threads=1),
        TimedCell(two, batches(["q"], 1), BUDGET, 1, clock=two.clock, threads=2),
    ]
    interleave(cells, 1, 0)
    assert set(seen) == {"false", None}  # each cell's calls ran under its own setting
    cells[0].visit(1)
    assert os.environ["TOKENIZERS_PARALLELISM"] == "false"
    monkeypatch.setattr(
        tokenization, "_ASKED", "true"
    )  # a user's own setting is what multi-thread cells keep
    cells[1].visit(1)
    assert os.environ["TOKENIZERS_PARALLELISM"] == "true"


class Jittery(Fake):
    """A call costs `cost_ns` times a factor in [1 - spread, 1 + spread], drawn anew at every visit."""

    def __init__(self, clock: Clock, cost_ns: int, spread: float, seed: int) -> None:
        super().__init__(clock, cost_ns)
        self.spread, self.rng, self.factor = spread, np.random.default_rng(seed), 1.0
        self.load = lambda t: self.factor

    def activate(self) -> None:
        super().activate()
        self.factor = 1.0 + self.spread * self.rng.uniform(-1, 1)


def test_a_cell_stops_once_its_speed_up_is_known_and_its_baseline_with_the_last_of_its_cells() -> None:
    clock = Clock()
    base = timed(Jittery(clock, 100 * US, 0.01, 0), rounds=12)
    steady = timed(Jittery(clock, 50 * US, 0.01, 1), rounds=12)
    shaky = timed(Jittery(clock, 50 * US, 0.5, 2), rounds=12)
    steady.baseline = shaky.baseline = base
    seen: list[tuple[int, int]] = []
    interleave([base, steady, shaky], 12, 0, lambda r, i: seen.append((r, i)), Stopping(4, 0.1))
    assert (steady.stopped, len(steady.visits)) == (INTERVAL, 4)  # the floor, then a narrow interval
    assert (shaky.stopped, len(shaky.visits)) == (CEILING, 12)  # never narrow: the ceiling
    assert (base.stopped, len(base.visits)) == (CEILING, 12)  # kept as long as shaky needed it
    assert [i for r, i in seen if r >= 4].count(1) == 0  # a stopped cell is not visited again
    # positions count the visits a round made
    assert [v.position for v in shaky.visits] == [[i for q, i in seen if q == r].index(2) for r in range(12)]


def test_a_baseline_stops_when_the_cells_compared_with_it_do() -> None:
    clock = Clock()
    base = timed(Jittery(clock, 100 * US, 0.3, 0), rounds=12)
    fast = timed(Jittery(clock, 50 * US, 0.01, 1), rounds=12)
    alone = timed(Jittery(clock, 70 * US, 0.01, 3), rounds=12)  # no baseline: its median's interval
    fast.baseline = base
    interleave([base, fast, alone], 12, 0, rule=Stopping(5, 0.5))
    assert fast.stopped == INTERVAL and base.stopped == BASELINE and alone.stopped == INTERVAL
    assert len(base.visits) == len(fast.visits) >= 5 and len(alone.visits) == 5


def test_without_a_floor_every_cell_takes_every_round() -> None:
    clock = Clock()
    cells = [timed(Jittery(clock, 100 * US, 0.0, i), rounds=6) for i in range(2)]
    cells[1].baseline = cells[0]
    interleave(cells, 6, 0)
    assert [(c.stopped, len(c.visits)) for c in cells] == [(CEILING, 6), (CEILING, 6)]


def test_ctrl_c_marks_the_running_cells_interrupted() -> None:
    clock = Clock()
    cells = [timed(Fake(clock, 100 * US), rounds=6) for _ in range(2)]

    def stop(round_index: int, index: int) -> None:
        if round_index == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interleave(cells, 6, 0, stop)
    assert [(c.stopped, len(c.visits)) for c in cells] == [(INTERRUPTED, 2), (INTERRUPTED, 2)]


def test_a_rounds_summary_is_the_median_of_its_samples_not_the_mean() -> None:
    clock = Clock()
    calls = iter(range(10**9))
    step = Fake(
        clock, 100 * US, load=lambda t: 20.0 if next(calls) % 5 == 0 else 1.0
    )  # one call in 5 is slow
    cell = timed(step, rounds=3)
    interleave([cell], 3, seed=0)
    start = 0
    for visit in cell.visits:
        mine = np.asarray(cell.samples.end_to_end[start : start + visit.n])
        start += visit.n
        assert visit.median == np.median(mine) == 100 * US and mine.mean() > 100 * US
