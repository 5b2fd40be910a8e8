"""`python -m bench speedups FIRST.json SECOND.json`: do two runs agree on each cell's speed-up?"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from bench import schema
from bench.agreement import TOLERANCE, Agreement, agreement
from bench.speedup import Speedup
from daft.core.errors import UserError
from daft.core.progress import output_console

stdout = output_console()


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `speedups`."""
    parser = commands.add_parser(
        "speedups", help="two runs' speed-ups over the baseline encoder, cell by cell (do they agree?)"
    )
    parser.add_argument("first", type=Path, help="a report (e.g. a quiet run)")
    parser.add_argument("second", type=Path, help="another report of the same suite (e.g. a run under load)")
    parser.add_argument("--threads", type=int, help="only the cells with this many intra-op threads")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE,
        help=f"relative difference under which two speed-ups agree (default {TOLERANCE:g})",
    )
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Print the table and a one-line summary; exit 0 (it informs, it does not gate)."""
    if not 0 < args.tolerance < 1:
        raise UserError(f"--tolerance {args.tolerance:g}: expected a fraction between 0 and 1")
    first, second = schema.load(args.first), schema.load(args.second)
    rows = agreement(first, second, threads=args.threads)
    if not rows:
        raise UserError(
            f"{args.first} and {args.second}: no cell has a speed-up in both (same suite, with a [latency] baseline?)"
        )
    stdout.print(_table(rows, args.tolerance, args.first.name, args.second.name))
    agreeing = sum(r.agrees(args.tolerance) for r in rows)
    stdout.print(f"{agreeing} of {len(rows)} speed-ups agree within {args.tolerance:.0%}", highlight=False)
    return 0


def _shown(s: Speedup) -> str:
    interval = f" [{s.low:.3g}, {s.high:.3g}]" if s.low is not None and s.high is not None else ""
    return f"×{s.value:.3g}{interval}{' ~' if s.wide else ''}"


def _table(rows: list[Agreement], tolerance: float, first: str, second: str) -> Table:
    table = Table(title=f"speed-up over {rows[0].first.against}: {escape(first)} vs {escape(second)}")
    for name in ("cell", "first", "second", "change", "agree"):
        table.add_column(name, justify="left" if name == "cell" else "right")
    for row in rows:
        table.add_row(
            escape(row.cell),
            _shown(row.first),
            _shown(row.second),
            f"{row.change:+.0%}",
            "yes" if row.agrees(tolerance) else "[red]no[/red]",
        )
    return table
