"""`python -m daft summary PAIR...`: trained pairs side by side (the experiment table, `daft.training.summary`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from daft.training.summary import print_table, rows_of, write


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `summary`."""
    parser = commands.add_parser("summary", help="trained pairs side by side (the experiment table)")
    parser.add_argument("pairs", nargs="+", type=Path, help="pair directories")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument(
        "--reference", type=Path, help="a pair whose test nDCG@10 the others are given as a fraction of"
    )
    parser.set_defaults(func=show)


def show(args: argparse.Namespace) -> int:
    """Print the table; write the files asked for."""
    rows = rows_of(args.pairs, args.reference)
    print_table(rows)
    write(rows, markdown_path=args.markdown, json_path=args.json)
    return 0
