"""`python -m bench report RESULT.json`: re-render the tables of a saved report."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.report.render import WIDE_HELP


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `report`."""
    parser = commands.add_parser("report", help="re-render the tables of a saved JSON report")
    parser.add_argument("path", type=Path, help="a report, e.g. results/cpu_latency-latest.json")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="also show tokenise / forward / fetch per cell, with shares and word-cache hit rates",
    )
    parser.add_argument("--wide", action="store_true", help=WIDE_HELP)
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Load and print."""
    from bench import schema  # the report's modules only when one is read: `--help` stays quick
    from bench.report.render import render

    render(schema.load(args.path), phases=args.phases, wide=args.wide)
    return 0
