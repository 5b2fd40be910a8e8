"""The speed-up over the baseline encoder: from per-round pairs, else pooled samples, else medians; the ~ mark."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rich.console import Console

from bench.report.tables import latency_tables
from bench.results import Cell, CellResult, CellRound, PhaseStats
from bench.speedup import speedup
from tests.bench.support import cell_result, report

SUITE = {"suite": {"name": "s"}, "latency": {"baseline": "base"}}


def _rounds(encoder: str, medians: list[float]) -> CellResult:
    cell = Cell(encoder, "torch", "cpu", "fp32", 1, 1)
    stats = PhaseStats(n=len(medians), median=sorted(medians)[len(medians) // 2], throughput=1.0)
    rounds = tuple(CellRound(m, 10, i) for i, m in enumerate(medians))
    return CellResult(cell, stats, samples={"end_to_end": tuple(medians)}, rounds=rounds)


def _text(run) -> str:
    console = Console(record=True, width=250)
    for table in latency_tables(run):
        console.print(table)
    return console.export_text()


def test_narrow_per_round_ratio_is_plain_and_a_wide_one_is_marked() -> None:
    steady = report(
        [_rounds("base", [100, 102, 98, 101, 99]), _rounds("fast", [50, 51, 49, 50.5, 49.5])], suite=SUITE
    )
    found = speedup(steady, steady.cells[1])
    assert found.method == "rounds" and found.value == pytest.approx(2.0) and not found.wide
    assert speedup(steady, steady.cells[0]) is None  # the baseline itself
    assert "×2.00 (2.00–2.00)" in _text(steady) and "~×" not in _text(steady)
    shaky = report([_rounds("base", [100, 300, 100, 100, 40]), _rounds("fast", [50] * 5)], suite=SUITE)
    found = speedup(shaky, shaky.cells[1])
    assert found.wide and found.value == pytest.approx(2.0)
    assert "~×2.00 (0.800–6.00)" in _text(shaky)


def test_without_rounds_the_pooled_samples_then_the_medians() -> None:
    # A report written before rounds: the ratio of the medians, as the table always showed it.
    old = report(
        [cell_result("base", samples=[100, 110, 90] * 5), cell_result("fast", samples=[50, 55, 45] * 5)],
        suite=SUITE,
    )
    found = speedup(old, old.cells[1])
    assert found.method == "samples" and found.value == pytest.approx(2.0) and found.low <= 2.0 <= found.high
    bare = report([cell_result("base", median=100.0), cell_result("fast", median=25.0)], suite=SUITE)
    assert speedup(bare, bare.cells[1]).value == pytest.approx(4.0) and not speedup(bare, bare.cells[1]).wide
    other_batch = report(
        [cell_result("base", 8, median=100.0), cell_result("fast", median=25.0)], suite=SUITE
    )
    assert speedup(other_batch, other_batch.cells[1]) is None


def test_with_a_baseline_backend_every_row_has_a_speed_up_over_the_baseline_there() -> None:
    suite = {"suite": {"name": "s"}, "latency": {"baseline": "base", "baseline_backend": "torch"}}

    def on(encoder: str, backend: str, medians: list[float]) -> CellResult:
        return replace(
            _rounds(encoder, medians), cell=replace(_rounds(encoder, medians).cell, backend=backend)
        )

    run = report(
        [
            on("base", "torch", [100.0] * 5),
            on("base", "onnxruntime", [50.0] * 5),
            on("L0", "static", [1.0, 1.0, 1.1, 0.9, 1.0]),
            replace(on("L0", "static", [2.0] * 5), cell=Cell("L0", "static", "cpu", "fp32", 8, 1)),
        ],
        suite=suite,
    )
    base, onnx, static, other_batch = (speedup(run, c) for c in run.cells)
    assert base is None and other_batch is None  # the baseline itself; no batch-8 baseline cell
    assert (onnx.value, onnx.against) == (pytest.approx(2.0), "base torch")
    assert (
        static.method == "rounds" and static.value == pytest.approx(100.0) and static.against == "base torch"
    )
    assert "×100 (" in _text(run) and "speed-up over base on torch" in _text(run)
