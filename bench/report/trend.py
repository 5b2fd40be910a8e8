"""A suite's history on screen: the key series as a Rich table (one column per run) and greppable lines."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from bench.history import LATENCY, WINDOW, History, Series
from bench.stats import format_ns


def _format(series: Series, value: float) -> str:
    return format_ns(value) if series.kind == LATENCY else f"{value:.4f}"


def _cell(series: Series, index: int) -> str:
    value = series.values[index]
    if value is None:
        return "[dim]–[/]"
    text = _format(series, value)
    step = series.steps[index]
    if step is None:
        return text
    colour = "red" if series.regressed(step) else "green"
    return f"[{colour}]{'↑' if step.up else '↓'}{text} {step.relative:+.0%}[/]"


def history_table(history: History, *, last: int = 8) -> Table:
    """One row per key series, one column per run of the last `last` (oldest left); steps coloured."""
    shown = range(max(0, len(history.runs) - last), len(history.runs))
    caption = (
        f"↑↓ step: over {history.threshold:.0%} from the median of the previous {WINDOW} runs and outside the "
        "previous run's CI (red worse, green better); † environment changed"
    )
    table = Table(title=f"{history.suite} — last {len(shown)} of {len(history.runs)} runs", caption=caption)
    # Rows with nothing in the shown runs (cells that were dropped long ago) would be all dashes.
    rows = [s for s in history.series if any(s.values[i] is not None for i in shown)]
    # Ids are what a reader greps for: never cut them, let the value columns wrap instead.
    table.add_column(
        "cell / system", style="bold", no_wrap=True, min_width=max((len(s.key) for s in rows), default=4)
    )
    table.add_column("measure", no_wrap=True)
    for i in shown:
        run = history.runs[i]
        mark = " †" if run.environment_changed else ""
        status = "" if run.status == "complete" else f"\n{run.status}"
        table.add_column(
            f"#{i + 1}{mark}\n{run.started_at:%Y-%m-%d}\n{run.started_at:%H:%M}{status}", justify="right"
        )
    kind = None
    for series in rows:
        if kind is not None and series.kind != kind:
            table.add_section()
        kind = series.kind
        table.add_row(escape(series.key), escape(series.measure), *(_cell(series, i) for i in shown))
    return table


def summary_lines(history: History, *, last: int = 8) -> list[str]:
    """The step changes and environment changes in the shown runs, one line each (greppable in CI logs)."""
    first = max(0, len(history.runs) - last)
    lines = []
    for i, run in enumerate(history.runs[first:], start=first):
        if run.environment_changed:
            changes = "; ".join(run.environment_changes)
            lines.append(f"† run #{i + 1}: environment changed, timings may not compare: {changes}")
    for series in history.series:
        for step in series.steps[first:]:
            if step is None:
                continue
            verdict = ("faster", "slower") if series.kind == LATENCY else ("lower", "higher")
            lines.append(
                f"step: {series.key} {series.measure} at run #{step.index + 1} "
                f"({history.runs[step.index].started_at:%Y-%m-%d}): {_format(series, step.value)} vs "
                f"{_format(series, step.baseline)} median before ({step.relative:+.0%}, "
                f"{verdict[step.up]})"
            )
    if not any(line.startswith("step:") for line in lines):
        lines.append(f"no step changes in the last {min(last, len(history.runs))} runs")
    return lines
