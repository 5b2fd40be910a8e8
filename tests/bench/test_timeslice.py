"""The scheduler-slice artefact: samples on multiples of a tick, far above the one-thread cell."""

from __future__ import annotations

import numpy as np

from bench.timeslice import detect

MS = 1_000_000


def test_calls_of_whole_ticks_far_above_one_thread_are_marked() -> None:
    rng = np.random.default_rng(0)
    ticks = 8 * MS + rng.uniform(-10_000, 10_000, 200)  # 7.99-8.01 ms, as on the loaded VM at batch 8
    found = detect(ticks, one_thread_median=153_000)
    assert found == (
        "scheduler time slices: 52x the 1-thread cell, 100% of samples at multiples of 4 ms "
        "(the threads waited for a busy core)"
    )
    sixteen = 16 * MS + rng.uniform(-20_000, 20_000, 50)
    assert "multiples of 4 ms" in detect(sixteen, one_thread_median=3.2 * MS)


def test_an_encoders_own_latency_is_not_marked() -> None:
    rng = np.random.default_rng(1)
    near = 8 * MS + rng.uniform(-10_000, 10_000, 200)  # on the grid but under 3x one thread
    assert detect(near, one_thread_median=3 * MS) is None
    assert detect([], one_thread_median=1.0) is None and detect(near, one_thread_median=0.0) is None


def test_without_a_grid_far_above_one_thread_is_marked_too() -> None:
    rng = np.random.default_rng(2)
    chaos = rng.uniform(40 * MS, 500 * MS, 15)  # load 10 on 2 cores: waits of every length
    found = detect(chaos, one_thread_median=279_000)
    assert found is not None and "x the 1-thread cell (the threads" in found and "multiples" not in found
