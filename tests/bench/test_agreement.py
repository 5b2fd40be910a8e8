"""Two runs' speed-ups side by side: matched by cell id, filtered by threads, agreement within a tolerance."""

from __future__ import annotations

import pytest

from bench.agreement import agreement
from tests.bench.support import cell_result, report

SUITE = {"suite": {"name": "s"}, "latency": {"baseline": "base"}}


def _run(base: float, fast: float, slow: float):
    return report(
        [
            cell_result("base", median=base),
            cell_result("fast", median=fast),
            cell_result("slow", median=slow),
        ],
        suite=SUITE,
    )


def test_each_cell_with_a_speed_up_in_both_runs_in_the_first_runs_order() -> None:
    quiet, loaded = (
        _run(100.0, 10.0, 50.0),
        _run(150.0, 12.0, 100.0),
    )  # x10 -> x12.5 (+25%), x2 -> x1.5 (-25%)
    rows = agreement(quiet, loaded)
    assert [r.cell for r in rows] == ["fast/torch/cpu/fp32/b1/t1", "slow/torch/cpu/fp32/b1/t1"]
    assert [round(r.change, 3) for r in rows] == [0.25, -0.25]
    assert [r.agrees() for r in rows] == [False, False]
    assert [r.agrees(0.3) for r in rows] == [True, True]


def test_a_cell_missing_from_either_run_or_with_other_threads_is_left_out() -> None:
    quiet = _run(100.0, 10.0, 50.0)
    partial = report([cell_result("base", median=100.0), cell_result("fast", median=11.0)], suite=SUITE)
    rows = agreement(quiet, partial)
    assert [r.cell for r in rows] == ["fast/torch/cpu/fp32/b1/t1"] and rows[0].agrees()
    assert rows[0].change == pytest.approx(10 / 11 - 1)
    assert agreement(quiet, partial, threads=2) == []
    assert len(agreement(quiet, partial, threads=1)) == 1
