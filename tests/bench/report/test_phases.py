"""`bench report --phases`: tokenise / forward / fetch per cell, with shares and word-cache hit rates."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from bench.report.tables import phase_table


def _entry(tok: list[int], fwd: list[int], e2e: list[int], **extra: Any) -> dict[str, Any]:
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731  (odd-length lists here)
    return {
        "id": "L0/static/cpu/fp32/b1/t1",
        "tokenize": {"median": median(tok)},
        "forward": {"median": median(fwd)},
        "end_to_end": {"median": median(e2e)},
        "samples": {"tokenize": tok, "forward": fwd, "end_to_end": e2e},
        "warmup": {"calls": 3, "steady": True},
        "memory": {},
        **extra,
    }


def _render(report: dict[str, Any]) -> str:
    console = Console(width=250, record=True)
    console.print(phase_table(report))
    return console.export_text()


def test_fetch_is_the_per_sample_remainder_and_shares_add_up() -> None:
    entry = _entry([2000, 2000, 2000], [6000, 6000, 6000], [10000, 10000, 10000])
    text = _render({"cells": [entry]})
    assert "2.00 µs" in text and "6.00 µs" in text and "10.0 µs" in text
    assert "20% / 60% / 20%" in text


def test_word_cache_hit_rates_are_shown_when_recorded() -> None:
    cache = {"word_hit_rate": 0.91, "text_hit_rate": 0.56}
    entry = _entry([1, 1, 1], [1, 1, 1], [3, 3, 3], word_cache=cache)
    assert "91% words, 56% texts" in _render({"cells": [entry]})
