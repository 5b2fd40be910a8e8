"""The latency tables: one per batch size that reads at 100 columns with no number split from its unit, the
wide layout on demand, why each cell's rounds ended, and cells that measured the scheduler marked."""

from __future__ import annotations

import re
from dataclasses import replace

from rich.console import Console

from bench import schema
from bench.__main__ import main
from bench.report.tables import latency_tables, summary_lines
from bench.results import Cell, CellResult, CellRound, PhaseStats, SetupResult
from bench.stats import format_ns
from tests.bench.support import report

SUITE = {
    "suite": {"name": "cpu_latency"},
    "latency": {"baseline": "minilm-l6", "baseline_backend": "torch"},
    "measure": {"rounds": 12, "target_width": 0.1},
}
ROWS = [
    ("minilm-l6", "torch", 9.78e6),
    ("minilm-l6", "sentence-transformers", 10.8e6),
    ("bert-l2-h128", "onnxruntime", 369e3),
    ("L0", "static-cold", 26.0e3),
    ("L0", "model2vec", 61.3e3),
]


def _cell(encoder: str, backend: str, median: float, batch: int, threads: int) -> CellResult:
    scale = batch * (1.0 if threads == 1 else 0.6)
    values = [median * scale * (1 + 0.01 * (i % 5 - 2)) for i in range(600)]
    stats = PhaseStats(
        n=600, median=median * scale, p99=median * scale * 1.3, median_ci=(median * scale * 0.98, median * scale * 1.03),
        throughput=batch / (median * scale) * 1e9, max=median * scale * 2,
    )  # fmt: skip
    rounds = tuple(CellRound(median * scale * (1 + 0.01 * (r % 3)), 50, r) for r in range(7))
    return CellResult(
        Cell(encoder, backend, "cpu", "fp32", batch, threads), stats, samples={"end_to_end": tuple(values)},
        rounds=rounds, stopped="interval" if (encoder, backend) != ("minilm-l6", "torch") else "baseline",
    )  # fmt: skip


def _grid(threads: tuple[int, ...] = (1, 2)) -> list[CellResult]:
    return [_cell(*row, b, t) for row in ROWS for t in threads for b in (1, 8, 32, 256)]


def _run(cells: list[CellResult]):
    setups = tuple(
        SetupResult("minilm-l6", b, "cpu", "fp32", 1, 0.1, 0.1, 1, 0.0, 1e-3, None, 1, {"reference": True})
        for b in ("sentence-transformers", "model2vec")
    )
    return report(cells, suite=SUITE, setups=setups)


def _text(run, width: int, *, wide: bool = False) -> str:
    console = Console(width=width, record=True)
    for table in latency_tables(run, wide=wide):
        console.print(table)
    return console.export_text()


def test_one_table_per_batch_size_reads_at_100_columns_with_every_figure_whole() -> None:
    run = _run(_grid())
    text = _text(run, 100)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100
    assert [int(b) for b in re.findall(r"— batch (\d+) on cpu", text)] == [1, 8, 32, 256]
    for result in run.cells:  # every figure printed whole, with its unit, on one line
        stats = result.end_to_end
        low, high = stats.median_ci
        assert format_ns(stats.median) in text and format_ns(stats.p99) in text
        assert f"{format_ns(low).split()[0]}–{format_ns(high)}" in text
    assert "sentence-transformers t2*" in text and "×646" not in text
    static = _text(_run(_grid((1,))), 100)
    assert "batch 1 on cpu, 1 thread" in static and " t1" not in static  # one thread count: in the title


def test_the_speed_up_column_divides_the_baseline_on_its_backend() -> None:
    text = _text(_run(_grid((1,))), 100)
    assert "speed-up over minilm-l6 on torch" in text
    row = next(line for line in text.splitlines() if line.startswith("L0") and "static-cold" in line)
    assert "×376 (" in row  # 9.78 ms / 26.0 µs


def test_the_wide_layout_has_a_column_per_batch_size_and_each_cells_rounds() -> None:
    text = _text(_run(_grid((1,))), 250, wide=True)
    assert len(re.findall(r"— query encoding latency on cpu", text)) == 1
    assert all(f"batch {b}" in text for b in (1, 8, 32, 256))
    assert "7 rounds (interval)" in text and "7 rounds (baseline)" in text and "vs minilm-l6 torch" in text


def test_a_cell_of_scheduler_time_slices_is_shown_as_such_and_summarised() -> None:
    cells = _grid()
    sliced = "scheduler time slices: 52x the 1-thread cell, 100% of samples at multiples of 4 ms (the threads waited for a busy core)"
    cells[-1] = replace(cells[-1], warnings=(sliced,))
    run = _run(cells)
    row = [line for line in _text(run, 100).splitlines() if "slices" in line and "model2vec" in line]
    assert row and "×" not in row[0]
    assert any(
        "measured the scheduler's time slices" in line and "52x" in line for line in summary_lines(run)
    )


def test_the_summary_says_why_rounds_ended(tmp_path, capsys) -> None:
    run = _run(_grid((1,)))
    lines = summary_lines(run)
    assert "measured in 7 interleaved rounds, shuffled with seed 0" in lines
    assert (
        "rounds ended: 4 cells as baselines, with the last cell compared with them; "
        "16 cells once their interval was within 10%" in lines
    )
    path = tmp_path / "r.json"
    path.write_text(schema.dumps(schema.to_json(run)))
    assert main(["report", str(path), "--wide"]) == 0
    assert "7 rounds (interval)" in capsys.readouterr().out
