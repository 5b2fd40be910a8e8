"""`python -m bench history SUITE`: a suite's key cells over its saved reports, step changes flagged."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from bench.history import DEFAULT_THRESHOLD, WINDOW, build_history, collect, history_plot
from bench.report.trend import history_table, summary_lines
from daft.core.config import NAME, read_toml
from daft.core.errors import UserError
from daft.core.progress import console, output_console
from daft.store.cache import atomic_write_bytes

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
    parser.set_defaults(func=run_from_args)


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


def run_from_args(args: argparse.Namespace) -> int:
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
