"""Cell warnings summarised by kind (worst named first), and the wide speed-ups in one line."""

from __future__ import annotations

from dataclasses import replace

from bench.report.noise import cell_warning_lines, wide_speedup_line
from bench.report.tables import summary_lines
from bench.results import CellResult, CellRound
from tests.bench.support import cell_result, report


def _warned(encoder: str, *warnings: str) -> CellResult:
    return replace(cell_result(encoder, median=100.0), warnings=warnings)


def test_ninety_warnings_become_a_line_per_kind_naming_the_worst() -> None:
    cells = [_warned(f"e{i}", f"high variation (CV {10 + i}% > 10%)") for i in range(60)]
    cells += [_warned(f"c{n}", f"time cap reached after {n} samples") for n in (9, 3, 7, 5)]
    cells += [_warned("odd", "something new")]
    lines = cell_warning_lines(report(cells))
    assert lines == [
        "60 cells with CV > 10%: e59/torch/cpu/fp32/b1/t1 (69%), e58/torch/cpu/fp32/b1/t1 (68%), "
        "e57/torch/cpu/fp32/b1/t1 (67%) and 57 more",
        "4 cells stopped at the time cap with fewer samples than asked: c3/torch/cpu/fp32/b1/t1 (n=3), "
        "c5/torch/cpu/fp32/b1/t1 (n=5), c7/torch/cpu/fp32/b1/t1 (n=7) and 1 more",
        "1 cell something new: odd/torch/cpu/fp32/b1/t1",
    ]
    shown = [line for line in summary_lines(report(cells)) if line.startswith("warning:")]
    assert len(shown) == 3


def test_wide_speedups_are_counted_in_one_line() -> None:
    def rounds(encoder: str, medians: list[float]) -> CellResult:
        return replace(
            cell_result(encoder, median=medians[0]), rounds=tuple(CellRound(m, 5, 0) for m in medians)
        )

    suite = {"suite": {"name": "s"}, "latency": {"baseline": "base"}}
    steady = report([rounds("base", [100.0] * 5), rounds("fast", [50.0] * 5)], suite=suite)
    assert wide_speedup_line(steady) is None
    shaky = report(
        [rounds("base", [100.0, 300.0, 100.0, 100.0, 100.0]), rounds("fast", [50.0] * 5)], suite=suite
    )
    assert wide_speedup_line(shaky) == (
        "1 speed-up with a 95% interval wider than 20% of the ratio (marked ~): "
        "fast/torch/cpu/fp32/b1/t1 ×2.00 (2.00–6.00)"
    )
