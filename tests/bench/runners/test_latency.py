"""A cell's result from its rounds: pooled statistics, the per-round medians, and the round warnings."""

from __future__ import annotations

from bench.results import Cell, CellRound, MemoryUse
from bench.rounds import TimedCell
from bench.runners.latency import _cell_result
from bench.specs import MeasureSpec
from bench.timing import NoOp, Samples

CELL = Cell("m", "torch", "cpu", "fp32", 1, 1)


def _timed(rounds: list[list[int]], *, capped: bool = False) -> TimedCell:
    samples = Samples(warmup_calls=6, warmup_steady=True, capped=capped)
    for values in rounds:
        samples.end_to_end += values
        samples.tokenize += [1] * len(values)
        samples.forward += [v // 2 for v in values]
    cell = TimedCell(NoOp(), lambda i: ["q"], MeasureSpec(), rounds=5, samples=samples)
    cell.visits = [CellRound(float(sorted(v)[len(v) // 2]), len(v), i) for i, v in enumerate(rounds)]
    return cell


def test_samples_pool_over_rounds_and_a_load_between_rounds_is_named() -> None:
    measure = MeasureSpec(min_samples=10, cv_warn=0.5, rounds=5)
    quiet = [[100, 101, 99]] * 5
    result = _cell_result(CELL, _timed(quiet), measure)
    assert result.end_to_end.n == 15 and result.end_to_end.median == 100
    assert [r.median for r in result.rounds] == [100.0] * 5 and result.warnings == ()
    loaded = _cell_result(CELL, _timed([[100] * 3, [100] * 3, [400] * 3, [100] * 3, [100] * 3]), measure)
    assert any(w.startswith("rounds disagree (CV of round medians 84% > 50%)") for w in loaded.warnings)


def test_a_round_at_its_time_cap_counts_only_when_the_cell_is_short_and_interrupts_are_said() -> None:
    measure = MeasureSpec(min_samples=10, rounds=5)
    enough = _cell_result(CELL, _timed([[100] * 3] * 5, capped=True), measure)
    assert not enough.capped and not any("time cap" in w for w in enough.warnings)
    short = _cell_result(CELL, _timed([[100]] * 5, capped=True), measure)
    assert short.capped and "time cap reached after 5 samples" in short.warnings
    cut = _cell_result(CELL, _timed([[100] * 3] * 2), measure)
    assert "interrupted after 2 of 5 rounds" in cut.warnings and cut.memory == MemoryUse()


def test_why_the_rounds_ended_is_kept_and_a_time_sliced_two_thread_cell_is_marked() -> None:
    from bench.rounds import INTERVAL

    measure = MeasureSpec(min_samples=3, rounds=12, min_rounds=4)
    timed = _timed([[100] * 3] * 4)
    timed.stopped = INTERVAL
    result = _cell_result(CELL, timed, measure)
    assert result.stopped == INTERVAL and not any("interrupted" in w for w in result.warnings)
    sliced = _timed([[8_000_000, 8_001_000, 7_999_000]] * 4)
    two = Cell("m", "static", "cpu", "fp32", 8, 2)
    marked = _cell_result(two, sliced, measure, one_thread=150_000)
    assert any(
        w.startswith("scheduler time slices: 53x the 1-thread cell, 100% of samples at multiples of 4 ms")
        for w in marked.warnings
    )
    assert not any("time slices" in w for w in _cell_result(two, sliced, measure).warnings)
