"""The cells' noise warnings and the wide speed-up intervals, summarised: one line per kind, worst named.

A busy machine gives most cells a warning; ninety lines of them hide the one that matters. Each kind is
counted, with its worst few cells (highest CV, fewest samples, ...) named; every warning stays in the
report (`cells[].warnings`). The kinds are read back from the texts the latency runner writes, so reports
written before this summary existed are summarised alike; a text of no known kind is its own kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bench.results import Report
from bench.specs import MeasureSpec
from bench.speedup import WIDE, speedup

__all__ = ["TOP", "cell_warning_lines", "stopping_line", "wide_speedup_line"]

TOP = 3  # cells named per kind


@dataclass(frozen=True)
class _Kind:
    pattern: re.Pattern[str]
    label: Callable[[re.Match[str]], str]  # the kind, from one of its warnings (its threshold)
    detail: Callable[[re.Match[str]], str]  # what is shown beside a named cell
    badness: Callable[[re.Match[str]], float]  # worst first


_KINDS = (
    _Kind(
        re.compile(r"high variation \(CV (\d+)% > (\d+)%\)"),
        lambda m: f"with CV > {m[2]}%",
        lambda m: f"{m[1]}%",
        lambda m: float(m[1]),
    ),
    _Kind(
        re.compile(r"rounds disagree \(CV of round medians (\d+)% > (\d+)%\)"),
        lambda m: f"whose round medians vary by CV > {m[2]}% (a load came and went)",
        lambda m: f"{m[1]}%",
        lambda m: float(m[1]),
    ),
    _Kind(
        re.compile(r"time cap reached after (\d+) samples"),
        lambda m: "stopped at the time cap with fewer samples than asked",
        lambda m: f"n={m[1]}",
        lambda m: -float(m[1]),
    ),
    _Kind(
        re.compile(r"latency not steady after (\d+) warm-up calls"),
        lambda m: "not steady after warm-up",
        lambda m: f"{m[1]} calls",
        lambda m: float(m[1]),
    ),
    _Kind(
        re.compile(r"scheduler time slices: (\d+)x the 1-thread cell.*"),
        lambda m: "measured the scheduler's time slices, not the encoder (threads waiting for a busy core)",
        lambda m: f"{m[1]}x one thread",
        lambda m: float(m[1]),
    ),
    _Kind(
        re.compile(r"interrupted after (\d+) of (\d+) rounds"),
        lambda m: f"interrupted before their {m[2]} rounds",
        lambda m: f"{m[1]} done",
        lambda m: -float(m[1]),
    ),
)


def _classify(text: str) -> tuple[str, str, float]:
    """(kind label, detail, badness) of one cell warning."""
    for kind in _KINDS:
        if match := kind.pattern.fullmatch(text):
            return kind.label(match), kind.detail(match), kind.badness(match)
    return text, "", 0.0


def _named(entries: list[tuple[float, str]], total: int) -> str:
    shown = ", ".join(text for _, text in sorted(entries, key=lambda e: -e[0])[:TOP])
    return shown + (f" and {total - TOP} more" if total > TOP else "")


def cell_warning_lines(report: Report) -> list[str]:
    """One line per kind of cell warning: how many cells, and the worst `TOP` of them."""
    kinds: dict[str, list[tuple[float, str]]] = {}
    for result in report.cells:
        for text in result.warnings:
            label, detail, badness = _classify(text)
            kinds.setdefault(label, []).append((badness, f"{result.id} ({detail})" if detail else result.id))
    lines = []
    for label, entries in kinds.items():
        n = len(entries)
        lines.append(f"{n} cell{'s' * (n != 1)} {label}: {_named(entries, n)}")
    return lines


def wide_speedup_line(report: Report) -> str | None:
    """The speed-ups whose interval is wider than `WIDE` of the ratio (marked ~ in the tables), or None."""
    entries = []
    for result in report.cells:
        s = speedup(report, result)
        if s is not None and s.wide and s.low is not None and s.high is not None:
            width = (s.high - s.low) / s.value
            entries.append((width, f"{result.id} ×{s.value:.2f} ({s.low:.2f}–{s.high:.2f})"))
    if not entries:
        return None
    n = len(entries)
    return (
        f"{n} speed-up{'s' * (n != 1)} with a 95% interval wider than {WIDE:.0%} of the ratio "
        f"(marked ~): {_named(entries, n)}"
    )


def _why(reason: str, measure: MeasureSpec) -> str:
    """What a `CellResult.stopped` reason means, with the suite's numbers."""
    return {
        "interval": f"once their interval was within {measure.target_width:.0%}",
        "ceiling": f"at the ceiling of {measure.rounds} rounds",
        "sample cap": f"at the cap of {measure.max_samples} samples",
        "baseline": "as baselines, with the last cell compared with them",
        "interrupted": "interrupted",
    }.get(reason, reason)


def stopping_line(report: Report) -> str | None:
    """Why the cells' rounds ended, counted by reason; the widest speed-ups at the ceiling named."""
    by_reason: dict[str, list[tuple[float, str]]] = {}
    for result in report.cells:
        if result.stopped:
            found = speedup(report, result)
            width = found.width if found is not None and found.width is not None else 0.0
            shown = f"{result.id} (±{width / 2:.0%})" if width else result.id
            by_reason.setdefault(result.stopped, []).append((width, shown))
    if not by_reason:
        return None
    measure = report.suite.measure
    parts = []
    for reason, entries in by_reason.items():
        n = len(entries)
        named = f": {_named(entries, n)}" if reason == "ceiling" and any(w for w, _ in entries) else ""
        parts.append(f"{n} cell{'s' * (n != 1)} {_why(reason, measure)}{named}")
    return "rounds ended: " + "; ".join(parts)
