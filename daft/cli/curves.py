"""`python -m daft curves PAIR... --out FILE`: training curves of one or more pairs, overlaid, as a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from daft.core.progress import console


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `curves`."""
    parser = commands.add_parser(
        "curves", help="plot training curves (loss, KL, rank, cosine, dev nDCG@10) of pairs, overlaid"
    )
    parser.add_argument(
        "pairs", type=Path, nargs="+", help="trained pair directories or train_log.jsonl files"
    )
    parser.add_argument("--out", type=Path, help="PNG to write (default: PAIR/curves.png for one pair)")
    parser.add_argument("--title", default="", help="figure title")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the PNG and say where."""
    from daft.core.errors import UserError
    from daft.store.destination import writable_file
    from daft.training.curves import CURVES_FILE, write

    if args.out is None:
        if len(args.pairs) != 1 or not args.pairs[0].is_dir():
            raise UserError("--out is required unless one pair directory is given")
        args.out = args.pairs[0] / CURVES_FILE
    writable_file(args.out, "--out")
    console.print(f"curves written to {write(args.pairs, args.out, title=args.title)}", highlight=False)
    return 0
