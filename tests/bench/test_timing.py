"""The measurement loop's budget logic (behaviour only: no test asserts a speed)."""

import time

import pytest

from bench.timing import Budget, NoOp, batches, calibrate_overhead, measure, rotation_length, timed_call


class Recorder(NoOp):
    """Records the batches it is given; optionally sleeps in forward."""

    def __init__(self, forward_s: float = 0.0, slow_first: int = 0):
        self.seen: list[list[str]] = []
        self.forward_s = forward_s
        self.slow_first = slow_first

    def tokenize(self, texts):
        self.seen.append(list(texts))
        return texts

    def forward(self, inputs):
        if len(self.seen) <= self.slow_first:
            time.sleep(0.02)  # a cold start: the warm-up must absorb it
        elif self.forward_s:
            time.sleep(self.forward_s)
        return inputs


def test_batches_rotate_and_pad():
    batch = batches(["a", "b", "c", "d", "e"], 2)
    assert [batch(i) for i in range(3)] == [["a", "b"], ["c", "d"], ["a", "b"]]
    assert batches(["a", "b"], 5)(0) == ["a", "b", "a", "b", "a"]
    with pytest.raises(ValueError):
        batches([], 1)


def test_rotation_length_counts_distinct_batches():
    assert rotation_length(5, 2) == 2 and rotation_length(4, 2) == 2 and rotation_length(2, 5) == 1
    assert rotation_length(1024, 1) == 1024


class ShapeCold(Recorder):
    """Slow on the first call of each batch (a first shape pays kernel selection), fast afterwards."""

    def forward(self, inputs):
        if list(inputs) not in self.seen[:-1]:  # seen[-1] is this call's own batch
            time.sleep(0.02)
        return inputs


def test_warmup_calls_each_distinct_shape_once_before_timing():
    texts = [f"q{i}" for i in range(8)]
    budget = Budget(min_time_s=0.01, min_samples=8, warmup_window=3, warmup_rel_tol=0.5, warmup_max_s=2)
    shapes = [(1, 1), (1, 1), (1, 2), (1, 2), (1, 3), (1, 3), (1, 4), (1, 4)]
    step = ShapeCold()
    samples = measure(step, texts, 1, budget, shapes)
    assert samples.warmup_shapes == 4
    assert step.seen[:4] == [["q0"], ["q2"], ["q4"], ["q6"]]
    # Without the shape pass, q1, q3, ... would still be cold when timed; with shapes given per batch
    # (here each batch its own shape), nothing cold is timed.
    step = ShapeCold()
    samples = measure(step, texts, 1, budget, [(1, i) for i in range(8)])
    assert samples.warmup_shapes == 8 and max(samples.end_to_end) < 15_000_000


def test_min_samples_and_min_time_are_both_met():
    budget = Budget(min_time_s=0.05, min_samples=30, max_samples=10**7, max_time_s=5, warmup_max_s=0.5)
    samples = measure(Recorder(), ["q"] * 10, 1, budget)
    assert len(samples.end_to_end) >= 30
    assert samples.wall_s >= 0.05
    assert len(samples.tokenize) == len(samples.forward) == len(samples.end_to_end)
    assert not samples.capped


def test_max_samples_caps():
    budget = Budget(min_time_s=10, min_samples=1, max_samples=25, max_time_s=10, warmup_max_s=0.2)
    assert len(measure(Recorder(), ["q"], 1, budget).end_to_end) == 25


def test_time_cap_marks_capped_when_min_samples_unmet():
    budget = Budget(min_time_s=0.01, min_samples=1000, max_time_s=0.05, warmup_max_s=0.01)
    samples = measure(Recorder(forward_s=0.01), ["q"], 1, budget)
    assert samples.capped and 1 <= len(samples.end_to_end) < 1000


def test_warmup_absorbs_cold_start_and_records_calls():
    budget = Budget(min_time_s=0.01, min_samples=5, warmup_window=3, warmup_rel_tol=0.5, warmup_max_s=2)
    step = Recorder(slow_first=2)
    samples = measure(step, ["q"], 1, budget)
    assert samples.warmup_steady
    assert samples.warmup_calls >= 6  # two full windows at least
    assert max(samples.end_to_end) < 15_000_000  # the 20 ms cold calls were not timed


def test_phases_add_up_to_end_to_end():
    fake = iter([0, 10, 30, 60])  # t0, t1, t2, t3

    class S(NoOp):
        pass

    assert timed_call(S(), ["q"], clock=lambda: next(fake)) == (10, 20, 60)


def test_cuda_timer_replaces_host_forward_time():
    class Timer:
        def start(self):
            pass

        def stop(self):
            pass

        def elapsed_ns(self):
            return 7

    class S(NoOp):
        cuda_timer = Timer()

    fake = iter([0, 10, 30, 60])
    assert timed_call(S(), ["q"], clock=lambda: next(fake)) == (10, 7, 60)


def test_overhead_calibration_runs_the_loop():
    samples = calibrate_overhead(Budget(min_time_s=0.01, min_samples=100, max_time_s=1, warmup_max_s=0.1))
    assert len(samples.end_to_end) >= 100
    assert all(total >= 0 for total in samples.end_to_end)
