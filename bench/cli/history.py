"""`python -m bench history SUITE`: a suite's key cells over its saved reports, step changes flagged."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from bench.history import (
    DEFAULT_THRESHOLD,
    LATENCY,
    WINDOW,
    History,
    Series,
    build_history,
    collect,
    history_plot,
)
from bench.stats import format_ns
from daft.cache import atomic_write_bytes
from daft.config import NAME, read_toml
from daft.errors import UserError
from daft.progress import console, output_console

# The table is the product, so it goes to stdout; warnings and where the plot went go to stderr.
stdout = output_console()


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `history`."""
    parser = commands.add_parser("history", help="trend of a suite's key cells over its saved reports")
    parser.add_argument("suite", help="a suite name (cpu_latency) or suite file (suites/cpu_latency.toml)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="report directory (results/)")
    parser.add_argument(
        "--plot", type=Path, default=None, help="PNG to write (default: RESULTS/<suite>-history.png)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="FRACTION",
        # argparse %-formats help strings: the percent sign must be doubled.
        help=f"relative change that makes a step (default {DEFAULT_THRESHOLD:g}, i.e. "
        f"{DEFAULT_THRESHOLD * 100:.0f}%% from the median of the previous {WINDOW} runs)",
    )
    parser.add_argument(
        "--last", type=int, default=8, metavar="N", help="runs shown in the table (default 8)"
    )
    parser.set_defaults(func=run)


def named_suite(ref: str) -> str:
    """The suite a reference names: a file's [suite] name (by default its stem), or the name itself."""
    path = Path(ref)
    if ref.endswith(".toml") or path.is_file():
        # Only the name is needed: a suite whose queries file or models have moved still has a history.
        info = read_toml(path, "suite").get("suite")
        name = info.get("name", path.stem) if isinstance(info, dict) else path.stem
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise UserError(
                f"{path}: [suite] name: {name!r} is not a suite name (letters, digits, '.', '_', '-')"
            )
        return name
    if not NAME.fullmatch(ref):
        raise UserError(f"{ref!r} is neither a suite file nor a suite name (letters, digits, '.', '_', '-')")
    return ref


def run(args: argparse.Namespace) -> int:
    """Collect the reports, print the table, write the plot."""
    if args.last < 1:
        raise UserError(f"--last must be >= 1, got {args.last}")
    if not args.threshold >= 0:  # also refuses NaN
        raise UserError(f"--threshold must be >= 0, got {args.threshold}")
    suite = named_suite(args.suite)
    reports, warnings = collect(args.results, suite)
    for line in warnings:
        console.print(f"[yellow]warning:[/] {escape(line)}", soft_wrap=True, highlight=False)
    if not reports:
        raise UserError(
            f"{args.results}: no saved reports of suite {suite!r} ({suite}-<YYYYMMDDTHHMMSS>.json)"
        )
    history = build_history(suite, reports, args.threshold)
    stdout.print(history_table(history, last=args.last))
    for line in summary_lines(history, last=args.last):
        stdout.print(escape(line), highlight=False, soft_wrap=True)
    plot = args.plot or Path(args.results) / f"{suite}-history.png"
    atomic_write_bytes(plot, history_plot(history))
    console.print(f"plot: {plot}", highlight=False, soft_wrap=True)
    return 0


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
