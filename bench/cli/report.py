"""`python -m bench report RESULT.json`: re-render the tables of a saved report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.markup import escape

from bench.report import quality, schema, tables
from daft.progress import output_console

# Tables are the product of a run, so they go to stdout (progress and errors go to stderr).
stdout = output_console()


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `report`."""
    parser = commands.add_parser("report", help="re-render the tables of a saved JSON report")
    parser.add_argument("path", type=Path, help="a report, e.g. results/cpu_latency-latest.json")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="also show tokenise / forward / fetch per cell, with shares and word-cache hit rates",
    )
    parser.set_defaults(func=lambda args: render(schema.load(args.path), phases=args.phases))


def render(report: dict[str, Any], *, phases: bool = False) -> int:
    """Print a report's tables and summary lines."""
    if report["setups"]:
        stdout.print(tables.setup_table(report))
    for table in tables.latency_tables(report):
        stdout.print(table)
    if phases and report["cells"]:
        stdout.print(tables.phase_table(report))
    if report.get("retrieval"):
        stdout.print(quality.retrieval_table(report))
        stdout.print(quality.comparison_table(report))
        for line in quality.timing_lines(report):
            stdout.print(escape(line), highlight=False, soft_wrap=True)
    if report.get("frontier"):
        stdout.print(quality.frontier_table(report))
    for line in tables.summary_lines(report):
        stdout.print(escape(line), highlight=False, soft_wrap=True)
    return 0
