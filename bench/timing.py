"""The measurement loop: warm up until latency is steady, then time calls until the budget is met.

One timed call = tokenize -> forward -> fetch on one batch of query texts; the three phases are
timestamped with `time.perf_counter_ns` inside the same call, so tokenisation, the model forward and the
end-to-end latency (text in, normalised vector on the host out) come from the same samples. On CUDA
the forward is timed with CUDA events (device time) and end-to-end still with the host clock.

Design notes, after pyperf (warm-up, calibrated loops) and pytest-benchmark (min rounds / min time):
- warm-up first calls each distinct input shape of the rotation once (a shape's first call pays for
  kernel selection, allocator growth and, on CUDA, library heuristics: tens of milliseconds that a server
  pays once, not per query), then is adaptive: calls until the median of the last `window` calls is
  within `rel_tol` of the previous window's (`bench.stats.steady_state`); both capped together by
  `warmup_max_s`, and both counts recorded;
- the budget is "at least `min_time_s` AND at least `min_samples`", capped by `max_time_s` and
  `max_samples`; a cell that hits the time cap with fewer samples says so (`capped`);
- the harness overhead is the same loop around a no-op (`calibrate_overhead`).
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from bench.stats import steady_state

MIN_ROUND_SAMPLES = 3  # the fewest whose median ignores one preempted call (see `Budget.share`)


@dataclass(frozen=True)
class Budget:
    """How long and how often one cell is measured."""

    min_time_s: float = 0.5
    min_samples: int = 10
    max_samples: int = 10_000
    max_time_s: float = 5.0
    warmup_window: int = 5
    warmup_rel_tol: float = 0.05
    warmup_max_s: float = 3.0

    def share(self, rounds: int) -> Budget:
        """One round's share of the budget when a cell is measured in `rounds` rounds: the times and
        sample counts divided among them, the warm-up left whole (it runs once, before the first round).

        A round still asks for `MIN_ROUND_SAMPLES` samples (or all of `min_samples`, if fewer): the round's
        median is what a speed-up pairs, and a median of two is the mean of a preempted call and another.
        """
        if rounds <= 1:
            return self
        min_samples = min(self.min_samples, max(math.ceil(self.min_samples / rounds), MIN_ROUND_SAMPLES))
        return replace(
            self,
            min_time_s=self.min_time_s / rounds,
            min_samples=min_samples,
            max_samples=max(self.max_samples // rounds, min_samples),
            max_time_s=self.max_time_s / rounds,
        )


Clock = Callable[[], int]  # nanoseconds


def _seconds(ns: int) -> float:
    return ns / 1e9


@dataclass
class Samples:
    """Raw nanosecond samples of one cell, phase by phase, plus how the warm-up went."""

    tokenize: list[int] = field(default_factory=list)
    forward: list[int] = field(default_factory=list)
    end_to_end: list[int] = field(default_factory=list)
    warmup_calls: int = 0
    warmup_shapes: int = 0
    warmup_steady: bool = False
    capped: bool = False
    wall_s: float = 0.0


class CudaTimer:
    """Device time of the work queued between `start()` and `stop()`, from a pair of CUDA events."""

    def __init__(self, device: str):
        import torch

        self._device = torch.device(device)
        self._start = torch.cuda.Event(enable_timing=True)
        self._end = torch.cuda.Event(enable_timing=True)

    def start(self) -> None:
        """Record the start event on the device's current stream (where torch queues `forward`)."""
        import torch

        self._start.record(torch.cuda.current_stream(self._device))

    def stop(self) -> None:
        """Record the end event on the same stream; returns at once."""
        import torch

        self._end.record(torch.cuda.current_stream(self._device))

    def elapsed_ns(self) -> int:
        """Wait for the end event and return the device time between the two events in nanoseconds."""
        self._end.synchronize()
        # elapsed_time is in milliseconds with about 0.5 us resolution.
        return round(self._start.elapsed_time(self._end) * 1e6)


@runtime_checkable
class Prepared(Protocol):
    """An encoder made ready on one backend/device/dtype/threads; the loop calls tokenize, forward, fetch."""

    cuda_timer: CudaTimer | None
    info: dict[str, Any]

    def activate(self) -> None:
        """Make this Prepared's process-wide settings (torch's thread count) current again: in interleaved
        rounds, the cells of other Prepareds run in between."""
        ...

    def tokenize(self, texts: Sequence[str]) -> Any:
        """Text -> backend-ready inputs (on the device); host work only."""
        ...

    def forward(self, inputs: Any) -> Any:
        """The model call; returns the device output without synchronising."""
        ...

    def fetch(self, output: Any) -> Any:
        """Synchronise and return float32 (batch, dim) L2-normalised rows on the host (a numpy array)."""
        ...

    def close(self) -> None:
        """Release the session/module and restore any process-wide setting changed by `prepare`."""
        ...


class NoOp:
    """A `Prepared` whose phases do nothing: the loop's own cost (`calibrate_overhead`), and a base for fakes."""

    cuda_timer: CudaTimer | None = None

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}

    def activate(self) -> None:
        """Nothing process-wide to make current."""

    def tokenize(self, texts: Sequence[str]) -> Any:
        """The texts themselves."""
        return texts

    def forward(self, inputs: Any) -> Any:
        """The inputs themselves."""
        return inputs

    def fetch(self, output: Any) -> Any:
        """The output itself."""
        return output

    def close(self) -> None:
        """Nothing to release."""


def timed_call(
    step: Prepared, texts: Sequence[str], clock: Clock = time.perf_counter_ns
) -> tuple[int, int, int]:
    """One call: (tokenize ns, forward ns, end-to-end ns)."""
    timer = step.cuda_timer
    t0 = clock()
    inputs = step.tokenize(texts)
    t1 = clock()
    if timer is not None:
        timer.start()
    output = step.forward(inputs)
    if timer is not None:
        timer.stop()
    t2 = clock()
    step.fetch(output)
    t3 = clock()
    forward = timer.elapsed_ns() if timer is not None else t2 - t1
    return t1 - t0, forward, t3 - t0


def rotation_length(n_texts: int, batch_size: int) -> int:
    """How many distinct batches `batches` rotates through."""
    return max(n_texts - batch_size, 0) // batch_size + 1


def batches(texts: Sequence[str], batch_size: int) -> Callable[[int], Sequence[str]]:
    """Call i gets the i-th batch of a rotation through `texts` (every backend sees the same batches)."""
    n = len(texts)
    if n == 0:
        raise ValueError("no texts to time")
    starts = [i * batch_size for i in range(rotation_length(n, batch_size))]

    def batch(i: int) -> Sequence[str]:
        start = starts[i % len(starts)]
        chunk = list(texts[start : start + batch_size])
        while len(chunk) < batch_size:  # fewer texts than a batch: repeat them
            chunk.extend(texts[: batch_size - len(chunk)])
        return chunk

    return batch


@contextmanager
def collector_paused() -> Iterator[None]:
    """Collect now, then keep the cyclic collector out of the timed region: a GC pause is harness noise."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def warm_up(
    step: Prepared,
    batch: Callable[[int], Sequence[str]],
    budget: Budget,
    result: Samples,
    shapes: Sequence[Hashable] | None = None,
    clock: Clock = time.perf_counter_ns,
) -> None:
    """Call each distinct input shape once, then call until latency is steady; record both counts."""
    start = clock()
    first_of_shape = {shape: i for i, shape in reversed(list(enumerate(shapes or [])))}
    for i in sorted(first_of_shape.values()):
        if _seconds(clock() - start) >= budget.warmup_max_s:
            break
        timed_call(step, batch(i), clock)
        result.warmup_shapes += 1
    warm: list[int] = []
    while True:
        warm.append(timed_call(step, batch(len(warm)), clock)[2])
        if steady_state(warm, budget.warmup_window, budget.warmup_rel_tol):
            result.warmup_steady = True
            break
        if _seconds(clock() - start) >= budget.warmup_max_s:
            break
    result.warmup_calls = len(warm)


def collect(
    step: Prepared,
    batch: Callable[[int], Sequence[str]],
    budget: Budget,
    result: Samples,
    clock: Clock = time.perf_counter_ns,
) -> int:
    """Time calls until `budget` is met, appending to `result`; returns how many were added.

    Called once per cell (`measure`) or once per round with a share of the budget (`bench.rounds`); the
    rotation goes on where the previous call left it, so every round times other batches.
    """
    start = clock()
    offset = result.warmup_calls + len(result.end_to_end)
    i = 0
    while True:
        tok, fwd, total = timed_call(step, batch(offset + i), clock)
        result.tokenize.append(tok)
        result.forward.append(fwd)
        result.end_to_end.append(total)
        i += 1
        elapsed = _seconds(clock() - start)
        if i >= budget.max_samples:
            break
        if elapsed >= budget.max_time_s:
            result.capped = result.capped or i < budget.min_samples
            break
        if elapsed >= budget.min_time_s and i >= budget.min_samples:
            break
    result.wall_s += _seconds(clock() - start)
    return i


def measure(
    step: Prepared,
    texts: Sequence[str],
    batch_size: int,
    budget: Budget,
    shapes: Sequence[Hashable] | None = None,
) -> Samples:
    """Warm up, then time calls of `step` on batches of `texts` until `budget` is met.

    `shapes[i]` is the input shape of the rotation's i-th batch; each distinct one is warmed up once.
    """
    batch = batches(texts, batch_size)
    result = Samples()
    with collector_paused():
        warm_up(step, batch, budget, result, shapes)
        collect(step, batch, budget, result)
    return result


def calibrate_overhead(budget: Budget | None = None) -> Samples:
    """The loop's own cost: the same timed call around no-op phases."""
    budget = budget or Budget(min_time_s=0.2, min_samples=1000, max_samples=20_000, max_time_s=1.0)
    return measure(NoOp(), ["x"], 1, budget)
