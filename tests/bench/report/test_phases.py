"""`bench report --phases`: tokenise / forward / fetch per cell, with shares and word-cache hit rates."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from bench.report.tables import phase_table
from bench.results import Cell, CellResult, PhaseStats, Warmup
from tests.bench.support import report


def _result(tok: list[int], fwd: list[int], e2e: list[int], **extra: Any) -> CellResult:
    def stats(xs: list[int]) -> PhaseStats:
        return PhaseStats(n=len(xs), median=float(sorted(xs)[len(xs) // 2]))  # odd-length lists here

    return CellResult(
        Cell("L0", "static", "cpu", "fp32", 1, 1),
        stats(e2e),
        tokenize=stats(tok),
        forward=stats(fwd),
        samples={"tokenize": tuple(tok), "forward": tuple(fwd), "end_to_end": tuple(e2e)},
        warmup=Warmup(calls=3),
        **extra,
    )


def _render(result: CellResult) -> str:
    console = Console(width=250, record=True)
    console.print(phase_table(report([result])))
    return console.export_text()


def test_fetch_is_the_per_sample_remainder_and_shares_add_up() -> None:
    text = _render(_result([2000, 2000, 2000], [6000, 6000, 6000], [10000, 10000, 10000]))
    assert "2.00 µs" in text and "6.00 µs" in text and "10.0 µs" in text
    assert "20% / 60% / 20%" in text


def test_word_cache_hit_rates_are_shown_when_recorded() -> None:
    cache = {"word_hit_rate": 0.91, "text_hit_rate": 0.56}
    assert "91% words, 56% texts" in _render(_result([1, 1, 1], [1, 1, 1], [3, 3, 3], word_cache=cache))
